package testenv_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/testenv"
)

// twoStage is the smoke build: a RUN in one stage, copied into the next.
const twoStage = `ARG BASE
FROM ${BASE} AS builder
RUN echo hi > /x
FROM ${BASE}
COPY --from=builder /x /x
`

// dockerfileSolve is a dockerfile.v0 solve of twoStage, context and
// Dockerfile sent through the session.
func dockerfileSolve(t *testing.T, base string, export bkclient.ExportEntry) bkclient.SolveOpt {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(twoStage), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bkclient.SolveOpt{
		Frontend: "dockerfile.v0",
		FrontendAttrs: map[string]string{
			"filename":       "Dockerfile",
			"build-arg:BASE": base,
		},
		LocalMounts: map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports:     []bkclient.ExportEntry{export},
	}
}

// solve runs opt and logs BuildKit's plain progress when it fails.
func solve(t *testing.T, c *bkclient.Client, opt bkclient.SolveOpt) *bkclient.SolveResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	var progress bytes.Buffer
	display, err := progressui.NewDisplay(&progress, progressui.PlainMode)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *bkclient.SolveStatus)
	var resp *bkclient.SolveResponse
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		resp, err = c.Solve(gctx, nil, opt, ch)
		return err
	})
	g.Go(func() error {
		_, err := display.UpdateFrom(context.WithoutCancel(gctx), ch)
		return err
	})
	if err := g.Wait(); err != nil {
		t.Fatalf("solve failed: %v\n%s", err, progress.String())
	}
	return resp
}

func TestEngineBuildKitSolveMoby(t *testing.T) {
	env, docker := testenv.RequireEngine(t)
	ctx := t.Context()

	ping, err := docker.Ping(ctx)
	if err != nil {
		t.Fatalf("ping the engine: %v", err)
	}
	t.Logf("engine API %s", ping.APIVersion)

	bk, err := build.NewEngineClient(ctx, docker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bk.Close() })

	tag := "testenv-smoke/" + filepath.Base(env.UniqueRepo(t, "x", "engine")) + ":latest"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = docker.ImageRemove(ctx, tag, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	// The engine's embedded BuildKit (v0.8 in Debian's 20.10) only has the moby exporter.
	solve(t, bk, dockerfileSolve(t, env.BaseImage, bkclient.ExportEntry{
		Type:  "moby",
		Attrs: map[string]string{"name": tag},
	}))

	inspect, err := docker.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("the built image %s is not in the engine: %v", tag, err)
	}
	t.Logf("built %s = %s", tag, inspect.ID)

	if got := readFileFromEngineImage(t, docker, tag, "x"); got != "hi\n" {
		t.Fatalf("/x in %s = %q, want %q", tag, got, "hi\n")
	}
}

// readFileFromEngineImage reads a file from the image's flattened filesystem
// through the engine's image save (no container).
func readFileFromEngineImage(t *testing.T, docker *client.Client, ref, path string) string {
	t.Helper()
	img := testenv.SaveEngineImage(t, docker, ref)
	flat := mutate.Extract(img)
	defer flat.Close()
	tr := tar.NewReader(flat)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no /%s", ref, path)
		}
		if err != nil {
			t.Fatalf("read the layers of %s: %v", ref, err)
		}
		if filepath.Clean(h.Name) == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func TestRegistriesRoundTrip(t *testing.T) {
	env := testenv.RequireRegistries(t)
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	for _, registry := range []string{env.Registry, env.AuthRegistry} {
		t.Run(registry, func(t *testing.T) {
			ref, err := name.ParseReference(env.UniqueRepo(t, registry, "roundtrip") + ":v1")
			if err != nil {
				t.Fatal(err)
			}
			opts := env.RemoteOptions(t.Context())
			if err := remote.Write(ref, img, opts...); err != nil {
				t.Fatalf("push %s: %v", ref, err)
			}
			pulled, err := remote.Image(ref, opts...)
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			got, err := pulled.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("pulled %s has digest %s, pushed %s", ref, got, want)
			}
			if err := validate.Image(pulled); err != nil {
				t.Fatalf("pulled %s does not validate: %v", ref, err)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		ref, err := name.ParseReference(env.UniqueRepo(t, env.AuthRegistry, "roundtrip") + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		wrong := &authn.Basic{Username: env.AuthUser, Password: env.AuthPassword + "-wrong"}
		err = remote.Write(ref, img, remote.WithContext(t.Context()), remote.WithTransport(env.Transport()), remote.WithAuth(wrong))
		if err == nil {
			t.Fatalf("push %s with a wrong password succeeded", ref)
		}
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("push with a wrong password: got %v, want a 401 Unauthorized transport error", err)
		}
		t.Logf("wrong password refused: %v", err)
	})
}

func TestBuildkitdSolvePush(t *testing.T) {
	env, _ := testenv.RequireBuildkitd(t)
	ctx := t.Context()
	bk, err := build.NewRemoteClient(ctx, env.BuildkitHost)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bk.Close() })

	ref := env.UniqueRepo(t, env.Registry, "buildkitd") + ":smoke"
	resp := solve(t, bk, dockerfileSolve(t, env.BaseImage, bkclient.ExportEntry{
		Type:  bkclient.ExporterImage,
		Attrs: map[string]string{"name": ref, "push": "true"},
	}))
	digest := resp.ExporterResponse["containerimage.digest"]
	if digest == "" {
		t.Fatalf("the image exporter reported no digest: %v", resp.ExporterResponse)
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, env.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatalf("%s is not in the registry after the push: %v", ref, err)
	}
	if desc.Digest.String() != digest {
		t.Fatalf("registry has %s at %s, buildkitd pushed %s", ref, desc.Digest, digest)
	}
	t.Logf("pushed %s@%s", ref, digest)
}
