package trivy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// payload is compressible data a few read-ahead chunks long, with a tail.
func payload(t *testing.T) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 5*readAheadChunk+12345)
	for i := range b {
		b[i] = "abcdefgh"[r.IntN(8)]
	}
	return b
}

func TestFastLayerInflates(t *testing.T) {
	raw := payload(t)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(raw)
	enc.Close()

	for _, tc := range []struct {
		name string
		blob []byte
	}{
		{"gzip", gz.Bytes()},
		{"zstd", zs.Bytes()},
		{"uncompressed falls back to the layer's own", raw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &fastLayer{Layer: static.NewLayer(tc.blob, types.OCILayer)}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("got %d bytes, want the %d written", len(got), len(raw))
			}
		})
	}
	if !compressedLayer(&fastLayer{}) {
		t.Error("Trivy must see a fastLayer as compressed (it reports the layer digest)")
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReadAheadPassesErrorsAfterTheData(t *testing.T) {
	raw := payload(t)
	boom := errors.New("connection reset")
	ra := readAhead(&failingReader{r: bytes.NewReader(raw), err: boom}, func() error { return nil })
	got, err := io.ReadAll(ra)
	if !errors.Is(err, boom) {
		t.Errorf("want the source's error, got %v", err)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("got %d bytes before the error, want %d", len(got), len(raw))
	}
}

// endless is a source that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReadAheadCloseStopsTheReader(t *testing.T) {
	closed := 0
	ra := readAhead(endless{}, func() error { closed++; return nil })
	if _, err := io.ReadFull(ra, make([]byte, 3*readAheadChunk/2)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- ra.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the read-ahead goroutine")
	}
	if err := ra.Close(); err != nil || closed != 1 {
		t.Errorf("a second Close: err %v, source closed %d times, want once", err, closed)
	}
	if _, ok := <-ra.(*aheadReader).done; ok {
		t.Error("the goroutine is still running")
	}
}
