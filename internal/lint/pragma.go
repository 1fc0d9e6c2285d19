package lint

import "strings"

type pragmaKind int

const (
	pragmaIgnore pragmaKind = iota // # hadolint ignore=DL3008 (next line)
	pragmaGlobal                   // # hadolint global ignore=DL3008
	pragmaStage                    // # hadolint stage ignore=DL3008
	pragmaShell                    // # hadolint shell=pwsh
)

// pragma is an inline `# hadolint ...` comment.
type pragma struct {
	kind  pragmaKind
	line  int
	codes []string
	shell string
}

// parsePragma reads the text after '#'. Like hadolint it accepts the whole
// comment or nothing: `ignore=crazy,DL3002` is not a pragma.
func parsePragma(text string) (pragma, bool) {
	var p pragma
	s := strings.TrimLeft(text, " \t")
	rest, ok := strings.CutPrefix(s, "hadolint")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return p, false
	}
	rest = strings.TrimLeft(rest, " \t")
	kind := pragmaIgnore
	for _, w := range []struct {
		word string
		kind pragmaKind
	}{{"global", pragmaGlobal}, {"stage", pragmaStage}} {
		if r, ok := strings.CutPrefix(rest, w.word); ok && r != "" && (r[0] == ' ' || r[0] == '\t') {
			rest, kind = strings.TrimLeft(r, " \t"), w.kind
			break
		}
	}
	if kind == pragmaIgnore {
		if r, ok := strings.CutPrefix(rest, "shell"); ok {
			r = strings.TrimLeft(r, " \t")
			if r, ok = strings.CutPrefix(r, "="); !ok {
				return p, false
			}
			r = strings.TrimLeft(r, " \t")
			end := strings.IndexAny(r, " \t")
			if end < 0 {
				end = len(r)
			}
			name := r[:end]
			if name == "" || !trailerOK(r[end:]) {
				return p, false
			}
			return pragma{kind: pragmaShell, shell: name}, true
		}
	}
	r, ok := strings.CutPrefix(rest, "ignore")
	if !ok {
		return p, false
	}
	r = strings.TrimLeft(r, " \t")
	if r, ok = strings.CutPrefix(r, "="); !ok {
		return p, false
	}
	p.kind = kind
	for {
		r = strings.TrimLeft(r, " \t")
		n := 0
		for n < len(r) && (r[n] >= 'A' && r[n] <= 'Z' || r[n] >= '0' && r[n] <= '9') {
			n++
		}
		if n == 0 {
			return pragma{}, false
		}
		p.codes = append(p.codes, r[:n])
		r = strings.TrimLeft(r[n:], " \t")
		if strings.HasPrefix(r, ",") {
			r = r[1:]
			continue
		}
		if !trailerOK(r) {
			return pragma{}, false
		}
		return p, true
	}
}

// trailerOK accepts the end of a pragma: blanks and an optional # comment.
func trailerOK(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return s == "" || s[0] == '#'
}
