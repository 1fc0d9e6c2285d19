package trivy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// fastLayer is a compressed layer whose Uncompressed stream is inflated by
// klauspost/compress in a goroutine of its own, ahead of the reader: the
// analysis walks the tar on one core while the next megabytes are inflated
// on the other. go-containerregistry inflates with compress/gzip in the
// reader's goroutine, and on a layer of a few hundred MB that inflation is
// most of the scan (docs/benchmarks.md).
//
// It is a pointer to a struct without an UncompressedLayer field, which is
// how Trivy tells a compressed layer (and reports its digest).
type fastLayer struct {
	v1.Layer
}

// readAheadChunk and readAheadChunks bound what the inflating goroutine
// holds ahead of the reader: 8 MiB.
const (
	readAheadChunk  = 1 << 20
	readAheadChunks = 8
)

func (l *fastLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<16)
	head, _ := br.Peek(4)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return readAhead(zr, func() error { zr.Close(); return rc.Close() }), nil
	case bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// The zstd decoder already decodes ahead in goroutines of its own.
		zr, err := zstd.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return readCloser{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	default:
		rc.Close()
		return l.Layer.Uncompressed()
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// readAhead reads src in a goroutine, up to readAheadChunks chunks ahead of
// the returned reader. Close stops the goroutine and then calls closeSrc.
func readAhead(src io.Reader, closeSrc func() error) io.ReadCloser {
	ra := &aheadReader{
		full:     make(chan []byte, readAheadChunks),
		free:     make(chan []byte, readAheadChunks+1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		closeSrc: closeSrc,
	}
	for range readAheadChunks + 1 {
		ra.free <- make([]byte, readAheadChunk)
	}
	go ra.fill(src)
	return ra
}

type aheadReader struct {
	full, free chan []byte
	stop, done chan struct{}
	err        error // set by fill before it closes full
	cur        []byte
	buf        []byte // cur's backing chunk, returned to free when read
	closeOnce  sync.Once
	closeSrc   func() error
}

func (ra *aheadReader) fill(src io.Reader) {
	defer close(ra.done)
	defer close(ra.full)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(src, b)
		if n > 0 {
			select {
			case ra.full <- b[:n]:
			case <-ra.stop:
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			ra.err = err
			return
		}
	}
}

func (ra *aheadReader) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.buf = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

func (ra *aheadReader) Close() error {
	var err error
	ra.closeOnce.Do(func() {
		close(ra.stop)
		<-ra.done
		err = ra.closeSrc()
	})
	return err
}
