package lint

import (
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// stage is one FROM and the instructions that follow it.
type stage struct {
	index  int
	in     *instruction // the FROM
	ref    fromRef
	parent int // index of the earlier stage this one builds on, or -1
	instrs []*instruction
}

// name is what later stages use to refer to this one: its alias, or the
// image when there is none (hadolint tracks both).
func (s *stage) name() string {
	if s.ref.alias != "" {
		return strings.ToLower(s.ref.alias)
	}
	return strings.ToLower(s.ref.image)
}

// analysis is a parsed Dockerfile with stages, shells and RUN bodies resolved.
type analysis struct {
	d       *dockerfile
	stages  []*stage
	pragmas []pragma
}

// analyze resolves stages, variables and shells, and parses every RUN body.
func analyze(d *dockerfile) *analysis {
	a := &analysis{d: d}
	for _, c := range d.comments {
		if p, ok := parsePragma(c.text); ok {
			p.line = c.line
			a.pragmas = append(a.pragmas, p)
		}
	}

	args := map[string]string{}    // ARG values seen anywhere so far
	var stageEnv map[string]string // ENV of the current stage (copy-on-write)
	var stageShell []string        // SHELL of the current stage
	envByStage := map[int]map[string]string{}
	shellByStage := map[int][]string{}
	shellPragma := ""
	shellParser := syntax.NewParser(syntax.Variant(syntax.LangBash))
	pi := 0
	cur := -1

	for _, in := range d.instrs {
		for pi < len(a.pragmas) && a.pragmas[pi].line < in.line {
			if a.pragmas[pi].kind == pragmaShell {
				shellPragma = a.pragmas[pi].shell
			}
			pi++
		}
		if in.cmd == "from" {
			ref := in.from()
			parent := -1
			for _, s := range a.stages {
				if s.ref.alias != "" && strings.EqualFold(s.ref.alias, ref.image) {
					parent = s.index
				}
			}
			cur = len(a.stages)
			a.stages = append(a.stages, &stage{index: cur, in: in, ref: ref, parent: parent})
			stageEnv, stageShell = nil, nil
			if parent >= 0 {
				stageEnv, stageShell = envByStage[parent], shellByStage[parent]
			}
		}
		in.stage = cur
		if cur >= 0 {
			a.stages[cur].instrs = append(a.stages[cur].instrs, in)
		}
		target := in.effective()
		target.stage = cur // an ONBUILD's trigger belongs to the stage too
		switch target.cmd {
		case "arg":
			if target == in { // ONBUILD ARG applies to the child image only
				for _, w := range in.args {
					k, v, ok := strings.Cut(w, "=")
					if ok {
						args[k] = expandVars(unquote(v), args)
					}
				}
			}
		case "env":
			if target == in {
				next := make(map[string]string, len(stageEnv)+2)
				for k, v := range stageEnv {
					next[k] = v
				}
				for _, p := range in.pairs() {
					next[p[0]] = expandVars(p[1], mergeEnv(args, next))
				}
				stageEnv = next
			}
		case "shell":
			if target == in && in.json {
				stageShell = in.args
			}
		case "run":
			shell := ""
			if len(stageShell) > 0 {
				shell = stageShell[0]
			}
			if shellPragma != "" {
				shell = shellPragma
			}
			target.run = parseRun(d, target, in.onbuild != nil, mergeEnv(args, stageEnv), shell, shellParser)
		}
		if cur >= 0 {
			envByStage[cur], shellByStage[cur] = stageEnv, stageShell
		}
	}
	return a
}

func mergeEnv(args, env map[string]string) map[string]string {
	m := make(map[string]string, len(args)+len(env))
	for k, v := range args {
		m[k] = v
	}
	for k, v := range env {
		m[k] = v
	}
	return m
}

// parseRun reads the body of a RUN: builder flags, then a shell script (or
// an exec-form argument list).
func parseRun(d *dockerfile, in *instruction, onbuild bool, env map[string]string, shell string, sp *syntax.Parser) *runInfo {
	ri := &runInfo{env: env}
	flags := append([]string(nil), in.flags...)
	var script *shellScript
	if !in.json {
		var extra []string
		script, extra = runScript(d, in, onbuild)
		for _, f := range extra {
			if !containsString(flags, f) {
				flags = append(flags, f)
			}
		}
	}
	sort.Strings(flags)
	ri.flagKey = strings.Join(flags, " ")
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "--mount="); ok {
			ri.mounts = append(ri.mounts, parseMount(v))
		}
	}
	w := &shellWalker{parser: sp, env: env, info: ri}
	if in.json {
		words := make([]string, len(in.args))
		copy(words, in.args)
		if len(words) == 0 {
			return ri
		}
		// ["sh", "-c", "script"] runs a script: read it as one.
		if len(words) >= 3 && shellNames[shellBase(words[0])] && words[1] == "-c" {
			ri.parsed = w.parseShell(&shellScript{text: words[2], lineMap: []int{in.line}})
			return ri
		}
		ri.cmds = append(ri.cmds, command{name: words[0], args: words[1:], line: in.line, col: 1})
		return ri
	}
	if shell != "" && isNonPOSIXShell(shell) {
		return ri
	}
	ri.parsed = w.parseShell(script)
	return ri
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseMount(spec string) mount {
	m := mount{typ: "bind"}
	for _, field := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(field, "=")
		v = unquote(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			m.typ = strings.ToLower(v)
		case "target", "dst", "destination":
			m.target = v
		case "from":
			m.from = v
		}
	}
	return m
}

