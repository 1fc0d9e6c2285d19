package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	bkclient "github.com/moby/buildkit/client"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/tags"
	"github.com/org/image-pipeline/internal/testenv"
)

// daemonLocks serialise the tests that prune a daemon's cache against the
// tests that use it: pruning takes the write lock, building the read lock.
// One lock per daemon, by backend name.
var (
	daemonLocksMu sync.Mutex
	daemonLocks   = map[string]*sync.RWMutex{}
)

func daemonLock(backend string) *sync.RWMutex {
	daemonLocksMu.Lock()
	defer daemonLocksMu.Unlock()
	if daemonLocks[backend] == nil {
		daemonLocks[backend] = &sync.RWMutex{}
	}
	return daemonLocks[backend]
}

// backendRemote names the standalone buildkitd among the engines.
const backendRemote = "remote"

// backends are every real BuildKit under test: Debian's Docker 20.10, Docker
// 29 with the containerd image store, Docker 29 with the classic store
// (all three the docker driver) and buildkitd (the remote driver).
var backends = []string{testenv.EngineDocker20, testenv.EngineDocker29, testenv.EngineDocker29Classic, backendRemote}

// driver is one real BuildKit backend under test.
type driver struct {
	// name is the build driver (ibuild.DriverDocker or DriverRemote);
	// backend the daemon (one of backends).
	name, backend string
	// containerdStore is true for the engine with the containerd image
	// store: registry cache and several platforms on the docker driver.
	containerdStore bool
	env             *testenv.Env
	engine          *client.Client   // docker driver
	bk              *bkclient.Client // remote driver (for prune)
}

// newDriver connects to one backend; a missing one fails under make test.
func newDriver(t testing.TB, backend string) *driver {
	t.Helper()
	d := &driver{name: ibuild.DriverDocker, backend: backend}
	if backend == backendRemote {
		d.name = ibuild.DriverRemote
		d.env, d.bk = testenv.RequireBuildkitd(t)
		return d
	}
	env, en := testenv.RequireEngineNamed(t, backend)
	d.env, d.engine, d.containerdStore = env, en.Client, en.ContainerdStore
	return d
}

// classicEngine reports whether the backend is a Docker Engine with the
// classic image store: inline cache only, one platform.
func (d *driver) classicEngine() bool { return d.name == ibuild.DriverDocker && !d.containerdStore }

// forEachDriver runs f against every backend, as parallel subtests.
// exclusive tests prune the daemon.
func forEachDriver(t *testing.T, exclusive bool, f func(t *testing.T, d *driver)) {
	t.Helper()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newDriver(t, backend)
			lock := daemonLock(backend)
			if exclusive {
				lock.Lock()
				t.Cleanup(lock.Unlock)
			} else {
				lock.RLock()
				t.Cleanup(lock.RUnlock)
			}
			f(t, d)
		})
	}
}

// options are build options for a copy of testdata/<dir> in a temp dir,
// with BASE set to the test base image.
func (d *driver) options(t testing.TB, dir string) ibuild.Options {
	t.Helper()
	ws := copyTestdata(t, dir)
	o := ibuild.Options{
		Workspace: ws,
		Context:   ".",
		BuildArgs: []ibuild.BuildArg{{Name: "BASE", Value: d.env.BaseImage}},
		Keychain:  d.env.AuthKeychain(),
		OutputDir: t.TempDir(),
	}
	if d.name == ibuild.DriverRemote {
		o.BuildkitAddress = d.env.BuildkitHost
	}
	return o
}

// copyTestdata copies testdata/<dir> to a fresh directory and returns it.
func copyTestdata(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", dir)
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// nonce is random text that makes a build's sources unique, so that no
// earlier build's cache applies.
func nonce(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// build runs one build and returns its result and progress log.
func (d *driver) build(t testing.TB, o ibuild.Options, plan *pipeline.TagPlan) (*ibuild.Result, string, error) {
	t.Helper()
	b, err := ibuild.New(t.Context(), o, d.engineOrNil())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	release := func() {}
	if d.engine != nil {
		release = testenv.LockEngine(t, d.engine.DaemonHost(), false)
	}
	res, err := b.Build(ctx, plan, &log)
	release()
	if res != nil {
		d.removeAfter(t, res)
	}
	return res, log.String(), err
}

// mustBuild is build that fails the test on error.
func (d *driver) mustBuild(t testing.TB, o ibuild.Options, plan *pipeline.TagPlan) (*ibuild.Result, string) {
	t.Helper()
	res, log, err := d.build(t, o, plan)
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, log)
	}
	return res, log
}

func (d *driver) engineOrNil() ibuild.Engine {
	if d.engine == nil {
		return nil
	}
	return d.engine
}

// removeAfter removes the engine images of res when the test ends.
func (d *driver) removeAfter(t testing.TB, res *ibuild.Result) {
	t.Helper()
	if d.engine == nil {
		return
	}
	for _, img := range res.Outcome.Images {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = d.engine.ImageRemove(ctx, img.EngineImageID, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
		})
	}
}

