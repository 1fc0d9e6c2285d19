package builtimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// saveFormat is one way the Engine writes a save of an image.
type saveFormat struct {
	name string
	// compressed: the layers are the gzipped blobs (the containerd store),
	// and the image id is the manifest's digest; otherwise the layers are
	// uncompressed tars and the id is the config digest.
	compressed bool
	// legacy: Docker 20.10's <n>/layer.tar and <config>.json; otherwise
	// blobs/sha256/… with links from the legacy names, as Docker 25+ does.
	legacy bool
	// mixed: the first layer gzipped, the others uncompressed (no engine
	// writes that; the reader still inflates the gzipped one).
	mixed bool
}

var saveFormats = []saveFormat{
	{name: "Docker 20.10", legacy: true},
	{name: "Docker 25+ classic store"},
	{name: "Docker 25+ containerd store", compressed: true},
	{name: "gzipped and uncompressed layers", mixed: true},
}

// writeSave writes img as an engine save in format f and returns the file
// and the image id the engine would give.
func writeSave(t *testing.T, img v1.Image, f saveFormat) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		t.Helper()
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) {
		t.Helper()
		if err := tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Typeflag: tar.TypeSymlink}); err != nil {
			t.Fatal(err)
		}
	}
	if !f.legacy {
		add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	}
	cfg, _ := img.RawConfigFile()
	cfgName, _ := img.ConfigName()
	cfgPath := "blobs/sha256/" + cfgName.Hex
	if f.legacy {
		cfgPath = cfgName.Hex + ".json"
	}
	add(cfgPath, cfg)
	layers, _ := img.Layers()
	var names []string
	for i, l := range layers {
		h, _ := l.DiffID()
		open := l.Uncompressed
		if f.compressed || f.mixed && i == 0 {
			h, _ = l.Digest()
			open = l.Compressed
		}
		blob := "blobs/sha256/" + h.Hex
		switch {
		case f.legacy:
			blob = strings.Repeat(string(rune('a'+i)), 64) + "/layer.tar"
			add(blob, readAll(t, open))
		default:
			add(blob, readAll(t, open))
			// Docker 25+ links the legacy names to the blobs.
			legacy := strings.Repeat(string(rune('a'+i)), 64) + "/layer.tar"
			link(legacy, "../"+blob)
			blob = legacy
		}
		names = append(names, blob)
	}
	id := cfgName.String()
	if f.compressed {
		raw, _ := img.RawManifest()
		d, _ := img.Digest()
		add("blobs/sha256/"+d.Hex, raw)
		id = d.String()
	}
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgPath, "RepoTags": []string{"built:latest"}, "Layers": names}})
	add("manifest.json", mf)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "save.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, id
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// OpenFile reads a save of every format the Engine writes to the image
// that was saved: the same config, the same layers by diff id with the
// same contents, and the compressed layers by the same digests.
func TestOpenFile(t *testing.T) {
	src, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	srcLayers, _ := src.Layers()
	for _, f := range saveFormats {
		t.Run(f.name, func(t *testing.T) {
			file, id := writeSave(t, src, f)
			saved, err := OpenFile(file)
			if err != nil {
				t.Fatal(err)
			}
			img, err := saved.Image(id)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := digestOf(t, configName{img}), digestOf(t, configName{src}); got != want {
				t.Errorf("config %s, want %s", got, want)
			}
			for i, sl := range srcLayers {
				diffID, _ := sl.DiffID()
				l, err := img.LayerByDiffID(diffID)
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				if !bytes.Equal(readAll(t, l.Uncompressed), readAll(t, sl.Uncompressed)) {
					t.Errorf("layer %d reads other contents than were saved", i)
				}
				if f.compressed {
					if got, want := digestOf(t, l), digestOf(t, sl); got != want {
						t.Errorf("layer %d has digest %s, want the saved blob's %s", i, got, want)
					}
					if !bytes.Equal(readAll(t, l.Compressed), readAll(t, sl.Compressed)) {
						t.Errorf("layer %d's compressed bytes are not the saved blob's", i)
					}
				}
			}
			if f.compressed {
				d, _ := v1.NewHash(id)
				raw, _ := src.RawManifest()
				if b, ok := saved.Blob(d); !ok || !bytes.Equal(b, raw) {
					t.Errorf("Blob(%s) = %q, %v; want the saved manifest", d, b, ok)
				}
			}
		})
	}
}

