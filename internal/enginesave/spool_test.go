package enginesave

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/client"
)

// fakeEngine serves a fixed save per image and counts the saves.
type fakeEngine struct {
	data  map[string][]byte
	calls atomic.Int32
	err   error
}

func (f *fakeEngine) ImageSave(_ context.Context, images []string, _ ...client.ImageSaveOption) (io.ReadCloser, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	var b []byte
	for _, im := range images {
		b = append(b, f.data[im]...)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func newFake() *fakeEngine {
	return &fakeEngine{data: map[string][]byte{
		"sha256:aaa": bytes.Repeat([]byte("layer-a "), 100_000),
		"sha256:bbb": []byte("small image"),
	}}
}

func readAll(t *testing.T, rc io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}

func readSave(t *testing.T, s *Spool, images []string, opts ...client.ImageSaveOption) []byte {
	t.Helper()
	rc, err := s.ImageSave(t.Context(), images, opts...)
	return readAll(t, rc, err)
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "image-pipeline-save-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpoolServesLaterSavesFromTheFile(t *testing.T) {
	eng, dir := newFake(), t.TempDir()
	var logs []string
	s := New(eng, dir, WithLog(func(f string, a ...any) { logs = append(logs, f) }))
	t.Cleanup(func() { _ = s.Close() })

	for i := range 3 {
		rc, err := s.ImageSave(t.Context(), []string{"sha256:aaa"})
		if got := readAll(t, rc, err); !bytes.Equal(got, eng.data["sha256:aaa"]) {
			t.Fatalf("save %d: got %d bytes, want the engine's %d", i+1, len(got), len(eng.data["sha256:aaa"]))
		}
	}
	if n := eng.calls.Load(); n != 1 {
		t.Errorf("the engine exported the image %d times, want 1", n)
	}
	f, err := s.File(t.Context(), "sha256:aaa")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); !bytes.Equal(b, eng.data["sha256:aaa"]) {
		t.Errorf("the spool file holds %d bytes, want the engine's %d", len(b), len(eng.data["sha256:aaa"]))
	}
	if n := eng.calls.Load(); n != 1 {
		t.Errorf("File exported again: %d exports", n)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "exported") {
		t.Errorf("want one progress line for the one export, got %q", logs)
	}

	// Another image is another export.
	if got := readSave(t, s, []string{"sha256:bbb"}); string(got) != "small image" {
		t.Errorf("got %q", got)
	}
	if n := eng.calls.Load(); n != 2 {
		t.Errorf("want 2 exports for 2 images, got %d", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Errorf("Close left %v", left)
	}
}

func TestSpoolFileThenImageSave(t *testing.T) {
	eng := newFake()
	s := New(eng, t.TempDir())
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.File(t.Context(), "sha256:bbb"); err != nil {
		t.Fatal(err)
	}
	if got := readSave(t, s, []string{"sha256:bbb"}); string(got) != "small image" {
		t.Errorf("got %q", got)
	}
	if n := eng.calls.Load(); n != 1 {
		t.Errorf("want 1 export, got %d", n)
	}
}

func TestSpoolKeepsOnlyCompleteSaves(t *testing.T) {
	eng, dir := newFake(), t.TempDir()
	s := New(eng, dir)
	t.Cleanup(func() { _ = s.Close() })

	rc, err := s.ImageSave(t.Context(), []string{"sha256:aaa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Errorf("a save read in part left %v", left)
	}
	// So the next save is the engine's again, and complete.
	if got := readSave(t, s, []string{"sha256:aaa"}); len(got) != len(eng.data["sha256:aaa"]) {
		t.Errorf("got %d bytes", len(got))
	}
	if n := eng.calls.Load(); n != 2 {
		t.Errorf("want 2 exports, got %d", n)
	}
}

func TestSpoolPassesOtherSavesThrough(t *testing.T) {
	eng, dir := newFake(), t.TempDir()
	s := New(eng, dir)
	t.Cleanup(func() { _ = s.Close() })
	for range 2 {
		got := readSave(t, s, []string{"sha256:bbb", "sha256:bbb"})
		if string(got) != "small imagesmall image" {
			t.Fatalf("got %q", got)
		}
		readSave(t, s, []string{"sha256:bbb"}, client.ImageSaveWithPlatforms())
	}
	if n := eng.calls.Load(); n != 4 {
		t.Errorf("saves of several images or with options must go to the engine each time: %d exports, want 4", n)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Errorf("pass-through saves left %v", left)
	}
}

func TestSpoolErrors(t *testing.T) {
	t.Run("engine error", func(t *testing.T) {
		eng := newFake()
		eng.err = errors.New("no such image: sha256:ccc")
		s := New(eng, t.TempDir())
		if _, err := s.File(t.Context(), "sha256:ccc"); err == nil || !strings.Contains(err.Error(), "no such image") {
			t.Errorf("want the engine's error, got %v", err)
		}
	})
	t.Run("no engine", func(t *testing.T) {
		s := New(nil, t.TempDir())
		if _, err := s.File(t.Context(), "sha256:aaa"); err == nil || !strings.Contains(err.Error(), "DOCKER_HOST") {
			t.Errorf("want an error naming DOCKER_HOST, got %v", err)
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		eng := newFake()
		s := New(eng, filepath.Join(t.TempDir(), "missing"))
		// The caller still gets the image …
		if got := readSave(t, s, []string{"sha256:bbb"}); string(got) != "small image" {
			t.Errorf("got %q", got)
		}
		// … but File cannot keep it, and says where it tried.
		if _, err := s.File(t.Context(), "sha256:bbb"); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("want an error naming the directory, got %v", err)
		}
	})
}

func TestSpoolConcurrentFirstSaves(t *testing.T) {
	eng, dir := newFake(), t.TempDir()
	s := New(eng, dir)
	t.Cleanup(func() { _ = s.Close() })
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			f, err := s.File(context.Background(), "sha256:aaa")
			if err != nil {
				t.Error(err)
				return
			}
			if b, _ := os.ReadFile(f); len(b) != len(eng.data["sha256:aaa"]) {
				t.Errorf("spool file has %d bytes", len(b))
			}
		})
	}
	wg.Wait()
	if left := spoolFiles(t, dir); len(left) != 1 {
		t.Errorf("want exactly one kept spool file, got %v", left)
	}
}

