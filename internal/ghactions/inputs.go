// Package ghactions is the GitHub Actions runner contract: action inputs, the
// event context, step outputs, the step summary, annotations, secret masks,
// log groups, and log output that untrusted text cannot turn into workflow
// commands.
//
// Everything reads the environment through a getenv function and writes to
// an io.Writer so that tests and the local CLI need no real runner.
package ghactions

import (
	"strings"
	"unicode"

	"github.com/org/image-pipeline/internal/inputerr"
)

// InputEnvName is the environment variable the runner uses for an action
// input: "INPUT_" + the name upper-cased with spaces replaced by '_'.
// Hyphens are kept, so input "build-args" arrives as INPUT_BUILD-ARGS.
func InputEnvName(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// ParseBool parses a boolean input the way action.yml documents booleans
// (YAML 1.2 core schema): true, True, TRUE, false, False, FALSE. Anything
// else, including "", is an *inputerr.Error naming the input and the accepted
// values.
func ParseBool(input, value string) (bool, error) {
	switch strings.TrimSpace(value) {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, inputerr.New(input, value, "is not a boolean", "true, false")
}

// ParseList parses a list input. Items are separated by line breaks (\n or
// \r\n) and, when splitComma is set, also by commas. With splitComma, double
// quotes work as in CSV: "a, b" is one item, "" inside quotes is a literal
// quote, and a quoted item may span lines. Items are trimmed (outside
// quotes), empty items are dropped, and lines whose first non-blank character
// is '#' are comments.
func ParseList(value string, splitComma bool) []string {
	value = strings.ReplaceAll(value, "\r\n", "\n")
	if !splitComma {
		var items []string
		for line := range strings.SplitSeq(value, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			items = append(items, line)
		}
		return items
	}
	return parseCSVList(value)
}

// parseCSVList is a small CSV reader that also drops comment lines and empty
// fields and trims white space outside quotes.
func parseCSVList(value string) []string {
	var (
		items    []string
		field    strings.Builder
		quoted   bool // inside "..."
		sawQuote bool // field had a quoted part (keeps inner white space)
		pending  int  // white space written after the last non-space outside quotes
		atStart  = true
	)
	flush := func() {
		s := field.String()
		s = s[:len(s)-pending]
		if !sawQuote {
			s = strings.TrimSpace(s)
		}
		if s != "" {
			items = append(items, s)
		}
		field.Reset()
		sawQuote, pending = false, 0
	}
	runes := []rune(value)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if atStart && !quoted {
			// Skip the indentation of a new line, then comments.
			j := i
			for j < len(runes) && runes[j] != '\n' && unicode.IsSpace(runes[j]) {
				j++
			}
			if j < len(runes) && runes[j] == '#' {
				for j < len(runes) && runes[j] != '\n' {
					j++
				}
				i = j // at '\n' or end; the loop moves past it
				continue
			}
			atStart = false
			i = j - 1
			continue
		}
		switch {
		case quoted && r == '"':
			if i+1 < len(runes) && runes[i+1] == '"' {
				field.WriteRune('"')
				i++
			} else {
				quoted = false
			}
		case quoted:
			field.WriteRune(r)
		case r == '"':
			if !sawQuote && strings.TrimSpace(field.String()) == "" {
				field.Reset() // drop white space before an opening quote
			}
			quoted, sawQuote, pending = true, true, 0
		case r == ',':
			flush()
		case r == '\n':
			flush()
			atStart = true
		case unicode.IsSpace(r):
			if sawQuote || field.Len() > 0 {
				field.WriteRune(r)
				pending += len(string(r))
			}
		default:
			field.WriteRune(r)
			pending = 0
		}
	}
	flush()
	return items
}
