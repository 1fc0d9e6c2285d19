package tags

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// {{dockerfile 'NAME'}} reads the final stage's ARG or ENV (the app reads
// the Dockerfile); a variable that is not set skips the rule with the
// reason, it does not fail the run.
func TestDockerfileHelper(t *testing.T) {
	vars := map[string]string{"APP_VERSION": "2.4.1", "CHANNEL": "stable"}
	lookup := func(name string) (string, string) {
		if v, ok := vars[name]; ok {
			return v, ""
		}
		return "", `the final stage "production" sets no ARG or ENV ` + name
	}
	push := Event{Name: "push", Ref: "refs/heads/main", SHA: strings.Repeat("c", 40), DefaultBranch: "main"}
	tests := []struct {
		name    string
		rules   []string
		labels  []string
		dvar    func(string) (string, string)
		tags    []string
		skipped string
		label   string
		warning string
		err     string
	}{
		{name: "raw value", rules: []string{"type=raw,value={{dockerfile 'APP_VERSION'}}"}, dvar: lookup, tags: []string{"2.4.1"}},
		{name: "semver from the value, with its partial tags", rules: []string{"type=semver,pattern={{version}},value={{dockerfile 'APP_VERSION'}}", "type=semver,pattern={{major}}.{{minor}},value={{dockerfile 'APP_VERSION'}}"}, dvar: lookup, tags: []string{"2.4.1", "2.4", "latest"}},
		{name: "with text around it", rules: []string{"type=raw,value={{dockerfile 'CHANNEL'}}-{{dockerfile 'APP_VERSION'}}"}, dvar: lookup, tags: []string{"stable-2.4.1"}},
		{name: "absent: skipped with the reason", rules: []string{"type=raw,value={{dockerfile 'VERSION'}}", "type=ref,event=branch"}, dvar: lookup, tags: []string{"main"},
			skipped: `{{dockerfile 'VERSION'}}: the final stage "production" sets no ARG or ENV VERSION`},
		{name: "no Dockerfile read", rules: []string{"type=raw,value={{dockerfile 'APP_VERSION'}}"}, skipped: "no Dockerfile was read"},
		{name: "in enable", rules: []string{"type=raw,value=x,enable={{dockerfile 'ENABLED'}}"}, dvar: lookup, skipped: "sets no ARG or ENV ENABLED"},
		{name: "a label", rules: []string{"type=raw,value=x"}, labels: []string{"org.opencontainers.image.version={{dockerfile 'APP_VERSION'}}"}, dvar: lookup, tags: []string{"x"}, label: "org.opencontainers.image.version=2.4.1"},
		{name: "a label left out", rules: []string{"type=raw,value=x"}, labels: []string{"app.channel={{dockerfile 'NOPE'}}"}, dvar: lookup, tags: []string{"x"}, warning: `labels line "app.channel={{dockerfile 'NOPE'}}" left out`},
		{name: "no name", rules: []string{"type=raw,value={{dockerfile}}"}, dvar: lookup, err: "takes the name of an ARG or ENV in quotes"},
		{name: "an unquoted name", rules: []string{"type=raw,value={{dockerfile APP_VERSION}}"}, dvar: lookup, err: "takes the name of an ARG or ENV in quotes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A malformed call fails when the input is read.
			rules, err := ParseRules(tc.rules)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Event: push, Rules: rules, Labels: tc.labels, DockerfileVar: tc.dvar, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Flavor: Flavor{Latest: "auto"}}
			p, err := Compute(in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.TagNames, tc.tags) {
				t.Errorf("tags %q, want %q (skipped %v)", p.TagNames, tc.tags, p.Skipped)
			}
			if tc.skipped != "" && !slices.ContainsFunc(p.Skipped, func(s Skip) bool { return strings.Contains(s.Reason, tc.skipped) }) {
				t.Errorf("skipped %v, want a reason with %q", p.Skipped, tc.skipped)
			}
			if tc.label != "" && !slices.Contains(p.Labels, tc.label) {
				t.Errorf("labels %q lack %q", p.Labels, tc.label)
			}
			if tc.warning != "" && !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, tc.warning) }) {
				t.Errorf("warnings %q lack %q", p.Warnings, tc.warning)
			}
		})
	}
}
