package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/report"
)

type fakeBuilder struct {
	res    *Result
	err    error
	plan   *pipeline.TagPlan
	closed bool
}

func (f *fakeBuilder) Features() Features {
	return Features{Driver: DriverDocker, Description: "a fake engine"}
}

func (f *fakeBuilder) Build(_ context.Context, plan *pipeline.TagPlan, progress io.Writer) (*Result, error) {
	f.plan = plan
	_, _ = io.WriteString(progress, "#1 [1/1] RUN echo ::error::injected\n")
	return f.res, f.err
}

func (f *fakeBuilder) Close() error { f.closed = true; return nil }

func TestStageWithFakeBuilder(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "app", "Dockerfile"), "FROM scratch\n")
	ok := &Result{
		Outcome: pipeline.BuildOutcome{Driver: DriverDocker, ImageID: "sha256:0123456789abcdef0123", CacheHits: 3, Executed: 1,
			Images: []pipeline.BuiltImage{{Role: pipeline.RoleFinal, EngineImageID: "sha256:0123456789abcdef0123"}}},
		Steps:  StepCounts{Cached: 3, Executed: 1, Total: 4},
		Solves: []SolveReport{{Role: pipeline.RoleFinal, Steps: StepCounts{Cached: 3, Executed: 1, Total: 4}}},
		Cache:  CacheReport{Mode: CacheInline, Read: []string{"r:builder-main"}, Written: []string{"r:main"}},
	}
	tests := []struct {
		name     string
		opts     Options
		builder  *fakeBuilder
		skip     string
		err      string
		log      []string
		fact     string
		invalid  string // Validate's error; the stage is not run
		sections int
	}{
		{name: "no Dockerfile in the context: skipped", opts: Options{Workspace: ws}, skip: "no Dockerfile at Dockerfile and no file input: nothing to build"},
		// Bad inputs are the app's to report (Options.Validate, once, before
		// any stage runs); the stage does not skip them as nothing to do.
		{name: "explicit missing file: an error, not a skip", opts: Options{Workspace: ws, File: "nope/Dockerfile"}, invalid: `input "file": "nope/Dockerfile" is not a file`},
		{name: "bad target: an error, not a skip", opts: Options{Workspace: ws, Context: "app", Target: "a b"}, invalid: `input "target"`},
		{name: "success", opts: Options{Workspace: ws, Context: "app"}, builder: &fakeBuilder{res: ok},
			log:  []string{"Builder: a fake engine (driver docker)", "::group::BuildKit log: app/Dockerfile", "::stop-commands::", "#1 [1/1] RUN echo ::error::injected", "Cache: inline", "read: r:builder-main", "written: r:main"},
			fact: "sha256:0123456789ab…, 3 of 4 steps cached, 1 run (inline cache)", sections: 1},
		{name: "failure", opts: Options{Workspace: ws, Context: "app"},
			builder: &fakeBuilder{err: &BuildError{File: "app/Dockerfile", Line: 1, EndLine: 1, Step: "[1/1] RUN x", Reason: "exit code: 1", Logs: []string{"::warning::not a command"}}},
			err:     "the build failed at step", log: []string{"::error file=app/Dockerfile,line=1,endLine=1,title=build failed at [1/1] RUN x::exit code: 1", "%3A%3Awarning::not a command"}, sections: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			runner := ghactions.NewRunner(func(k string) string {
				if k == "GITHUB_ACTIONS" {
					return "true"
				}
				return ""
			}, &out)
			s := NewStage(tc.opts, runner, nil).(*Stage)
			s.connect = func(context.Context, Options, Engine) (Builder, error) {
				if tc.builder == nil {
					return nil, errors.New("no builder in this test")
				}
				return tc.builder, nil
			}
			st := &pipeline.State{Plan: &pipeline.TagPlan{Tags: []string{"r:main"}}}
			if got := s.SkipReason(st); got != tc.skip {
				t.Fatalf("SkipReason = %q, want %q", got, tc.skip)
			}
			if tc.skip != "" {
				return
			}
			if tc.invalid != "" {
				if err := tc.opts.Validate(); err == nil || !strings.Contains(err.Error(), tc.invalid) {
					t.Fatalf("Validate() = %v, want %q", err, tc.invalid)
				}
				return
			}
			err := s.Run(t.Context(), st)
			_ = runner.Close()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Run() = %v, want %q", err, tc.err)
			}
			if tc.builder != nil && (!tc.builder.closed || tc.builder.plan != st.Plan) {
				t.Errorf("builder closed %v, plan passed %v", tc.builder.closed, tc.builder.plan == st.Plan)
			}
			for _, want := range tc.log {
				if !strings.Contains(out.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "\n::error::injected") {
				t.Error("untrusted build output became a workflow command")
			}
			if got := s.Fact(st); got != tc.fact {
				t.Errorf("Fact = %q, want %q", got, tc.fact)
			}
			if len(st.Sections) != tc.sections {
				t.Errorf("%d sections, want %d", len(st.Sections), tc.sections)
			}
		})
	}
	if got := report.StateOutputs(&pipeline.State{Build: &ok.Outcome}, ""); got["cache-hits"] != "3" || got["cache-misses"] != "1" || got["imageid"] != "sha256:0123456789abcdef0123" {
		t.Errorf("Outputs = %v", got)
	}
}

