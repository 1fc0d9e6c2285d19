// Package inputerr is the one error type for a bad action input, and its
// one wording, used by the configuration and by the stages' checks that
// need the file system or a daemon:
//
//	input "push": "yes please" is not accepted; accepted values: auto, true, false
//
// It is a leaf: every package may import it.
package inputerr

import (
	"fmt"
	"strings"
)

// Error is a problem with one input's value.
type Error struct {
	// Input is the input's name as action.yml declares it.
	Input string
	// Value is the value as given; "" for secrets and where the value
	// itself says nothing (a problem with one line of many).
	Value string
	// Problem says what is wrong, as the rest of a sentence: "is not a
	// boolean", "line 3 has no NAME=".
	Problem string
	// Accepted lists what would be accepted; "" when the problem says it.
	Accepted string
	// Err is the cause, when there is one (a file that cannot be read);
	// its text ends the problem in parentheses.
	Err error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "input %q", e.Input)
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	switch {
	case e.Problem == "":
	case e.Value == "" && strings.HasPrefix(e.Problem, "line "):
		// One line of many: input "registries": line 3 has no "=".
		b.WriteString(": " + e.Problem)
	default:
		b.WriteString(" " + e.Problem)
	}
	if e.Err != nil {
		b.WriteString(" (" + e.Err.Error() + ")")
	}
	if e.Accepted != "" {
		b.WriteString("; accepted values: " + e.Accepted)
	}
	return b.String()
}

// New returns an *Error.
func New(input, value, problem, accepted string) *Error {
	return &Error{Input: input, Value: value, Problem: problem, Accepted: accepted}
}

// Wrap returns an *Error caused by err.
func Wrap(input, value, problem, accepted string, err error) *Error {
	return &Error{Input: input, Value: value, Problem: problem, Accepted: accepted, Err: err}
}
