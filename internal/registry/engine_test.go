package registry

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
