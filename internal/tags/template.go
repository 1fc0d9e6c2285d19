package tags

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// The templates are the subset of Handlebars that metadata-action rules
// use: text with {{name}} and {{helper 'arg' 8 key='value'}} expressions,
// {{! comments }}, {{~ whitespace control ~}}, {{{triple}}} and \{{ escapes.
// Block helpers ({{#if}}) and partials are rejected with a clear error.
//
// Unlike Handlebars, output is not HTML-escaped: tags are sanitized anyway,
// and "a&b" should become "a-b", not "a-amp-b" (see docs/tags.md).

type argKind int

const (
	argUndefined argKind = iota
	argString
	argNumber
	argBool
	argPath
)

type tmplArg struct {
	kind argKind
	s    string
}

type tmplNode struct {
	text    string
	expr    bool
	comment bool
	name    string
	params  []tmplArg
	hash    map[string]tmplArg
}

type template []tmplNode

// helper computes one expression. params and hash are the expression's
// arguments; helpers that take none ignore them, as Handlebars does.
type helper func(params []tmplArg, hash map[string]tmplArg) (string, error)

type scope map[string]helper

func constHelper(v string) helper {
	return func([]tmplArg, map[string]tmplArg) (string, error) { return v, nil }
}

func parseTemplate(s string) (template, error) {
	var t template
	stripNext := false
	addText := func(txt string) {
		if stripNext {
			txt = strings.TrimLeftFunc(txt, unicode.IsSpace)
			stripNext = false
		}
		if txt != "" {
			t = append(t, tmplNode{text: txt})
		}
	}
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			addText(s[i:])
			break
		}
		j += i
		if j > i && s[j-1] == '\\' && (j-1 == i || s[j-2] != '\\') {
			// \{{ is a literal "{{".
			addText(s[i:j-1] + "{{")
			i = j + 2
			continue
		}
		pre := s[i:j]
		if j > i && s[j-1] == '\\' {
			pre = s[i : j-1] // \\{{ is a backslash and a real expression
		}
		k := j + 2
		triple := k < len(s) && s[k] == '{'
		if triple {
			k++
		}
		if k < len(s) && s[k] == '~' {
			pre = strings.TrimRightFunc(pre, unicode.IsSpace)
			k++
		}
		addText(pre)
		if k < len(s) && s[k] == '!' {
			if strings.HasPrefix(s[k:], "!--") {
				p := -1
				for off := k + 3; ; {
					n := strings.Index(s[off:], "--")
					if n < 0 {
						break
					}
					q := off + n + 2
					if strings.HasPrefix(s[q:], "}}") || strings.HasPrefix(s[q:], "~}}") {
						p = q
						break
					}
					off += n + 1
				}
				if p < 0 {
					return nil, errors.New("a {{!-- comment --}} is not closed with --}}")
				}
				if s[p] == '~' {
					stripNext = true
					p++
				}
				i = p + 2
			} else {
				n := strings.Index(s[k:], "}}")
				if n < 0 {
					return nil, errors.New("a {{! comment }} is not closed with }}")
				}
				if s[k+n-1] == '~' {
					stripNext = true
				}
				i = k + n + 2
			}
			t = append(t, tmplNode{expr: true, comment: true})
			continue
		}
		node, next, strip, err := parseExpr(s, k, triple)
		if err != nil {
			return nil, err
		}
		t = append(t, node)
		stripNext = strip
		i = next
	}
	return t, nil
}

func isIDChar(c rune) bool {
	if unicode.IsSpace(c) {
		return false
	}
	return !strings.ContainsRune("!\"#%&'()*+,./;<=>@[\\]^`{|}~", c)
}

