package trivy

import (
	"context"
	"log/slog"
	"os"
	"strings"

	tlog "github.com/aquasecurity/trivy/pkg/log"

	"github.com/org/image-pipeline/internal/scan"
)

func init() {
	// Importing Trivy makes slog's default a handler that buffers every
	// record (and the standard log package's output) until Trivy's CLI
	// initialises its logger, which never happens in a library: restore a
	// plain stderr handler for the rest of the program.
	if _, ok := slog.Default().Handler().(*tlog.DeferredHandler); ok {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	}
}

// routeTrivyLogs sends Trivy's log records to l while a scan runs (Trivy
// logs through slog's process-wide default; the caller holds trivyMu).
func routeTrivyLogs(l scan.Logger) (restore func()) {
	prev := slog.Default()
	slog.SetDefault(slog.New(&logBridge{log: l}))
	return func() { slog.SetDefault(prev) }
}

// logBridge turns Trivy's info and warning records into log lines. Debug
// records are dropped.
type logBridge struct {
	log    scan.Logger
	prefix string
	attrs  []slog.Attr
}

func (b *logBridge) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelInfo }

func (b *logBridge) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	prefix := b.prefix
	add := func(a slog.Attr) bool {
		if a.Key == "prefix" {
			prefix = a.Value.String()
			return true
		}
		sb.WriteString(" ")
		sb.WriteString(a.Key)
		sb.WriteString("=")
		sb.WriteString(a.Value.String())
		return true
	}
	for _, a := range b.attrs {
		add(a)
	}
	r.Attrs(add)
	msg := "trivy: "
	if prefix != "" {
		msg += "[" + prefix + "] "
	}
	msg += r.Message + sb.String()
	if r.Level >= slog.LevelWarn {
		b.log.Warningf("%s", msg)
	} else {
		b.log.Infof("%s", msg)
	}
	return nil
}

func (b *logBridge) WithAttrs(attrs []slog.Attr) slog.Handler {
	nb := *b
	nb.attrs = append(append([]slog.Attr(nil), b.attrs...), attrs...)
	return &nb
}

func (b *logBridge) WithGroup(string) slog.Handler { return b }
