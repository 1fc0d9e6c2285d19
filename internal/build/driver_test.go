package build_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/report"
)

// TestMultiPlatform: buildkitd writes an image index with both platforms to
// the OCI layout, and the containerd image store keeps one in the engine;
// a classic-store engine refuses, naming the inputs to change.
func TestMultiPlatform(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "multiplatform")
		o.Platforms = []string{"linux/amd64", "linux/arm64"}
		res, log, err := d.build(t, o, nil)
		if d.classicEngine() {
			if err == nil {
				t.Fatal("a classic-store engine built two platforms")
			}
			for _, want := range []string{`input "platforms"`, "buildkit-address", "containerd image store"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("build: %v\n%s", err, log)
		}
		final := res.Outcome.Final()
		got := indexPlatforms(t, d, final)
		if !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("index platforms %v, want linux/amd64 and linux/arm64", got)
		}
		if d.name == ibuild.DriverRemote && res.Outcome.ImageID != final.Digest {
			t.Errorf("imageid %q, want the index digest %q", res.Outcome.ImageID, final.Digest)
		}
	})
}

// indexPlatforms lists the platforms of the built image index, sorted:
// from the OCI layout (remote driver) or from the engine's image store
// (containerd store), leaving out attestation manifests.
func indexPlatforms(t *testing.T, d *driver, final *pipeline.BuiltImage) []string {
	t.Helper()
	var got []string
	if final.OCILayout == "" {
		id := final.EngineImageID
		if id == "" {
			id = final.EngineRef
		}
		info, err := d.engine.ImageInspect(t.Context(), id, client.ImageInspectWithManifests(true))
		if err != nil {
			t.Fatalf("inspect %s in the engine: %v", id, err)
		}
		for _, m := range info.Manifests {
			if m.Kind == dockerimage.ManifestKindImage && m.ImageData != nil {
				got = append(got, m.ImageData.Platform.OS+"/"+m.ImageData.Platform.Architecture)
			}
		}
		slices.Sort(got)
		return got
	}
	m, err := layoutIndex(t, final).IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range m.Manifests {
		if desc.Platform != nil && desc.Platform.OS != "unknown" {
			got = append(got, desc.Platform.OS+"/"+desc.Platform.Architecture)
		}
	}
	slices.Sort(got)
	return got
}

// TestRegistryCredentialsGoThroughTheSession builds FROM an image behind a
// registry that wants basic auth: with the keychain the build pulls it,
// without credentials or with wrong ones the registry refuses. No daemon
// holds these credentials: they can only come through the build session.
//
// The registry is a basic-auth proxy in front of the plain test registry,
// on a loopback port. (The TLS registry of testenv cannot be used: BuildKit
// and the Docker Engine speak plain HTTP to loopback registries unless told
// otherwise, and testenv does not tell them.)
func TestRegistryCredentialsGoThroughTheSession(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		user, password := "builder", "pw-"+nonce(t)
		proxy := authProxy(t, d.env.Registry, user, password)
		base := proxy.host + strings.TrimPrefix(d.env.BaseImage, d.env.Registry)
		for _, tc := range []struct {
			name     string
			keychain authn.Keychain
			wantErr  bool
		}{
			{name: "keychain", keychain: staticKeychain{proxy.host: &authn.Basic{Username: user, Password: password}}},
			{name: "anonymous", keychain: authn.NewMultiKeychain(), wantErr: true},
			{name: "wrong password", keychain: staticKeychain{proxy.host: &authn.Basic{Username: user, Password: "wrong"}}, wantErr: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := d.options(t, "multiplatform")
				if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\nRUN echo "+nonce(t)+" > /n\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				o.BuildArgs = []ibuild.BuildArg{{Name: "BASE", Value: base}}
				o.Keychain = tc.keychain
				o.Pull = true // ask the registry, not the daemon's copy
				before := proxy.authorized.Load()
				_, log, err := d.build(t, o, nil)
				if tc.wantErr {
					if err == nil {
						t.Fatal("pulled through the auth proxy without the right credentials")
					}
					t.Logf("refused as expected: %v", err)
					return
				}
				if err != nil {
					t.Fatalf("build FROM %s: %v\n%s", base, err, log)
				}
				if proxy.authorized.Load() == before {
					t.Error("no authorised request reached the registry")
				}
				if strings.Contains(log, password) {
					t.Error("the build log contains the registry password")
				}
			})
		}
	})
}

