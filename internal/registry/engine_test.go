package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// loadIntoEngine puts img into the engine's image store (docker load of a
// tarball written by go-containerregistry) under a throwaway tag, removed
// when the test ends, and returns it as the build stage would hand it on.
func loadIntoEngine(t testing.TB, docker *client.Client, img v1.Image) pipeline.BuiltImage {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	tag := "image-pipeline-test/push:" + hex.EncodeToString(b[:])
	id := testenv.LoadEngineImage(t, docker, tag, img)
	return pipeline.BuiltImage{Role: pipeline.RoleFinal, EngineImageID: id, EngineRef: tag}
}

// TestPushEngineImage pushes an image that lives only in an engine's image
// store — on each engine: Debian's 20.10, Docker 29 with the containerd
// image store, Docker 29 with the classic store — to three repositories
// (two on the plain registry, one on the TLS + htpasswd one) and checks
// every tag and every blob on the registries, and what the engine's image
// id is: the config digest on a classic store, the manifest (or index)
// digest on the containerd store.
func TestPushEngineImage(t *testing.T) {
	env, engines := testenv.RequireEngines(t)
	testenv.RequireRegistries(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			pushEngineImage(t, env, en)
		})
	}
}

func pushEngineImage(t *testing.T, env *testenv.Env, en testenv.Engine) {
	docker := en.Client
	img, err := random.Image(256<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	bi := loadIntoEngine(t, docker, img)
	a := env.UniqueRepo(t, env.Registry, "engine-a")
	b := env.UniqueRepo(t, env.Registry, "engine-b")
	c := env.UniqueRepo(t, env.AuthRegistry, "engine-c")
	var tags []string
	for _, repo := range []string{a, b, c} {
		tags = append(tags, tagsOf(repo, "1.0.0", "1.0", "latest")...)
	}
	pusher, err := New(Options{
		Transport: env.Transport(), Retry: fastRetry, TempDir: t.TempDir(),
		Registries: logins(t, env.AuthRegistry+"="+env.AuthUser+":"+env.AuthPassword),
	}, docker)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: pushed %s to 3 repositories, 9 tags, in %s with %d requests", en.Name, res.Digest, res.Duration.Round(time.Millisecond), res.Stats.Requests)
	if len(res.Refs) != len(tags) || res.ImageRef != a+"@"+res.Digest {
		t.Fatalf("result = %+v", res)
	}
	for _, tag := range tags {
		if got := env.HeadDigest(t, tag); got != res.Digest {
			t.Errorf("%s points at %q, want %s", tag, got, res.Digest)
		}
	}
	ref, err := name.NewDigest(c + "@" + res.Digest)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref, env.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pulled.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, _ := img.ConfigName()
	if cfg != wantCfg {
		t.Errorf("config digest = %s, want the loaded image's %s", cfg, wantCfg)
	}
	if en.ContainerdStore {
		// The containerd store keeps the loaded blobs compressed and saves
		// them as they are: the push sends them without recompressing, so
		// the registry holds the very layer digests that were loaded.
		if got, want := layerDigests(t, pulled), layerDigests(t, img); !slices.Equal(got, want) {
			t.Errorf("%s: pushed layers %v, want the engine's compressed blobs %v as they are", en.Name, got, want)
		}
		// The containerd store names an image by its manifest: the id is
		// not the config digest there.
		if bi.EngineImageID == cfg.String() {
			t.Errorf("%s: the engine's image id %s is the config digest; the containerd store names images by manifest", en.Name, bi.EngineImageID)
		}
	} else if bi.EngineImageID != cfg.String() {
		t.Errorf("%s: the engine's image id %s is not the config digest %s (classic store)", en.Name, bi.EngineImageID, cfg)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("the pushed image does not validate: %v", err)
	}
}

// layerDigests lists an image's compressed layer digests.
func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// countingEngine counts the engine exports a push asks for.
type countingEngine struct {
	Engine
	saves atomic.Int64
}

func (c *countingEngine) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error) {
	c.saves.Add(1)
	return c.Engine.ImageSave(ctx, images, opts...)
}