// prune empties the daemon's build cache and removes the images of res.
func (d *driver) prune(t *testing.T, results ...*ibuild.Result) {
	t.Helper()
	ctx := t.Context()
	if d.engine != nil {
		for _, res := range results {
			for _, img := range res.Outcome.Images {
				if _, err := d.engine.ImageRemove(ctx, img.EngineImageID, dockerimage.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
					t.Fatalf("remove image %s: %v", img.EngineImageID, err)
				}
			}
		}
		release := testenv.LockEngine(t, d.engine.DaemonHost(), true)
		_, err := d.engine.BuildCachePrune(ctx, build.CachePruneOptions{All: true})
		release()
		if err != nil {
			t.Fatalf("prune the engine's build cache: %v", err)
		}
		return
	}
	if err := d.bk.Prune(ctx, nil, bkclient.PruneAll); err != nil {
		t.Fatalf("prune buildkitd's cache: %v", err)
	}
}

// pushCacheRefs does what the push stage does with the build's cache
// images: push each to its CacheRefs.
func (d *driver) pushCacheRefs(t *testing.T, res *ibuild.Result) {
	t.Helper()
	ctx := t.Context()
	for _, img := range res.Outcome.Images {
		for _, ref := range img.CacheRefs {
			if d.engine != nil {
				if err := d.engine.ImageTag(ctx, img.EngineImageID, ref); err != nil {
					t.Fatalf("tag %s as %s: %v", img.EngineImageID, ref, err)
				}
				rc, err := d.engine.ImagePush(ctx, ref, dockerimage.PushOptions{RegistryAuth: base64.URLEncoding.EncodeToString([]byte("{}"))})
				if err != nil {
					t.Fatalf("push %s: %v", ref, err)
				}
				err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
				_ = rc.Close()
				if err != nil {
					t.Fatalf("push %s: %v", ref, err)
				}
				continue
			}
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			opts := d.env.RemoteOptions(ctx)
			if err := remote.Write(r, layoutImage(t, img), opts...); err != nil {
				t.Fatalf("push %s: %v", ref, err)
			}
		}
	}
}

// layoutImage opens a single-platform image from the build's OCI layout.
func layoutImage(t *testing.T, img pipeline.BuiltImage) v1.Image {
	t.Helper()
	p, err := layout.FromPath(img.OCILayout)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	i, err := p.Image(h)
	if err != nil {
		t.Fatalf("read %s from the OCI layout: %v", img.Digest, err)
	}
	return i
}

// image returns the built image as a v1.Image (engine: through ImageSave).
func (d *driver) image(t *testing.T, img pipeline.BuiltImage) v1.Image {
	t.Helper()
	if img.OCILayout != "" {
		return layoutImage(t, img)
	}
	return testenv.SaveEngineImage(t, d.engine, img.EngineImageID)
}

// imageFiles reads every file of every layer of the image (later layers
// win) and the raw config.
func imageFiles(t *testing.T, img v1.Image) (files map[string][]byte, layerBytes [][]byte, config []byte) {
	t.Helper()
	files = map[string][]byte{}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		layerBytes = append(layerBytes, raw)
		tr := tar.NewReader(bytes.NewReader(raw))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[strings.TrimPrefix(filepath.Clean(h.Name), "/")] = b
			}
		}
	}
	config, err = img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return files, layerBytes, config
}

// blobsContain reports whether any blob of the OCI layout (gzip blobs
// decompressed) contains needle.
func blobsContain(t *testing.T, layoutDir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(filepath.Join(layoutDir, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if zr, zerr := gzip.NewReader(bytes.NewReader(b)); zerr == nil {
			if u, rerr := io.ReadAll(zr); rerr == nil {
				b = u
			}
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// registryDigest is the digest a registry holds for ref ("" when absent).
func registryDigest(t *testing.T, env *testenv.Env, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, env.RemoteOptions(t.Context())...)
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

// branchPlan is the tag plan the tag engine computes for a push to branch
// (base: the default branch main) in repo.
func branchPlan(repo, branch string, write bool) *pipeline.TagPlan {
	tag := strings.ReplaceAll(branch, "/", "-")
	c := pipeline.CachePlan{ReadBuilder: []string{repo + ":builder-" + tag}, ReadFinal: []string{repo + ":" + tag}}
	if tag != "main" {
		c.ReadBuilder = append(c.ReadBuilder, repo+":builder-main")
		c.ReadFinal = append(c.ReadFinal, repo+":main")
	}
	if write {
		c.WriteBuilder, c.WriteFinal = repo+":builder-"+tag, repo+":"+tag
	}
	return &pipeline.TagPlan{
		Tags:   []string{repo + ":" + tag},
		Labels: []string{"org.opencontainers.image.source=https://github.com/org/app", "org.opencontainers.image.title=app"},
		Cache:  c,
	}
}

// pullRequestPlan is the tag engine's own plan for a same-repository pull
// request from head into main: what the build gets in a real run.
func pullRequestPlan(t *testing.T, repo, head string) *pipeline.TagPlan {
	t.Helper()
	p, err := tags.Compute(tags.Input{
		Event: tags.Event{
			Name: "pull_request", Ref: "refs/pull/7/merge", SHA: strings.Repeat("a", 40),
			PRNumber: 7, PRHeadSHA: strings.Repeat("b", 40), PRHeadRef: head, PRBaseRef: "main",
			HeadRef: head, BaseRef: "main", DefaultBranch: "main",
		},
		Images: []tags.Image{{Name: repo, Enable: true}},
		// The cache tags in the image's repository, as the other plans
		// of these tests keep them (cache-image naming the image).
		Cache: tags.CacheOptions{Image: repo},
		Now:   time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.TagPlan{
		Tags:   p.Tags,
		Labels: []string{"org.opencontainers.image.source=https://github.com/org/app", "org.opencontainers.image.title=app"},
		Cache:  p.Cache,
	}
}
