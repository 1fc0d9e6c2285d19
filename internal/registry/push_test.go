package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// registryCase is one real test registry with the options that reach it
// through a proxy.
type registryCase struct {
	name     string
	registry func(*testenv.Env) string
	login    func(*testenv.Env, *proxy) Options
}

var registryCases = []registryCase{
	{
		name:     "plain",
		registry: func(e *testenv.Env) string { return e.Registry },
		login:    func(*testenv.Env, *proxy) Options { return Options{} },
	},
	{
		name:     "htpasswd+TLS",
		registry: func(e *testenv.Env) string { return e.AuthRegistry },
		login: func(e *testenv.Env, p *proxy) Options {
			return Options{Registries: mustLogins(p.Host + "=" + e.AuthUser + ":" + e.AuthPassword)}
		},
	},
}

func TestPushTagsCostOneManifestPutEach(t *testing.T) {
	env := testenv.RequireRegistries(t)
	for _, rc := range registryCases {
		t.Run(rc.name, func(t *testing.T) {
			p := startProxy(t, env, rc.registry(env), proxyConfig{})
			opts := rc.login(env, p)
			opts.Transport, opts.Retry = p.Transport, fastRetry
			pusher, err := New(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			repo := env.UniqueRepo(t, p.Host, "tags")
			bi, want := randomLayout(t, 2, 2048)
			tags := tagsOf(repo, "1.2.3", "1.2", "1", "latest")

			res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
			if err != nil {
				t.Fatalf("push: %v\n%s", err, p.dump())
			}
			if res.Digest != want || res.ImageRef != repo+"@"+want || !slices.Equal(res.Refs, tags) {
				t.Fatalf("result = %+v, want digest %s and refs %v", res, want, tags)
			}
			log := p.requests()
			firstTagPut := slices.IndexFunc(log, func(r recorded) bool {
				return r.Method == "PUT" && strings.Contains(r.Path, "/manifests/") && !strings.Contains(r.Path, "sha256:")
			})
			if firstTagPut < 0 {
				t.Fatalf("no tag PUT seen:\n%s", p.dump())
			}
			// After the image is in by digest, each tag costs exactly one
			// manifest PUT (plus the HEAD that verifies it); no blob moves.
			for _, r := range log[firstTagPut:] {
				if strings.Contains(r.Path, "/blobs/") {
					t.Errorf("blob request after the first tag: %s %s", r.Method, r.Path)
				}
			}
			for _, tag := range tags {
				path := "/manifests/" + tag[strings.LastIndex(tag, ":")+1:]
				if n := countExact(log[firstTagPut:], "PUT", path); n != 1 {
					t.Errorf("PUT …%s: %d requests, want 1", path, n)
				}
				if got := env.HeadDigest(t, direct(tag, p.Host, rc.registry(env))); got != want {
					t.Errorf("%s points at %q on the registry, want %s", tag, got, want)
				}
			}
			if n := countExact(log, "PUT", "/manifests/"+want); n != 1 {
				t.Errorf("manifest PUT by digest: %d, want 1", n)
			}
			// 2 layers + config: each uploaded once.
			if n := p.count("POST", "/blobs/uploads/"); n != 3 {
				t.Errorf("blob upload sessions: %d, want 3\n%s", n, p.dump())
			}
			t.Logf("first push: %d requests (%d before the tags)", len(log), firstTagPut)

			// The same image again with one more tag: existing blobs and
			// manifest are skipped, every tag is one PUT.
			before := len(log)
			tags2 := append(tags, repo+":edge")
			if _, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags2}); err != nil {
				t.Fatal(err)
			}
			again := p.requests()[before:]
			if n := countPrefix(again, "POST", "") + countPrefix(again, "PATCH", ""); n != 0 {
				t.Errorf("second push uploaded %d times, want 0:\n%s", n, p.dump())
			}
			// 1.2.3 is a release tag: its check found it already at the
			// digest, so it needs no PUT.
			if n := countPrefix(again, "PUT", ""); n != len(tags2)-1 {
				t.Errorf("second push: %d PUTs, want %d (one per tag but 1.2.3)", n, len(tags2)-1)
			}
			t.Logf("second push (5 tags, image already there): %d requests", len(again))
		})
	}
}

