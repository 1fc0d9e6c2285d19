package ghactions

import (
	"strings"
	"unicode"
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

// escapeLogLine turns untrusted text into a single log line the runner
// cannot read as a workflow command.
func escapeLogLine(s string) string {
	return neutralizeLine(EscapeData(s))
}

// neutralizeLine makes one line (without line breaks) inert: a leading "::"
// (after white space, which the runner trims) becomes "%3A%3A" and every
// legacy "##[" becomes "##%5B".
func neutralizeLine(line string) string {
	line = legacyEscaper.Replace(line)
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
