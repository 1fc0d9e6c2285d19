package depgraph

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
	"github.com/org/image-pipeline/internal/testenv/ghapi"
)

const (
	repo  = "octo-org/hello-image"
	token = "ghs_dependencyTestToken0123456789"
	sha   = "3f786850e387550fdab836ed7e6dc881de23001b"
)

func testPackages() []pipeline.Package {
	return []pipeline.Package{
		{Name: "musl", Version: "1.2.5-r0", Type: "alpine", PURL: "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3", Target: "img (alpine 3.20.3)", Class: "os-pkgs", ID: "musl@1.2.5-r0"},
		{Name: "busybox", Version: "1.36.1-r29", Type: "alpine", PURL: "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.3", Target: "img (alpine 3.20.3)", Class: "os-pkgs", ID: "busybox@1.36.1-r29", DependsOn: []string{"musl@1.2.5-r0"}},
		{Name: "minimist", Version: "1.2.8", Type: "node-pkg", PURL: "pkg:npm/minimist@1.2.8", Target: "Node.js", Class: "lang-pkgs", ID: "minimist@1.2.8", FilePath: "app/node_modules/minimist/package.json"},
		{Name: "golang.org/x/net", Version: "v0.1.0", Type: "gobinary", PURL: "pkg:golang/golang.org/x/net@v0.1.0", Target: "usr/bin/app", Class: "lang-pkgs", ID: "golang.org/x/net@v0.1.0", Indirect: true},
		{Name: "no-purl", Version: "1", Type: "gobinary", Target: "usr/bin/app", Class: "lang-pkgs"},
	}
}

func testSource() Source {
	return Source{
		Image: "ghcr.io/octo-org/hello-image", Scope: "stack-dev", Workflow: "image", Job: "build", RunID: "4242",
		RunURL: "https://github.com/octo-org/hello-image/actions/runs/4242/attempts/1", Ref: "refs/heads/main", SHA: sha,
		Dockerfile: "Dockerfile", Version: "1.0.0", Scanned: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC),
	}
}

func TestBuild(t *testing.T) {
	snap, skipped := Build(testSource(), testPackages())
	if skipped != 1 || snap.Packages() != 4 || len(snap.Manifests) != 3 {
		t.Fatalf("%d skipped, %d packages in %d manifests; want 1, 4, 3:\n%+v", skipped, snap.Packages(), len(snap.Manifests), snap)
	}
	if got := snap.Job.Correlator; got != "image_build_ghcr.io/octo-org/hello-image_stack-dev" {
		t.Errorf("correlator %q", got)
	}
	os := snap.Manifests["ghcr.io/octo-org/hello-image img (alpine 3.20.3)"]
	bb := os.Resolved["pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.3"]
	if len(bb.Dependencies) != 1 || bb.Dependencies[0] != "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3" || bb.Relationship != "direct" || bb.Scope != "runtime" {
		t.Errorf("busybox %+v: want musl's package URL as its dependency", bb)
	}
	if os.File == nil || os.File.SourceLocation != "Dockerfile" {
		t.Errorf("the manifest is not attributed to the Dockerfile: %+v", os.File)
	}
	app := snap.Manifests["ghcr.io/octo-org/hello-image usr/bin/app"]
	if d := app.Resolved["pkg:golang/golang.org/x/net@v0.1.0"]; d.Relationship != "indirect" {
		t.Errorf("x/net %+v: want indirect", d)
	}
	body, _ := json.Marshal(snap)
	srv := ghapi.New(t, repo, token)
	if err := srv.Validate(body); err != nil {
		t.Errorf("the snapshot breaks GitHub's schema: %v\n%s", err, body)
	}
	// Without a scope (one variant) the correlator is workflow_job_image.
	src := testSource()
	src.Scope = ""
	if s, _ := Build(src, nil); s.Job.Correlator != "image_build_ghcr.io/octo-org/hello-image" || len(s.Manifests) != 0 {
		t.Errorf("correlator %q, manifests %v", s.Job.Correlator, s.Manifests)
	}
}