// TestWarmEnginePushUploadsNothing: a warm run pushes the image it pushed
// last time. Through a recording proxy, the second push of the same engine
// image to the same tags (plus one new tag) exports nothing from the engine
// — so compresses nothing — uploads no blob, and writes one manifest PUT
// per tag; every tag still points at the first push's digest. On every
// engine.
func TestWarmEnginePushUploadsNothing(t *testing.T) {
	env, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			img, err := random.Image(512<<10, 3)
			if err != nil {
				t.Fatal(err)
			}
			bi := loadIntoEngine(t, en.Client, img)
			p := startProxy(t, env, env.Registry, proxyConfig{})
			repo := env.UniqueRepo(t, p.Host, "warm")
			eng := &countingEngine{Engine: en.Client}
			pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, TempDir: t.TempDir()}, eng)
			if err != nil {
				t.Fatal(err)
			}
			first, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tagsOf(repo, "sha-abc", "main")})
			if err != nil {
				t.Fatal(err)
			}
			if eng.saves.Load() != 1 || first.Reused != "" {
				t.Fatalf("first push: %d exports, reused %q; want 1 export", eng.saves.Load(), first.Reused)
			}
			before := len(p.requests())
			tags := tagsOf(repo, "sha-abc", "main", "pr-7")
			second, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
			if err != nil {
				t.Fatal(err)
			}
			reqs := p.requests()[before:]
			var uploads, manifestPuts int
			for _, r := range reqs {
				switch {
				case strings.Contains(r.Path, "/blobs/uploads"):
					uploads++
				case r.Method == http.MethodPut && strings.Contains(r.Path, "/manifests/"):
					manifestPuts++
				}
			}
			if n := eng.saves.Load(); n != 1 {
				t.Errorf("the warm push exported the image from the engine again (%d exports in all)", n)
			}
			if uploads != 0 {
				t.Errorf("the warm push made %d blob upload requests, want none", uploads)
			}
			if manifestPuts != len(tags) {
				t.Errorf("the warm push made %d manifest PUTs, want one per tag (%d)", manifestPuts, len(tags))
			}
			if second.Digest != first.Digest || second.Reused == "" {
				t.Errorf("warm push digest %s (reused %q), want the first push's %s", second.Digest, second.Reused, first.Digest)
			}
			for _, tag := range tags {
				if got := env.HeadDigest(t, direct(tag, p.Host, env.Registry)); got != first.Digest {
					t.Errorf("%s points at %q, want %s", tag, got, first.Digest)
				}
			}
			var lines []string
			for _, r := range reqs {
				lines = append(lines, r.Method+" "+r.Path)
			}
			t.Logf("%s: warm push, %d requests: %s", en.Name, len(reqs), strings.Join(lines, "; "))
		})
	}
}

