package app

// End-to-end runs of the compiled binary as the runner runs it, against the
// real test services: Docker Engine, the local registries.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/org/image-pipeline/internal/scan/fixturedb"
	"github.com/org/image-pipeline/internal/testenv"
)

func e2eInputs(t *testing.T, env *testenv.Env, image string) map[string]string {
	t.Helper()
	return map[string]string{
		"plan":       "false",
		"image":      image,
		"build-args": "BASE=" + env.BaseImage,
		// The default DB repositories are out of reach here: scan against
		// the fixture DB, through Trivy's real download path.
		"trivy-db-repository": fixtureDB(t, env),
		"trivy-cache-dir":     t.TempDir(),
	}
}

var fixtureDBOnce struct {
	sync.Once
	ref string
	err error
}

// fixtureDB pushes the fixture vulnerability DB to the plain test registry
// once per test binary and returns its reference.
func fixtureDB(t *testing.T, env *testenv.Env) string {
	t.Helper()
	fixtureDBOnce.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-db-")
		if err != nil {
			fixtureDBOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		files, _ := filepath.Glob(filepath.Join(repoRoot(t), "internal", "scan", "testdata", "db", "*.yaml"))
		if err := fixturedb.Build(dir, files, fixturedb.Fresh(time.Now())); err != nil {
			fixtureDBOnce.err = err
			return
		}
		img, err := fixturedb.Artifact(dir)
		if err != nil {
			fixtureDBOnce.err = err
			return
		}
		ref := env.Registry + "/testenv/e2e-trivy-db:2"
		r, _ := name.ParseReference(ref)
		fixtureDBOnce.err = remote.Write(r, img, remote.WithTransport(env.Transport()))
		fixtureDBOnce.ref = ref
	})
	if fixtureDBOnce.err != nil {
		t.Fatalf("fixture vulnerability DB: %v", fixtureDBOnce.err)
	}
	return fixtureDBOnce.ref
}

// TestEndToEndPushToBranch runs the action on a push to main against each
// Docker Engine: Debian's 20.10, Docker 29 with the containerd image store
// (the default of Docker 29) and Docker 29 with the classic store.
func TestEndToEndPushToBranch(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			endToEndPushToBranch(t, env, en)
		})
	}
}

func endToEndPushToBranch(t *testing.T, env *testenv.Env, en testenv.Engine) {
	image := env.UniqueRepo(t, env.Registry, "e2e")
	r := runAsRunner(t, "push_main", e2eInputs(t, env, image), map[string]string{"DOCKER_HOST": en.Host})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["pushed"] != "true" || !strings.HasPrefix(r.outputs["digest"], "sha256:") {
		t.Fatalf("outputs %v", r.outputs)
	}
	if want := image + "@" + r.outputs["digest"]; r.outputs["image-ref"] != want {
		t.Errorf("image-ref %q, want %q", r.outputs["image-ref"], want)
	}
	tags := strings.Split(r.outputs["tags"], "\n")
	if len(tags) != 2 || tags[0] != image+":main" {
		t.Fatalf("tags %q", tags)
	}
	// Every tag, read from the registry itself, is the pushed digest.
	for _, tag := range tags {
		if got := env.HeadDigest(t, tag); got != r.outputs["digest"] {
			t.Errorf("%s points at %q, want %s", tag, got, r.outputs["digest"])
		}
	}
	// The branch cache ladder for the next build: builder-main pushed
	// (inline cache, classic stores), or BuildKit's registry cache
	// buildcache-main written (mode=max, the containerd store).
	store := map[bool]string{true: "with the containerd image store", false: "with the classic image store"}[en.ContainerdStore]
	if !strings.Contains(r.summary, store) {
		t.Errorf("%s: the summary does not say the engine runs %q:\n%s", en.Name, store, r.summary)
	}
	// The cache is kept beside the image, never in its repository.
	if en.ContainerdStore {
		if env.HeadDigest(t, image+"-cache:buildcache-main") == "" {
			t.Errorf("%s: the registry cache buildcache-main was not written", en.Name)
		}
		if !strings.Contains(r.summary, "Cache (registry):") {
			t.Errorf("%s: the summary does not say the cache was registry cache:\n%s", en.Name, r.summary)
		}
	} else {
		if env.HeadDigest(t, image+"-cache:builder-main") == "" {
			t.Errorf("%s: builder-main cache image not pushed", en.Name)
		}
		if !strings.Contains(r.summary, "Cache (inline):") {
			t.Errorf("%s: the summary does not say the cache was inline cache:\n%s", en.Name, r.summary)
		}
	}
	if !strings.HasPrefix(r.outputs["imageid"], "sha256:") || r.outputs["cache-hits"] == "" || r.outputs["cache-misses"] == "" {
		t.Errorf("build outputs: %v", r.outputs)
	}
	if r.outputs["scan-passed"] != "true" || r.outputs["sbom-path"] == "" {
		t.Errorf("scan outputs: %v", r.outputs)
	}
	if filepath.IsAbs(r.outputs["sbom-path"]) {
		t.Errorf("sbom-path %q should be relative to the workspace", r.outputs["sbom-path"])
	}
	if _, err := os.Stat(filepath.Join(r.workspace, r.outputs["sbom-path"])); err != nil {
		t.Errorf("SBOM not written: %v", err)
	}
	for _, want := range []string{"| build | ✅ ok |", "| scan | ✅ ok |", "| push | ✅ ok |", r.outputs["digest"]} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
	// The scan and the push read the image from one export of the engine,
	// and its file is gone when the run ends.
	if n := strings.Count(r.stdout, "exported "+r.outputs["imageid"]+" from the Docker Engine: "); n != 1 {
		t.Errorf("the image was exported from the engine %d times, want once (scan and push share it):\n%s", n, r.stdout)
	}
	if left, _ := filepath.Glob(filepath.Join(r.workspace, "image-pipeline-save-*")); len(left) > 0 {
		t.Errorf("the engine export was left behind: %v", left)
	}
	assertNoInjectedCommands(t, r.stdout)
}

