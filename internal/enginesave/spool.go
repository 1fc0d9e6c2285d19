// Package enginesave keeps one `docker save` of an image per run, so that
// the stages that read a built image out of the Docker Engine's classic
// store — the scan, then the push — pay for the engine's export once.
//
// Exporting is the slow part of reading an image out of the classic store:
// the Engine copies every layer to a temporary directory before it sends
// the first byte (about 2 s for a 210 MiB image on the development machine,
// docs/benchmarks.md). A Spool tees the first save of an image to a file
// while its caller reads it, and serves every later save of the same image
// from that file.
package enginesave

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// Engine is the part of the Docker Engine API a Spool wraps; the Engine
// client is one, and so is a Spool.
type Engine interface {
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
}

// Spool is an Engine whose saves of one image are served from a file after
// the first. It is safe for concurrent use; Close removes its files.
type Spool struct {
	eng  Engine
	dir  string // where spool files go ("" = the system's temp dir)
	logf func(format string, a ...any)

	mu       sync.Mutex
	files    map[string]string        // ref → complete spool file
	inflight map[string]chan struct{} // ref → closed when its prefetch ends
	closed   bool

	// Prefetches run under bg; Close cancels it and waits for them.
	bg       context.Context
	cancelBg context.CancelFunc
	wg       sync.WaitGroup
}

// Option configures New.
type Option func(*Spool)

// WithLog sends a line per export (size and duration) to logf.
func WithLog(logf func(format string, a ...any)) Option {
	return func(s *Spool) { s.logf = logf }
}

// New returns a Spool over eng keeping its files in dir ("" = the
// system's temp dir).
func New(eng Engine, dir string, opts ...Option) *Spool {
	s := &Spool{eng: eng, dir: dir, files: map[string]string{}, inflight: map[string]chan struct{}{}, logf: func(string, ...any) {}}
	s.bg, s.cancelBg = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	return s
}

// ImageSave implements Engine. A save of one image without options is
// served from the spool file when an earlier save completed; otherwise it
// is the Engine's stream, copied to a spool file as the caller reads it and
// kept when the caller has read it to the end.
func (s *Spool) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error) {
	if s.eng == nil {
		return nil, errors.New("no Docker Engine client (is DOCKER_HOST valid?)")
	}
	if len(images) != 1 || len(opts) > 0 {
		return s.eng.ImageSave(ctx, images, opts...)
	}
	if err := s.awaitPrefetch(ctx, images[0]); err != nil {
		return nil, err
	}
	return s.imageSave(ctx, images[0])
}

// imageSave is ImageSave of one image, not waiting for a prefetch.
func (s *Spool) imageSave(ctx context.Context, ref string) (io.ReadCloser, error) {
	if s.eng == nil {
		return nil, errors.New("no Docker Engine client (is DOCKER_HOST valid?)")
	}
	if f, ok := s.file(ref); ok {
		return os.Open(f)
	}
	start := time.Now() // the Engine copies the image out before it answers
	rc, err := s.eng.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.dir, "image-pipeline-save-*.tar")
	if err != nil {
		// No room to keep it: the caller still gets the image.
		return rc, nil
	}
	return &tee{s: s, ref: ref, src: rc, spool: f, buf: bufio.NewWriterSize(f, 1<<20), start: start}, nil
}

// Prefetch starts saving ref to a spool file in the background, unless a
// save of it is kept or under way: a later ImageSave or File of ref waits
// for it and reads the file (or, if it failed, saves ref itself). The
// push calls it for the builder stage's image as soon as the build ends,
// so that its export overlaps the scan. Close stops it.
func (s *Spool) Prefetch(ref string) {
	if s.eng == nil {
		return
	}
	s.mu.Lock()
	_, kept := s.files[ref]
	_, busy := s.inflight[ref]
	if kept || busy || s.closed {
		s.mu.Unlock()
		return
	}
	done := make(chan struct{})
	s.inflight[ref] = done
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, ref)
			s.mu.Unlock()
			close(done)
		}()
		_, _ = s.save(s.bg, ref) // on failure, the next save of ref tries again
	}()
}

// awaitPrefetch waits for a prefetch of ref under way, if any.
func (s *Spool) awaitPrefetch(ctx context.Context, ref string) error {
	s.mu.Lock()
	done, ok := s.inflight[ref]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// File returns a file holding the saved image ref (`docker save` output),
// saving it if no earlier save of ref completed. The file belongs to the
// Spool: the caller must not change or remove it.
func (s *Spool) File(ctx context.Context, ref string) (string, error) {
	if f, ok := s.file(ref); ok {
		return f, nil
	}
	if err := s.awaitPrefetch(ctx, ref); err != nil {
		return "", err
	}
	return s.save(ctx, ref)
}

// save reads a save of ref to the end, so that the spool keeps it, and
// returns the spool file. It does not wait for a prefetch (a prefetch is
// one).
func (s *Spool) save(ctx context.Context, ref string) (string, error) {
	rc, err := s.imageSave(ctx, ref)
	if err != nil {
		return "", err
	}
	t, ok := rc.(*tee)
	if !ok {
		rc.Close()
		// A concurrent save completed in between: ImageSave served its file.
		if f, ok := s.file(ref); ok {
			return f, nil
		}
		return "", fmt.Errorf("keep the saved image %s: the temporary directory %q is not writable", ref, s.dir)
	}
	_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{t}, make([]byte, 1<<20))
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if f, ok := s.file(ref); ok {
		return f, nil
	}
	return "", fmt.Errorf("keep the saved image %s: the spool was closed", ref)
}

func (s *Spool) file(ref string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[ref]
	return f, ok
}

// keep records a complete spool file, or removes it when another save of
// the same image won the race or the Spool is closed.
func (s *Spool) keep(ref, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[ref]; ok || s.closed {
		_ = os.Remove(file)
		return
	}
	s.files[ref] = file
}

// Close stops the prefetches and removes the spool files. Saves still
// being read are not kept.
func (s *Spool) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancelBg()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for ref, f := range s.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		delete(s.files, ref)
	}
	return errors.Join(errs...)
}

// tee is a save being read for the first time: what the caller reads is
// written to the spool file, which is kept if the caller reads to the end.
type tee struct {
	s      *Spool
	ref    string
	src    io.ReadCloser
	spool  *os.File
	buf    *bufio.Writer // over spool: callers read in small pieces
	n      int64
	start  time.Time
	eof    bool
	failed bool // the spool file could not be written: the caller still reads on
	closed bool
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if n > 0 && !t.failed {
		if _, werr := t.buf.Write(p[:n]); werr != nil {
			t.failed = true
		}
		t.n += int64(n)
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

func (t *tee) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.src.Close()
	name := t.spool.Name()
	ferr := t.buf.Flush()
	cerr := t.spool.Close()
	if t.eof && !t.failed && err == nil && ferr == nil && cerr == nil {
		t.s.logf("exported %s from the Docker Engine: %.1f MiB in %.1fs", t.ref, float64(t.n)/(1<<20), time.Since(t.start).Seconds())
		t.s.keep(t.ref, name)
		return nil
	}
	_ = os.Remove(name)
	return err
}
