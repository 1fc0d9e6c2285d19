package actsuite

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/image-pipeline/internal/testenv"
)

// suite is what every test shares: act, the runner image, the action
// image and a copy of action.yml pointing at it. It is made once per test
// binary; each piece is reused across runs when its inputs did not change.
type suite struct {
	env         *testenv.Env
	act         string // the act binary
	runnerImage string // -P ubuntu-24.04=…
	actionImage string // runs.image of the action copy, without docker://
	actionDir   string // the action copy: action.yml only
	trivyDB     string // the fixture vulnerability DB in the plain registry
	root        string // the repository under test
}

var (
	suiteOnce sync.Once
	shared    *suite
	suiteErr  error
)

// TestMain removes the shared action copy once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.actionDir != "" {
		_ = os.RemoveAll(shared.actionDir)
	}
	os.Exit(code)
}

// setup returns the shared suite, failing (or, outside make test,
// skipping) the test when the services are not there.
func setup(t *testing.T) *suite {
	t.Helper()
	env := testenv.Require(t)
	suiteOnce.Do(func() { shared, suiteErr = newSuite(env) })
	if suiteErr != nil {
		t.Fatalf("action suite setup: %v", suiteErr)
	}
	return shared
}

func newSuite(env *testenv.Env) (*suite, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	s := &suite{env: env, root: root, trivyDB: env.Registry + "/testenv/trivy-db:2"}
	out, err := command(ctx, root, nil, "bash", "scripts/tools-act")
	if err != nil {
		return nil, fmt.Errorf("build act: %w\n%s", err, out)
	}
	s.act = strings.TrimSpace(lastLine(out))
	if s.runnerImage, err = pushRunnerImage(ctx, env); err != nil {
		return nil, fmt.Errorf("runner image: %w", err)
	}
	if s.actionImage, err = pushActionImage(ctx, env, root); err != nil {
		return nil, fmt.Errorf("action image: %w", err)
	}
	if s.actionDir, err = actionCopy(root, s.actionImage); err != nil {
		return nil, err
	}
	// act starts job containers from local images only when told not to
	// pull; pull both once through the engine.
	for _, img := range []string{s.runnerImage, s.actionImage} {
		if out, err := command(ctx, root, []string{"DOCKER_HOST=" + env.DockerHost}, "docker", "pull", "-q", img); err != nil {
			return nil, fmt.Errorf("docker pull %s: %w\n%s", img, err, out)
		}
	}
	return s, nil
}

// command runs a program and returns its combined output.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// pushRunnerImage makes the job container's image: the test
// environment's busybox plus bash (act runs `run:` steps with bash, as
// GitHub's runner does) and the libraries it links. Nothing is pulled.
func pushRunnerImage(ctx context.Context, env *testenv.Env) (string, error) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		return "", err
	}
	files := []string{bash}
	out, err := exec.CommandContext(ctx, "ldd", bash).Output()
	if err != nil {
		return "", fmt.Errorf("ldd %s: %w", bash, err)
	}
	files = append(files, regexp.MustCompile(`(/\S+)`).FindAllString(string(out), -1)...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	sort.Strings(files)
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return "", err
		}
		data, err := os.ReadFile(real)
		if err != nil {
			return "", err
		}
		for d := filepath.Dir(f); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f, "/"), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := tw.Write(data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return "", err
	}
	baseRef, err := name.ParseReference(env.BaseImage)
	if err != nil {
		return "", err
	}
	opts := append(env.RemoteOptions(ctx), remote.WithContext(ctx))
	base, err := remote.Image(baseRef, opts...)
	if err != nil {
		return "", fmt.Errorf("read the base image %s: %w", env.BaseImage, err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	ref := fmt.Sprintf("%s/testenv/act-runner:%s", env.Registry, d.Hex[:12])
	return ref, writeImage(ctx, env, ref, img)
}

func writeImage(ctx context.Context, env *testenv.Env, ref string, img v1.Image) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	return remote.Write(r, img, append(env.RemoteOptions(ctx), remote.WithContext(ctx))...)
}

// pushActionImage builds the action's image the way the release does:
// `make dist` (the static binary, the CA bundle, /tmp), then the
// repository's own Dockerfile built and pushed by that binary. The tag is
// the binary's hash, so a changed binary is a new image act must pull.
func pushActionImage(ctx context.Context, env *testenv.Env, root string) (string, error) {
	if out, err := command(ctx, root, []string{"GOEXPERIMENT=jsonv2", "GOFLAGS=-mod=mod"}, "make", "dist", "VERSION=actsuite"); err != nil {
		return "", fmt.Errorf("make dist: %w\n%s", err, out)
	}
	bin := filepath.Join(root, "dist", "rootfs", "usr", "local", "bin", "image-pipeline")
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	tag := fmt.Sprintf("%x", sha256.Sum256(data))[:12]
	repo := env.Registry + "/testenv/image-pipeline"
	ref := repo + ":" + tag
	if digestOf(ctx, env, ref) != "" {
		return ref, nil
	}
	// The binary runs as a CLI here: a local push event of this checkout,
	// nothing scanned or signed, only this tag.
	out, err := command(ctx, root, []string{"DOCKER_HOST=" + env.DockerHost, "GITHUB_ACTIONS=", "GITHUB_EVENT_NAME="}, bin, "run",
		"--context", ".", "--image", repo, "--tags", "type=raw,value="+tag,
		"--scan", "false", "--sign", "false", "--push", "true", "--cache", "none", "--summary", "false")
	if err != nil {
		return "", fmt.Errorf("build the action image with %s: %w\n%s", bin, err, out)
	}
	return ref, nil
}

