package app

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/org/image-pipeline/internal/testenv"
)

// interruptProxy forwards to a registry and sends SIGTERM to the run the
// first time a request matches, as the runner does when a job is
// cancelled: before forwarding (the request is cut off mid-way) or after
// the registry answered (the write happened).
type interruptProxy struct {
	*httptest.Server
	match  func(*http.Request) bool
	before bool

	mu   sync.Mutex
	proc *os.Process
	hit  bool
}

func startInterruptProxy(t *testing.T, registry string, before bool, match func(*http.Request) bool) *interruptProxy {
	t.Helper()
	target, _ := url.Parse("http://" + registry)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &interruptProxy{match: match, before: before}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fire := p.shouldFire(r)
		if fire && p.before {
			p.signal(t)
			time.Sleep(300 * time.Millisecond) // the cancel lands while the request is open
		}
		rp.ServeHTTP(w, r)
		if fire && !p.before {
			p.signal(t)
			time.Sleep(100 * time.Millisecond) // the signal arrives before the answer
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *interruptProxy) shouldFire(r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hit || p.proc == nil || !p.match(r) {
		return false
	}
	p.hit = true
	return true
}

func (p *interruptProxy) signal(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.proc.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}

func (p *interruptProxy) started(proc *os.Process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proc = proc
}

func (p *interruptProxy) fired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit
}

func putManifest(tag string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+tag)
	}
}

var digestManifest = regexp.MustCompile(`/manifests/sha256:[0-9a-f]{64}$`)

// A release run cancelled mid-push (SIGTERM, as the runner sends) never
// leaves a release tag on a half-pushed image nor the release's tags split
// across images, says it was cancelled, and a re-run of the same job
// completes the release, signed.
func TestEndToEndInterruptedReleaseIsCompletedByARerun(t *testing.T) {
	env := testenv.Require(t)
	release := []string{"1.2.3", "1.2", "1", "latest"}
	points := []struct {
		name      string
		before    bool
		match     func(*http.Request) bool
		wantsTags bool // the tags were under way: they are finished
	}{
		{name: "during a blob upload", before: true, match: func(r *http.Request) bool {
			return (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/")
		}},
		{name: "after the image manifest by digest", match: func(r *http.Request) bool {
			return r.Method == http.MethodPut && digestManifest.MatchString(r.URL.Path)
		}},
		{name: "after the release tag", match: putManifest("1.2.3"), wantsTags: true},
		{name: "during a moving tag", before: true, match: putManifest("1.2"), wantsTags: true},
	}
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range points {
		t.Run(pt.name, func(t *testing.T) {
			proxy := startInterruptProxy(t, env.Registry, pt.before, pt.match)
			host := strings.TrimPrefix(proxy.URL, "http://")
			image := env.UniqueRepo(t, host, "e2e-interrupt")
			in := e2eInputs(t, env, image)
			in["cosign-key"] = string(keys.PrivateBytes)
			in["cosign-password"] = "pw"
			in["cosign-tlog"] = "false"
			in["attest-sbom"] = "false"
			extra := map[string]string{"DOCKER_HOST": env.DockerHost}

			r := runAsRunnerWith(t, "push_tag", in, extra, proxy.started)
			if !proxy.fired() {
				t.Fatalf("the run never made the request to interrupt (exit %d)\n%s", r.code, r.stdout)
			}
			if r.code != 1 {
				t.Fatalf("exit code %d after SIGTERM, want 1\n%s", r.code, r.stdout)
			}
			if !strings.Contains(r.stdout, "::error::") || !strings.Contains(r.stdout, "cancelled") {
				t.Errorf("the log does not say the run was cancelled:\n%s", r.stdout)
			}
			if r.outputs["result"] != "failure" || r.outputs["signed"] == "true" {
				t.Errorf("outputs result=%q signed=%q: want result=failure and nothing signed", r.outputs["result"], r.outputs["signed"])
			}
			// Read straight from the registry, not through the proxy.
			realImage := env.Registry + strings.TrimPrefix(image, host)
			digests := releaseDigests(t, env, realImage, release)
			switch {
			case pt.wantsTags && len(digests) != len(release):
				t.Errorf("the tags were under way but not finished: %v", digests)
			case !pt.wantsTags && len(digests) != 0:
				t.Errorf("tags were written although the cancel came before them: %v", digests)
			}
			first := oneDigest(t, digests)
			if first != "" {
				assertComplete(t, env, realImage+"@"+first)
			}

			// The re-run: same job, same commit, no interruption.
			r2 := runAsRunner(t, "push_tag", in, extra)
			if r2.code != 0 {
				t.Fatalf("re-run: exit code %d\n%s", r2.code, r2.stdout)
			}
			digests = releaseDigests(t, env, realImage, release)
			if len(digests) != len(release) {
				t.Fatalf("after the re-run the release has tags %v, want %v", digests, release)
			}
			final := oneDigest(t, digests)
			if first != "" && final != first {
				t.Errorf("the re-run moved the release from %s to %s", first, final)
			}
			if r2.outputs["digest"] != final || r2.outputs["signed"] != "true" {
				t.Errorf("re-run outputs %v, want digest %s signed", r2.outputs, final)
			}
			assertComplete(t, env, realImage+"@"+final)
			if env.HeadDigest(t, realImage+":sha256-"+strings.TrimPrefix(final, "sha256:")+".sig") == "" {
				t.Errorf("the re-run did not sign %s", final)
			}
		})
	}
}

// releaseDigests maps each release tag present to its digest.
func releaseDigests(t *testing.T, env *testenv.Env, image string, tags []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tag := range tags {
		if d := env.HeadDigest(t, image+":"+tag); d != "" {
			out[tag] = d
		}
	}
	return out
}

// oneDigest fails when the tags point at different images.
func oneDigest(t *testing.T, digests map[string]string) string {
	t.Helper()
	var all []string
	for _, d := range digests {
		if !slices.Contains(all, d) {
			all = append(all, d)
		}
	}
	if len(all) > 1 {
		t.Errorf("the release's tags are split across images: %v", digests)
	}
	if len(all) == 0 {
		return ""
	}
	return all[0]
}

// assertComplete reads the whole image: manifest, config and every layer.
func assertComplete(t *testing.T, env *testenv.Env, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, env.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("%s is not complete in the registry: %v", ref, err)
	}
}