func TestEndToEndForkPullRequestPushesNothing(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-fork")
	r := runAsRunner(t, "pull_request_fork", e2eInputs(t, env, image), map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["pushed"] != "false" {
		t.Errorf("pushed = %q, want false", r.outputs["pushed"])
	}
	if !strings.Contains(r.summary, "| build | ✅ ok |") || !strings.Contains(r.summary, "fork") {
		t.Errorf("summary must show the build and say why nothing was pushed:\n%s", r.summary)
	}
	repo, _ := name.NewRepository(image)
	tags, err := remote.List(repo, remote.WithContext(t.Context()), remote.WithTransport(env.Transport()))
	var terr *transport.Error
	if err == nil && len(tags) > 0 {
		t.Errorf("a fork pull request pushed tags: %v", tags)
	} else if err != nil && !(asTransportError(err, &terr) && terr.StatusCode == 404) {
		t.Errorf("listing %s: %v", image, err)
	}
}

// A release (tag push) with a cosign key: built, pushed with the semver
// tags, signed once with the default annotations and sign-annotations'
// (cosign verify -a checks them), and the summary carries the verify
// command.
func TestEndToEndReleaseIsSigned(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-release")
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("release-pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	in := e2eInputs(t, env, image)
	in["cosign-key"] = string(keys.PrivateBytes)
	in["cosign-password"] = "release-pw"
	in["cosign-tlog"] = "false"
	in["attest-sbom"] = "false"
	in["sign-annotations"] = "jobid=9b78fab5-d364-43b3-8fb0-3f0c82a795cd\nrepository=\n"
	r := runAsRunner(t, "push_tag", in, map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["signed"] != "true" || r.outputs["pushed"] != "true" {
		t.Fatalf("outputs %v", r.outputs)
	}
	// The payload as the registry holds it, and as cosign checks it.
	image0 := image + "@" + r.outputs["digest"]
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	wantOptional := map[string]any{
		"commit": sha, "ref": "refs/tags/v1.2.3", "jobid": "9b78fab5-d364-43b3-8fb0-3f0c82a795cd",
		"run": "https://github.com/octo-org/hello-image/actions/runs/13650001002/attempts/1",
	}
	if got := signaturePayloadOptional(t, env, image0); !maps.Equal(got, wantOptional) {
		t.Errorf("the signature payload's optional field is %v, want %v", got, wantOptional)
	}
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, keys.PublicBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	cli := cosignV3(t)
	for _, tc := range []struct {
		filters []string
		ok      bool
	}{
		{[]string{"commit=" + sha, "jobid=9b78fab5-d364-43b3-8fb0-3f0c82a795cd", "ref=refs/tags/v1.2.3"}, true},
		{[]string{"commit=0000000000000000000000000000000000000000"}, false},
		{[]string{"repository=octo-org/hello-image"}, false}, // dropped by "repository="
	} {
		args := []string{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry"}
		for _, f := range tc.filters {
			args = append(args, "-a", f)
		}
		cmd := exec.CommandContext(t.Context(), cli, append(args, image0)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=*"}
		out, err := cmd.CombinedOutput()
		if (err == nil) != tc.ok {
			t.Errorf("cosign v3 verify -a %v: %v, want success %v\n%s", tc.filters, err, tc.ok, out)
		}
	}
	if !strings.Contains(r.summary, "-a commit="+sha+" ") || !strings.Contains(r.summary, "`jobid=9b78fab5-d364-43b3-8fb0-3f0c82a795cd`") {
		t.Errorf("the summary does not give the annotations and check the commit:\n%s", r.summary)
	}
	want := image + ":sha256-" + strings.TrimPrefix(r.outputs["digest"], "sha256:") + ".sig"
	if r.outputs["signature-ref"] != want {
		t.Errorf("signature-ref %q, want %q", r.outputs["signature-ref"], want)
	}
	if env.HeadDigest(t, want) == "" {
		t.Errorf("signature tag %s not in the registry", want)
	}
	if !strings.Contains(r.summary, "cosign verify --key") {
		t.Errorf("summary lacks the verify command:\n%s", r.summary)
	}
	var logged []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			logged = append(logged, line)
		}
	}
	seen := strings.Join(logged, "\n") + r.summary + string(r.reportJSONBytes)
	if strings.Contains(seen, "release-pw") || strings.Contains(seen, "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("a secret reached the log or the summary:\n%s\n%s", r.stdout, r.summary)
	}
}

// signaturePayloadOptional reads the legacy signature of image (repo@digest)
// from the registry: the "optional" field of its payload.
func signaturePayloadOptional(t *testing.T, env *testenv.Env, image string) map[string]any {
	t.Helper()
	repo, digest, _ := strings.Cut(image, "@")
	ref, err := name.NewTag(repo + ":" + strings.Replace(digest, ":", "-", 1) + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithTransport(env.Transport()))
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s has %d layers (%v), want 1", ref, len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var p struct {
		Optional map[string]any `json:"optional"`
	}
	if err := json.NewDecoder(rc).Decode(&p); err != nil {
		t.Fatalf("the payload of %s: %v", ref, err)
	}
	return p.Optional
}

// cosignV3 is the cosign v3 CLI, built by scripts/tools-cosign.
func cosignV3(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "tools-cosign"), "v3").Output()
	if err != nil {
		t.Fatalf("scripts/tools-cosign v3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// image-pipeline build: lint and build on a laptop, nothing published.
func TestBuildCommandLintsAndBuildsOnly(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-build")
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "testdata", "demo"), dir)
	report := filepath.Join(dir, "report.json")
	cmd := exec.CommandContext(t.Context(), binary, "build", "--context", dir, "--image", image,
		"--build-args", "BASE="+env.BaseImage, "--report-json", report)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_HOST=" + env.DockerHost}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc jsonReportDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range doc.Stages {
		got[s.Name] = s.Status
	}
	want := map[string]string{"lint": "ok", "tags": "ok", "build": "ok", "scan": "skipped", "push": "skipped", "sign": "skipped"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stages %v, want %v", got, want)
	}
	repo, _ := name.NewRepository(image)
	if tags, err := remote.List(repo, remote.WithContext(t.Context()), remote.WithTransport(env.Transport())); err == nil && len(tags) > 0 {
		t.Errorf("image-pipeline build pushed %v", tags)
	}
}