// digestOf is the digest a reference points at, "" when it does not exist.
func digestOf(ctx context.Context, env *testenv.Env, ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ""
	}
	desc, err := remote.Head(r, append(env.RemoteOptions(ctx), remote.WithContext(ctx))...)
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

// actionCopy is the repository's action.yml with runs.image pointed at
// the image built here: the only difference from what ships.
func actionCopy(root, image string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		return "", err
	}
	re := regexp.MustCompile(`(?m)^  image: .*$`)
	if n := len(re.FindAllIndex(data, -1)); n != 1 {
		return "", fmt.Errorf("action.yml has %d runs.image lines, want 1", n)
	}
	dir, err := os.MkdirTemp("", "actsuite-action-")
	if err != nil {
		return "", err
	}
	out := re.ReplaceAll(data, []byte(`  image: "docker://`+image+`"`))
	return dir, os.WriteFile(filepath.Join(dir, "action.yml"), out, 0o644)
}

// repo is a user's repository: the files of testdata/repo, one workflow,
// committed, with origin at github.com/octo-org/hello-image (act takes
// GITHUB_REPOSITORY from it).
type repo struct {
	dir     string
	commits []commit
}

type commit struct {
	sha  string
	time time.Time
}

func newRepo(t *testing.T, workflow string) *repo {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, "testdata/repo", dir)
	wf, err := os.ReadFile(filepath.Join("testdata", "workflows", workflow))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ".github", "workflows", workflow), wf)
	r := &repo{dir: dir}
	r.git(t, "init", "-q", "-b", "main")
	r.git(t, "remote", "add", "origin", "https://github.com/octo-org/hello-image.git")
	r.commit(t, "first commit", "2026-02-01T10:00:00Z")
	return r
}

func (r *repo) git(t *testing.T, args ...string) string {
	t.Helper()
	return r.gitAt(t, nil, args...)
}

