// Package textfmt formats values for people, in one way everywhere: text
// that may come from a pull request (branch names, registry errors,
// Dockerfile lines) made safe for the job summary's markdown, and the
// short forms of digests, commits and counts used in logs and summaries.
// It is a leaf: every stage may import it.
package textfmt

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/org/image-pipeline/internal/ghactions"
)

// Text escapes untrusted text for a markdown paragraph: no HTML, no links
// or emphasis from the text itself, one line, control bytes shown
// escaped.
func Text(s string) string {
	s = ghactions.EscapeControls(s)
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if strings.HasPrefix(out, "#") || strings.HasPrefix(out, "-") || strings.HasPrefix(out, "+") {
		out = "\\" + out // not a heading or a list item
	}
	return out
}

// Cell escapes untrusted text for a markdown table cell.
func Cell(s string) string { return Text(s) }

// Code renders untrusted text as inline code, one line, choosing a fence
// the text does not contain; safe in a table cell too.
func Code(s string) string {
	s = ghactions.EscapeControls(s)
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", "\\|").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// ShortDigest shortens sha256:<64 hex> to sha256:<12 hex>… for people;
// anything shorter is returned as it is.
func ShortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12] + "…"
	}
	return d
}

// ShortSHA shortens a commit SHA to its first 12 characters.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Count is "1 tag", "3 tags": n with the word in the number it needs.
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Bytes is a size in the largest binary unit it reaches: "512 B",
// "3.0 KiB", "40.0 MiB", "1.2 GiB".
func Bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
