package ghactions

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The runner reads a step's output line by line and, for each line, tries two
// command syntaxes (actions/runner src/Runner.Common/ActionCommand.cs):
//
//   - "::name props::data", after trimming leading white space;
//   - the legacy "##[name props]data", found ANYWHERE in the line.
//
// Untrusted text is therefore neutralised in three ways: line breaks are
// escaped (the runner treats \r, \n and \r\n as line ends), a leading "::" is
// escaped, and every "##[" is escaped.

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	legacyEscaper   = strings.NewReplacer("##[", "##%5B")
)

// EscapeData escapes the message part of a workflow command: % → %25,
// \r → %0D, \n → %0A. The runner reverses it.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a property value of a workflow command: what
// EscapeData escapes plus : → %3A and , → %2C.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }

// EscapeControls writes out, as visible escapes, the characters a log
// viewer or terminal would act on rather than show: C0 controls other than
// tab and the line ends (NUL → \x00, ESC → \x1b), DEL, C1 controls, the
// Unicode bidirectional controls that reorder what a reader sees
// (U+202A–U+202E, U+2066–U+2069) and bytes that are not UTF-8. Line ends
// are left to the callers, which split or escape them. Every text the
// Runner logs goes through it: a Dockerfile or a registry can put any byte
// in a message, and ESC sequences can rewrite or hide lines.
func EscapeControls(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeLogLine turns untrusted text into a single log line the runner
// cannot read as a workflow command.
func escapeLogLine(s string) string {
	return neutralizeLine(EscapeData(s))
}

// neutralizeLine makes one line (without line breaks) inert: control
// characters are escaped (EscapeControls), a leading "::" (after white
// space, which the runner trims) becomes "%3A%3A" and every legacy "##["
// becomes "##%5B".
func neutralizeLine(line string) string {
	line = legacyEscaper.Replace(EscapeControls(line))
	rest := strings.TrimLeftFunc(line, unicode.IsSpace)
	if strings.HasPrefix(rest, "::") {
		indent := line[:len(line)-len(rest)]
		line = indent + "%3A%3A" + rest[2:]
	}
	return line
}

// splitLines splits text at \r\n, \n and \r, the line ends the runner
// recognises. A trailing line end does not produce an empty last line.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}
