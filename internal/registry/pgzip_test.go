package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// layerLike is compressible content: hex text mixed with random bytes.
func layerLike(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		if i%7 == 0 {
			b[i] = byte(rng.Uint32())
		} else {
			b[i] = "0123456789abcdef"[rng.IntN(16)]
		}
	}
	return b
}

func TestGzipParallel(t *testing.T) {
	for _, n := range []int{0, 1, gzipBlockSize - 1, gzipBlockSize, gzipBlockSize + 1, 5*gzipBlockSize + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := layerLike(n, uint64(n))
			var one, four bytes.Buffer
			if err := gzipParallel(&one, bytes.NewReader(in), 1); err != nil {
				t.Fatal(err)
			}
			if err := gzipParallel(&four, bytes.NewReader(in), 4); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(one.Bytes(), four.Bytes()) {
				t.Fatal("the output depends on the number of workers: a layer's digest would change between machines")
			}
			// The standard library's reader checks the CRC and the size, and
			// that nothing follows the member.
			zr, err := gzip.NewReader(bytes.NewReader(one.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("inflated %d bytes, want the %d given", len(out), len(in))
			}
		})
	}
}

// errReader fails after n bytes.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrClosedPipe
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestGzipParallelReadError(t *testing.T) {
	if err := gzipParallel(io.Discard, &errReader{n: 3*gzipBlockSize + 5}, 2); err != io.ErrClosedPipe {
		t.Fatalf("error %v, want the reader's", err)
	}
}

// goSourceTar is up to 32 MiB of the Go tree's sources and tools as one
// tar: layer-like content (text and binaries).
func goSourceTar(b *testing.B) []byte {
	b.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Fatal(err)
	}
	root := strings.TrimSpace(string(out))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	stop := errors.New("full")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if buf.Len() > 32<<20 {
			return stop
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil && err != stop {
		b.Fatal(err)
	}
	_ = tw.Close()
	return buf.Bytes()
}

// BenchmarkGzipLayer compares one gzip stream (what the push did before)
// with gzipParallel on one worker and on GOMAXPROCS workers, on 32 MiB of
// the Go tree as a tar; compressed-B/op is the output's size:
//
//	go test ./internal/registry -run '^$' -bench GzipLayer -benchtime 5x
func BenchmarkGzipLayer(b *testing.B) {
	in := goSourceTar(b)
	b.Run("one-stream", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			zw := kgzip.NewWriter(&out)
			if _, err := zw.Write(in); err != nil {
				b.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.Len()), "compressed-B/op")
	})
	for _, workers := range []int{1, 0} {
		name := "parallel-gomaxprocs"
		if workers == 1 {
			name = "parallel-1-worker"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := gzipParallel(&out, bytes.NewReader(in), workers); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(out.Len()), "compressed-B/op")
		})
	}
}
