package lint

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// instruction is one Dockerfile instruction as BuildKit split it, with its
// source lines. Values keep the quotes BuildKit keeps; use unquote for the
// text the builder sees.
type instruction struct {
	cmd      string   // lower-case keyword: "from", "run", ...
	line     int      // first source line (1-based)
	endLine  int      // last source line, heredoc bodies included
	flags    []string // builder flags such as "--from=build"
	args     []string // arguments after the flags
	json     bool     // exec (JSON array) form
	heredocs []parser.Heredoc
	onbuild  *instruction // the instruction an ONBUILD wraps

	stage int      // index of the stage it belongs to; -1 before the first FROM
	run   *runInfo // parsed body of a RUN (or ONBUILD RUN)
}

// effective is the instruction that takes effect: the one an ONBUILD
// wraps, or the instruction itself.
func (in *instruction) effective() *instruction {
	if in.onbuild != nil {
		return in.onbuild
	}
	return in
}

// comment is a comment line outside any instruction.
type comment struct {
	line int
	text string // the text after '#'
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	lines    []string // source lines without line endings; lines[0] is line 1
	instrs   []*instruction
	comments []comment
	escape   byte
	unknown  []*instruction // instructions with an unknown keyword
}

// parseError is a Dockerfile BuildKit cannot parse.
type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

var knownInstructions = map[string]bool{
	"add": true, "arg": true, "cmd": true, "copy": true, "entrypoint": true, "env": true,
	"expose": true, "from": true, "healthcheck": true, "label": true, "maintainer": true,
	"onbuild": true, "run": true, "shell": true, "stopsignal": true, "user": true,
	"volume": true, "workdir": true,
}

func parseDockerfile(src []byte) (*dockerfile, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	d := &dockerfile{escape: '\\'}
	d.lines = strings.Split(string(src), "\n")
	for i, l := range d.lines {
		d.lines[i] = strings.TrimSuffix(l, "\r")
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		msg := err.Error()
		if strings.Contains(msg, "file with no instructions") {
			d.collectComments()
			return d, nil
		}
		if line < 1 {
			line = 1
		}
		return nil, &parseError{line: line, msg: msg}
	}
	if res.EscapeToken == '`' {
		d.escape = '`'
	}
	for _, n := range res.AST.Children {
		in := newInstruction(n)
		if in.line < 1 || in.endLine > len(d.lines) || in.endLine < in.line {
			return nil, &parseError{line: max(in.line, 1), msg: "instruction has no valid source position"}
		}
		d.instrs = append(d.instrs, in)
		if !knownInstructions[in.cmd] || (in.onbuild != nil && !knownInstructions[in.onbuild.cmd]) {
			d.unknown = append(d.unknown, in)
		}
	}
	d.collectComments()
	return d, nil
}

func newInstruction(n *parser.Node) *instruction {
	in := &instruction{
		cmd:      strings.ToLower(n.Value),
		line:     n.StartLine,
		endLine:  n.EndLine,
		flags:    n.Flags,
		json:     n.Attributes["json"],
		heredocs: n.Heredocs,
		stage:    -1,
	}
	if in.cmd == "onbuild" {
		if n.Next != nil && len(n.Next.Children) > 0 {
			child := newInstruction(n.Next.Children[0])
			child.line, child.endLine = in.line, in.endLine
			child.heredocs = n.Heredocs
			in.onbuild = child
		}
		return in
	}
	for x := n.Next; x != nil; x = x.Next {
		in.args = append(in.args, x.Value)
	}
	return in
}

// collectComments records comment lines that are not inside an instruction.
func (d *dockerfile) collectComments() {
	inside := make([]bool, len(d.lines)+2)
	for _, in := range d.instrs {
		for l := in.line; l <= in.endLine && l < len(inside); l++ {
			inside[l] = true
		}
	}
	for i, l := range d.lines {
		if inside[i+1] {
			continue
		}
		t := strings.TrimLeft(l, " \t")
		if strings.HasPrefix(t, "#") {
			d.comments = append(d.comments, comment{line: i + 1, text: t[1:]})
		}
	}
}

// flag returns the value of a builder flag such as --from, and whether it is set.
func (in *instruction) flag(name string) (string, bool) {
	for _, f := range in.flags {
		f = strings.TrimPrefix(f, "--")
		if k, v, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, name) {
			return unquote(v), true
		} else if !ok && strings.EqualFold(f, name) {
			return "", true
		}
	}
	return "", false
}

// pairs returns the key/value pairs of ENV and LABEL, unquoted.
func (in *instruction) pairs() [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(in.args); i += 3 {
		out = append(out, [2]string{unquote(in.args[i]), unquote(in.args[i+1])})
	}
	return out
}

// fromRef describes the image a FROM names.
type fromRef struct {
	image    string // as written, unquoted
	alias    string
	platform string
	hasPlat  bool
}

func (in *instruction) from() fromRef {
	var r fromRef
	if len(in.args) > 0 {
		r.image = unquote(in.args[0])
	}
	if len(in.args) > 2 && strings.EqualFold(in.args[1], "as") {
		r.alias = unquote(in.args[2])
	}
	r.platform, r.hasPlat = in.flag("platform")
	return r
}

// sourcesAndDest splits COPY/ADD arguments into sources and destination.
func (in *instruction) sourcesAndDest() ([]string, string) {
	if len(in.args) == 0 {
		return nil, ""
	}
	srcs := make([]string, 0, len(in.args)-1)
	for _, s := range in.args[:len(in.args)-1] {
		srcs = append(srcs, unquote(s))
	}
	return srcs, unquote(in.args[len(in.args)-1])
}

// unquote removes the shell-style quoting BuildKit leaves in words:
// "a b" -> a b, 'x' -> x, a\ b -> a b. Backslashes inside double quotes are
// kept unless they escape a quote, so Windows paths survive.
func unquote(s string) string {
	if !strings.ContainsAny(s, `"'\`) {
		return s
	}
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case c == '\\' && quote == '"' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			b.WriteByte(s[i])
		case c == '\\' && quote == 0 && i+1 < len(s) && s[i+1] != '\\' && !isAlnum(s[i+1]):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// expandVars replaces $NAME and ${NAME} with values from env; unknown
// references and ${NAME:...} forms are left as written.
func expandVars(s string, env map[string]string) string {
	if !strings.Contains(s, "$") || len(env) == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		m := varRef.FindStringSubmatchIndex(s[i:])
		if m == nil || m[0] != 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		name := s[i+m[2] : i+m[3]]
		end := i + m[1]
		braced := s[i+1] == '{'
		if braced {
			if end >= len(s) || s[end] != '}' {
				b.WriteString(s[i:end])
				i = end
				continue
			}
			end++
		}
		if v, ok := env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String()
}
