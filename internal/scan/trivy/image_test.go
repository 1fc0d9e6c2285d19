package trivy

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/org/image-pipeline/internal/builtimage"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// fileSaves is an EngineSaves that hands out one saved image.
type fileSaves struct {
	file string
	refs []string
}

func (f *fileSaves) File(_ context.Context, ref string) (string, error) {
	f.refs = append(f.refs, ref)
	return f.file, nil
}

// dockerSave writes the test image as Docker 25+ saves it: blobs named by
// digest (the layers uncompressed from the classic store, or gzipped as
// the containerd image store keeps them, with the manifest) and
// manifest.json naming them.
func dockerSave(t *testing.T, layoutDir string, compressed bool) string {
	t.Helper()
	img := layoutV1Image(t, layoutDir)
	out := filepath.Join(t.TempDir(), "save.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, size int64, r io.Reader) {
		t.Helper()
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := img.RawConfigFile()
	cfgName, _ := img.ConfigName()
	add("blobs/sha256/"+cfgName.Hex, int64(len(cfg)), bytesReader(cfg))
	layers, _ := img.Layers()
	var names []string
	for _, l := range layers {
		h, _ := l.DiffID()
		open := l.Uncompressed
		if compressed {
			h, _ = l.Digest()
			open = l.Compressed
		}
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, "blobs/sha256/"+h.Hex)
		add(names[len(names)-1], int64(len(b)), bytesReader(b))
	}
	if compressed {
		// The containerd store's save also holds the manifest its image
		// id names.
		raw, _ := img.RawManifest()
		dig, _ := img.Digest()
		add("blobs/sha256/"+dig.Hex, int64(len(raw)), bytesReader(raw))
	}
	mf, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + cfgName.Hex, "RepoTags": []string{"built:latest"}, "Layers": names}})
	add("manifest.json", int64(len(mf)), bytesReader(mf))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScanEngineSaveFormats scans the test image from engine saves in the
// format of Docker 25+, with uncompressed and with gzipped layers, through
// the EngineSaves the push stage shares, and finds what the OCI layout
// gives. (The classic format of Docker 20.10 is what the engine tests and
// the end-to-end tests read.)
func TestScanEngineSaveFormats(t *testing.T) {
	layoutDir, _ := testImages(t)
	want := scanTarget(t, scan.Target{OCILayout: layoutDir}, nil)
	img := layoutV1Image(t, layoutDir)
	cfgName, _ := img.ConfigName()
	manifestDigest, _ := img.Digest()
	for _, tc := range []struct {
		name       string
		compressed bool
		id         v1.Hash // the engine's image id
	}{
		{"classic store, uncompressed layers", false, cfgName},
		{"containerd store, gzipped layers", true, manifestDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saves := &fileSaves{file: dockerSave(t, layoutDir, tc.compressed)}
			// Gzipped layers are inflated ahead (fastLayer); the others are
			// read as they are, and Trivy does not gzip them for a digest.
			saved, err := builtimage.OpenFile(saves.file)
			if err != nil {
				t.Fatal(err)
			}
			img, err := saved.Image(tc.id.String())
			if err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			diffID, _ := layers[0].DiffID()
			l, err := scanImage{Image: img}.LayerByDiffID(diffID)
			if err != nil {
				t.Fatal(err)
			}
			if _, fast := l.(*fastLayer); fast != tc.compressed || compressedLayer(l) != tc.compressed {
				t.Errorf("layer %T: inflated ahead %v, seen compressed %v; want %v", l, fast, compressedLayer(l), tc.compressed)
			}
			got := scanTarget(t, scan.Target{EngineRef: "built:latest", EngineImageID: tc.id.String()}, saves)
			if !slices.Equal(keysOf(got.Findings), keysOf(want.Findings)) || !slices.Equal(packagesOf(got.Packages), packagesOf(want.Packages)) {
				t.Errorf("findings %v, packages %v; from the layout: %v, %v", keysOf(got.Findings), packagesOf(got.Packages), keysOf(want.Findings), packagesOf(want.Packages))
			}
			if !slices.Equal(saves.refs, []string{tc.id.String()}) {
				t.Errorf("the scan asked for the saves of %v, want the image id (the push names it so)", saves.refs)
			}
			if got.Target != "built:latest" {
				t.Errorf("reports name the target %q, want the built tag", got.Target)
			}

			// A save that is not of the built image (another image took
			// the tag in between) is not scanned in its place.
			other := "sha256:" + strings.Repeat("0", 64)
			opts := testOptions(t, &testenv.Log{})
			opts.EngineSaves = saves
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sc.Scan(t.Context(), scan.Target{EngineRef: "built:latest", EngineImageID: other})
			if err == nil || !strings.Contains(err.Error(), "which the built image id "+other+" does not name") {
				t.Errorf("a save of another image: %v, want the id mismatch", err)
			}
		})
	}
}

func scanTarget(t *testing.T, target scan.Target, saves scan.EngineSaves) *scan.Analysis {
	t.Helper()
	opts := testOptions(t, &testenv.Log{})
	opts.EngineSaves = saves
	a := scanWith(t, opts, target)
	if len(a.Findings) == 0 || len(a.Packages) == 0 {
		t.Fatalf("found %d findings and %d packages", len(a.Findings), len(a.Packages))
	}
	return a
}

// scanWith scans target with this package's scanner over opts.
func scanWith(t testing.TB, opts scan.Options, target scan.Target) *scan.Analysis {
	t.Helper()
	sc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sc.Scan(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// layoutV1Image is the image of an OCI layout, as the scan picks it.
func layoutV1Image(t *testing.T, dir string) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	img, err := pickImage(idx)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestLayoutLayersInflateAhead: the layers of an OCI layout are compressed,
// so the scan reads them through the read-ahead inflater.
func TestLayoutLayersInflateAhead(t *testing.T) {
	layoutDir, _ := testImages(t)
	img, err := layoutImage(layoutDir, "")
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range cf.RootFS.DiffIDs {
		l, err := img.LayerByDiffID(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.(*fastLayer); !ok {
			t.Errorf("layer %s is a %T, want a *fastLayer", h, l)
		}
	}
}

// TestLayoutImageByDigest: a layout that holds the builder stage's image
// beside the final one (same platform) gives the scan the image whose
// digest the build reported, whichever index.json lists first; an unknown
// digest is an error, not another image.
func TestLayoutImageByDigest(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var digests []v1.Hash
	for range 2 {
		img, err := random.Image(100, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(img, "application/vnd.oci.image.config.v1+json")
		if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH})); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d)
	}
	for _, want := range digests {
		img, err := layoutImage(dir, want.String())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := img.Digest(); got != want {
			t.Errorf("layoutImage(%s) opened %s", want, got)
		}
	}
	if _, err := layoutImage(dir, "sha256:"+strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "does not hold the built image") {
		t.Errorf("unknown digest: error %v", err)
	}
}