// A release whose signing would fail stops before anything is pushed: a
// wrong cosign-password used to surface only after the tags were pushed,
// publishing an unsigned release. The key decrypts while the build and the
// scan run, the push waits for it, and the wrong password stops the run
// with the configuration error.
func TestEndToEndSigningProblemStopsBeforeThePush(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-presign")
	in := wrongPasswordInputs(t, env, image)
	r := runAsRunner(t, "push_tag", in, map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 2 || !strings.Contains(r.stdout, "cannot be decrypted with cosign-password") {
		t.Fatalf("exit %d, want 2 naming the password:\n%s", r.code, r.stdout)
	}
	// The build and the scan may start while the key decrypts; the push
	// waits for it.
	for _, stage := range []string{"push", "sign"} {
		if strings.Contains(r.stdout, "::group::image-pipeline: "+stage) {
			t.Errorf("the %s stage ran:\n%s", stage, r.stdout)
		}
	}
	if !strings.Contains(r.summary, "cosign-password") || r.outputs["result"] != "failure" {
		t.Errorf("the summary does not name the password, or result is %q:\n%s", r.outputs["result"], r.summary)
	}
	if d := env.HeadDigest(t, image+":1.2.3"); d != "" {
		t.Errorf("the release was pushed unsigned: %s", d)
	}
}

// wrongPasswordInputs are e2eInputs signing with a key and the wrong
// cosign-password.
func wrongPasswordInputs(t *testing.T, env *testenv.Env, image string) map[string]string {
	t.Helper()
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("right-pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	in := e2eInputs(t, env, image)
	in["cosign-key"] = string(keys.PrivateBytes)
	in["cosign-password"] = "wrong-pw"
	in["cosign-tlog"] = "false"
	return in
}

// A wrong cosign-password stops a long build at once: the key decrypts
// while the build runs, and its failure cancels the build instead of
// waiting for it.
func TestEndToEndWrongPasswordStopsTheBuild(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-presign-slow")
	in := wrongPasswordInputs(t, env, image)
	df := "FROM " + env.BaseImage + "\nRUN echo " + filepath.Base(image) + " && sleep 120\n"
	start := time.Now()
	r := runAsRunner(t, "push_tag", in, map[string]string{"DOCKER_HOST": env.DockerHost, "TEST_DOCKERFILE": df})
	if r.code != 2 || !strings.Contains(r.stdout, "cannot be decrypted with cosign-password") {
		t.Fatalf("exit %d, want 2 naming the password:\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "build failed after") || strings.Contains(r.stdout, "build ok") {
		t.Errorf("the build was not stopped:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "::error file=Dockerfile") {
		t.Errorf("the stopped build annotated the Dockerfile:\n%s", r.stdout)
	}
	// The build's RUN sleeps 120 s: a run that waited for it took that long.
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the run took %s: the build was waited for, not stopped", d.Round(time.Second))
	}
	if d := env.HeadDigest(t, image+":1.2.3"); d != "" {
		t.Errorf("the release was pushed unsigned: %s", d)
	}
}

// TestEndToEndMultiPlatformOnTheContainerdStore: with Docker 29's default
// containerd image store, two platforms build in the engine, and the run
// scans and pushes one image index holding both; a classic-store engine
// refuses before building, naming the input.
func TestEndToEndMultiPlatformOnTheContainerdStore(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	df := "FROM scratch\nARG TARGETPLATFORM\nCOPY Dockerfile /Dockerfile\nLABEL org.example.multi=" + filepath.Base(env.UniqueRepo(t, "x", "mp")) + "\n"
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			image := env.UniqueRepo(t, env.Registry, "e2e-multi")
			in := e2eInputs(t, env, image)
			in["platforms"] = "linux/amd64,linux/arm64"
			r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_DOCKERFILE": df})
			if !en.ContainerdStore {
				if r.code == 0 || !strings.Contains(r.stdout, `input "platforms"`) {
					t.Fatalf("%s: exit %d, want a failure naming the platforms input\n%s", en.Name, r.code, r.stdout)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			ref, err := name.NewDigest(image + "@" + r.outputs["digest"])
			if err != nil {
				t.Fatalf("digest output %q: %v", r.outputs["digest"], err)
			}
			idx, err := remote.Index(ref, env.RemoteOptions(t.Context())...)
			if err != nil {
				t.Fatalf("the pushed %s is not an image index: %v", ref, err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range m.Manifests {
				if d.Platform != nil && d.Platform.OS != "unknown" {
					got = append(got, d.Platform.OS+"/"+d.Platform.Architecture)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
				t.Errorf("pushed index platforms %v, want linux/amd64 and linux/arm64", got)
			}
			if want := "The image has 2 platforms (linux/amd64, linux/arm64); the scan and the SBOM cover linux/amd64 only."; !strings.Contains(r.summary, want) {
				t.Errorf("the summary does not say which platform was scanned (%q):\n%s", want, r.summary)
			}
			if env.HeadDigest(t, image+":main") != r.outputs["digest"] {
				t.Errorf("%s:main does not point at the pushed index %s", image, r.outputs["digest"])
			}
		})
	}
}

// TestEndToEndProvenance: with provenance asked for, an engine with the
// containerd image store pushes one index holding the image and BuildKit's
// attestation manifest for it, and the summary says so; a classic-store
// engine stops before building, naming the input.
func TestEndToEndProvenance(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			image := env.UniqueRepo(t, env.Registry, "e2e-prov")
			in := e2eInputs(t, env, image)
			in["provenance"] = "mode=max"
			df := "FROM scratch\nCOPY Dockerfile /Dockerfile\nLABEL org.example.prov=" + filepath.Base(image) + "\n"
			r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_DOCKERFILE": df})
			if !en.ContainerdStore {
				if r.code == 0 || !strings.Contains(r.stdout, `input "provenance"`) {
					t.Fatalf("%s: exit %d, want a failure naming the provenance input\n%s", en.Name, r.code, r.stdout)
				}
				if r.outputs["pushed"] == "true" {
					t.Errorf("pushed although the build was refused")
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			ref, err := name.NewDigest(image + "@" + r.outputs["digest"])
			if err != nil {
				t.Fatalf("digest output %q: %v", r.outputs["digest"], err)
			}
			idx, err := remote.Index(ref, env.RemoteOptions(t.Context())...)
			if err != nil {
				t.Fatalf("the pushed %s is not an image index: %v", ref, err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var imageDigest, refersTo string
			for _, d := range m.Manifests {
				if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
					refersTo = d.Annotations["vnd.docker.reference.digest"]
					att, err := idx.Image(d.Digest)
					if err != nil {
						t.Fatalf("the attestation manifest %s was not pushed: %v", d.Digest, err)
					}
					if ls, err := att.Layers(); err != nil || len(ls) == 0 {
						t.Errorf("attestation layers: %v", err)
					} else if _, err := remote.Layer(ref.Context().Digest(mustDigest(t, ls[0])), env.RemoteOptions(t.Context())...); err != nil {
						t.Errorf("the attestation's statement is not in the registry: %v", err)
					}
				} else {
					imageDigest = d.Digest.String()
				}
			}
			if refersTo == "" || refersTo != imageDigest {
				t.Errorf("the pushed index has no attestation for its image %s (attestation refers to %q): %+v", imageDigest, refersTo, m.Manifests)
			}
			if !strings.Contains(r.summary, "Provenance: BuildKit's SLSA provenance attestation (mode=max)") {
				t.Errorf("the summary does not say provenance is attached:\n%s", r.summary)
			}
		})
	}
}

func mustDigest(t *testing.T, l interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestEndToEndWarmRunPushesOnlyTags: the same commit and inputs run twice
// (a warm run, or the re-run button) give the same digest and the same
// SBOM on every engine; the second run exports nothing from the engine (the
// scan finds the config and every layer's analysis in its cache, the push
// takes the image from the registry) and signs nothing new (the signature
// and SBOM attestation found are verified): log and summary say so.
func TestEndToEndWarmRunPushesOnlyTags(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			image := env.UniqueRepo(t, env.Registry, "e2e-warm")
			in := e2eInputs(t, env, image)
			keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("warm-pw"), nil })
			if err != nil {
				t.Fatal(err)
			}
			in["cosign-key"], in["cosign-password"], in["cosign-tlog"] = string(keys.PrivateBytes), "warm-pw", "false"
			in["trivy-cache-dir"] = t.TempDir() // kept between the runs, as actions/cache does
			df := "FROM scratch\nCOPY Dockerfile /Dockerfile\nLABEL org.example.warm=" + filepath.Base(image) + "\n"
			var digests, sboms []string
			for run := range 2 {
				r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_DOCKERFILE": df})
				if r.code != 0 {
					t.Fatalf("run %d: exit code %d\n%s\n%s", run+1, r.code, r.stdout, r.stderr)
				}
				digests = append(digests, r.outputs["digest"])
				sbom, err := os.ReadFile(filepath.Join(r.workspace, r.outputs["sbom-path"]))
				if err != nil {
					t.Fatal(err)
				}
				sboms = append(sboms, string(sbom))
				warm := run == 1
				for _, c := range []struct {
					what, text string
					in         string
				}{
					{"the registry held the image", "The registry already held this image", r.summary},
					{"the digest was signed before", "was already signed with the key", r.summary},
					{"the scan read no export", "the image was not exported from the Docker Engine", r.stdout},
				} {
					if strings.Contains(c.in, c.text) != warm {
						t.Errorf("run %d: says %s: %v, want %v\n%s", run+1, c.what, !warm, warm, c.in)
					}
				}
				if n := strings.Count(r.stdout, "from the Docker Engine: "); warm && n != 0 {
					t.Errorf("the warm run exported the image %d times, want none:\n%s", n, r.stdout)
				}
				if r.outputs["signed"] != "true" {
					t.Errorf("run %d: signed=%q", run+1, r.outputs["signed"])
				}
			}
			if sboms[0] != sboms[1] {
				t.Errorf("the same image gave two SBOMs:\n%s\n---\n%s", sboms[0], sboms[1])
			}
			if digests[0] != digests[1] {
				t.Errorf("the same commit and inputs gave %s, then %s", digests[0], digests[1])
			}
		})
	}
}

// TestEndToEndKeylessReleaseWithRealSigstore is a tag release signed
// keyless the way the runner runs the action — `permissions: id-token:
// write` gives it ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN — against the test
// environment's real Fulcio and Rekor; then the verify command the job
// summary shows passes, word for word, with cosign v3.
func TestEndToEndKeylessReleaseWithRealSigstore(t *testing.T) {
	env := testenv.Require(t)
	_, requestToken := testenv.RequireSigstore(t)
	s := env.Sigstore
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			image := env.UniqueRepo(t, env.Registry, "e2e-keyless")
			in := e2eInputs(t, env, image)
			in["fulcio-url"], in["rekor-url"], in["oidc-issuer"], in["sigstore-trusted-root"] = s.FulcioURL, s.RekorURL, s.OIDCIssuer, s.TrustedRoot
			in["signature-format"] = format
			r := runAsRunner(t, "push_tag", in, map[string]string{
				"DOCKER_HOST":                    env.DockerHost,
				"ACTIONS_ID_TOKEN_REQUEST_URL":   s.IDTokenRequestURL + "repository=octo-org/hello-image&ref=refs/tags/v1.2.3&sha=3f786850e387550fdab836ed7e6dc881de23001b",
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": requestToken,
			})
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if r.outputs["signed"] != "true" || r.outputs["pushed"] != "true" {
				t.Fatalf("outputs %v", r.outputs)
			}
			var logged []string
			for _, line := range strings.Split(r.stdout, "\n") {
				if !strings.HasPrefix(line, "::add-mask::") { // masked before first use
					logged = append(logged, line)
				}
			}
			if strings.Contains(strings.Join(logged, "\n")+r.summary+string(r.reportJSONBytes), requestToken) {
				t.Errorf("the token request's bearer token reached the log, the summary or the report:\n%s", r.stdout)
			}
			if !strings.Contains(r.stdout, "::add-mask::"+requestToken) {
				t.Error("the token request's bearer token was not masked")
			}
			if !strings.Contains(r.stdout, "::add-mask::eyJ") {
				t.Error("the OIDC token (a JWT) was not masked before it was used")
			}
			var cmds []string
			for _, line := range strings.Split(r.summary, "\n") {
				if strings.HasPrefix(line, "cosign verify") {
					cmds = append(cmds, line)
				}
			}
			want := "cosign verify --certificate-identity https://github.com/octo-org/hello-image/.github/workflows/release.yml@refs/tags/v1.2.3 --certificate-oidc-issuer " + s.OIDCIssuer + " --trusted-root " + s.TrustedRoot + " -a commit=3f786850e387550fdab836ed7e6dc881de23001b " + image + "@" + r.outputs["digest"]
			if len(cmds) != 2 || cmds[0] != want || !strings.HasPrefix(cmds[1], "cosign verify-attestation --type cyclonedx ") {
				t.Fatalf("the summary's verify commands are\n%s\nwant\n%s\nand the attestation's\nsummary:\n%s", strings.Join(cmds, "\n"), want, r.summary)
			}
			cli := cosignV3(t)
			for _, c := range cmds {
				words := strings.Fields(c)
				args := append(append(words[1:len(words)-1:len(words)-1], "--allow-http-registry"), words[len(words)-1])
				cmd := exec.CommandContext(t.Context(), cli, args...)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
				if res, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("the summary's command (plus --allow-http-registry) failed: %v\n%s", err, res)
				}
				t.Logf("cosign v3 %s: exit 0", strings.Join(args, " "))
			}
		})
	}
}
