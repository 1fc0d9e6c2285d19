package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// BenchmarkEnginePush compares the ways to get an image that lives only in
// the engine's classic store into a registry:
//
//   - engine-push: tag it in the engine and let the engine push (ImagePush);
//   - stream: what the push stage does (one ImageSave, each layer gzipped
//     once to a file while it streams, then uploaded by go-containerregistry);
//   - ggcr-daemon: go-containerregistry's daemon.Image (buffered) + remote.Write.
//
// Every iteration pushes a fresh image (3 layers of compressible content,
// IMAGE_PIPELINE_BENCH_MB in total, default 48) to a fresh repository of
// the plain registry, so that no layer is skipped or mounted. Run with
//
//	go test ./internal/registry -run '^$' -bench EnginePush -benchtime 3x
func BenchmarkEnginePush(b *testing.B) {
	env, docker := testenv.RequireEngine(b)
	testenv.RequireRegistries(b)
	mb := 48
	if v, err := strconv.Atoi(os.Getenv("IMAGE_PIPELINE_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	// Random seeds: content from an earlier run would let the engine mount
	// layers it remembers pushing, which a real build never gets.
	seed := rand.Uint64()
	fresh := func(b *testing.B) pipeline.BuiltImage {
		b.Helper()
		seed++
		return loadIntoEngine(b, docker, compressibleImage(b, 3, int64(mb)<<20/3, seed))
	}
	b.Run("engine-push", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			bi := fresh(b)
			ref := env.UniqueRepo(b, env.Registry, "bench-engine") + ":latest"
			b.StartTimer()
			if _, err := enginePush(b.Context(), docker, bi.EngineImageID, ref); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(mb) << 20)
	})
	b.Run("stream", func(b *testing.B) {
		pusher, err := New(Options{Retry: fastRetry}, docker)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			b.StopTimer()
			bi := fresh(b)
			ref := env.UniqueRepo(b, env.Registry, "bench-stream") + ":latest"
			b.StartTimer()
			if _, err := pusher.Push(b.Context(), Request{Image: bi, Tags: []string{ref}}); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(mb) << 20)
	})
	b.Run("ggcr-daemon", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			bi := fresh(b)
			ref, err := name.NewTag(env.UniqueRepo(b, env.Registry, "bench-daemon") + ":latest")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			src, err := name.ParseReference(bi.EngineRef)
			if err != nil {
				b.Fatal(err)
			}
			img, err := daemon.Image(src, daemon.WithClient(docker), daemon.WithContext(b.Context()), daemon.WithBufferedOpener())
			if err != nil {
				b.Fatal(err)
			}
			if err := remote.Write(ref, img, remote.WithContext(b.Context())); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(mb) << 20)
	})
}

// compressibleImage makes an image whose layers compress about as well as
// real ones: files of hex text mixed with random bytes.
func compressibleImage(t testing.TB, layers int, layerSize int64, seed uint64) v1.Image {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	img := empty.Image
	for l := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		const fileSize = 1 << 20
		for f := int64(0); f < layerSize/fileSize; f++ {
			data := make([]byte, fileSize)
			for i := 0; i < len(data); i += 64 {
				var raw [16]byte
				for j := range raw {
					raw[j] = byte(rng.UintN(256))
				}
				if i%128 == 0 {
					copy(data[i:], hex.EncodeToString(raw[:])+hex.EncodeToString(raw[:]))
				} else {
					copy(data[i:], bytes.Repeat(raw[:], 4))
				}
			}
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("layer%d/file%d", l, f), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		raw := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// enginePush tags id as ref in the engine, lets the engine push it, and
// returns the digest the engine reports.
func enginePush(ctx context.Context, docker *client.Client, id, ref string) (string, error) {
	if err := docker.ImageTag(ctx, id, ref); err != nil {
		return "", err
	}
	defer func() {
		_, _ = docker.ImageRemove(context.WithoutCancel(ctx), ref, dockerimage.RemoveOptions{})
	}()
	// The plain test registry needs no login; a real one gets
	// registry.EncodeAuthConfig of the credential here.
	rc, err := docker.ImagePush(ctx, ref, dockerimage.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	digest := ""
	for {
		var m struct {
			Error string `json:"error"`
			Aux   *struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if m.Error != "" {
			return "", errors.New(m.Error)
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		return "", errors.New("the engine reported no digest")
	}
	return digest, nil
}

// BenchmarkPushFromEngine times the push stage on the three cases of the
// pipeline bench, in isolation, from Docker 29's classic store (the hosted
// runners' default; its saves name layers by diff id):
//
//   - cold: a fresh image to an empty repository (every layer gzipped and
//     uploaded);
//
//   - warm: the image the repository's tag already holds (manifest PUTs
//     only: no export, no gzip);
//
//   - new-branch: an image sharing 2 of its 3 layers with the one the
//     repository's main tag holds (only the new layer gzipped and uploaded).
//
//     go test ./internal/registry -run '^$' -bench PushFromEngine -benchtime 5x
func BenchmarkPushFromEngine(b *testing.B) {
	env, en := testenv.RequireEngineNamed(b, testenv.EngineDocker29Classic)
	mb := 48
	if v, err := strconv.Atoi(os.Getenv("IMAGE_PIPELINE_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	seed := rand.Uint64()
	pusher, err := New(Options{Retry: fastRetry, TempDir: b.TempDir()}, en.Client)
	if err != nil {
		b.Fatal(err)
	}
	push := func(b *testing.B, req Request) *Result {
		b.Helper()
		res, err := pusher.Push(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			seed++
			bi := loadIntoEngine(b, en.Client, compressibleImage(b, 3, int64(mb)<<20/3, seed))
			repo := env.UniqueRepo(b, env.Registry, "bench-cold")
			b.StartTimer()
			push(b, Request{Image: bi, Tags: []string{repo + ":main"}})
		}
		b.SetBytes(int64(mb) << 20)
	})
	b.Run("warm", func(b *testing.B) {
		seed++
		bi := loadIntoEngine(b, en.Client, compressibleImage(b, 3, int64(mb)<<20/3, seed))
		repo := env.UniqueRepo(b, env.Registry, "bench-warm")
		push(b, Request{Image: bi, Tags: []string{repo + ":main", repo + ":sha-1"}})
		for b.Loop() {
			if res := push(b, Request{Image: bi, Tags: []string{repo + ":main", repo + ":sha-1"}}); res.Reused == "" {
				b.Fatal("the warm push did not take the image from the registry")
			}
		}
	})
	b.Run("new-branch", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			seed++
			base := compressibleImage(b, 2, int64(mb)<<20/3, seed)
			repo := env.UniqueRepo(b, env.Registry, "bench-branch")
			push(b, Request{Image: loadIntoEngine(b, en.Client, base), Tags: []string{repo + ":main"}})
			seed++
			top := compressibleImage(b, 1, int64(mb)<<20/3, seed)
			ls, err := top.Layers()
			if err != nil {
				b.Fatal(err)
			}
			branch, err := mutate.AppendLayers(base, ls...)
			if err != nil {
				b.Fatal(err)
			}
			bi := loadIntoEngine(b, en.Client, branch)
			b.StartTimer()
			res := push(b, Request{Image: bi, Tags: []string{repo + ":feature-" + strconv.Itoa(i)}, MountFrom: []string{repo + ":main"}})
			if res.LayersReused != 2 {
				b.Fatalf("%d layers taken from the registry, want 2", res.LayersReused)
			}
		}
		b.SetBytes(int64(mb) << 20)
	})
}
