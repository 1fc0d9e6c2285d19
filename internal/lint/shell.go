package lint

import (
	"path"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// command is one simple command found in a RUN body, its words rendered the
// way a reader sees them: quotes removed, known variables substituted,
// command substitutions shown as $(...).
type command struct {
	name    string
	args    []string
	assigns map[string]string // NAME=value prefixes
	line    int
	col     int
}

// mount is a RUN --mount flag.
type mount struct {
	typ, target, from string
}

// runInfo is what the rules need to know about a RUN.
type runInfo struct {
	cmds        []command
	hasPipe     bool
	pipeLine    int  // line of the first pipe
	pipefailSet bool // `set -o pipefail` runs before the first pipe
	parsed      bool // the body was read as a POSIX shell script
	mounts      []mount
	flagKey     string            // all builder flags, for comparing RUNs
	env         map[string]string // variables visible to the RUN (ARG and ENV)
}

// hasArg reports whether any argument equals one of values.
func (c *command) hasArg(values ...string) bool {
	for _, a := range c.args {
		for _, v := range values {
			if a == v {
				return true
			}
		}
	}
	return false
}

func isFlag(arg string) bool { return len(arg) > 1 && arg[0] == '-' && arg != "--" }

// eachFlag calls fn with every flag name in arg, split the way hadolint
// does: --name=value gives "name", -abc gives "a", "b", "c".
func eachFlag(arg string, fn func(string)) {
	switch {
	case arg == "-" || arg == "--" || !strings.HasPrefix(arg, "-"):
	case strings.HasPrefix(arg, "--"):
		name, _, _ := strings.Cut(arg[2:], "=")
		fn(name)
	default:
		for i := 1; i < len(arg); {
			_, size := utf8.DecodeRuneInString(arg[i:])
			fn(arg[i : i+size])
			i += size
		}
	}
}

// hasFlag reports whether one of the named flags is present.
func (c *command) hasFlag(names ...string) bool {
	found := false
	for _, a := range c.args {
		eachFlag(a, func(f string) {
			for _, n := range names {
				if f == n {
					found = true
				}
			}
		})
		if found {
			return true
		}
	}
	return false
}

// countFlag counts occurrences of a flag name (for -q -q style options).
func (c *command) countFlag(name string) int {
	n := 0
	for _, a := range c.args {
		eachFlag(a, func(f string) {
			if f == name {
				n++
			}
		})
	}
	return n
}

// operands returns the non-flag arguments. Flags named in valueFlags take a
// value in the next word (unless written --flag=value), which is dropped too.
// Arguments after a lone "--" are dropped when stopAtDashDash is set.
func (c *command) operands(valueFlags map[string]bool, stopAtDashDash bool) []string {
	var out []string
	skip := false
	for _, a := range c.args {
		if skip {
			skip = false
			continue
		}
		if a == "--" {
			if stopAtDashDash {
				break
			}
			continue
		}
		if isFlag(a) {
			if strings.Contains(a, "=") || len(valueFlags) == 0 {
				continue
			}
			// the value belongs to the last short flag of a group, or to a long flag
			last := ""
			eachFlag(a, func(f string) { last = f })
			if valueFlags[last] {
				skip = true
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// after returns the operands that follow the first occurrence of word.
func after(ops []string, words ...string) []string {
	for i, o := range ops {
		for _, w := range words {
			if o == w {
				return ops[i+1:]
			}
		}
	}
	return nil
}

// subcommand is the first operand.
func subcommand(ops []string) string {
	if len(ops) == 0 {
		return ""
	}
	return ops[0]
}

// shellScript is RUN text handed to the shell parser, with the source line
// of each of its lines.
type shellScript struct {
	text    string
	lineMap []int // lineMap[i] is the source line of script line i+1
	col0    int   // columns to add on the first script line
}

func (s *shellScript) pos(p syntax.Pos) (line, col int) {
	l := int(p.Line())
	if l < 1 || l > len(s.lineMap) {
		if len(s.lineMap) == 0 {
			return 0, 0
		}
		l = len(s.lineMap)
	}
	col = int(p.Col())
	if l == 1 {
		col += s.col0
	}
	return s.lineMap[l-1], col
}

// shellWalker collects commands and pipes from a parsed script.
type shellWalker struct {
	parser  *syntax.Parser
	env     map[string]string
	info    *runInfo
	depth   int
	setPipe bool // saw `set -o pipefail` (or -eo pipefail …)
}

var shellNames = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "busybox": false}

// parseShell parses script and adds what it finds to w.info.
func (w *shellWalker) parseShell(script *shellScript) bool {
	if w.depth > 8 || strings.TrimSpace(script.text) == "" {
		return true
	}
	if w.parser == nil {
		w.parser = syntax.NewParser(syntax.Variant(syntax.LangBash))
	}
	f, err := parseScript(w.parser, script.text)
	if err != nil {
		return false
	}
	w.depth++
	defer func() { w.depth-- }()
	syntax.Walk(f, func(n syntax.Node) bool { return w.visit(script, n) })
	return true
}

func parseScript(p *syntax.Parser, text string) (f *syntax.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, errShellPanic
		}
	}()
	return p.Parse(strings.NewReader(text), "")
}

type shellPanic struct{}

func (shellPanic) Error() string { return "shell parser failed" }

var errShellPanic error = shellPanic{}

func (w *shellWalker) visit(script *shellScript, n syntax.Node) bool {
	switch n := n.(type) {
	case *syntax.BinaryCmd:
		if n.Op == syntax.Pipe || n.Op == syntax.PipeAll {
			if !w.info.hasPipe {
				w.info.hasPipe = true
				w.info.pipeLine, _ = script.pos(n.OpPos)
				w.info.pipefailSet = w.setPipe
			}
		}
	case *syntax.Stmt:
		return w.visitStmt(script, n)
	case *syntax.CallExpr:
		w.addCall(script, n)
	case *syntax.DeclClause:
		if n.Variant == nil {
			return true
		}
		c := command{name: n.Variant.Value}
		c.line, c.col = script.pos(n.Pos())
		for _, a := range n.Args {
			switch {
			case a.Name != nil && !a.Naked:
				v := ""
				if a.Value != nil {
					v = w.render(script, a.Value)
				}
				c.args = append(c.args, a.Name.Value+"="+v)
			case a.Name != nil:
				c.args = append(c.args, a.Name.Value)
			case a.Value != nil:
				c.args = append(c.args, w.render(script, a.Value))
			}
		}
		w.info.cmds = append(w.info.cmds, c)
	}
	return true
}

// visitStmt reads a heredoc that feeds a shell (`RUN <<EOF`, `bash <<EOF`)
// as part of the script, so its commands are linted too.
func (w *shellWalker) visitStmt(script *shellScript, s *syntax.Stmt) bool {
	var feedsShell bool
	switch c := s.Cmd.(type) {
	case nil:
		feedsShell = true
	case *syntax.CallExpr:
		if len(c.Args) > 0 {
			name := path.Base(w.render(script, c.Args[0]))
			feedsShell = shellNames[name] && !hasLiteralArg(c.Args[1:], "-c")
		}
	}
	if !feedsShell {
		return true
	}
	found := false
	for _, r := range s.Redirs {
		if (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc) && r.Hdoc != nil {
			found = true
			start, end := int(r.Hdoc.Pos().Offset()), int(r.Hdoc.End().Offset())
			if start < 0 || end > len(script.text) || start >= end {
				continue
			}
			first := int(r.Hdoc.Pos().Line())
			sub := &shellScript{text: script.text[start:end]}
			for i := first; i <= len(script.lineMap); i++ {
				sub.lineMap = append(sub.lineMap, script.lineMap[i-1])
			}
			w.parseShell(sub)
		}
	}
	if !found {
		return true
	}
	// The heredoc bodies were read as scripts; walk the rest by hand so
	// their text is not visited twice.
	if s.Cmd != nil {
		syntax.Walk(s.Cmd, func(n syntax.Node) bool { return w.visit(script, n) })
	}
	return false
}

func hasLiteralArg(words []*syntax.Word, v string) bool {
	for _, wd := range words {
		if wd.Lit() == v {
			return true
		}
	}
	return false
}

func (w *shellWalker) addCall(script *shellScript, ce *syntax.CallExpr) {
	args := ce.Args
	// `\ ` at the start of a word left over from odd line continuations
	// renders as blank; it is not a command name.
	var words []string
	for _, a := range args {
		words = append(words, w.render(script, a))
	}
	first := 0
	for first < len(words) && strings.TrimSpace(words[first]) == "" {
		first++
	}
	if first >= len(words) {
		return
	}
	c := command{name: words[first], args: words[first+1:]}
	c.line, c.col = script.pos(args[first].Pos())
	if len(ce.Assigns) > 0 {
		c.assigns = make(map[string]string, len(ce.Assigns))
		for _, a := range ce.Assigns {
			if a.Name != nil {
				v := ""
				if a.Value != nil {
					v = w.render(script, a.Value)
				}
				c.assigns[a.Name.Value] = v
			}
		}
	}
	if c.name == "set" && !w.info.hasPipe {
		for i, a := range c.args {
			if a == "pipefail" && i > 0 && strings.HasPrefix(c.args[i-1], "-") && strings.HasSuffix(c.args[i-1], "o") {
				w.setPipe = true
			}
		}
	}
	w.info.cmds = append(w.info.cmds, c)
}

// render turns a word into the text a reader sees.
func (w *shellWalker) render(script *shellScript, wd *syntax.Word) string {
	if wd == nil {
		return ""
	}
	if lit := wd.Lit(); lit != "" && !strings.Contains(lit, `\`) {
		return lit
	}
	var b strings.Builder
	w.renderParts(script, &b, wd.Parts, false)
	return b.String()
}

func (w *shellWalker) renderParts(script *shellScript, b *strings.Builder, parts []syntax.WordPart, inDouble bool) {
	for _, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescapeShell(p.Value, inDouble))
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			w.renderParts(script, b, p.Parts, true)
		case *syntax.ParamExp:
			if p.Param == nil {
				b.WriteString(source(script, p))
				continue
			}
			plain := !p.Excl && !p.Length && !p.Width && p.Index == nil && p.Slice == nil && p.Repl == nil && p.Exp == nil && p.Names == 0
			if v, ok := w.env[p.Param.Value]; ok && plain {
				b.WriteString(v)
			} else if plain {
				b.WriteString("${" + p.Param.Value + "}")
			} else {
				b.WriteString(source(script, p))
			}
		case *syntax.CmdSubst:
			b.WriteString("$(...)")
		default:
			b.WriteString(source(script, p))
		}
	}
}

// source returns the script text of a node.
func source(script *shellScript, n syntax.Node) string {
	start, end := int(n.Pos().Offset()), int(n.End().Offset())
	if start < 0 || end > len(script.text) || start > end {
		return ""
	}
	return script.text[start:end]
}

// unescapeShell drops the backslashes the shell would remove.
func unescapeShell(s string, inDouble bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			next := s[i+1]
			if !inDouble || strings.IndexByte("$`\"\\\n", next) >= 0 {
				i++
				b.WriteByte(next)
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isNonPOSIXShell reports whether a SHELL or shell pragma names a shell whose
// scripts the POSIX parser cannot read (PowerShell, cmd).
func isNonPOSIXShell(shell string) bool {
	base := strings.ToLower(shell)
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, ".exe")
	return base == "pwsh" || base == "powershell" || base == "cmd"
}

func shellBase(shell string) string {
	base := shell
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	return strings.TrimSuffix(base, ".exe")
}
