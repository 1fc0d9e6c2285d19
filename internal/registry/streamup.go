package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
)

// A layer the push gzips (a classic store's; the containerd store's are
// saved compressed, named by their digest) is sent to the first target
// repository while it is being written: the upload
// reads the layer's temporary file as it grows, so the bytes leave while
// the rest of the layer is still being gzipped, and the compression never
// waits for the network. Its digest is known only at the end, so the
// upload is a streamed one (POST, PATCH without a length, PUT ?digest=).
//
// The streamed upload is an acceleration, not the push: whatever happens
// to it, the file is complete when the layer is, and the push that follows
// (manifest checks, release tags, every target) sends any blob the
// repository still lacks from that file, with its usual retries. A layer
// that streamed in full is not sent again: go-containerregistry's pusher
// remembers the digest it committed.
//
// What reaches the registry before the checks of the push (the config's
// digest against the image built and scanned, the release tags) is blobs
// only: no manifest and no tag name them until those checks pass, so no
// puller can see them, and the registry's garbage collection removes them
// if the push stops there.

// uploader streams the layers of one saved image to one repository.
//
// Its uploads run under the push's own context, not one of their own: the
// pusher sets up its writer for a repository once, with the context of the
// first call, and keeps what that gave (a cancelled context would fail
// every later push to the repository). stop ends them by abandoning their
// layers instead.
type uploader struct {
	ctx     context.Context
	upload  func(ctx context.Context, repo name.Repository, l v1.Layer) error
	repo    name.Repository
	sem     chan struct{} // bounds the uploads at once (push jobs)
	wg      sync.WaitGroup
	stopped chan struct{}
	stop1   sync.Once

	mu     sync.Mutex
	layers []*growingLayer

	streamed atomic.Int64 // layers uploaded while they were written
	bytes    atomic.Int64 // their compressed bytes
	early    atomic.Int64 // layers complete before their upload began
	failed   atomic.Int64 // uploads that failed (sent again later)
	firstErr atomic.Pointer[error]
}

func newUploader(ctx context.Context, repo name.Repository, jobs int, upload func(context.Context, name.Repository, v1.Layer) error) *uploader {
	return &uploader{ctx: ctx, upload: upload, repo: repo, sem: make(chan struct{}, max(jobs, 1)), stopped: make(chan struct{})}
}

// start uploads l in the background.
func (u *uploader) start(l *growingLayer) {
	if u == nil {
		return
	}
	u.mu.Lock()
	u.layers = append(u.layers, l)
	u.mu.Unlock()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		select {
		case u.sem <- struct{}{}:
		case <-u.stopped:
			return
		case <-u.ctx.Done():
			return
		}
		defer func() { <-u.sem }()
		if err := u.upload(u.ctx, u.repo, l); err != nil {
			u.failed.Add(1)
			u.firstErr.CompareAndSwap(nil, &err)
			return
		}
		if !l.overlapped.Load() {
			u.early.Add(1)
			return
		}
		u.streamed.Add(1)
		if n, err := l.Size(); err == nil {
			u.bytes.Add(n)
		}
	}()
}

// uploadStats is what an uploader's uploads did.
type uploadStats struct {
	streamed int   // layers uploaded while they were written
	bytes    int64 // their compressed bytes
	early    int   // layers uploaded once complete (written before their upload began)
	failed   int   // uploads that failed: the push sends those layers itself
	err      error // the first failure
}

// wait waits for every upload started and says what they did.
func (u *uploader) wait() uploadStats {
	if u == nil {
		return uploadStats{}
	}
	u.wg.Wait()
	st := uploadStats{streamed: int(u.streamed.Load()), bytes: u.bytes.Load(), early: int(u.early.Load()), failed: int(u.failed.Load())}
	if p := u.firstErr.Load(); p != nil {
		st.err = *p
	}
	return st
}

// stop ends the uploads under way (their layers' readers fail) and waits
// for them.
func (u *uploader) stop() {
	if u == nil {
		return
	}
	u.stop1.Do(func() {
		close(u.stopped)
		u.mu.Lock()
		for _, l := range u.layers {
			l.abandon()
		}
		u.mu.Unlock()
	})
	u.wg.Wait()
}

// growingLayer is a layer being written to a file. Until the file is
// complete its digest, diff id and size are not known (stream.ErrNotComputed,
// which go-containerregistry takes for a streamed upload); its Compressed
// reader follows the file as it grows and ends where the layer does.
type growingLayer struct {
	file      string
	mediaType types.MediaType

	mu        sync.Mutex
	grew      chan struct{} // closed (and replaced) whenever the file grows or ends
	written   int64
	done      bool
	err       error // the write failed: readers get it
	abandoned bool  // the upload was stopped: readers fail
	// overlapped is set once a reader got bytes before the layer was
	// complete: its upload ran while it was written.
	overlapped atomic.Bool
	digest     v1.Hash
	diffID     v1.Hash
}

func newGrowingLayer(file string, mt types.MediaType) *growingLayer {
	return &growingLayer{file: file, mediaType: mt, grew: make(chan struct{})}
}

// change applies f to the layer's state and wakes its readers.
func (g *growingLayer) change(f func()) {
	g.mu.Lock()
	f()
	close(g.grew)
	g.grew = make(chan struct{})
	g.mu.Unlock()
}

