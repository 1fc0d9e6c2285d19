package ghactions

import (
	"bytes"
	"errors"
	"io"
)

// maxPendingLine bounds how much of an unterminated line an untrusted writer
// holds back (progress output without line breaks).
const maxPendingLine = 64 << 10

// UntrustedWriter returns a writer for streams of untrusted text, such as
// build logs and registry responses, that must be shown as they are.
//
// In Actions the text is written between ::stop-commands::<random token> and
// ::<token>::, so the runner executes none of it; the stop marker is written
// lazily before the first output, and again after the Runner has emitted a
// command of its own in between (commands must not be swallowed). Masked
// secrets are redacted in every mode. Output is passed on in whole lines;
// Close writes out a last partial line and resumes command processing.
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
		w.emitLocked(w.pending[:i+1])
		w.pending = append(w.pending[:0], w.pending[i+1:]...)
	}
	if len(w.pending) > maxPendingLine {
		// Hold back enough bytes that a secret split here is still redacted.
		keep := min(max(r.longestSecretLocked()-1, 0), len(w.pending))
		cut := len(w.pending) - keep
		w.emitLocked(w.pending[:cut])
		w.pending = append(w.pending[:0], w.pending[cut:]...)
	}
	return len(p), nil
}

// emitLocked writes untrusted bytes, with command processing stopped in
// Actions. Secrets are registered per line and never contain a line break,
// so redacting a chunk of whole lines redacts every occurrence.
func (w *untrustedWriter) emitLocked(chunk []byte) {
	r := w.r
	if len(chunk) == 0 {
		return
	}
	if r.actions {
		if err := r.stopLocked(); err != nil {
			// Without a token the text cannot be shielded; fall back to
			// escaping it line by line.
			for _, line := range splitLines(r.redactLocked(string(chunk))) {
				r.lineLocked(escapeLogLine(line))
			}
			return
		}
	}
	r.rawLocked([]byte(r.redactLocked(string(chunk))))
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
	w.emitLocked(w.pending)
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