func TestSolveOptions(t *testing.T) {
	o := Options{
		File: "build/app.Dockerfile", BuildArgs: mustArgs(t, "A=1", "B=x=y"),
		Platforms: []string{"linux/amd64", "linux/arm64"}, NoCache: true, Pull: true, // parsed (trimmed) by ParsePlatforms
	}
	plan := &pipeline.TagPlan{Labels: []string{"org.opencontainers.image.title=plan", "org.opencontainers.image.source=https://x", "extra=1"}}
	b := &bkBuilder{opts: o, features: Features{Exporter: "moby"}}
	attrs, err := b.frontendAttrs(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"filename": "app.Dockerfile", "build-arg:A": "1", "build-arg:B": "x=y",
		"label:org.opencontainers.image.title": "plan", "label:org.opencontainers.image.source": "https://x", "label:extra": "1",
		"platform": "linux/amd64,linux/arm64", "no-cache": "", "image-resolve-mode": "pull",
	}
	if len(attrs) != len(want) {
		t.Errorf("attrs %v, want %v", attrs, want)
	}
	for k, v := range want {
		if got, ok := attrs[k]; !ok || got != v {
			t.Errorf("attr %s = %q, want %q", k, got, v)
		}
	}

	cp := &cachePlan{Inline: true}
	j := job{role: pipeline.RoleBuilder, target: "builder", names: []string{"r:builder-main"}, cacheRefs: []string{"r:builder-main"}}
	opt := b.solveOpt(nil, j, attrs, cp)
	if opt.FrontendAttrs["target"] != "builder" || opt.Frontend != "dockerfile.v0" || !opt.SessionPreInitialized {
		t.Errorf("solve opt %+v", opt)
	}
	if len(opt.Exports) != 1 || opt.Exports[0].Type != "moby" || opt.Exports[0].Attrs["name"] != "r:builder-main" {
		t.Errorf("exports %+v", opt.Exports)
	}
	if len(opt.CacheExports) != 1 || opt.CacheExports[0].Type != "inline" {
		t.Errorf("cache exports %+v, want inline", opt.CacheExports)
	}
	if _, shared := attrs["target"]; shared {
		t.Error("the target leaked into the common attributes")
	}
	// No cache refs: no inline metadata. OCI exporter: no name, no tar.
	b.features.Exporter = "oci"
	opt = b.solveOpt(nil, job{role: pipeline.RoleFinal}, attrs, cp)
	if len(opt.CacheExports) != 0 || opt.Exports[0].Type != "oci" || opt.Exports[0].Attrs["tar"] != "false" {
		t.Errorf("final without cache refs: exports %+v cache %+v", opt.Exports, opt.CacheExports)
	}
}

// The plan's SOURCE_DATE_EPOCH goes to BuildKits that read it (v0.11 on),
// unless build-args sets one (empty: the build's own time), and the
// exporter rewrites the layers' times where it can (buildkitd).
func TestSourceDateEpochAttrs(t *testing.T) {
	epoch := time.Unix(1735787045, 0).UTC()
	plan := &pipeline.TagPlan{SourceDateEpoch: epoch}
	cases := []struct {
		name      string
		features  Features
		args      []string
		wantArg   string // "" : no build-arg:SOURCE_DATE_EPOCH
		wantWrite bool   // rewrite-timestamp on the exporter
	}{
		{name: "buildkitd", features: Features{Exporter: "oci", Version: "v0.29.0", RewriteTimestamp: true}, wantArg: "1735787045", wantWrite: true},
		{name: "docker 29", features: Features{Exporter: "moby", Version: "v0.29.0"}, wantArg: "1735787045"},
		{name: "docker 20.10", features: Features{Exporter: "moby", Version: "(before v0.11)"}},
		{name: "v0.10", features: Features{Exporter: "moby", Version: "v0.10.6"}},
		{name: "build-args wins", features: Features{Exporter: "oci", Version: "v0.29.0", RewriteTimestamp: true}, args: []string{"SOURCE_DATE_EPOCH=42"}, wantArg: "42", wantWrite: true},
		{name: "empty in build-args", features: Features{Exporter: "oci", Version: "v0.29.0", RewriteTimestamp: true}, args: []string{"SOURCE_DATE_EPOCH="}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &bkBuilder{opts: Options{BuildArgs: mustArgs(t, tc.args...)}, features: tc.features}
			attrs, err := b.frontendAttrs(plan)
			if err != nil {
				t.Fatal(err)
			}
			if got := attrs["build-arg:SOURCE_DATE_EPOCH"]; got != tc.wantArg {
				t.Errorf("build-arg:SOURCE_DATE_EPOCH = %q, want %q", got, tc.wantArg)
			}
			opt := b.solveOpt(nil, job{role: pipeline.RoleFinal}, attrs, &cachePlan{})
			if got := opt.Exports[0].Attrs["rewrite-timestamp"] == "true"; got != tc.wantWrite {
				t.Errorf("rewrite-timestamp %v, want %v (exporter attrs %v)", got, tc.wantWrite, opt.Exports[0].Attrs)
			}
		})
	}
}
