package registry

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/report"
	"github.com/org/image-pipeline/internal/testenv"
)

// builtState is a state after a successful build with tags planned.
func builtState(final pipeline.BuiltImage, tags ...string) *pipeline.State {
	return &pipeline.State{
		Plan:  &pipeline.TagPlan{Tags: tags},
		Build: &pipeline.BuildOutcome{Driver: "remote", Images: []pipeline.BuiltImage{final}},
	}
}

func TestStageSkipReasons(t *testing.T) {
	final := pipeline.BuiltImage{Role: pipeline.RoleFinal, OCILayout: "/nonexistent"}
	cases := []struct {
		name  string
		opts  Options
		state func() *pipeline.State
		want  string // "" runs; a regexp otherwise
	}{
		{
			name:  "fork pull request",
			opts:  Options{ForkPR: true, GitHubToken: "t"},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:pr-1") },
			want:  "^pull request from a fork: nothing is pushed$",
		},
		{
			name:  "fork pull request with push: true",
			opts:  Options{ForkPR: true, Push: PushTrue, GitHubToken: "t"},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:pr-1") },
			want:  "^pull request from a fork: nothing is pushed$",
		},
		{
			name:  "push false",
			opts:  Options{Push: PushFalse, GitHubToken: "t"},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:main") },
			want:  "^push is false",
		},
		{
			name: "closed gate",
			opts: Options{GitHubToken: "t"},
			state: func() *pipeline.State {
				st := builtState(final, "ghcr.io/org/app:main")
				st.AddGate(pipeline.Gate{Name: "scan", Passed: false, Reason: "2 CRITICAL at or above fail-on CRITICAL"})
				return st
			},
			want: `^not pushed: scan gate failed \(2 CRITICAL at or above fail-on CRITICAL\)$`,
		},
		{
			name: "no image built",
			opts: Options{GitHubToken: "t"},
			state: func() *pipeline.State {
				return &pipeline.State{Plan: &pipeline.TagPlan{Tags: []string{"ghcr.io/org/app:main"}}}
			},
			want: "^no image was built",
		},
		{
			name:  "no tags",
			opts:  Options{GitHubToken: "t"},
			state: func() *pipeline.State { return builtState(final) },
			want:  "^no tags were computed",
		},
		{
			name:  "auto without credentials for ghcr.io",
			opts:  Options{},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:main") },
			want:  `^no credentials for ghcr\.io \(push: auto\): nothing is pushed; to push, set github-token`,
		},
		{
			name:  "auto without credentials for one of two registries",
			opts:  Options{GitHubToken: "t"},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:main", "docker.io/org/app:main") },
			want:  `^no credentials for index\.docker\.io \(push: auto\)`,
		},
		{
			name: "auto with a loopback registry and no credentials",
			opts: Options{},
			state: func() *pipeline.State {
				return builtState(final, "127.0.0.1:5000/org/app:main", "localhost:5000/org/app:main")
			},
		},
		{
			name:  "auto with github-token for ghcr.io",
			opts:  Options{GitHubToken: "t", Actor: "octocat"},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:main") },
		},
		{
			name:  "auto with a registries line",
			opts:  Options{Registries: logins(t, "docker.synapse.org=me:token")},
			state: func() *pipeline.State { return builtState(final, "docker.synapse.org/syn123/app:main") },
		},
		{
			name:  "push true without credentials runs (and fails in Run)",
			opts:  Options{Push: PushTrue},
			state: func() *pipeline.State { return builtState(final, "ghcr.io/org/app:main") },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.state()
			stage := newTestStage(t, tc.opts)
			if stage.Name() != "push" {
				t.Fatalf("Name() = %q", stage.Name())
			}
			got := stage.SkipReason(st)
			if tc.want == "" {
				if got != "" {
					t.Fatalf("SkipReason = %q, want the stage to run", got)
				}
				return
			}
			if !regexp.MustCompile(tc.want).MatchString(got) {
				t.Fatalf("SkipReason = %q, want it to match %q", got, tc.want)
			}
			if st.Push == nil || st.Push.Pushed || st.Push.Reason != got {
				t.Errorf("st.Push = %+v, want not pushed with the reason", st.Push)
			}
		})
	}
}