// TestNewBranchPushReusesKnownLayers: a new branch's image shares two of
// its three layers with the default branch's image, which the registry
// holds (the build read its cache from there: MountFrom). The push learns
// those layers from that image's manifest and config and neither uploads
// them nor, on Docker 25+ classic saves (blobs named by diff id), gzips
// them again: only the new layer and the config are uploaded, and the
// pushed image reads back whole (validate.Image inflates every layer and
// checks its diff id).
func TestNewBranchPushReusesKnownLayers(t *testing.T) {
	env, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			mainImg, err := random.Image(512<<10, 2)
			if err != nil {
				t.Fatal(err)
			}
			extra, err := random.Layer(256<<10, types.DockerLayer)
			if err != nil {
				t.Fatal(err)
			}
			branchImg, err := mutate.AppendLayers(mainImg, extra)
			if err != nil {
				t.Fatal(err)
			}
			p := startProxy(t, env, env.Registry, proxyConfig{})
			repo := env.UniqueRepo(t, p.Host, "newbranch")
			pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, TempDir: t.TempDir()}, en.Client)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pusher.Push(t.Context(), Request{Image: loadIntoEngine(t, en.Client, mainImg), Tags: tagsOf(repo, "main")}); err != nil {
				t.Fatal(err)
			}
			before := len(p.requests())
			log := &testenv.Log{}
			pusher, err = New(Options{Transport: p.Transport, Retry: fastRetry, TempDir: t.TempDir(), Log: log}, en.Client)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pusher.Push(t.Context(), Request{Image: loadIntoEngine(t, en.Client, branchImg), Tags: tagsOf(repo, "sha-def", "feature-x"), MountFrom: []string{repo + ":main"}})
			if err != nil {
				t.Fatal(err)
			}
			var uploads int
			var lines []string
			for _, r := range p.requests()[before:] {
				if r.Method == http.MethodPost && strings.Contains(r.Path, "/blobs/uploads") {
					uploads++
				}
				lines = append(lines, r.Method+" "+strings.TrimPrefix(r.Path, "/v2/"+strings.TrimPrefix(repo, p.Host+"/")))
			}
			t.Logf("%s: branch push, %d requests: %s", en.Name, len(lines), strings.Join(lines, "; "))
			if uploads != 2 {
				t.Errorf("the branch push started %d uploads, want 2 (the new layer and the config)", uploads)
			}
			// Docker 20.10 saves layers as <id>/layer.tar: their diff id is
			// known once hashed, before any gzip. The containerd store
			// saves them compressed already.
			wantReused := map[string]int{testenv.EngineDocker29Classic: 2, testenv.EngineDocker20: 2}[en.Name]
			if res.LayersReused != wantReused {
				t.Errorf("%d layers taken from the registry, want %d:\n%s", res.LayersReused, wantReused, log.String())
			}
			if wantReused > 0 && !strings.Contains(log.String(), "2 of the image's layers are in the registry already") {
				t.Errorf("the log does not say which layers were reused:\n%s", log.String())
			}
			readBackWhole(t, env, p, repo+"@"+res.Digest, branchImg)
		})
	}
}

// The builder stage's cache image shares layers with the final image: once
// the final image is pushed, those are taken from it, not compressed again
// (Docker 25+ saves name layers by diff id; Docker 29's classic store here).
func TestCacheImageReusesTheFinalImagesLayers(t *testing.T) {
	env, en := testenv.RequireEngineNamed(t, testenv.EngineDocker29Classic)
	finalImg, err := random.Image(512<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	src, err := random.Layer(256<<10, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	builderImg, err := mutate.AppendLayers(finalImg, src)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, env, env.Registry, proxyConfig{})
	repo := env.UniqueRepo(t, p.Host, "cachereuse")
	log := &testenv.Log{}
	pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, TempDir: t.TempDir(), Log: log}, en.Client)
	if err != nil {
		t.Fatal(err)
	}
	builder := loadIntoEngine(t, en.Client, builderImg)
	builder.Role, builder.Target, builder.CacheRefs = pipeline.RoleBuilder, "builder", []string{repo + ":builder-main"}
	res, err := pusher.Push(t.Context(), Request{Image: loadIntoEngine(t, en.Client, finalImg), Tags: tagsOf(repo, "main"), Cache: []pipeline.BuiltImage{builder}})
	if err != nil {
		t.Fatal(err)
	}
	if res.CacheLayersReused != 2 || !strings.Contains(log.String(), "2 of the layers of the builder image (stage builder) are in the registry already") {
		t.Errorf("%d of the builder image's layers reused, want 2 (the final image's):\n%s", res.CacheLayersReused, log.String())
	}
	var uploads int
	for _, r := range p.requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Path, "/blobs/uploads") {
			uploads++
		}
	}
	if uploads != 5 {
		t.Errorf("%d uploads, want 5 (the final image's 2 layers and config, the builder's new layer and config)", uploads)
	}
	if !slices.Contains(res.CacheRefs, repo+":builder-main") {
		t.Fatalf("cache refs written %v, want %s:builder-main", res.CacheRefs, repo)
	}
	readBackWhole(t, env, p, repo+":builder-main", builderImg)
}
