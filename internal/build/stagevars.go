package build

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// StageVars are the ARG and ENV values the final stage of a Dockerfile
// sets, as the build will see them: build-args override ARG defaults,
// values are expanded as the Dockerfile frontend expands them, and ENV
// inherited from an earlier stage (FROM <stage>) counts. Only the
// Dockerfile is read: the ENV of an external base image is not known.
type StageVars struct {
	// Stage names the final stage for messages, after "the final stage":
	// `"production"`, or "at line 12" when it has no name.
	Stage string
	// Base is the final stage's base image when it is not a stage of the
	// Dockerfile ("" when it is one).
	Base   string
	values map[string]string
	// empty are ARGs the final stage declares with no value.
	empty map[string]bool
	// elsewhere maps a name set only in other stages to one of them.
	elsewhere map[string]string
	// err is why the Dockerfile could not be read.
	err error
}

// ReadStageVars reads the variables of the final stage (target, or the
// last stage) of the Dockerfile at path. A Dockerfile that cannot be read
// gives StageVars whose Lookup says so.
func ReadStageVars(path, display, target string, buildArgs []BuildArg) *StageVars {
	sv := &StageVars{values: map[string]string{}, empty: map[string]bool{}, elsewhere: map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		sv.err = fmt.Errorf("the Dockerfile %s cannot be read: %w", display, err)
		return sv
	}
	df, err := parseStages(data, buildArgs)
	if err != nil {
		sv.err = fmt.Errorf("the Dockerfile %s cannot be parsed: %w", display, err)
		return sv
	}
	stages, overrides, meta, expand := df.stages, df.overrides, df.meta, df.expand

	final := len(stages) - 1
	if target != "" {
		final = -1
		for i, st := range stages {
			if strings.EqualFold(st.Name, target) {
				final = i
			}
		}
		if final < 0 {
			sv.err = fmt.Errorf("the Dockerfile %s has no stage %q", display, target)
			return sv
		}
	}
	byName := map[string]int{}
	for i, st := range stages {
		if st.Name != "" {
			byName[strings.ToLower(st.Name)] = i
		}
	}
	// The chain of stages the final one is built FROM, root first.
	var chain []int
	for i := final; ; {
		chain = append([]int{i}, chain...)
		j, ok := byName[strings.ToLower(expand(stages[i].BaseName, meta))]
		if !ok || j >= i { // an image, not an earlier stage
			sv.Base = expand(stages[i].BaseName, meta)
			break
		}
		i = j
	}
	env := map[string]string{}
	for _, i := range chain {
		args := map[string]string{}
		for _, cmd := range stages[i].Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					v, ok := overrides[kv.Key]
					if !ok && kv.Value != nil {
						v, ok = expand(*kv.Value, merged(args, env)), true
					}
					if !ok {
						v, ok = meta[kv.Key]
					}
					if !ok {
						if i == final {
							sv.empty[kv.Key] = true
						}
						continue
					}
					args[kv.Key] = v
					if i == final {
						delete(sv.empty, kv.Key)
					}
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					env[kv.Key] = expand(kv.Value, merged(args, env))
					delete(sv.empty, kv.Key)
				}
			}
		}
		if i == final {
			maps.Copy(sv.values, args)
		}
	}
	maps.Copy(sv.values, env) // ENV wins over an ARG of the same name
	if st := stages[final]; st.Name != "" {
		sv.Stage = fmt.Sprintf("%q", st.Name)
	} else {
		sv.Stage = fmt.Sprintf("at line %d", stageLine(st))
	}
	for i, st := range stages {
		if slices.Contains(chain, i) {
			continue
		}
		where := fmt.Sprintf("at line %d", stageLine(st))
		if st.Name != "" {
			where = fmt.Sprintf("%q", st.Name)
		}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				for _, kv := range c.Args {
					if _, ok := sv.elsewhere[kv.Key]; !ok {
						sv.elsewhere[kv.Key] = where
					}
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if _, ok := sv.elsewhere[kv.Key]; !ok {
						sv.elsewhere[kv.Key] = where
					}
				}
			}
		}
	}
	return sv
}

// dockerfileStages is a parsed Dockerfile with its global ARGs (those
// before the first FROM, visible to FROM lines and to a stage's ARG of the
// same name without a default) expanded as the frontend expands them,
// build-args overriding their defaults.
type dockerfileStages struct {
	stages    []instructions.Stage
	overrides map[string]string // the build-args
	meta      map[string]string // the global ARGs' values
	lex       *shell.Lex
}

func parseStages(data []byte, buildArgs []BuildArg) (*dockerfileStages, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("it has no FROM")
	}
	df := &dockerfileStages{stages: stages, overrides: map[string]string{}, meta: map[string]string{}, lex: shell.NewLex(res.EscapeToken)}
	for _, a := range buildArgs {
		df.overrides[a.Name] = a.Value
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if v, ok := df.overrides[kv.Key]; ok {
				df.meta[kv.Key] = v
			} else if kv.Value != nil {
				df.meta[kv.Key] = df.expand(*kv.Value, df.meta)
			}
		}
	}
	return df, nil
}

// expand expands word with env as the frontend does; a word it cannot
// expand is kept as written.
func (df *dockerfileStages) expand(word string, env map[string]string) string {
	out, _, err := df.lex.ProcessWord(word, envOf(env))
	if err != nil {
		return word
	}
	return out
}

func stageLine(st instructions.Stage) int {
	if len(st.Location) > 0 {
		return st.Location[0].Start.Line
	}
	return 0
}

func merged(args, env map[string]string) map[string]string {
	m := maps.Clone(args)
	maps.Copy(m, env)
	return m
}

// envOf adapts a map to the shell lexer.
type envOf map[string]string

func (e envOf) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envOf) Keys() []string              { return slices.Sorted(maps.Keys(e)) }

// Lookup returns the value of name in the final stage, or why there is
// none, as the rest of a sentence for a tag rule's skip reason.
func (sv *StageVars) Lookup(name string) (value, absent string) {
	if sv.err != nil {
		return "", sv.err.Error()
	}
	if v, ok := sv.values[name]; ok {
		if v == "" {
			return "", fmt.Sprintf("%s is empty in the final stage %s", name, sv.Stage)
		}
		return v, ""
	}
	if sv.empty[name] {
		return "", fmt.Sprintf("ARG %s of the final stage %s has no default and build-args gives it no value", name, sv.Stage)
	}
	if where, ok := sv.elsewhere[name]; ok {
		return "", fmt.Sprintf("%s is set in stage %s, not in the final stage %s: declare ARG %s (or set ENV %s) there", name, where, sv.Stage, name, name)
	}
	reason := fmt.Sprintf("the final stage %s sets no ARG or ENV %s", sv.Stage, name)
	if sv.Base != "" {
		reason += fmt.Sprintf(" (an ENV of its base image %s is not read: only the Dockerfile is)", sv.Base)
	}
	return "", reason
}