// gatedEngine holds each save until release is closed.
type gatedEngine struct {
	*fakeEngine
	release chan struct{}
}

func (g *gatedEngine) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error) {
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.fakeEngine.ImageSave(ctx, images, opts...)
}

// A prefetched image is exported once: the save that asks for it while the
// prefetch runs waits for it and reads its file.
func TestSpoolPrefetch(t *testing.T) {
	eng := &gatedEngine{fakeEngine: newFake(), release: make(chan struct{})}
	dir := t.TempDir()
	s := New(eng, dir)
	t.Cleanup(func() { _ = s.Close() })
	s.Prefetch("sha256:aaa")
	s.Prefetch("sha256:aaa") // under way: not started again
	got := make(chan []byte)
	go func() {
		rc, err := s.ImageSave(t.Context(), []string{"sha256:aaa"})
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got <- b
	}()
	close(eng.release)
	if b := <-got; !bytes.Equal(b, eng.data["sha256:aaa"]) {
		t.Errorf("the save after the prefetch read %d bytes, want %d", len(b), len(eng.data["sha256:aaa"]))
	}
	if n := eng.calls.Load(); n != 1 {
		t.Errorf("the engine exported %d times, want 1", n)
	}
	s.Prefetch("sha256:aaa") // kept: nothing to do
	if n := eng.calls.Load(); n != 1 {
		t.Errorf("a prefetch of a kept image exported again (%d saves)", n)
	}
}

// A failed prefetch leaves the next save to export the image itself.
func TestSpoolPrefetchFailure(t *testing.T) {
	eng := newFake()
	eng.err = errors.New("engine down")
	s := New(eng, t.TempDir())
	t.Cleanup(func() { _ = s.Close() })
	s.Prefetch("sha256:bbb")
	if err := s.awaitPrefetch(t.Context(), "sha256:bbb"); err != nil {
		t.Fatal(err)
	}
	eng.err = nil
	if b := readSave(t, s, []string{"sha256:bbb"}); string(b) != "small image" {
		t.Errorf("read %q after a failed prefetch", b)
	}
	if n := eng.calls.Load(); n != 2 {
		t.Errorf("%d saves, want 2 (the failed prefetch, then the save)", n)
	}
}

// Close stops a prefetch still waiting for the engine and keeps nothing.
func TestSpoolCloseStopsPrefetch(t *testing.T) {
	eng := &gatedEngine{fakeEngine: newFake(), release: make(chan struct{})}
	dir := t.TempDir()
	s := New(eng, dir)
	s.Prefetch("sha256:aaa")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Errorf("spool files left after Close: %v", left)
	}
	s.Prefetch("sha256:bbb") // closed: nothing starts
	if n := eng.calls.Load(); n != 0 {
		t.Errorf("%d saves after Close", n)
	}
}