// countExact counts answered requests whose path ends with suffix.
func countExact(log []recorded, method, suffix string) int {
	n := 0
	for _, r := range log {
		if r.Fault == "" && r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func countPrefix(log []recorded, method, contains string) int {
	n := 0
	for _, r := range log {
		if r.Fault == "" && r.Method == method && strings.Contains(r.Path, contains) {
			n++
		}
	}
	return n
}

func TestPushWrongPassword(t *testing.T) {
	env := testenv.RequireRegistries(t)
	const secret = "not-the-password-4711"
	cases := []struct {
		name string
		opts func(host string) Options
		want string
	}{
		{
			name: "registry-username/registry-password",
			opts: func(string) Options { return Options{Username: "x", Password: secret} },
			want: `registry ` + env.AuthRegistry + ` refused credentials for user "x": check registry-username/registry-password`,
		},
		{
			name: "registries line",
			opts: func(h string) Options { return Options{Registries: logins(t, h+"=x:"+secret)} },
			want: `registry ` + env.AuthRegistry + ` refused credentials for user "x": check the registries line for ` + env.AuthRegistry,
		},
		{
			name: "no credentials",
			opts: func(string) Options { return Options{} },
			want: `registry ` + env.AuthRegistry + ` requires credentials (HTTP 401) and none were given for it`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts(env.AuthRegistry)
			opts.Transport, opts.Retry = env.Transport(), fastRetry
			pusher, err := New(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			repo := env.UniqueRepo(t, env.AuthRegistry, "wrongpw")
			bi, _ := randomLayout(t, 1, 512)
			tags := tagsOf(repo, "1.0.0", "latest")
			_, err = pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
			if err == nil {
				t.Fatal("push with a wrong password succeeded")
			}
			var ce *CredentialsError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the password: %v", err)
			}
			for _, tag := range tags {
				if got := env.HeadDigest(t, tag); got != "" {
					t.Errorf("%s was written (%s) although the login failed", tag, got)
				}
			}
		})
	}
}

// TestPushIndex pushes a multi-platform index from an OCI layout (as the
// BuildKit oci exporter leaves it for several platforms): the tags point at
// the index, and every child image is in the repository.
func TestPushIndex(t *testing.T) {
	env := testenv.RequireRegistries(t)
	idx, err := random.Index(1024, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	want := digestOf(t, idx)
	repo := env.UniqueRepo(t, env.Registry, "index")
	pusher, err := New(Options{Retry: fastRetry}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pusher.Push(t.Context(), Request{Image: pipeline.BuiltImage{Role: pipeline.RoleFinal, OCILayout: dir, Digest: want}, Tags: tagsOf(repo, "main", "sha-0123456")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want || !types.MediaType(res.MediaType).IsIndex() {
		t.Fatalf("pushed %s (%s), want the index %s", res.Digest, res.MediaType, want)
	}
	ref, err := name.NewTag(repo + ":main")
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ref, env.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Errorf("the pushed index does not validate: %v", err)
	}
}

// TestPushWithDockerConfig logs in to the TLS + htpasswd registry with the
// Docker config file that `docker login` wrote (DOCKER_CONFIG), no input.
func TestPushWithDockerConfig(t *testing.T) {
	env := testenv.RequireRegistries(t)
	if env.DockerConfig == "" {
		t.Fatalf("the test environment has no DOCKER_CONFIG directory; re-create it with %s", testenv.StartCommand)
	}
	pusher, err := New(Options{DockerConfig: env.DockerConfig, Transport: env.Transport(), Retry: fastRetry}, nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := env.UniqueRepo(t, env.AuthRegistry, "dockerconfig")
	bi, want := randomLayout(t, 1, 512)
	if c, ok, err := pusher.creds.lookup(env.AuthRegistry); err != nil || !ok || c.Source != SourceDockerConfig || c.Username != env.AuthUser {
		t.Fatalf("lookup(%s) = %+v, %v, %v; want %s's login from the Docker config", env.AuthRegistry, c, ok, err, env.AuthUser)
	}
	if _, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tagsOf(repo, "main")}); err != nil {
		t.Fatal(err)
	}
	if got := env.HeadDigest(t, repo+":main"); got != want {
		t.Errorf("main points at %q, want %s", got, want)
	}
}
