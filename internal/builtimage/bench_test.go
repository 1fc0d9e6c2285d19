package builtimage

import (
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BenchmarkOpenSave compares, side by side (A B A B … in one run), the
// scan's read of an engine save through OpenFile with go-containerregistry's
// tarball.ImageFromPath, which it replaced: open the save, read the config,
// then every layer by diff id to its end, as Trivy does. Reported: the
// medians of both and their ratio.
//
//	go test ./internal/builtimage -run '^$' -bench OpenSave -benchtime 20x
func BenchmarkOpenSave(b *testing.B) {
	for _, shape := range []struct {
		layers int
		size   int64
	}{{3, 16 << 20}, {50, 256 << 10}} {
		for _, f := range saveFormats[1:3] {
			b.Run(fmt.Sprintf("%s/%d layers of %d KiB", f.name, shape.layers, shape.size>>10), func(b *testing.B) {
				src, err := random.Image(shape.size, int64(shape.layers))
				if err != nil {
					b.Fatal(err)
				}
				file, id := writeSave(&testing.T{}, src, f)
				ours := func() error {
					saved, err := OpenFile(file)
					if err != nil {
						return err
					}
					img, err := saved.Image(id)
					if err != nil {
						return err
					}
					return readLayers(img)
				}
				theirs := func() error {
					img, err := tarball.ImageFromPath(file, nil)
					if err != nil {
						return err
					}
					return readLayers(img)
				}
				var a, t []time.Duration
				for b.Loop() {
					for _, run := range []struct {
						fn  func() error
						out *[]time.Duration
					}{{ours, &a}, {theirs, &t}} {
						start := time.Now()
						if err := run.fn(); err != nil {
							b.Fatal(err)
						}
						*run.out = append(*run.out, time.Since(start))
					}
				}
				ma, mt := median(a), median(t)
				b.ReportMetric(ma.Seconds()*1000, "OpenFile-ms")
				b.ReportMetric(mt.Seconds()*1000, "tarball-ms")
				b.ReportMetric(ma.Seconds()/mt.Seconds(), "ratio")
			})
		}
	}
}

func readLayers(img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	for _, d := range cf.RootFS.DiffIDs {
		l, err := img.LayerByDiffID(d)
		if err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
