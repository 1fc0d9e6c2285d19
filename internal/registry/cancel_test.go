package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunContext(t *testing.T) {
	const grace = 200 * time.Millisecond
	done := func(ctx context.Context, within time.Duration) bool {
		select {
		case <-ctx.Done():
			return true
		case <-time.After(within):
			return false
		}
	}
	t.Run("a cancel before the tags stops at once", func(t *testing.T) {
		parent, cancel := context.WithCancel(t.Context())
		rc := newRunContext(parent, grace, t.Logf)
		t.Cleanup(rc.close)
		cancel()
		if !done(rc, 50*time.Millisecond) {
			t.Fatal("the push context outlived the cancel")
		}
		if rc.startTagging() {
			t.Error("tagging started after the cancel")
		}
	})
	t.Run("a cancel while tagging gives the tags grace", func(t *testing.T) {
		parent, cancel := context.WithCancel(t.Context())
		rc := newRunContext(parent, grace, t.Logf)
		t.Cleanup(rc.close)
		if !rc.startTagging() {
			t.Fatal("tagging refused")
		}
		cancel()
		if done(rc, grace/2) {
			t.Fatal("the tags got no grace")
		}
		if !rc.cancelledWhileTagging() {
			t.Error("the cancel is not recorded")
		}
		if !done(rc, grace) {
			t.Fatal("the grace did not end")
		}
		if !errors.Is(context.Cause(rc), context.Canceled) {
			t.Errorf("cause %v, want one wrapping context.Canceled", context.Cause(rc))
		}
	})
	t.Run("push-timeout ends it at once, tagging or not", func(t *testing.T) {
		parent, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		t.Cleanup(cancel)
		rc := newRunContext(parent, time.Hour, t.Logf)
		t.Cleanup(rc.close)
		if d, ok := rc.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
			t.Errorf("deadline %v %v: the push context must keep push-timeout's", d, ok)
		}
		rc.startTagging()
		if !done(rc, time.Second) {
			t.Fatal("the deadline did not end the push")
		}
	})
	t.Run("no cancel: nothing recorded", func(t *testing.T) {
		rc := newRunContext(t.Context(), grace, t.Logf)
		rc.startTagging()
		if rc.cancelledWhileTagging() || rc.Err() != nil {
			t.Error("cancelled without a cancel")
		}
		rc.close()
		if rc.Err() == nil {
			t.Error("close did not release the context")
		}
	})
}
