package sign

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// testKey is a cosign key pair made once per test binary (scrypt makes
// each one cost about a second).
type testKey struct {
	private, public []byte
	password        string
}

var (
	keyMu    sync.Mutex
	keyCache = map[string]*testKey{}
)

// newTestKey returns a cosign key pair encrypted with password, as
// cosign generate-key-pair writes it.
func newTestKey(t testing.TB, password string) *testKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[password]; ok {
		return k
	}
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatalf("generate a cosign key pair: %v", err)
	}
	k := &testKey{private: kb.PrivateBytes, public: kb.PublicBytes, password: password}
	keyCache[password] = k
	return k
}

// writeFile writes content to a new file in the test's temporary
// directory and returns its path.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSBOM is a small CycloneDX 1.5 document, as the scan stage writes.
const testSBOM = `{
  "bomFormat": "CycloneDX",
  "specVersion": "1.5",
  "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
  "version": 1,
  "metadata": {"component": {"type": "container", "name": "testenv/app"}},
  "components": [
    {"type": "library", "name": "busybox", "version": "1.36.1", "purl": "pkg:deb/debian/busybox@1.36.1"}
  ]
}`

// pushed is an image pushed to a test registry under several tags.
type pushed struct {
	repo   string   // registry/name
	digest string   // sha256:…
	refs   []string // repo:tag, one per tag
}

// pushImage pushes a small random image to a fresh repository of registry
// and points every tag at it, as the push stage leaves it.
func pushImage(t testing.TB, env *testenv.Env, registry string, tags ...string) pushed {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	p := pushed{repo: env.UniqueRepo(t, registry, "sign"), digest: h.String()}
	opts := env.RemoteOptions(t.Context())
	for i, tag := range tags {
		ref, err := name.NewTag(p.repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			err = remote.Write(ref, img, opts...)
		} else {
			err = remote.Tag(ref, img, opts...)
		}
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		p.refs = append(p.refs, ref.String())
	}
	return p
}

// state is the pipeline state after the push and scan stages.
func (p pushed) state(t testing.TB) *pipeline.State {
	t.Helper()
	return &pipeline.State{
		Push: &pipeline.PushOutcome{Pushed: true, Digest: p.digest, ImageRef: p.repo + "@" + p.digest, Refs: p.refs},
		Scan: &pipeline.ScanOutcome{SBOMPath: writeFile(t, "sbom.cdx.json", []byte(testSBOM)), SBOMFormat: "cyclonedx"},
	}
}

// layerCount is how many layers (signatures or attestations) the manifest
// at repo:tag holds; 0 when the tag does not exist.
func layerCount(t testing.TB, env *testenv.Env, repo, tag string) int {
	t.Helper()
	ref, err := name.NewTag(repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, env.RemoteOptions(t.Context())...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(m.Layers)
}

// digestTag is cosign's tag for digest with suffix: sha256-<hex>.<suffix>.
func digestTag(digest, suffix string) string {
	return strings.Replace(digest, ":", "-", 1) + "." + suffix
}

// keyOptions are key-signing options for the test registries: the auth
// registry's credentials through the same inputs as the push stage.
func keyOptions(env *testenv.Env, k *testKey) Options {
	o := Options{
		Sign:      SignTrue,
		Key:       string(k.private),
		Password:  k.password,
		NoTlog:    true,
		EventName: "push",
		IsTag:     true,
	}
	o.Registry.Username, o.Registry.Password = env.AuthUser, env.AuthPassword
	o.Registry.Transport = env.Transport()
	return o
}

// cosignCLI returns the cosign CLI of a major version (v2 or v3) built by
// scripts/tools-cosign. When it is missing the test is skipped with the
// command that builds it, or fails when services are required.
func cosignCLI(t testing.TB, major string) string {
	t.Helper()
	root := repoRoot(t)
	modFile := filepath.Join(root, "tools", "cosign-"+major, "go.mod")
	mod, err := os.ReadFile(modFile)
	if err != nil {
		t.Fatalf("read %s: %v", modFile, err)
	}
	var version string
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "require" && f[1] == "github.com/sigstore/cosign/"+major {
			version = f[2]
		}
	}
	if version == "" {
		t.Fatalf("no cosign %s version in %s", major, modFile)
	}
	cache := os.Getenv("IMAGE_PIPELINE_CACHE_DIR")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "image-pipeline")
	}
	bin := filepath.Join(cache, "cosign-"+version, "bin", "cosign")
	return testenv.RequireCLI(t, "cosign "+version+" CLI", bin, "bash scripts/tools-cosign")
}

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// runCLI runs a cosign CLI with the test registries' CA and login, no
// network beyond them, and returns its combined output.
func runCLI(t testing.TB, env *testenv.Env, bin string, args ...string) (string, error) {
	t.Helper()
	return runCLIEnv(t, env, bin, nil, args...)
}

// runCLIEnv is runCLI with extra environment variables (NAME=value).
func runCLIEnv(t testing.TB, env *testenv.Env, bin string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=/usr/bin:/bin",
		"DOCKER_CONFIG=" + env.DockerConfig,
		"SSL_CERT_FILE=" + env.CAFile,
		// Keep the CLI off the public TUF repository and Rekor.
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"COSIGN_EXPERIMENTAL=0",
		"NO_PROXY=*",
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// copyImage copies p's image to a fresh repository of registry under tags.
func copyImage(t testing.TB, env *testenv.Env, p pushed, registry string, tags ...string) pushed {
	t.Helper()
	opts := env.RemoteOptions(t.Context())
	src, err := name.NewDigest(p.repo + "@" + p.digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src, opts...)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	out := pushed{repo: env.UniqueRepo(t, registry, "copy"), digest: p.digest}
	for _, tag := range tags {
		ref, err := name.NewTag(out.repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, opts...); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		out.refs = append(out.refs, ref.String())
	}
	return out
}
