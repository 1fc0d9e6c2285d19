package build

import (
	"bytes"
	"os"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// BaseImages are the images the Dockerfile at path builds FROM (not its
// own stages, not scratch), with the global ARGs expanded as the frontend
// expands them (build-args override their defaults), each once, in order.
// The push learns their layers from the registry: a layer the build took
// from a base image is pushed as the base image's blob, not compressed
// again, which BuildKit v0.8's inline cache needs to reuse the steps after
// FROM (docs/push.md). A Dockerfile that cannot be read gives none.
func BaseImages(path string, buildArgs []BuildArg) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil
	}
	overrides := map[string]string{}
	for _, a := range buildArgs {
		overrides[a.Name] = a.Value
	}
	lex := shell.NewLex(res.EscapeToken)
	meta := map[string]string{}
	expand := func(word string) string {
		out, _, err := lex.ProcessWord(word, envOf(meta))
		if err != nil {
			return word
		}
		return out
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if v, ok := overrides[kv.Key]; ok {
				meta[kv.Key] = v
			} else if kv.Value != nil {
				meta[kv.Key] = expand(*kv.Value)
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, st := range stages {
		base := expand(st.BaseName)
		if base == "" || strings.EqualFold(base, "scratch") || seen[strings.ToLower(base)] {
			continue
		}
		seen[strings.ToLower(base)] = true
		out = append(out, base)
	}
	// A stage name is not an image (FROM builder).
	return slices.DeleteFunc(out, func(b string) bool {
		return slices.ContainsFunc(stages, func(st instructions.Stage) bool { return st.Name != "" && strings.EqualFold(st.Name, b) })
	})
}
