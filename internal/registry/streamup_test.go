package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/image-pipeline/internal/testenv"
)

// A reader of a growing layer sees every byte as it is written, waits at
// the end of what is written, and ends (or fails) with the layer; until
// then the layer has no digest or size, which go-containerregistry takes
// for a streamed upload.
func TestGrowingLayer(t *testing.T) {
	written := func(t *testing.T) (*growingLayer, *os.File) {
		t.Helper()
		f, err := os.Create(filepath.Join(t.TempDir(), "layer.gz"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return newGrowingLayer(f.Name(), types.DockerLayer), f
	}
	t.Run("follows the file to its end", func(t *testing.T) {
		g, f := written(t)
		if _, err := g.Digest(); !errors.Is(err, stream.ErrNotComputed) {
			t.Fatalf("Digest before the end = %v, want stream.ErrNotComputed", err)
		}
		if _, err := g.Size(); !errors.Is(err, stream.ErrNotComputed) {
			t.Fatalf("Size before the end = %v, want stream.ErrNotComputed", err)
		}
		rc, err := g.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var got bytes.Buffer
		done := make(chan error, 1)
		go func() { _, err := io.Copy(&got, rc); done <- err }()
		w := growthWriter{w: f, g: g}
		var want bytes.Buffer
		for i := range 50 {
			chunk := bytes.Repeat([]byte{byte(i)}, 1000+i)
			want.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the reader ended (%v) before the layer did", err)
		case <-time.After(20 * time.Millisecond):
		}
		digest := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
		g.finish(digest, digest, nil)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("read %d bytes, want the %d written", got.Len(), want.Len())
		}
		if d, err := g.Digest(); err != nil || d != digest {
			t.Errorf("Digest = %v, %v", d, err)
		}
		if n, err := g.Size(); err != nil || n != int64(want.Len()) {
			t.Errorf("Size = %d, %v; want %d", n, err, want.Len())
		}
		// A second reader (a retry) reads the whole file again.
		again, err := g.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(again)
		if err != nil || !bytes.Equal(b, want.Bytes()) {
			t.Errorf("second reader: %d bytes, %v", len(b), err)
		}
	})
	t.Run("a failed write fails the reader", func(t *testing.T) {
		g, f := written(t)
		rc, err := g.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := (growthWriter{w: f, g: g}).Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		g.finish(v1.Hash{}, v1.Hash{}, errors.New("the save broke off"))
		if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), "the save broke off") {
			t.Errorf("reading a layer whose write failed: %v", err)
		}
		if _, err := g.Digest(); err == nil {
			t.Error("a failed layer has a digest")
		}
	})
	t.Run("closing the reader ends a waiting read", func(t *testing.T) {
		g, _ := written(t)
		rc, err := g.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := rc.Read(make([]byte, 10)); done <- err }()
		time.Sleep(10 * time.Millisecond)
		_ = rc.Close()
		select {
		case err := <-done:
			if !errors.Is(err, errReaderClosed) {
				t.Errorf("read after close = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a read waiting for more of the layer did not end when its reader was closed")
		}
	})
}

// An uploader's uploads end when it is stopped, although their layers
// never do; and an upload that streamed a layer in full is counted.
func TestUploaderStop(t *testing.T) {
	dir := t.TempDir()
	reading := make(chan struct{}, 2)
	read := func(_ context.Context, _ name.Repository, l v1.Layer) error {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		reading <- struct{}{}
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	repo, err := name.NewRepository("registry.example/app")
	if err != nil {
		t.Fatal(err)
	}
	u := newUploader(t.Context(), repo, 2, read)
	layer := func(name string) (*growingLayer, *os.File) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return newGrowingLayer(f.Name(), types.DockerLayer), f
	}
	// One layer complete before its upload begins, one never complete.
	full, ff := layer("full")
	if _, err := (growthWriter{w: ff, g: full}).Write([]byte("all of it")); err != nil {
		t.Fatal(err)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	full.finish(h, h, nil)
	u.start(full)
	unfinished, uf := layer("unfinished")
	u.start(unfinished)
	if _, err := (growthWriter{w: uf, g: unfinished}).Write([]byte("part of it")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); u.early.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the upload of a complete layer did not end")
		}
	}
	<-reading
	<-reading // both uploads began: the stop ends one under way
	stopped := make(chan struct{})
	go func() { u.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not end an upload of a layer still being written")
	}
	if st := u.wait(); st.streamed != 0 || st.early != 1 || st.failed != 1 || !errors.Is(st.err, errUploadStopped) {
		t.Errorf("wait = %+v; want 1 early, 1 failed by the stop", st)
	}
	if _, err := unfinished.Compressed(); !errors.Is(err, errUploadStopped) {
		t.Errorf("Compressed after stop = %v", err)
	}
}

// saveEndEngine records when the engine's save of an image was read to its
// end, and sends it at about rate bytes a second (0: as fast as it comes),
// as an engine exporting a large image does: each layer then takes a while
// to arrive and compress, whatever the load of the machine.
type saveEndEngine struct {
	Engine
	rate int64
	mu   sync.Mutex
	end  time.Time
}

func (e *saveEndEngine) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error) {
	rc, err := e.Engine.ImageSave(ctx, images, opts...)
	if err != nil {
		return nil, err
	}
	if e.rate > 0 {
		rc = &pacedReader{ReadCloser: rc, rate: e.rate, start: time.Now()}
	}
	return &endReader{ReadCloser: rc, e: e}, nil
}

func (e *saveEndEngine) ended() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.end
}

type endReader struct {
	io.ReadCloser
	e *saveEndEngine
}

