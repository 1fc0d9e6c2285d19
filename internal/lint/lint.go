// Package lint is a Dockerfile linter that speaks hadolint's language: the
// same DL rule codes and default severities, the same .hadolint.yaml and the
// same inline `# hadolint ignore=` pragmas. It adds a few IP rules for the
// checklist items hadolint lacks. Findings are data; callers decide, with
// Gate, whether they fail a build.
package lint

import (
	"fmt"
	"os"
	"sort"
)

// Finding is one rule violation.
type Finding struct {
	File     string
	Line     int // 1-based line of the offending instruction or command
	Column   int // 1-based column, 0 when unknown
	EndLine  int // last line of the instruction
	Code     string
	Severity string // error, warning, info or style
	Message  string
}

// Option tunes a Lint call.
type Option func(*options)

type options struct {
	contextDir    string
	maxFileBytes  int64
	keepSwitchOff bool
}

// WithBuildContext turns on IP005: files of at least maxBytes that COPY or
// ADD take from the build context directory dir are reported. A maxBytes of
// 0 or less uses DefaultMaxContextFileBytes.
func WithBuildContext(dir string, maxBytes int64) Option {
	return func(o *options) {
		o.contextDir = dir
		if maxBytes <= 0 {
			maxBytes = DefaultMaxContextFileBytes
		}
		o.maxFileBytes = maxBytes
	}
}

// DefaultMaxContextFileBytes is the IP005 threshold when none is given (50 MiB).
const DefaultMaxContextFileBytes = 50 << 20

// hit is a finding before configuration and pragmas are applied.
type hit struct {
	code    string
	line    int
	col     int
	endLine int
	anchor  int // line pragmas attach to: the instruction's first line
	stage   int
	msg     string
}

// LintFile reads and lints a Dockerfile.
func LintFile(path string, cfg *Config, opts ...Option) ([]Finding, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the Dockerfile %s: %w", path, err)
	}
	return Lint(path, src, cfg, opts...)
}

// Lint checks the Dockerfile text src; name is reported as the file of each
// finding. A Dockerfile that cannot be parsed yields one DL1000 finding, as
// in hadolint; the error is reserved for problems with the inputs.
func Lint(name string, src []byte, cfg *Config, opts ...Option) ([]Finding, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d, err := parseDockerfile(src)
	if err != nil {
		pe, _ := err.(*parseError)
		line := 1
		if pe != nil {
			line = pe.line
		}
		hits := []hit{{code: "DL1000", line: line, anchor: line, endLine: line, stage: -1,
			msg: "Dockerfile cannot be parsed: " + err.Error()}}
		return finish(name, hits, nil, cfg, o), nil
	}
	a := analyze(d)
	l := &linter{a: a, d: d, cfg: cfg, opts: o}
	for _, in := range d.unknown {
		kw := in.cmd
		if in.onbuild != nil {
			kw = in.onbuild.cmd
		}
		l.report("DL1000", in, fmt.Sprintf("Unknown instruction %q: Dockerfiles accept FROM, RUN, COPY, ADD, ENV, ARG, ... only.", kw))
	}
	for _, check := range checks {
		check(l)
	}
	if o.contextDir != "" {
		if err := l.checkContextFiles(); err != nil {
			return nil, err
		}
	}
	return finish(name, l.hits, a, cfg, o), nil
}

// finish applies pragmas and configuration, and sorts the findings.
func finish(name string, hits []hit, a *analysis, cfg *Config, o options) []Finding {
	ignoreAt := map[int]map[string]bool{}
	global := map[string]bool{}
	stageIgnore := map[int]map[string]bool{}
	if !cfg.DisableIgnorePragma && a != nil {
		for _, p := range a.pragmas {
			switch p.kind {
			case pragmaIgnore:
				addCodes(ignoreAt, p.line+1, p.codes)
			case pragmaGlobal:
				for _, c := range p.codes {
					global[c] = true
				}
			case pragmaStage:
				addCodes(stageIgnore, a.pragmaStage(p.line), p.codes)
			}
		}
	}
	ignored := map[string]bool{}
	for _, c := range cfg.Ignored {
		ignored[c] = true
	}
	out := make([]Finding, 0, len(hits))
	for _, h := range hits {
		if ignored[h.code] || global[h.code] || ignoreAt[h.anchor][h.code] || stageIgnore[h.stage][h.code] {
			continue
		}
		rule, _ := LookupRule(h.code)
		sev := rule.Severity
		if s, ok := cfg.Override[h.code]; ok {
			sev = s
		}
		if sev == SeverityNone && !o.keepSwitchOff {
			continue
		}
		out = append(out, Finding{
			File: name, Line: h.line, Column: h.col, EndLine: max(h.endLine, h.line),
			Code: h.code, Severity: sev.String(), Message: h.msg,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Code < out[j].Code
	})
	return out
}

func addCodes(m map[int]map[string]bool, key int, codes []string) {
	if m[key] == nil {
		m[key] = map[string]bool{}
	}
	for _, c := range codes {
		m[key][c] = true
	}
}

// pragmaStage is the stage a `stage ignore` pragma applies to: the stage
// of the next instruction, so a pragma just above a FROM covers that stage.
func (a *analysis) pragmaStage(line int) int {
	for _, in := range a.d.instrs {
		if in.line > line {
			return in.stage
		}
	}
	return len(a.stages) - 1
}

// linter carries the state the checks share.
type linter struct {
	a    *analysis
	d    *dockerfile
	cfg  *Config
	opts options
	hits []hit
}

func (l *linter) report(code string, in *instruction, msg string) {
	l.hits = append(l.hits, hit{code: code, line: in.line, col: 1, endLine: in.endLine, anchor: in.line, stage: in.stage, msg: msg})
}

// reportCmd reports at the line of a command inside a RUN.
func (l *linter) reportCmd(code string, in *instruction, c *command, msg string) {
	if c == nil || c.line == 0 {
		l.report(code, in, msg)
		return
	}
	l.hits = append(l.hits, hit{code: code, line: c.line, col: c.col, endLine: in.endLine, anchor: in.line, stage: in.stage, msg: msg})
}

func (l *linter) reportLine(code string, line int, stage int, msg string) {
	l.hits = append(l.hits, hit{code: code, line: line, col: 1, endLine: line, anchor: line, stage: stage, msg: msg})
}