type staticKeychain map[string]authn.Authenticator

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[r.RegistryStr()]; ok {
		return a, nil
	}
	return authn.Anonymous, nil
}

type proxyServer struct {
	host       string
	authorized atomic.Int64
}

// authProxy serves registry (host:port, plain HTTP) on a loopback port,
// asking for basic auth.
func authProxy(t *testing.T, registry, user, password string) *proxyServer {
	t.Helper()
	target, err := url.Parse("http://" + registry)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &proxyServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		if !ok || u != user || pw != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="image-pipeline test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		p.authorized.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// TestRemoteInlineCacheWritesBothImagesToOneLayout: with cache: inline the
// remote driver builds the builder stage too, and both images share one OCI
// layout (shared blobs), each found by its digest.
func TestRemoteInlineCacheWritesBothImagesToOneLayout(t *testing.T) {
	t.Parallel()
	d := newDriver(t, backendRemote)
	daemonLock(backendRemote).RLock()
	t.Cleanup(daemonLock(backendRemote).RUnlock)
	o := d.options(t, "ladder")
	if err := os.WriteFile(filepath.Join(o.Workspace, "app.txt"), []byte(nonce(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Secrets = []ibuild.Secret{{ID: "token", Value: "x"}}
	o.Cache, o.WriteCache = ibuild.CacheInline, true
	repo := d.env.UniqueRepo(t, d.env.Registry, "inline")
	res, _ := d.mustBuild(t, o, branchPlan(repo, "main", true))
	if len(res.Outcome.Images) != 2 {
		t.Fatalf("images %+v, want final and builder", res.Outcome.Images)
	}
	for _, img := range res.Outcome.Images {
		want := map[string]string{pipeline.RoleFinal: repo + ":main", pipeline.RoleBuilder: repo + ":builder-main"}[img.Role]
		if !slices.Equal(img.CacheRefs, []string{want}) {
			t.Errorf("%s image cache refs %v, want %s", img.Role, img.CacheRefs, want)
		}
		cf, err := layoutImage(t, img).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if img.Role == pipeline.RoleBuilder && cf.Config.Labels["org.example.stage"] == "production" {
			t.Error("the builder image is the production stage")
		}
	}
	if res.Outcome.Images[0].OCILayout != res.Outcome.Images[1].OCILayout {
		t.Error("the two images are in different layouts")
	}
}

// TestStage runs the pipeline stage as the app does, in Actions mode: a
// failing RUN is annotated at its Dockerfile line with its last log lines;
// a good build fills State, the summary and the fact, and masks secrets.
func TestStage(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		var out bytes.Buffer
		getenv := func(k string) string {
			if k == "GITHUB_ACTIONS" {
				return "true"
			}
			return ""
		}
		runner := ghactions.NewRunner(getenv, &out)

		o := d.options(t, "failrun")
		st := &pipeline.State{}
		stage := ibuild.NewStage(o, runner, d.engineOrNil())
		if r := stage.SkipReason(st); r != "" {
			t.Fatalf("skip reason %q", r)
		}
		err := stage.Run(t.Context(), st)
		var be *ibuild.BuildError
		if !errors.As(err, &be) {
			t.Fatalf("err = %v, want a *BuildError", err)
		}
		_ = runner.Close()
		log := out.String()
		for _, want := range []string{"::error file=Dockerfile,line=4,endLine=4,title=build failed at [builder ", "::group::Last ", "widget.c:3: error: expected ';'"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if len(st.Sections) != 1 || !strings.Contains(st.Sections[0].Markdown, "line 4") {
			t.Errorf("sections %+v", st.Sections)
		}

		out.Reset()
		runner = ghactions.NewRunner(getenv, &out)
		o = d.options(t, "ladder")
		token := "stage-secret-" + nonce(t)
		o.Secrets = []ibuild.Secret{{ID: "token", Value: token}}
		st = &pipeline.State{Plan: &pipeline.TagPlan{Labels: []string{"a=b"}}}
		stage = ibuild.NewStage(o, runner, d.engineOrNil())
		if err := stage.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		d.removeAfter(t, &ibuild.Result{Outcome: *st.Build})
		_ = runner.Close()
		log = out.String()
		if st.Build == nil || st.Build.Final() == nil || st.Build.ImageID == "" {
			t.Fatalf("State.Build = %+v", st.Build)
		}
		fact := stage.(pipeline.Facter).Fact(st)
		if !strings.Contains(fact, "steps cached") {
			t.Errorf("fact %q", fact)
		}
		outs := report.StateOutputs(st, "")
		if outs["imageid"] != st.Build.ImageID || outs["cache-hits"] == "" || outs["cache-misses"] == "" {
			t.Errorf("outputs %v", outs)
		}
		if !strings.Contains(log, "::add-mask::"+token+"\n") || strings.Count(log, token) != 1 {
			t.Errorf("the secret is not masked, or appears outside its add-mask command")
		}
		for _, want := range []string{"::group::BuildKit log: Dockerfile", "::stop-commands::", "Builder: ", "Cache: "} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		if len(st.Sections) != 1 || !strings.Contains(st.Sections[0].Markdown, "| final |") {
			t.Errorf("summary %+v", st.Sections)
		}
		t.Logf("fact: %s", fact)
	})
}

// The remote BuildKit pulls the base image from the htpasswd + TLS test
// registry with the run's credentials, over TLS with the test CA (the
// engine's embedded BuildKit v0.8 speaks plain HTTP to loopback registries,
// so this path is the remote driver's).
func TestRemotePullsFromTheTLSAuthRegistry(t *testing.T) {
	d := newDriver(t, backendRemote)
	lock := daemonLock(backendRemote)
	lock.RLock()
	t.Cleanup(lock.RUnlock)
	for _, tc := range []struct {
		name, password string
		wantErr        bool
	}{
		{"right password", d.env.AuthPassword, false},
		{"wrong password", "wrong-" + nonce(t), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.options(t, "multiplatform")
			if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\nRUN echo "+nonce(t)+" > /n\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			o.BuildArgs = []ibuild.BuildArg{{Name: "BASE", Value: d.env.AuthBaseImage}}
			o.Keychain = staticKeychain{d.env.AuthRegistry: &authn.Basic{Username: d.env.AuthUser, Password: tc.password}}
			o.Pull = true
			_, log, err := d.build(t, o, nil)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
					t.Fatalf("want a refused-credentials error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("build FROM %s: %v\n%s", d.env.AuthBaseImage, err, log)
			}
			if strings.Contains(log, tc.password) {
				t.Error("the build log contains the registry password")
			}
		})
	}
}

// probeSource is a program that writes the machine it runs on (uname -m)
// to the file named by its argument: built for amd64 and arm64, it runs as
// an exec-form RUN step in a FROM scratch image, where only emulation can
// run the arm64 one on this machine.
const probeSource = `package main

import (
	"os"
	"syscall"
)

func main() {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		os.Exit(2)
	}
	var b []byte
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	if err := os.WriteFile(os.Args[1], append(b, '\n'), 0o644); err != nil {
		os.Exit(3)
	}
}
`

var probes struct {
	once sync.Once
	bins map[string][]byte // GOARCH → static binary
	err  error
}

// probeBinaries builds probeSource for amd64 and arm64, once per test binary.
func probeBinaries(t *testing.T) map[string][]byte {
	t.Helper()
	probes.once.Do(func() {
		dir, err := os.MkdirTemp("", "image-pipeline-probe-")
		if err != nil {
			probes.err = err
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module probe\n\ngo 1.22\n"), 0o644); err != nil {
			probes.err = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(probeSource), 0o644); err != nil {
			probes.err = err
			return
		}
		probes.bins = map[string][]byte{}
		for _, arch := range []string{"amd64", "arm64"} {
			out := filepath.Join(dir, "probe-"+arch)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=", "GOWORK=off")
			if b, err := cmd.CombinedOutput(); err != nil {
				probes.err = fmt.Errorf("build the %s probe: %v\n%s", arch, err, b)
				return
			}
			if probes.bins[arch], err = os.ReadFile(out); err != nil {
				probes.err = err
				return
			}
		}
	})
	if probes.err != nil {
		t.Fatal(probes.err)
	}
	return probes.bins
}

// TestForeignPlatformRunStep runs a linux/arm64 RUN step on this amd64
// machine, through the QEMU that scripts/testenv registers with
// binfmt_misc: in one two-platform image on buildkitd and on the containerd
// image store, and as a one-platform linux/arm64 build on the classic
// stores (which build one platform at a time). On buildkitd the arm64
// image's file says the step ran as aarch64.
func TestForeignPlatformRunStep(t *testing.T) {
	bins := probeBinaries(t)
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "multiplatform")
		// The ENV before the RUN keeps an earlier run's cache from
		// standing in for the emulated step.
		df := "FROM scratch\nARG TARGETARCH\nCOPY probe-${TARGETARCH} /probe\nENV PROBE_NONCE=" + nonce(t) + "\nRUN [\"/probe\", \"/machine.txt\"]\n"
		if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		for arch, b := range bins {
			if err := os.WriteFile(filepath.Join(o.Workspace, "probe-"+arch), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		o.Platforms = []string{"linux/amd64", "linux/arm64"}
		if d.classicEngine() {
			o.Platforms = []string{"linux/arm64"}
		}
		res, log, err := d.build(t, o, nil)
		if err != nil {
			t.Fatalf("build %v: %v\n%s", o.Platforms, err, log)
		}
		final := res.Outcome.Final()
		if d.name != ibuild.DriverRemote {
			if len(o.Platforms) == 2 {
				if got := indexPlatforms(t, d, final); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
					t.Errorf("index platforms %v, want linux/amd64 and linux/arm64", got)
				}
			} else if info, err := d.engine.ImageInspect(t.Context(), final.EngineImageID); err != nil || info.Architecture != "arm64" {
				t.Errorf("the engine's image is %q (%v), want arm64", info.Architecture, err)
			}
			return
		}
		if got := layoutFile(t, final, "arm64", "machine.txt"); got != "aarch64\n" {
			t.Errorf("the arm64 image's /machine.txt = %q, want aarch64", got)
		}
		if got := layoutFile(t, final, "amd64", "machine.txt"); got != "x86_64\n" {
			t.Errorf("the amd64 image's /machine.txt = %q, want x86_64", got)
		}
	})
}

// layoutIndex is the built image index in the build's OCI layout.
func layoutIndex(t *testing.T, final *pipeline.BuiltImage) v1.ImageIndex {
	t.Helper()
	p, err := layout.FromPath(final.OCILayout)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v1.NewHash(final.Digest)
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(h)
	if err != nil {
		t.Fatalf("the layout's %s is not an image index: %v", final.Digest, err)
	}
	return idx
}

// layoutFile reads one file of the arch image of the built index in its
// OCI layout (the last layer that has it).
func layoutFile(t *testing.T, final *pipeline.BuiltImage, arch, file string) string {
	t.Helper()
	idx := layoutIndex(t, final)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range m.Manifests {
		if desc.Platform == nil || desc.Platform.Architecture != arch {
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(rc)
			for {
				hdr, err := tr.Next()
				if err != nil {
					break
				}
				if strings.TrimPrefix(hdr.Name, "./") == file {
					b, _ := io.ReadAll(tr)
					got = string(b)
				}
			}
			_ = rc.Close()
		}
		return got
	}
	t.Fatalf("the index has no %s image", arch)
	return ""
}
