package testenv

import (
	"fmt"
	"strings"
	"sync"
)

// Log is a job log for tests (it satisfies pipeline.Logger): it keeps
// every line, warnings prefixed "warning: ", and is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

// Infof records one line.
func (l *Log) Infof(format string, a ...any) { l.add("", format, a...) }

// Warningf records one warning line.
func (l *Log) Warningf(format string, a ...any) { l.add("warning: ", format, a...) }

func (l *Log) add(prefix, format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(prefix)
	fmt.Fprintf(&l.b, format, a...)
	l.b.WriteByte('\n')
}

// String is everything recorded so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