func TestStagePushTrueWithoutCredentialsFails(t *testing.T) {
	st := builtState(pipeline.BuiltImage{Role: pipeline.RoleFinal, OCILayout: t.TempDir()}, "registry.example.com/org/app:main")
	err := newTestStage(t, Options{Push: PushTrue}).Run(t.Context(), st)
	if err == nil || !strings.Contains(err.Error(), "push is true but there are no credentials for registry.example.com") {
		t.Fatalf("err = %v", err)
	}
	if st.Push == nil || st.Push.Pushed {
		t.Fatalf("st.Push = %+v", st.Push)
	}
}

// TestStageRun runs the stage through the pipeline against the plain
// registry: st.Push, the fact, the summary section and the cache refs of
// the builder image.
func TestStageRun(t *testing.T) {
	env := testenv.RequireRegistries(t)
	final, want := randomLayout(t, 2, 1024)
	builder, builderDigest := randomLayout(t, 1, 1024)
	builder.Role, builder.Target = pipeline.RoleBuilder, "builder"
	repo := env.UniqueRepo(t, env.Registry, "stage")
	builder.CacheRefs = tagsOf(repo, "builder-main")
	final.CacheRefs = tagsOf(repo, "cache-main")
	tags := tagsOf(repo, "1.4.0", "1.4", "1", "latest")
	st := &pipeline.State{
		Plan:  &pipeline.TagPlan{Tags: tags},
		Build: &pipeline.BuildOutcome{Driver: "remote", Images: []pipeline.BuiltImage{builder, final}},
	}
	res := pipeline.Run(t.Context(), st, []pipeline.Stage{newTestStage(t, Options{Retry: fastRetry})})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	p := st.Push
	if p == nil || !p.Pushed || p.Digest != want || p.ImageRef != repo+"@"+want || len(p.Refs) != 4 {
		t.Fatalf("st.Push = %+v", p)
	}
	wantFact := want[:len("sha256:")+12] + "… → 4 tags on 1 repository"
	if got := res.Stages[0].Fact; got != wantFact {
		t.Errorf("fact = %q, want %q", got, wantFact)
	}
	if len(st.Sections) != 1 || st.Sections[0].Title != "Push" {
		t.Fatalf("sections = %+v", st.Sections)
	}
	md := st.Sections[0].Markdown
	for _, tag := range tags {
		if !strings.Contains(md, "| `"+tag+"` | `"+want+"` |") {
			t.Errorf("the summary does not list %s:\n%s", tag, md)
		}
	}
	if got := env.HeadDigest(t, repo+":builder-main"); got != builderDigest {
		t.Errorf("builder-main points at %q, want the builder image %s", got, builderDigest)
	}
	if got := env.HeadDigest(t, repo+":cache-main"); got != want {
		t.Errorf("cache-main points at %q, want the final image %s", got, want)
	}
	out := report.StateOutputs(st, "")
	if out["pushed"] != "true" || out["digest"] != want || out["image-ref"] != p.ImageRef || strings.Count(out["tags"], "\n") != 3 {
		t.Errorf("outputs = %v", out)
	}
	t.Logf("summary section:\n%s", md)
}

