package wanterr

import (
	"errors"
	"fmt"
	"testing"
)

func TestFlatten(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	err := errors.Join(a, errors.Join(b, c), nil)
	if got := Flatten(err); len(got) != 3 {
		t.Errorf("Flatten = %v", got)
	}
	if got := Flatten(fmt.Errorf("wrapped: %w", err)); len(got) != 1 {
		t.Errorf("a wrapped join is one error: %v", got)
	}
	if Flatten(nil) != nil {
		t.Error("Flatten(nil)")
	}
	Check(t, err, "a", "b", "c")
	Check(t, nil)
}
