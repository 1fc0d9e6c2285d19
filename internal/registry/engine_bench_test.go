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
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// BenchmarkColdPushStreamed compares, side by side, a cold push whose
// layers are uploaded while they are compressed (what the push stage does)
// with one that uploads them once they are complete: each iteration pushes
// two fresh images (IMAGE_PIPELINE_BENCH_MB in 3 compressible layers,
// default 48) from the same engine, one each way, the order alternating,
// and the medians of each way are reported (stream-s, complete-s) with
// their ratio. IMAGE_PIPELINE_BENCH_UPLOAD_MBPS, when set, sends the
// uploads through a loopback proxy whose port the kernel paces at that
// many MiB a second (tc's htb on lo: root and iproute2 needed), as a
// hosted runner's link to GHCR would; by default they go straight to the
// local registry, on the same two cores as the gzip.
//
//	IMAGE_PIPELINE_BENCH_UPLOAD_MBPS=40 go test ./internal/registry -run '^$' -bench ColdPushStreamed -benchtime 10x
func BenchmarkColdPushStreamed(b *testing.B) {
	env, engines := testenv.RequireEngines(b)
	mb := 48
	if v, err := strconv.Atoi(os.Getenv("IMAGE_PIPELINE_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	mbps, _ := strconv.Atoi(os.Getenv("IMAGE_PIPELINE_BENCH_UPLOAD_MBPS"))
	seed := rand.Uint64()
	for _, en := range engines {
		if en.Name == testenv.EngineDocker29 {
			continue // its layers are compressed already: nothing streams
		}
		b.Run(en.Name, func(b *testing.B) {
			registry, transport := env.Registry, http.RoundTripper(nil)
			if mbps > 0 {
				p := startProxy(b, env, env.Registry, proxyConfig{})
				paceLoopbackPort(b, p.Host, mbps)
				registry, transport = p.Host, p.Transport
			}
			pushers := map[bool]*Pusher{}
			for _, stream := range []bool{true, false} {
				p, err := New(Options{Transport: transport, Retry: fastRetry, TempDir: b.TempDir(), noStreaming: !stream}, en.Client)
				if err != nil {
					b.Fatal(err)
				}
				pushers[stream] = p
			}
			times := map[bool][]time.Duration{}
			for i := 0; b.Loop(); i++ {
				for _, stream := range []bool{i%2 == 0, i%2 != 0} {
					b.StopTimer()
					seed++
					bi := loadIntoEngine(b, en.Client, compressibleImage(b, 3, int64(mb)<<20/3, seed))
					ref := env.UniqueRepo(b, registry, "bench-streamed") + ":main"
					b.StartTimer()
					start := time.Now()
					res, err := pushers[stream].Push(b.Context(), Request{Image: bi, Tags: []string{ref}})
					if err != nil {
						b.Fatal(err)
					}
					times[stream] = append(times[stream], time.Since(start))
					if stream && res.LayersStreamed == 0 {
						b.Fatal("no layer was uploaded while it was compressed")
					}
				}
			}
			s, c := medianDuration(times[true]), medianDuration(times[false])
			b.ReportMetric(s.Seconds(), "stream-s")
			b.ReportMetric(c.Seconds(), "complete-s")
			b.ReportMetric(s.Seconds()/c.Seconds(), "ratio")
		})
	}
}

// paceLoopbackPort has the kernel pace the traffic to host's port on lo at
// mbps MiB a second, until the benchmark ends.
func paceLoopbackPort(b *testing.B, host string, mbps int) {
	b.Helper()
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		b.Fatal(err)
	}
	rate := strconv.Itoa(mbps*8*1024*1024) + "bit"
	// A bench killed before its Cleanup left its qdisc: start afresh.
	_ = exec.Command("tc", "qdisc", "del", "dev", "lo", "root").Run()
	for _, args := range [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "100gbit"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "ceil", rate},
		{"filter", "add", "dev", "lo", "protocol", "ip", "parent", "1:", "prio", "1", "u32", "match", "ip", "dport", port, "0xffff", "flowid", "1:20"},
	} {
		if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
			_ = exec.Command("tc", "qdisc", "del", "dev", "lo", "root").Run()
			b.Fatalf("pace the uploads (IMAGE_PIPELINE_BENCH_UPLOAD_MBPS needs root and iproute2's tc): tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	b.Cleanup(func() { _ = exec.Command("tc", "qdisc", "del", "dev", "lo", "root").Run() })
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
