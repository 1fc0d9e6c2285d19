package ghactions

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxPendingLine bounds how much of an unterminated line an untrusted writer
// holds back (progress output without line breaks).
const maxPendingLine = 64 << 10

// UntrustedWriter returns a writer for streams of untrusted text, such as
// build logs and registry responses.
//
// In Actions the text is written between ::stop-commands::<random token> and
// ::<token>::, so the runner executes none of it; the stop marker is written
// lazily before the first output, and again after the Runner has emitted a
// command of its own in between (commands must not be swallowed). As a
// second line of defence, and in every mode, each line is neutralised like
// Infof's (a leading "::" becomes "%3A%3A", "##[" becomes "##%5B") and masked
// secrets are redacted. Output is passed on in whole lines; a line longer
// than 64 KiB is broken in two. Close writes out a last partial line and
// resumes command processing.
func (r *Runner) UntrustedWriter() io.WriteCloser {
	w := &untrustedWriter{r: r}
	r.mu.Lock()
	r.writers[w] = struct{}{}
	r.mu.Unlock()
	return w
}

// Untrusted is UntrustedWriter as a plain io.Writer. The value also
// implements io.Closer; when it is not closed, Runner.Close closes it.
func (r *Runner) Untrusted() io.Writer { return r.UntrustedWriter() }

type untrustedWriter struct {
	r       *Runner
	pending []byte // the start of a line not yet written out
	closed  bool
}

var errWriterClosed = errors.New("write to a closed untrusted log writer: the step's output after Close is lost; keep the writer open until the stream ends")

func (w *untrustedWriter) Write(p []byte) (int, error) {
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.closed {
		return 0, errWriterClosed
	}
	w.pending = append(w.pending, p...)
	if i := bytes.LastIndexAny(w.pending, "\r\n"); i >= 0 {
		w.emitLocked(string(w.pending[:i+1]))
		w.pending = append(w.pending[:0], w.pending[i+1:]...)
	}
	if len(w.pending) > maxPendingLine {
		// Break the line. Redact first and hold back what could be the start
		// of a secret that continues in the next write.
		text := r.redactLocked(string(w.pending))
		cut := len(text) - min(max(r.longestSecretLocked()-1, 0), len(text))
		w.emitLocked(text[:cut] + "\n")
		w.pending = append(w.pending[:0], text[cut:]...)
	}
	return len(p), nil
}

// emitLocked writes whole lines of untrusted text. Secrets are registered
// per line and never contain a line break, so redacting whole lines redacts
// every occurrence.
func (w *untrustedWriter) emitLocked(lines string) {
	r := w.r
	if lines == "" {
		return
	}
	lines = neutralizeLines(r.redactLocked(lines))
	if r.actions {
		if err := r.stopLocked(); err != nil {
			// Without a token the text cannot be shielded; fall back to
			// escaping it into one line per line.
			for _, line := range splitLines(lines) {
				r.lineLocked(escapeLogLine(line))
			}
			return
		}
	}
	r.rawLocked([]byte(lines))
}

// neutralizeLines applies neutralizeLine to every line of s, keeping the
// line ends (\r, \n) as they are.
func neutralizeLines(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			i = len(s)
		}
		b.WriteString(neutralizeLine(s[:i]))
		if i < len(s) {
			b.WriteByte(s[i])
			i++
		}
		s = s[i:]
	}
	return b.String()
}

func (w *untrustedWriter) Close() error {
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	w.closeLocked()
	return nil
}

func (w *untrustedWriter) closeLocked() {
	r := w.r
	if w.closed {
		return
	}
	if len(w.pending) > 0 {
		w.emitLocked(string(w.pending) + "\n")
	}
	w.pending = nil
	w.closed = true
	delete(r.writers, w)
	r.resumeLocked()
}

// stopLocked makes the runner ignore workflow commands until resumeLocked,
// unless it already does.
func (r *Runner) stopLocked() error {
	if r.stopToken != "" {
		return nil
	}
	token, err := r.randomToken("image-pipeline-")
	if err != nil {
		return err
	}
	r.lineLocked("::stop-commands::" + token)
	r.stopToken = token
	return nil
}

// resumeLocked makes the runner process workflow commands again.
func (r *Runner) resumeLocked() {
	if r.stopToken == "" {
		return
	}
	token := r.stopToken
	r.stopToken = ""
	r.lineLocked("::" + token + "::")
}
