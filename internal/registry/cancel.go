package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultTagGrace is how long the tags get to finish after a cancel that
// arrives while they are being written. The runner sends SIGINT on cancel
// and SIGTERM 7.5 s later, then kills the step 2.5 s after that.
const DefaultTagGrace = 5 * time.Second

// runContext is the context a push runs under. Until the tags are being
// written it ends with the caller's (a cancel stops the push at once:
// nothing is tagged). Once the first tag is about to be written, a cancel
// no longer stops it half-way: the tag PUTs and their read-back get grace
// to finish, so a release is never left with 1.2.3 on the new image and
// 1.2, 1 on the old one. A deadline (push-timeout) always ends it at once.
type runContext struct {
	context.Context
	parent context.Context
	cancel context.CancelCauseFunc
	grace  time.Duration
	stop   func() bool
	logf   func(format string, args ...any)

	mu        sync.Mutex
	tagging   bool
	cancelled bool // the caller's context ended while tagging
}

func newRunContext(parent context.Context, grace time.Duration, logf func(string, ...any)) *runContext {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	rc := &runContext{Context: ctx, parent: parent, cancel: cancel, grace: grace, logf: logf}
	rc.stop = context.AfterFunc(parent, rc.parentDone)
	return rc
}

func (rc *runContext) parentDone() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	err := context.Cause(rc.parent)
	if !rc.tagging || errors.Is(rc.parent.Err(), context.DeadlineExceeded) {
		rc.cancel(err)
		return
	}
	rc.cancelled = true
	rc.logf("the run was cancelled while the tags were being written: finishing them (at most %s) so that no release is left split across images", rc.grace)
	time.AfterFunc(rc.grace, func() {
		rc.cancel(fmt.Errorf("the tags did not finish within %s of the cancel: %w", rc.grace, err))
	})
}

// Deadline is the caller's (push-timeout): requests and Retry-After
// waits see how long the push may take.
func (rc *runContext) Deadline() (time.Time, bool) { return rc.parent.Deadline() }

// startTagging marks the start of the tag writes; from now on a cancel
// gives them grace. It reports false when the run is already cancelled:
// then nothing may be tagged.
func (rc *runContext) startTagging() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.Err() != nil || rc.parent.Err() != nil {
		return false
	}
	rc.tagging = true
	return true
}

// cancelledWhileTagging reports whether the caller cancelled after the
// tags had started: the push finished them, and does nothing more.
func (rc *runContext) cancelledWhileTagging() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.cancelled || rc.parent.Err() != nil
}

func (rc *runContext) close() {
	rc.stop()
	rc.cancel(context.Canceled)
}

// CancelledError is a push stopped by a cancel (the runner's SIGINT or
// SIGTERM) before any tag was written: nothing is tagged.
type CancelledError struct{ Err error }

func (e *CancelledError) Error() string {
	return "the run was cancelled before any tag was written: nothing is tagged (blobs already sent stay in the registry, unreferenced); re-run the job to publish"
}

func (e *CancelledError) Unwrap() error { return e.Err }