func (r *endReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF {
		r.ended()
	}
	return n, err
}

// Close ends the save too: a tar reader stops at the end-of-archive
// blocks without reading to EOF.
func (r *endReader) Close() error {
	r.ended()
	return r.ReadCloser.Close()
}

func (r *endReader) ended() {
	r.e.mu.Lock()
	if r.e.end.IsZero() {
		r.e.end = time.Now()
	}
	r.e.mu.Unlock()
}

// uploadsByDigest maps each committed upload (PUT …/blobs/uploads/…?digest=)
// to the upload session's requests.
func uploadsByDigest(reqs []recorded) map[string][]recorded {
	session := map[string][]recorded{}
	for _, r := range reqs {
		if strings.Contains(r.Path, "/blobs/uploads/") {
			session[r.Path] = append(session[r.Path], r)
		}
	}
	out := map[string][]recorded{}
	for _, rs := range session {
		for _, r := range rs {
			if r.Method == http.MethodPut && r.Fault == "" && r.Status == http.StatusCreated {
				if q, err := url.ParseQuery(r.Query); err == nil && q.Get("digest") != "" {
					out[q.Get("digest")] = append(out[q.Get("digest")], rs...)
				}
			}
		}
	}
	return out
}

// TestColdPushUploadsWhileCompressing: on the classic image stores, a cold
// push gzips every layer, and each layer's upload starts while it is being
// compressed, before the engine's save has been read to its end: one
// streamed upload per layer (a PATCH of unknown length), no HEAD for it
// and no second upload, and the pushed image reads back whole. The
// containerd store's layers are compressed already and go as before (a
// HEAD, then an upload of known length). With a connection reset on the
// first streamed PATCH, or a 500 after the registry took it, the push
// still succeeds and the image is whole: the layer goes again from its
// file.
func TestColdPushUploadsWhileCompressing(t *testing.T) {
	env, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			classic := en.Name != testenv.EngineDocker29
			for _, fault := range []string{"", faultReset, fault500} {
				label := "clean"
				if fault != "" {
					label = "fault-" + fault
				}
				t.Run(label, func(t *testing.T) {
					// Compressible layers, so that each takes a while to gzip
					// (random bytes deflate in no time).
					img := compressibleImage(t, 3, 8<<20, rand.Uint64())
					bi := loadIntoEngine(t, en.Client, img)
					cfg := proxyConfig{}
					if fault != "" {
						cfg = proxyConfig{Rate: 1, MaxFaults: 1, Faults: []string{fault}, Match: func(r *http.Request) bool { return r.Method == http.MethodPatch }}
					}
					p := startProxy(t, env, env.Registry, cfg)
					repo := env.UniqueRepo(t, p.Host, "stream")
					eng := &saveEndEngine{Engine: en.Client, rate: 40 << 20}
					log := &testenv.Log{}
					pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, TempDir: t.TempDir(), Log: log}, eng)
					if err != nil {
						t.Fatal(err)
					}
					res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tagsOf(repo, "sha-abc", "main")})
					if err != nil {
						t.Fatalf("push: %v\n%s", err, p.dump())
					}
					pushed := readBackWhole(t, env, p, repo+"@"+res.Digest, img)
					if fault != "" {
						if n := p.faults()[fault]; n != 1 {
							t.Fatalf("%d faults injected, want 1", n)
						}
						return
					}
					reqs := p.requests()
					byDigest := uploadsByDigest(reqs)
					layers, err := pushed.Layers()
					if err != nil {
						t.Fatal(err)
					}
					var firstPatch time.Time
					for _, l := range layers {
						d := digestOf(t, l)
						up := byDigest[d]
						var patches []recorded
						for _, r := range up {
							if r.Method == http.MethodPatch {
								patches = append(patches, r)
							}
						}
						if len(patches) != 1 {
							t.Errorf("layer %s: %d uploads, want 1:\n%s", d, len(patches), p.dump())
							continue
						}
						streamedPatch := patches[0].Length < 0
						if streamedPatch != classic {
							t.Errorf("layer %s: PATCH of length %d; want a streamed one (unknown length) on the classic store only", d, patches[0].Length)
						}
						if firstPatch.IsZero() || patches[0].Start.Before(firstPatch) {
							firstPatch = patches[0].Start
						}
						for _, r := range reqs {
							if classic && r.Method == http.MethodHead && strings.HasSuffix(r.Path, "/blobs/"+d) {
								t.Errorf("layer %s was checked for after it streamed", d)
							}
						}
					}
					wantStreamed := 0
					if classic {
						wantStreamed = 3
					}
					if res.LayersStreamed != wantStreamed {
						t.Errorf("%d layers streamed, want %d:\n%s", res.LayersStreamed, wantStreamed, log.String())
					}
					if classic {
						if !strings.Contains(log.String(), "3 of the image's layers") || !strings.Contains(log.String(), "while they were compressed") {
							t.Errorf("the log does not say the layers were uploaded while compressed:\n%s", log.String())
						}
						if end := eng.ended(); end.IsZero() || !firstPatch.Before(end) {
							t.Errorf("the first layer upload started at %s, the save was read to its end at %s: not while compressing", firstPatch.Format(time.StampMicro), end.Format(time.StampMicro))
						}
					}
				})
			}
		})
	}
}

// pacedReader reads at about rate bytes a second.
type pacedReader struct {
	io.ReadCloser
	rate  int64
	start time.Time
	n     int64
}

func (r *pacedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p[:min(len(p), 32<<10)])
	r.n += int64(n)
	time.Sleep(time.Until(r.start.Add(time.Duration(r.n * int64(time.Second) / r.rate))))
	return n, err
}
