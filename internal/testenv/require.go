package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	bkclient "github.com/moby/buildkit/client"
)

// checkTimeout bounds each probe of a service.
const checkTimeout = 10 * time.Second

// Require returns the test environment when every service answers: the
// Docker Engine, both registries and buildkitd. Otherwise it skips the test
// with the command that starts them, or fails it when
// IMAGE_PIPELINE_REQUIRE_SERVICES=1.
func Require(t testing.TB) *Env {
	t.Helper()
	e := load(t)
	for _, c := range []check{engineCheck(e), registryCheck(e), authRegistryCheck(e), buildkitdCheck(e)} {
		if err := c.run(t.Context()); err != nil {
			unavailable(t, err)
		}
	}
	return e
}

// RequireSigstore returns the test environment when its Sigstore answers
// (Rekor, Fulcio, the OIDC issuer) and the registries do, and the token
// request's bearer token.
func RequireSigstore(t testing.TB) (*Env, string) {
	t.Helper()
	e := RequireRegistries(t)
	s := e.Sigstore
	if s.RekorURL == "" || s.FulcioURL == "" || s.OIDCIssuer == "" || s.TrustedRoot == "" || s.IDTokenRequestTokenFile == "" {
		unavailable(t, fmt.Errorf("%s names no Sigstore (IMAGE_PIPELINE_TEST_REKOR_URL, …): scripts/testenv up starts it (scripts/testenv-sigstore)", e.File))
	}
	for _, c := range []check{
		httpCheck("Rekor", s.RekorURL+"/api/v1/log"),
		httpCheck("Fulcio", s.FulcioURL+"/api/v2/trustBundle"),
		httpCheck("the OIDC issuer", s.OIDCIssuer+"/.well-known/openid-configuration"),
	} {
		if err := c.run(t.Context()); err != nil {
			unavailable(t, err)
		}
	}
	tok, err := os.ReadFile(s.IDTokenRequestTokenFile)
	if err != nil {
		unavailable(t, fmt.Errorf("read the OIDC token request's bearer token: %w", err))
	}
	return e, strings.TrimSpace(string(tok))
}

func httpCheck(what, url string) check {
	return check{key: what + " " + url, probe: func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s does not answer at %s: %w", what, url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s at %s answers %s", what, url, resp.Status)
		}
		return nil
	}}
}

// RequireRegistries returns the test environment when both registries answer
// (the auth one with the env file's credentials).
func RequireRegistries(t testing.TB) *Env {
	t.Helper()
	e := load(t)
	for _, c := range []check{registryCheck(e), authRegistryCheck(e)} {
		if err := c.run(t.Context()); err != nil {
			unavailable(t, err)
		}
	}
	return e
}

// RequireEngine returns the test environment and a pinged Docker Engine
// client (DOCKER_HOST honoured, API version negotiated), closed when the test
// ends.
func RequireEngine(t testing.TB) (*Env, *client.Client) {
	t.Helper()
	e := load(t)
	if err := engineCheck(e).run(t.Context()); err != nil {
		unavailable(t, err)
	}
	c, err := e.EngineClient()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return e, c
}

// RequireBuildkitd returns the test environment and a client for the
// standalone buildkitd, closed when the test ends.
func RequireBuildkitd(t testing.TB) (*Env, *bkclient.Client) {
	t.Helper()
	e := load(t)
	if err := buildkitdCheck(e).run(t.Context()); err != nil {
		unavailable(t, err)
	}
	c, err := bkclient.New(t.Context(), e.BuildkitHost)
	if err != nil {
		unavailable(t, fmt.Errorf("create a client for buildkitd at %s: %w", e.BuildkitHost, err))
	}
	t.Cleanup(func() { _ = c.Close() })
	return e, c
}

// EngineClient is a Docker Engine API client for e.DockerHost with API
// version negotiation (the Debian engine speaks 1.41, runners speak newer).
func (e *Env) EngineClient() (*client.Client, error) { return newEngineClient(e.DockerHost) }

