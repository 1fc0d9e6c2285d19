// Package wanterr is the one harness of the input-validation tables:
// given the error a Validate or Parse returned and the messages a case
// wants, it checks there is no error when none is wanted, and otherwise
// one error per wanted message, each containing it.
package wanterr

import (
	"strings"
	"testing"
)

// Check fails t unless err is nil and want is empty, or err joins exactly
// len(want) errors and contains every string of want.
func Check(t testing.TB, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %d: %q", len(want), want)
	}
	if n := len(Flatten(err)); n != len(want) {
		t.Errorf("%d errors, want %d:\n%v", n, len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q:\n%v", w, err)
		}
	}
}

// Flatten lists the errors errors.Join put together (nested joins too);
// any other error is one.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, Flatten(e)...)
	}
	return out
}