type configName struct{ v1.Image }

func (c configName) Digest() (v1.Hash, error) { return c.ConfigName() }

// A save read as a stream (the push) reaches each layer at the offset a
// file's read (the scan) records, and either way the layer function gets
// the entry's bytes.
func TestReadSaveOffsets(t *testing.T) {
	src, err := random.Image(100_000, 2)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := writeSave(t, src, saveFormats[1])
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		off, size int64
		kind      Kind
	}
	streamed, err := ReadSave(io.MultiReader(bytes.NewReader(data)), func(e Entry) (seen, error) {
		b, err := io.ReadAll(e.R)
		if err != nil {
			return seen{}, err
		}
		if !bytes.Equal(b, data[e.Offset:e.Offset+e.Size]) {
			t.Errorf("%s: the entry's bytes are not the archive's at offset %d", e.Name, e.Offset)
		}
		return seen{e.Offset, e.Size, e.Kind}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skipped, err := ReadSave(f, func(e Entry) (seen, error) { return seen{e.Offset, e.Size, e.Kind}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed.layers) != 2 || len(skipped.layers) != 2 {
		t.Fatalf("layers %v and %v, want 2 each", streamed.layers, skipped.layers)
	}
	for name, l := range streamed.layers {
		if skipped.layers[name] != l || l.kind != Tar {
			t.Errorf("%s: streamed %+v, from the file %+v; want the same, of kind Tar", name, l, skipped.layers[name])
		}
	}
}

// A save is taken for the built image only when the engine's id names its
// config; manifest.json must describe one image whose layers are all there.
func TestSaveImageChecks(t *testing.T) {
	src, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		format saveFormat
		edit   func(s *Save[section])
		id     string // "" = the image's own
		want   string
	}{
		{name: "another image's id, classic store", format: saveFormats[1], id: other, want: "which the built image id " + other + " does not name"},
		{name: "another image's id, containerd store", format: saveFormats[2], id: other, want: "does not name"},
		{name: "a tag instead of an id is not checked", format: saveFormats[1], id: "built:latest"},
		{name: "a damaged manifest blob", format: saveFormats[2], edit: func(s *Save[section]) {
			for name, b := range s.docs {
				if strings.Contains(string(b), `"schemaVersion"`) {
					s.docs[name] = append(b, ' ')
				}
			}
		}, want: "does not name"},
		{name: "no manifest.json", format: saveFormats[0], edit: func(s *Save[section]) { delete(s.docs, "manifest.json") }, want: "manifest.json is missing"},
		{name: "two images", format: saveFormats[0], edit: func(s *Save[section]) {
			var entries []json.RawMessage
			_ = json.Unmarshal(s.docs["manifest.json"], &entries)
			s.docs["manifest.json"], _ = json.Marshal(append(entries, entries[0]))
		}, want: "manifest.json lists 2 images, want 1"},
		{name: "a missing layer", format: saveFormats[1], edit: func(s *Save[section]) {
			for name := range s.layers {
				delete(s.layers, name)
				break
			}
		}, want: "named by manifest.json is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, id := writeSave(t, src, tc.format)
			if tc.id != "" {
				id = tc.id
			}
			saved, err := OpenFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(saved.save)
			}
			_, err = saved.Image(id)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Image(%s): %v", id, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Image(%s) = %v, want an error saying %q", id, err, tc.want)
			}
		})
	}
}