func state(gateClosed bool) *pipeline.State {
	st := &pipeline.State{Scan: &pipeline.ScanOutcome{Packages: testPackages(), Passed: !gateClosed}}
	st.AddGate(pipeline.Gate{Name: "scan", Passed: !gateClosed})
	return st
}

func options(srv *ghapi.Server, log *testenv.Log) Options {
	return Options{Enabled: true, APIURL: srv.URL, Repository: repo, Token: token, Source: testSource(), Log: log,
		Backoff: func(int) time.Duration { return time.Millisecond }}
}

func TestStageSubmits(t *testing.T) {
	for _, closed := range []bool{false, true} {
		srv := ghapi.New(t, repo, token)
		log := &testenv.Log{}
		st := state(closed)
		s := NewStage(options(srv, log))
		if r := s.SkipReason(st); r != "" {
			t.Fatalf("skipped: %s", r)
		}
		if err := s.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		subs := srv.Submissions()
		if len(subs) != 1 || subs[0].Invalid != "" || subs[0].Token != token {
			t.Fatalf("submissions %+v", subs)
		}
		if got := subs[0].Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
			t.Errorf("API version %q", got)
		}
		sum := st.Sections[0].Markdown
		if !strings.Contains(sum, "Submitted 4 packages") || closed != strings.Contains(sum, "although the scan gate closed") {
			t.Errorf("gate closed %v, summary:\n%s", closed, sum)
		}
		if s.Fact(st) != "4 packages submitted" || strings.Contains(log.String(), token) {
			t.Errorf("fact %q, log:\n%s", s.Fact(st), log.String())
		}
	}
}

func TestStageRefusals(t *testing.T) {
	tests := []struct {
		name     string
		mode     ghapi.Mode
		token    string
		requests int
		want     string
	}{
		{"no contents: write", ghapi.Forbid, token, 1, "403 Forbidden: Resource not accessible by integration. The job's token needs `permissions: contents: write`"},
		{"a bad token", ghapi.Accept, "ghs_wrong", 1, "401 Unauthorized: Bad credentials. github-token is not a valid token"},
		{"an outage, retried", ghapi.Unavailable, token, 3, "503 Service Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := ghapi.New(t, repo, token)
			srv.SetMode(tc.mode)
			log := &testenv.Log{}
			o := options(srv, log)
			o.Token = tc.token
			st := state(false)
			if err := NewStage(o).Run(t.Context(), st); err != nil {
				t.Fatalf("a refusal failed the stage: %v", err)
			}
			if n := len(srv.Submissions()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if !strings.Contains(log.String(), "warning") || !strings.Contains(log.String(), tc.want) {
				t.Errorf("log lacks the warning %q:\n%s", tc.want, log.String())
			}
			if sum := st.Sections[0].Markdown; !strings.Contains(sum, "**not** submitted") {
				t.Errorf("summary:\n%s", sum)
			}
		})
	}
}

func TestStageSkips(t *testing.T) {
	srv := ghapi.New(t, repo, token)
	base := options(srv, nil)
	tests := []struct {
		name string
		edit func(*Options, *pipeline.State)
		want string
	}{
		{"off", func(o *Options, _ *pipeline.State) { o.Enabled = false }, "dependency-snapshot is false"},
		{"no scan", func(_ *Options, st *pipeline.State) { st.Scan = nil }, "the scan did not run"},
		{"a fork", func(o *Options, _ *pipeline.State) { o.ForkPR = true }, "pull request from a fork"},
		{"no token", func(o *Options, _ *pipeline.State) { o.Token = "" }, "github-token is empty"},
		{"a local run", func(o *Options, _ *pipeline.State) { o.Source.SHA = "" }, "not a GitHub Actions run"},
	}
	for _, tc := range tests {
		o, st := base, state(false)
		tc.edit(&o, st)
		if got := NewStage(o).SkipReason(st); !strings.Contains(got, tc.want) {
			t.Errorf("%s: skip reason %q, want %q", tc.name, got, tc.want)
		}
	}
	if n := len(srv.Submissions()); n != 0 {
		t.Errorf("%d requests while skipping", n)
	}
}
