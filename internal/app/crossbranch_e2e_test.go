package app

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/image-pipeline/internal/testenv"
)

// TestEndToEndCacheImageKeepsBaseBlobs: on Docker 20.10's classic store
// the builder cache image main's run pushes carries its base image's
// layers as the base image's own blobs, mounted from the registry, not
// compressed again (baseLayers), as the engine's own push does.
func TestEndToEndCacheImageKeepsBaseBlobs(t *testing.T) {
	env := testenv.Require(t)
	host := engineNamed(t, "docker20").Host
	image := env.UniqueRepo(t, env.Registry, "e2e-baseblobs")
	df, in := builderStageApp(t, env, image)
	r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": host, "TEST_DOCKERFILE": df})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	base := env.BaseImage[:strings.LastIndex(env.BaseImage, ":")]
	if !strings.Contains(r.stdout, "of the layers of the builder image (stage builder) are in the registry already ("+base+")") {
		t.Errorf("the builder image's base layers were not taken from %s:\n%s", base, r.stdout)
	}
	cacheRef := regexp.MustCompile(regexp.QuoteMeta(image) + `-cache:builder-main\S*`).FindString(r.stdout)
	if cacheRef == "" {
		t.Fatalf("the log names no builder-main cache ref:\n%s", r.stdout)
	}
	baseLayers, cacheLayers := layerDigests(t, env, env.BaseImage), layerDigests(t, env, cacheRef)
	if len(cacheLayers) <= len(baseLayers) {
		t.Fatalf("%s has %d layers, its base %d", cacheRef, len(cacheLayers), len(baseLayers))
	}
	for i, d := range baseLayers {
		if cacheLayers[i] != d {
			t.Errorf("layer %d of %s is %s, not the base image's blob %s", i, cacheRef, cacheLayers[i], d)
		}
	}
}

func layerDigests(t *testing.T, env *testenv.Env, ref string) []v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(t.Context()), remote.WithTransport(env.Transport()))
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// builderStageApp is a two-stage app for the cache ladder's tests and the
// inputs that build it: a builder stage FROM the test base image whose
// first step (2 MiB of random bytes, named by image so that no other
// test's cache holds it) only the cache can give back, and a scratch
// production stage copying from it.
func builderStageApp(t *testing.T, env *testenv.Env, image string) (dockerfile string, inputs map[string]string) {
	t.Helper()
	dockerfile = "ARG BASE\nFROM $BASE AS builder\n" +
		"RUN mkdir /deps && dd if=/dev/urandom of=/deps/part bs=1024 count=2048 2>/dev/null && echo " + image + "\n" +
		"COPY Dockerfile /src/\nRUN sha256sum /src/* > /app\n" +
		"FROM scratch AS production\nCOPY --from=builder /deps/part /deps/part\nCOPY --from=builder /app /app\n"
	inputs = e2eInputs(t, env, image)
	inputs["target"], inputs["builder-target"] = "production", "builder"
	return dockerfile, inputs
}

// engineNamed is the test environment's engine of that name.
func engineNamed(t *testing.T, name string) testenv.Engine {
	t.Helper()
	_, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		if en.Name == name {
			return en
		}
	}
	t.Fatalf("the test environment has no %s engine", name)
	return testenv.Engine{}
}