// parseExpr parses the inside of {{ ... }} from s[k:]. It returns the node,
// the index after the closing braces and whether "~}}" asked to strip the
// following whitespace.
func parseExpr(s string, k int, triple bool) (tmplNode, int, bool, error) {
	start := k
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k < len(s) {
		switch s[k] {
		case '#', '/', '^', '>', '(':
			return tmplNode{}, 0, false, fmt.Errorf("{{%c...}} (block helpers, partials and sub-expressions) is not supported; use a plain expression such as {{branch}}", s[k])
		case '&':
			k++
		}
	}
	closing := "}}"
	if triple {
		closing = "}}}"
	}
	node := tmplNode{expr: true}
	var toks []tmplArg
	var keys []string // hash key for each token ("" for a positional one)
	strip := false
	for {
		for k < len(s) && unicode.IsSpace(rune(s[k])) {
			k++
		}
		if k >= len(s) {
			return tmplNode{}, 0, false, fmt.Errorf("expression %q is not closed with %s", s[start-2:], closing)
		}
		if s[k] == '~' && strings.HasPrefix(s[k+1:], closing) {
			strip = true
			k += 1 + len(closing)
			break
		}
		if strings.HasPrefix(s[k:], closing) {
			k += len(closing)
			break
		}
		if s[k] == '}' {
			return tmplNode{}, 0, false, fmt.Errorf("expression %q is not closed with %s", s[start-2:], closing)
		}
		key := ""
		// key=value?
		e := k
		for e < len(s) {
			r := rune(s[e])
			if r >= 0x80 || isIDChar(r) {
				e++
				continue
			}
			break
		}
		if e > k && e < len(s) && s[e] == '=' {
			key = s[k:e]
			k = e + 1
		}
		arg, next, err := parseArg(s, k)
		if err != nil {
			return tmplNode{}, 0, false, err
		}
		toks = append(toks, arg)
		keys = append(keys, key)
		k = next
	}
	if len(toks) == 0 {
		return tmplNode{}, 0, false, errors.New("empty expression {{}}")
	}
	if keys[0] != "" {
		return tmplNode{}, 0, false, fmt.Errorf("expression starts with %s=...; write the helper name first, e.g. {{date 'YYYYMMDD' tz='UTC'}}", keys[0])
	}
	node.name = toks[0].s
	if node.name == "else" {
		return tmplNode{}, 0, false, errors.New("{{else}} is not supported (block helpers are not supported)")
	}
	for i, a := range toks[1:] {
		if keys[i+1] != "" {
			if node.hash == nil {
				node.hash = map[string]tmplArg{}
			}
			node.hash[keys[i+1]] = a
			continue
		}
		if node.hash != nil {
			return tmplNode{}, 0, false, fmt.Errorf("in {{%s ...}} positional arguments must come before key=value arguments", node.name)
		}
		node.params = append(node.params, a)
	}
	return node, k, strip, nil
}

func parseArg(s string, k int) (tmplArg, int, error) {
	if k >= len(s) {
		return tmplArg{}, 0, errors.New("expression is not closed with }}")
	}
	c := s[k]
	if c == '\'' || c == '"' {
		var b strings.Builder
		for i := k + 1; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) && s[i+1] == c {
				b.WriteByte(c)
				i++
				continue
			}
			if s[i] == c {
				return tmplArg{kind: argString, s: b.String()}, i + 1, nil
			}
			b.WriteByte(s[i])
		}
		return tmplArg{}, 0, fmt.Errorf("string %s is not closed with %c", s[k:], c)
	}
	e := k
	for e < len(s) {
		r := rune(s[e])
		if r >= 0x80 || isIDChar(r) || r == '.' || r == '/' {
			e++
			continue
		}
		break
	}
	if e == k {
		return tmplArg{}, 0, fmt.Errorf("unexpected %q in expression", s[k:k+1])
	}
	word := s[k:e]
	switch {
	case word == "true" || word == "false":
		return tmplArg{kind: argBool, s: word}, e, nil
	case word == "null" || word == "undefined":
		return tmplArg{kind: argUndefined}, e, nil
	case isNumber(word):
		return tmplArg{kind: argNumber, s: word}, e, nil
	}
	return tmplArg{kind: argPath, s: word}, e, nil
}

func isNumber(w string) bool {
	w = strings.TrimPrefix(w, "-")
	if w == "" {
		return false
	}
	dot := false
	for i, c := range w {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(w)-1:
			dot = true
		default:
			return false
		}
	}
	return true
}

// isRawStatement reports whether a pattern is exactly one {{raw}}
// expression (metadata-action then keeps the raw version for pre-releases).
func isRawStatement(pattern string) bool {
	t, err := parseTemplate(pattern)
	if err != nil || len(t) != 1 {
		return false
	}
	return t[0].expr && !t[0].comment && t[0].name == "raw"
}

// exec renders the template. Unknown names render empty (as in
// Handlebars) and are reported in warnings; unknown helpers called with
// arguments are errors.
func (t template) exec(sc scope) (string, []string, error) {
	var b strings.Builder
	var warnings []string
	for _, n := range t {
		if !n.expr {
			b.WriteString(n.text)
			continue
		}
		if n.comment {
			continue
		}
		h, ok := sc[n.name]
		if !ok {
			if len(n.params) > 0 || len(n.hash) > 0 {
				return "", warnings, fmt.Errorf("unknown helper {{%s ...}}", n.name)
			}
			warnings = append(warnings, fmt.Sprintf("unknown expression {{%s}} renders empty", n.name))
			continue
		}
		v, err := h(n.params, n.hash)
		if err != nil {
			return "", warnings, fmt.Errorf("{{%s}}: %w", n.name, err)
		}
		b.WriteString(v)
	}
	return b.String(), warnings, nil
}

// render parses and runs a template in one step.
func render(s string, sc scope) (string, []string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil, nil
	}
	t, err := parseTemplate(s)
	if err != nil {
		return "", nil, err
	}
	return t.exec(sc)
}