// gitAt runs git in the repository as a fixed user, with extra variables.
func (r *repo) gitAt(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(append(os.Environ(), "GIT_AUTHOR_NAME=Octo", "GIT_AUTHOR_EMAIL=octo@example.com",
		"GIT_COMMITTER_NAME=Octo", "GIT_COMMITTER_EMAIL=octo@example.com", "GIT_CONFIG_GLOBAL=/dev/null"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits every change at the given committer time.
func (r *repo) commit(t *testing.T, msg, when string) commit {
	t.Helper()
	r.git(t, "add", "-A")
	r.gitAt(t, []string{"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when}, "commit", "-q", "--allow-empty", "-m", msg)
	ts, _ := time.Parse(time.RFC3339, when)
	c := commit{sha: r.git(t, "rev-parse", "HEAD"), time: ts}
	r.commits = append(r.commits, c)
	return c
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dst, rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// payload is one of testdata/events' webhook payloads (GitHub's shapes),
// rewritten to this repository's commit.
func payload(t *testing.T, r *repo, fixture string, edit func(map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", fixture+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fixture+".json")
	writeFile(t, path, out)
	return path
}

// set assigns a value at a path of nested maps.
func set(p map[string]any, value any, path ...string) {
	m := p
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = value
}

// actRun is one `act` invocation and what it left.
type actRun struct {
	code    int
	log     string
	summary map[string]string // job id → that job's last step summary
	took    time.Duration
}

// runAct runs the repository's workflow for an event with act in
// container mode: the workspace bound (as the runner's is a host folder
// the next steps read), secrets not masked by act (so that only the
// action's own masking stands between a secret and the log), nothing
// pulled, and the containers kept until their summaries are read.
func (s *suite) runAct(t *testing.T, r *repo, event, payloadPath, image string, secrets map[string]string) actRun {
	t.Helper()
	before := volumes(t, s.env)
	args := []string{event,
		"-e", payloadPath,
		"-W", ".github/workflows/",
		"-P", "ubuntu-24.04=" + s.runnerImage,
		"--pull=false",
		"--bind",
		"--reuse",
		"--insecure-secrets",
		"--no-cache-server",
		"--container-daemon-socket", s.env.DockerHost,
		"--local-repository", "org/image-pipeline@v1=" + s.actionDir,
		"--action-cache-path", t.TempDir(),
		"--var", "IMAGE=" + image,
		"--var", "BASE_IMAGE=" + s.env.BaseImage,
		"--var", "TRIVY_DB=" + s.trivyDB,
		"--secret-file", "/dev/null", "--env-file", "/dev/null", "--var-file", "/dev/null", "--input-file", "/dev/null",
	}
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-s", k+"="+secrets[k])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.act, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.env.DockerHost, "ACT_DISABLE_VERSION_CHECK=1", "HOME="+t.TempDir())
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	start := time.Now()
	release := testenv.LockEngine(t, s.env.DockerHost, false)
	err := cmd.Run()
	release()
	run := actRun{log: b.String(), took: time.Since(start), summary: map[string]string{}}
	if ee, ok := err.(*exec.ExitError); ok {
		run.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("act: %v\n%s", err, run.log)
	}
	for _, v := range newVolumes(t, s.env, before) {
		if strings.HasSuffix(v, "-env") {
			if sum := readVolumeFile(t, s, v, "workflow/SUMMARY.md"); sum != "" {
				run.summary[jobOfVolume(v)] = sum
			}
		}
	}
	// act also prints each step's summary to its log ("Summary - …"): use
	// that when the kept volume could not be read.
	for _, job := range []string{"image"} {
		if run.summary[job] == "" && strings.Contains(run.log, "Summary - ") {
			run.summary[job] = run.log[strings.Index(run.log, "Summary - "):]
		}
	}
	removeActLeftovers(t, s.env, before)
	t.Logf("act %s: exit %d in %s", event, run.code, run.took.Round(time.Millisecond))
	return run
}

// jobOfVolume names the job of an act volume ("act-image-image-<hash>-env"
// holds the job id after the workflow name).
func jobOfVolume(v string) string {
	parts := strings.Split(strings.TrimSuffix(v, "-env"), "-")
	if len(parts) >= 3 {
		return parts[2]
	}
	return v
}

func volumes(t *testing.T, env *testenv.Env) map[string]bool {
	t.Helper()
	out, err := command(t.Context(), "", []string{"DOCKER_HOST=" + env.DockerHost}, "docker", "volume", "ls", "-q")
	if err != nil {
		t.Fatalf("docker volume ls: %v\n%s", err, out)
	}
	m := map[string]bool{}
	for _, v := range strings.Fields(out) {
		m[v] = true
	}
	return m
}

func newVolumes(t *testing.T, env *testenv.Env, before map[string]bool) []string {
	t.Helper()
	var out []string
	for v := range volumes(t, env) {
		if !before[v] {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// readVolumeFile reads a file of a volume act kept, through a throw-away
// container of the runner image.
func readVolumeFile(t *testing.T, s *suite, volume, file string) string {
	t.Helper()
	out, err := command(t.Context(), "", []string{"DOCKER_HOST=" + s.env.DockerHost}, "docker", "run", "--rm",
		"-v", volume+":/v:ro", "--entrypoint", "cat", s.runnerImage, "/v/"+file)
	if err != nil {
		return ""
	}
	return out
}

// removeActLeftovers removes the containers and volumes act kept (--reuse).
func removeActLeftovers(t *testing.T, env *testenv.Env, before map[string]bool) {
	t.Helper()
	dockerEnv := []string{"DOCKER_HOST=" + env.DockerHost}
	out, _ := command(t.Context(), "", dockerEnv, "docker", "ps", "-aq", "--filter", "name=^act-")
	if ids := strings.Fields(out); len(ids) > 0 {
		if out, err := command(t.Context(), "", dockerEnv, "docker", append([]string{"rm", "-f"}, ids...)...); err != nil {
			t.Logf("remove act containers: %v\n%s", err, out)
		}
	}
	if vs := newVolumes(t, env, before); len(vs) > 0 {
		if out, err := command(t.Context(), "", dockerEnv, "docker", append([]string{"volume", "rm", "-f"}, vs...)...); err != nil {
			t.Logf("remove act volumes: %v\n%s", err, out)
		}
	}
}

// imageLabels reads an image's config labels from the registry.
func imageLabels(t *testing.T, s *suite, ref string) map[string]string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, append(s.env.RemoteOptions(t.Context()), remote.WithContext(t.Context()))...)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config.Labels
}

// signatureAnnotations reads the legacy signatures of image (repo@digest)
// from the registry: the "optional" field of each payload.
func signatureAnnotations(t *testing.T, s *suite, image string) []map[string]any {
	t.Helper()
	repo, digest, _ := strings.Cut(image, "@")
	ref := repo + ":" + strings.Replace(digest, ":", "-", 1) + ".sig"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, append(s.env.RemoteOptions(t.Context()), remote.WithContext(t.Context()))...)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Optional map[string]any `json:"optional"`
		}
		err = json.NewDecoder(rc).Decode(&p)
		rc.Close()
		if err != nil {
			t.Fatalf("a payload of %s: %v", ref, err)
		}
		out = append(out, p.Optional)
	}
	return out
}
