package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
)

func TestCacheScope(t *testing.T) {
	ws := t.TempDir()
	df := "ARG BASE=debian:12\nFROM ${BASE} AS builder\nARG stack Z A=\"x y\" GIT_SHA SHORT VERSION APP_VERSION RUN NODE_MAJOR NPM_TOKEN\nFROM scratch AS production\nARG PLATFORM_NOTE=none\n"
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := &ghactions.Context{
		SHA: "3f786850e387550fdab836ed7e6dc881de23001b", Ref: "refs/tags/v1.2.3",
		RunID: "13650001002", RunNumber: "20",
	}
	args := func(pairs ...string) []build.BuildArg {
		var out []build.BuildArg
		for _, p := range pairs {
			k, v, _ := strings.Cut(p, "=")
			out = append(out, build.BuildArg{Name: k, Value: v})
		}
		return out
	}
	tests := []struct {
		name      string
		scope     string
		target    string
		args      []build.BuildArg
		platforms []string
		want      string
		wantFrom  string
	}{
		{name: "nothing to tell variants apart", scope: "auto", want: ""},
		{name: "the last stage as target is no variant", scope: "auto", target: "Production", want: ""},
		{name: "another target", scope: "auto", target: "builder", want: "builder", wantFrom: "target builder"},
		{name: "a flavour build arg", scope: "auto", args: args("stack=dev"), want: "stack-dev", wantFrom: "build-args stack=dev"},
		{name: "args sorted, target first", scope: "auto", target: "builder", args: args("Z=1", "A=x z"), want: "builder-a-x-z-z-1"},
		{name: "values naming the run are left out", scope: "auto",
			args: args("GIT_SHA=3f786850e387550fdab836ed7e6dc881de23001b", "SHORT=3f78685", "VERSION=v1.2.3", "APP_VERSION=1.2.3", "RUN=13650001002", "BUILDKIT_INLINE_CACHE=1", "NODE_MAJOR=20"),
			want: "node_major-20"},
		{name: "undeclared args change nothing", scope: "auto", args: args("UNUSED=1", "HTTP_PROXY=http://proxy:3128"), want: ""},
		{name: "an arg given its own default changes nothing", scope: "auto", args: args("BASE=debian:12", "PLATFORM_NOTE=none"), want: ""},
		{name: "an arg given another default", scope: "auto", args: args("BASE=debian:13"), want: "base-debian-13"},
		{name: "platforms", scope: "auto", platforms: []string{"linux/arm64", "linux/amd64"}, want: "linux-amd64-linux-arm64"},
		{name: "long values become a digest", scope: "auto", args: args("BASE=registry.example.com/team/base-images/python:3.12-slim-bookworm"), want: "<digest>"},
		{name: "a secret-sounding arg: a digest, no value shown", scope: "auto", args: args("NPM_TOKEN=npm_abcdef123", "stack=dev"), want: "<digest>", wantFrom: "build-args NPM_TOKEN stack (values not shown)"},
		{name: "given", scope: "web", args: args("stack=dev"), want: "web", wantFrom: "cache-scope"},
		{name: "empty: none", scope: "", args: args("stack=dev"), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Workspace: ws, File: "Dockerfile", CacheScope: tc.scope}
			cfg.Build.Target, cfg.Build.BuildArgs, cfg.Build.Platforms = tc.target, tc.args, tc.platforms
			got, from := cacheScope(cfg, ev)
			if tc.want == "<digest>" {
				if len(got) != 12 || strings.Trim(got, "0123456789abcdef") != "" {
					t.Errorf("scope %q, want 12 hex digits", got)
				}
			} else if got != tc.want {
				t.Errorf("scope %q, want %q", got, tc.want)
			}
			if !strings.Contains(from, tc.wantFrom) {
				t.Errorf("from %q lacks %q", from, tc.wantFrom)
			}
			if strings.Contains(got+from, "npm_abcdef") {
				t.Errorf("a secret-sounding arg's value is in the scope %q or %q", got, from)
			}
			if len(got) > config.MaxCacheScope {
				t.Errorf("scope %q is longer than %d", got, config.MaxCacheScope)
			}
		})
	}
	// Two flavours never share a scope.
	a, _ := cacheScope(&config.Config{Workspace: ws, File: "Dockerfile", CacheScope: "auto", Build: config.BuildConfig{BuildArgs: args("stack=dev")}}, ev)
	b, _ := cacheScope(&config.Config{Workspace: ws, File: "Dockerfile", CacheScope: "auto", Build: config.BuildConfig{BuildArgs: args("stack=prod")}}, ev)
	if a == b {
		t.Errorf("stack=dev and stack=prod share the scope %q", a)
	}
}
