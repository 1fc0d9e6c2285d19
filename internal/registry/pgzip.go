package registry

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// gzipBlockSize is how much of a layer one worker deflates at a time.
const gzipBlockSize = 1 << 20

// gzipHeader is the 10-byte header klauspost's and the standard library's
// gzip writers emit by default: deflate, no name, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// gzipFinalBlock ends a deflate stream made of sync-flushed blocks: an
// empty, final block with fixed Huffman codes.
var gzipFinalBlock = []byte{0x03, 0x00}

// gzipParallel writes src to dst as one gzip member, deflating blocks of
// gzipBlockSize on up to workers goroutines (GOMAXPROCS when workers < 1).
// Each block is deflated on its own and ends with a sync flush, so the
// blocks join into one deflate stream; the CRC and size of the whole input
// end it, as in any gzip file. The output depends only on the input (not on
// workers or timing): a layer gzips to the same digest every time. Every
// block starts without the previous one's window, which costs well under a
// percent of size on layers, and buys a layer compressed on every core while
// the engine's save streams (a layer's gzip was most of a cold push).
func gzipParallel(dst io.Writer, src io.Reader, workers int) error {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	if _, err := dst.Write(gzipHeader); err != nil {
		return err
	}
	type block struct {
		out []byte
		err error
	}
	// queue holds each block's result channel in input order; its depth
	// bounds the memory in flight (about 2 × workers blocks).
	queue := make(chan chan block, 2*workers)
	sem := make(chan struct{}, workers)
	pool := sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.DefaultCompression)
		return w
	}}
	crc := crc32.NewIEEE()
	var size uint32
	readErr := make(chan error, 1)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, gzipBlockSize)
			n, err := io.ReadFull(src, buf)
			if n > 0 {
				buf = buf[:n]
				crc.Write(buf)
				size += uint32(n)
				ch := make(chan block, 1)
				queue <- ch
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					fw := pool.Get().(*flate.Writer)
					defer pool.Put(fw)
					var out bytes.Buffer
					out.Grow(n / 2)
					fw.Reset(&out)
					_, werr := fw.Write(buf)
					if werr == nil {
						werr = fw.Flush()
					}
					ch <- block{out: out.Bytes(), err: werr}
				}()
			}
			switch err {
			case nil:
				continue
			case io.EOF, io.ErrUnexpectedEOF:
				readErr <- nil
			default:
				readErr <- err
			}
			return
		}
	}()
	var werr error
	for ch := range queue {
		b := <-ch
		if werr == nil && b.err != nil {
			werr = b.err
		}
		if werr == nil {
			_, werr = dst.Write(b.out)
		}
	}
	if err := <-readErr; err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	trailer := make([]byte, 0, len(gzipFinalBlock)+8)
	trailer = append(trailer, gzipFinalBlock...)
	trailer = binary.LittleEndian.AppendUint32(trailer, crc.Sum32())
	trailer = binary.LittleEndian.AppendUint32(trailer, size)
	_, err := dst.Write(trailer)
	return err
}