// continues reports whether a source line ends in a line continuation.
func continues(line string, esc byte) bool {
	t := strings.TrimRight(line, " \t")
	if t == "" || t[len(t)-1] != esc {
		return false
	}
	return len(t) == 1 || t[len(t)-2] != esc
}

func isCommentLine(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), "#")
}

// runScript rebuilds the shell text of a RUN from its source lines, after
// the keyword and builder flags, keeping one script line per source line so
// positions map back. Comment and blank lines inside a continuation are
// dropped as BuildKit drops them. Flags BuildKit did not see (after a stray
// escape) are returned.
func runScript(d *dockerfile, in *instruction, onbuild bool) (*shellScript, []string) {
	esc := d.escape
	li := in.line - 1
	last := in.endLine - 1
	s := d.lines[li]
	p := skipSpace(s, 0)
	p = skipWord(s, p) // RUN or ONBUILD
	if onbuild {
		p = skipWord(s, skipSpace(s, p))
	}
	var flags []string
	for {
		p = skipSpace(s, p)
		if p >= len(s) || (s[p] == esc && strings.TrimSpace(s[p+1:]) == "") {
			if continues(s, esc) && li < last {
				li++
				for li < last && (isCommentLine(d.lines[li]) || strings.TrimSpace(d.lines[li]) == "") {
					li++
				}
				s, p = d.lines[li], 0
				continue
			}
			break
		}
		if s[p] == esc && p+1 < len(s) && (s[p+1] == ' ' || s[p+1] == '\t') {
			p++
			continue
		}
		if strings.HasPrefix(s[p:], "--") {
			end := skipFlag(s, p)
			flags = append(flags, s[p:end])
			p = end
			continue
		}
		break
	}
	sc := &shellScript{col0: p}
	var b strings.Builder
	add := func(text string, line int) bool {
		cont := continues(text, esc)
		if cont {
			text = strings.TrimRight(text, " \t")
			text = text[:len(text)-1] + `\`
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(text)
		sc.lineMap = append(sc.lineMap, line)
		return cont
	}
	if p > len(s) {
		p = len(s)
	}
	cont := add(s[p:], li+1)
	for j := li + 1; j <= last; j++ {
		l := d.lines[j]
		if cont && (isCommentLine(l) || strings.TrimSpace(l) == "") {
			continue
		}
		cont = add(l, j+1)
	}
	sc.text = b.String()
	return sc, flags
}

func skipSpace(s string, p int) int {
	for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
		p++
	}
	return p
}

func skipWord(s string, p int) int {
	for p < len(s) && s[p] != ' ' && s[p] != '\t' {
		p++
	}
	return p
}

// skipFlag skips a --flag token, honouring quotes inside it.
func skipFlag(s string, p int) int {
	var quote byte
	for ; p < len(s); p++ {
		c := s[p]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ' ' || c == '\t':
			return p
		}
	}
	return p
}