// wrote records n more bytes in the file.
func (g *growingLayer) wrote(n int) { g.change(func() { g.written += int64(n) }) }

// finish records the end of the write: the complete layer, or err.
func (g *growingLayer) finish(digest, diffID v1.Hash, err error) {
	g.change(func() { g.done, g.err, g.digest, g.diffID = true, err, digest, diffID })
}

// abandon fails the layer's readers, now and later.
func (g *growingLayer) abandon() { g.change(func() { g.abandoned = true }) }

// state returns what is known of the file now, and a channel closed when
// that changes.
func (g *growingLayer) state() (written int64, done bool, changed <-chan struct{}, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.abandoned {
		err = errUploadStopped
	} else if g.done {
		err = g.err
	}
	return g.written, g.done, g.grew, err
}

func (g *growingLayer) complete() (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done && g.err != nil {
		return false, g.err
	}
	return g.done, nil
}

func (g *growingLayer) Digest() (v1.Hash, error) {
	if ok, err := g.complete(); !ok {
		return v1.Hash{}, errors.Join(stream.ErrNotComputed, err)
	}
	return g.digest, nil
}

func (g *growingLayer) DiffID() (v1.Hash, error) {
	if ok, err := g.complete(); !ok {
		return v1.Hash{}, errors.Join(stream.ErrNotComputed, err)
	}
	return g.diffID, nil
}

func (g *growingLayer) Size() (int64, error) {
	if ok, err := g.complete(); !ok {
		return 0, errors.Join(stream.ErrNotComputed, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.written, nil
}

func (g *growingLayer) MediaType() (types.MediaType, error) { return g.mediaType, nil }

// Compressed reads the layer from the start of its file, following the
// file until the layer is complete. Every call is a new reader.
func (g *growingLayer) Compressed() (io.ReadCloser, error) {
	if _, _, _, err := g.state(); errors.Is(err, errUploadStopped) {
		return nil, err
	}
	f, err := os.Open(g.file)
	if err != nil {
		return nil, err
	}
	return &followReader{g: g, f: f, closed: make(chan struct{})}, nil
}

// Uncompressed is the layer's tar, once the layer is complete.
func (g *growingLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := g.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, rc}, nil
}

// followReader reads a growingLayer's file up to what has been written,
// waiting for more until the layer is complete.
type followReader struct {
	g      *growingLayer
	f      *os.File
	pos    int64
	once   sync.Once
	closed chan struct{}
}

var (
	errReaderClosed  = errors.New("the layer's reader was closed")
	errUploadStopped = errors.New("the upload of the layer while it was compressed was stopped")
)

func (r *followReader) Read(p []byte) (int, error) {
	for {
		written, done, changed, err := r.g.state()
		if errors.Is(err, errUploadStopped) {
			return 0, err
		}
		if err != nil {
			return 0, fmt.Errorf("the layer was not written in full: %w", err)
		}
		if r.pos < written {
			if !done {
				r.g.overlapped.Store(true)
			}
			if int64(len(p)) > written-r.pos {
				p = p[:written-r.pos]
			}
			n, err := r.f.ReadAt(p, r.pos)
			r.pos += int64(n)
			if err == io.EOF && n > 0 {
				err = nil
			}
			return n, err
		}
		if done {
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-r.closed:
			return 0, errReaderClosed
		}
	}
}

func (r *followReader) Close() error {
	var err error
	r.once.Do(func() {
		close(r.closed)
		err = r.f.Close()
	})
	return err
}

// growthWriter writes to w and tells g how much was written.
type growthWriter struct {
	w io.Writer
	g *growingLayer
}

func (gw growthWriter) Write(p []byte) (int, error) {
	n, err := gw.w.Write(p)
	if n > 0 {
		gw.g.wrote(n)
	}
	return n, err
}

// uploaderTo returns the uploads of an engine image's layers to repo while
// they are written, or nil: for an OCI layout (its blobs are files
// already), when Options turn streaming off, or when repo's registry has no
// session (the push then says why).
func (r *pushRun) uploaderTo(bi pipeline.BuiltImage, repo name.Repository) *uploader {
	if r.p.opts.noStreaming || bi.OCILayout != "" {
		return nil
	}
	s, err := r.session(repo.RegistryStr())
	if err != nil {
		return nil
	}
	return newUploader(r.ctx, repo, r.p.opts.jobs(), s.pusher.Upload)
}

// streamed waits for the uploads of art's layers that started while they
// were written, logs what they did, and returns how many ran while their
// layer was being compressed.
func (r *pushRun) streamed(art *artifact, what string) int {
	st := art.up.wait()
	if st.streamed > 0 {
		r.logf("%d of %s (%s) were uploaded to %s while they were compressed", st.streamed, what, textfmt.Bytes(st.bytes), art.up.repo.Name())
	}
	if st.early > 0 {
		r.logf("%s of %s compressed before its upload could begin went to %s as soon as it was", textfmt.Count(st.early, "layer", "layers"), what, art.up.repo.Name())
	}
	if st.failed > 0 {
		r.logf("%d uploads of %s to %s while they were compressed failed (%v): they are sent again from their files", st.failed, what, art.up.repo.Name(), st.err)
	}
	return st.streamed
}
