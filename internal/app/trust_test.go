package app

// The trust model, run the way the runner runs the action: credentials go
// only to their own hosts, a fork's build gets neither credentials nor
// secrets, and a pull_request_target run does not build a fork's code
// unless told to.

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// authRecorder is a hostile registry: it asks every client for Basic
// credentials and records every Authorization header it is sent.
type authRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

func newAuthRecorder(t *testing.T) *authRecorder {
	t.Helper()
	a := &authRecorder{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			a.mu.Lock()
			a.auth = append(a.auth, h)
			a.mu.Unlock()
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="evil"`)
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}`, http.StatusUnauthorized)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authRecorder) host() string {
	u, _ := url.Parse(a.srv.URL)
	return u.Host
}

func (a *authRecorder) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auth...)
}

// A Dockerfile's FROM on another host gets no login: registry-username and
// registry-password are for the hosts of image and cache-image only.
func TestCredentialsStayWithTheirHost(t *testing.T) {
	env := testenv.Require(t)
	evil := newAuthRecorder(t)
	image := env.UniqueRepo(t, env.Registry, "trust-scope")
	in := e2eInputs(t, env, image)
	in["registry-username"] = "target-user"
	in["registry-password"] = "target-password-0123456789"
	in["github-token"] = "ghs_workflowToken0123456789"
	in["lint"] = "false"
	r := runAsRunner(t, "push_main", in, map[string]string{
		"DOCKER_HOST":     env.DockerHost,
		"TEST_DOCKERFILE": "FROM " + evil.host() + "/library/base:latest\nRUN true\n",
	})
	if r.code == 0 {
		t.Fatalf("the build of an image the hostile registry refuses succeeded:\n%s", r.stdout)
	}
	for _, h := range evil.seen() {
		t.Errorf("the hostile registry %s was sent credentials: %.12s…", evil.host(), h)
	}
}

// A fork's build reads anonymously: no login reaches any registry, even
// the target's, and build secrets are not mounted.
func TestForkBuildGetsNoCredentialsNorSecrets(t *testing.T) {
	env := testenv.Require(t)
	evil := newAuthRecorder(t)
	image := evil.host() + "/octo-org/hello-image"
	in := e2eInputs(t, env, env.UniqueRepo(t, env.Registry, "unused"))
	in["image"] = image
	in["registry-username"] = "target-user"
	in["registry-password"] = "target-password-0123456789"
	in["lint"] = "false"
	in["scan"] = "false"
	r := runAsRunner(t, "pull_request_fork", in, map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	// The cache refs live on the target's host: read, anonymously.
	for _, h := range evil.seen() {
		t.Errorf("a fork's build sent credentials to the cache registry: %.12s…", h)
	}
	if !strings.Contains(r.summary, "read anonymously") {
		t.Errorf("the summary does not say the cache was read anonymously:\n%s", r.summary)
	}

	in = e2eInputs(t, env, env.UniqueRepo(t, env.Registry, "fork-secret"))
	in["secrets"] = "token=fork-must-not-see-this-0123"
	in["secret-files"] = "filetoken=secret.txt"
	in["ssh"] = "default"
	in["lint"] = "false"
	r = runAsRunner(t, "pull_request_fork", in, map[string]string{
		"DOCKER_HOST":   env.DockerHost,
		"SSH_AUTH_SOCK": "/nonexistent/agent.sock",
		"TEST_FILES":    "secret.txt=fork-file-secret-0123456789",
		// The nonce keeps the step out of the build cache, where it would
		// not run at all.
		"TEST_DOCKERFILE": "ARG BASE\nFROM ${BASE}\nRUN --mount=type=secret,id=token,required=true echo " + nonce(t) + " && wc -c /run/secrets/token\n",
	})
	if r.code == 0 {
		t.Fatalf("a fork's build mounted a required secret:\n%s", r.stdout)
	}
	for _, want := range []string{"secrets, secret-envs and secret-files are not passed to the build of a pull request from a fork", "ssh agents are not forwarded to the build of a pull request from a fork", "no secrets are passed to this build: the pull request comes from a fork"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the log does not say %q:\n%s", want, r.stdout)
		}
	}
	var logged []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			logged = append(logged, line)
		}
	}
	if strings.Contains(strings.Join(logged, "\n")+r.summary, "fork-must-not-see-this") || strings.Contains(strings.Join(logged, "\n")+r.summary, "fork-file-secret") {
		t.Errorf("the secret reached the log or the summary")
	}
}

// pull_request_target holds this repository's secrets: building a fork's
// code there is refused unless allow-untrusted-build, and then it is a
// fork's build.
func TestPullRequestTargetRefusesTheForksCode(t *testing.T) {
	r := runAsRunner(t, "pull_request_target", nil, nil)
	if r.code != 2 || !strings.Contains(r.stdout, `::error::input "allow-untrusted-build": "false" stops this pull_request_target run from the fork`) {
		t.Fatalf("exit %d, want 2 with an error naming allow-untrusted-build:\n%s", r.code, r.stdout)
	}
	if r.outputs["result"] != "failure" {
		t.Errorf("result %q", r.outputs["result"])
	}
	r = runAsRunner(t, "pull_request_target", map[string]string{"allow-untrusted-build": "true"}, nil)
	if r.code != 0 {
		t.Fatalf("with allow-untrusted-build: exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "::warning::allow-untrusted-build is true: this pull_request_target run builds") {
		t.Errorf("no loud warning:\n%s", r.stdout)
	}
	if !strings.Contains(r.summary, "comes from the fork") {
		t.Errorf("not treated as a fork's build:\n%s", r.summary)
	}
}

func nonce(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