func newEngineClient(host string) (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("create a Docker Engine client for %s: %w", host, err)
	}
	return c, nil
}

func load(t testing.TB) *Env {
	t.Helper()
	e, err := Load()
	if err != nil {
		unavailable(t, err)
	}
	return e
}

// unavailable skips the test, or fails it when services are required.
func unavailable(t testing.TB, err error) {
	t.Helper()
	missing(t, fmt.Sprintf("test environment: %v\nstart the test services with: %s", err, StartCommand))
}

// RequireCLI returns bin, a peer CLI the test compares against (cosign,
// Trivy), when it is an executable file. When it is not, the test is
// skipped with the command that builds it — or fails, under
// IMAGE_PIPELINE_REQUIRE_SERVICES=1 (make test): a missing peer CLI is a
// missing service.
func RequireCLI(t testing.TB, what, bin, buildCommand string) string {
	t.Helper()
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		missing(t, fmt.Sprintf("the %s is not built (%s): build it with\n\t%s", what, bin, buildCommand))
	}
	return bin
}

// missing is the one skip-or-fail rule for what a test needs.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireServicesVar) == "1" {
		t.Fatal(msg + "\n(" + RequireServicesVar + "=1, so this fails instead of skipping)")
	} else {
		t.Skip(msg)
	}
}

// A check probes one service. Outcomes are remembered for the test binary's
// lifetime, so a missing service costs one probe, not one per test.
type check struct {
	key   string
	probe func(context.Context) error
}

var (
	checkMu   sync.Mutex
	checkDone = map[string]error{}
)

func (c check) run(ctx context.Context) error {
	checkMu.Lock()
	defer checkMu.Unlock()
	if err, ok := checkDone[c.key]; ok {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	err := c.probe(ctx)
	checkDone[c.key] = err
	return err
}

func engineCheck(e *Env) check { return engineCheckAt(e.DockerHost) }

func engineCheckAt(host string) check {
	return check{key: "engine " + host, probe: func(ctx context.Context) error {
		c, err := newEngineClient(host)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Ping(ctx); err != nil {
			return fmt.Errorf("the Docker Engine at %s does not answer: %w", host, err)
		}
		return nil
	}}
}

func registryCheck(e *Env) check {
	return check{key: "registry " + e.Registry, probe: func(ctx context.Context) error {
		return getV2(ctx, http.DefaultTransport, "http://"+e.Registry+"/v2/", "", "", "the plain registry")
	}}
}

func authRegistryCheck(e *Env) check {
	return check{key: "auth registry " + e.AuthRegistry + " " + e.CAFile, probe: func(ctx context.Context) error {
		return getV2(ctx, e.Transport(), "https://"+e.AuthRegistry+"/v2/", e.AuthUser, e.AuthPassword, "the TLS + basic auth registry")
	}}
}

func getV2(ctx context.Context, rt http.RoundTripper, url, user, password, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s at %s: %w", what, url, err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return fmt.Errorf("%s at %s does not answer: %w", what, url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s at %s answers %s (want 200 OK; the env file's credentials may be stale)", what, url, resp.Status)
	}
	return nil
}

func buildkitdCheck(e *Env) check {
	return check{key: "buildkitd " + e.BuildkitHost, probe: func(ctx context.Context) error {
		c, err := bkclient.New(ctx, e.BuildkitHost)
		if err != nil {
			return fmt.Errorf("create a client for buildkitd at %s: %w", e.BuildkitHost, err)
		}
		defer c.Close()
		workers, err := c.ListWorkers(ctx)
		if err != nil {
			return fmt.Errorf("buildkitd at %s does not answer: %w", e.BuildkitHost, err)
		}
		if len(workers) == 0 {
			return fmt.Errorf("buildkitd at %s has no worker; see its log in the state dir", e.BuildkitHost)
		}
		return nil
	}}
}