// TestStageForkPRSendsNothing runs the pipeline for a pull request from a
// fork, with push: true and credentials: the stage is skipped with the
// reason, and the registry sees not one request.
func TestStageForkPRSendsNothing(t *testing.T) {
	env := testenv.RequireRegistries(t)
	p := startProxy(t, env, env.AuthRegistry, proxyConfig{})
	final, _ := randomLayout(t, 1, 512)
	st := builtState(final, tagsOf(env.UniqueRepo(t, p.Host, "fork"), "pr-7", "review-pr-7-0123456-20250101T000000Z")...)
	opts := Options{
		Push: PushTrue, ForkPR: true, Transport: p.Transport,
		Registries: logins(t, p.Host+"="+env.AuthUser+":"+env.AuthPassword),
	}
	res := pipeline.Run(t.Context(), st, []pipeline.Stage{newTestStage(t, opts)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r := res.Stages[0]
	if r.Status != pipeline.StatusSkipped || r.SkipReason != ReasonFork {
		t.Fatalf("stage result = %+v, want skipped with %q", r, ReasonFork)
	}
	if st.Push == nil || st.Push.Pushed || st.Push.Reason != ReasonFork {
		t.Errorf("st.Push = %+v", st.Push)
	}
	if out := report.StateOutputs(st, ""); out["pushed"] != "false" || out["digest"] != "" {
		t.Errorf("outputs = %v", out)
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("the registry got %d requests for a fork pull request:\n%s", n, p.dump())
	}
}

// TestStageWrongPassword: the stage fails (exit 1) with an error naming the
// registry and the user, and no tag is written.
func TestStageWrongPassword(t *testing.T) {
	env := testenv.RequireRegistries(t)
	final, _ := randomLayout(t, 1, 512)
	repo := env.UniqueRepo(t, env.AuthRegistry, "stage-wrongpw")
	st := builtState(final, tagsOf(repo, "3.0.0", "latest")...)
	opts := Options{Push: PushTrue, Username: "x", Password: "wrong", Transport: env.Transport(), Retry: fastRetry}
	res := pipeline.Run(t.Context(), st, []pipeline.Stage{newTestStage(t, opts)})
	want := `push: check the release tag ` + repo + `:3.0.0: registry ` + env.AuthRegistry + ` refused credentials for user "x": check registry-username/registry-password`
	if res.Err == nil || res.Err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", res.Err, want)
	}
	if st.Push == nil || st.Push.Pushed {
		t.Errorf("st.Push = %+v", st.Push)
	}
	for _, tag := range st.Plan.Tags {
		if got := env.HeadDigest(t, tag); got != "" {
			t.Errorf("%s was written", tag)
		}
	}
}

// newTestStage is the push stage over New(opts, nil).
func newTestStage(t *testing.T, opts Options) pipeline.Stage {
	t.Helper()
	p, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewStage(p)
}

// prefetchEngine records the prefetches the push stage asks for.
type prefetchEngine struct {
	Engine
	mu  sync.Mutex
	got []string
}

func (e *prefetchEngine) Prefetch(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ref)
}

// Prepare starts the export of the cache images only — the builder stage's
// image, not the final one the scan exports — and only when the run pushes
// and the build ran a step (a build served wholly from a cache made images
// the registry holds already).
func TestStagePrepareExportsTheCacheImages(t *testing.T) {
	final := pipeline.BuiltImage{Role: pipeline.RoleFinal, EngineImageID: "sha256:f1", CacheRefs: []string{"ghcr.io/org/app:main"}}
	builder := pipeline.BuiltImage{Role: pipeline.RoleBuilder, Target: "builder", EngineImageID: "sha256:b1", CacheRefs: []string{"ghcr.io/org/app:builder-main"}}
	noRefs := pipeline.BuiltImage{Role: pipeline.RoleBuilder, Target: "deps", EngineImageID: "sha256:d1"}
	inLayout := pipeline.BuiltImage{Role: pipeline.RoleBuilder, Target: "tools", OCILayout: "/x", CacheRefs: []string{"ghcr.io/org/app:tools-main"}}
	cases := []struct {
		name     string
		opts     Options
		executed int // steps the build ran
		want     []string
	}{
		{name: "push", opts: Options{Push: PushTrue}, executed: 2, want: []string{"sha256:b1"}},
		{name: "every step cached", opts: Options{Push: PushTrue}},
		{name: "push false", opts: Options{Push: PushFalse}, executed: 2},
		{name: "fork", opts: Options{Push: PushTrue, ForkPR: true}, executed: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := &prefetchEngine{}
			p, err := New(tc.opts, eng)
			if err != nil {
				t.Fatal(err)
			}
			st := builtState(final, "ghcr.io/org/app:main")
			st.Build.Images = append(st.Build.Images, builder, noRefs, inLayout)
			st.Build.Executed = tc.executed
			s := NewStage(p).(pipeline.Preparer)
			s.Prepare(t.Context(), st)
			s.Prepare(t.Context(), st) // once per run
			if !slices.Equal(eng.got, tc.want) {
				t.Errorf("prefetched %v, want %v", eng.got, tc.want)
			}
		})
	}
}
