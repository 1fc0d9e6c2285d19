package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/image-pipeline/internal/pipeline"
)

// savedEngine is an Engine whose ImageSave returns a fixed stream.
type savedEngine struct{ data []byte }

func (s savedEngine) ImageSave(context.Context, []string, ...client.ImageSaveOption) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(s.data)), nil
}

type tarEntry struct {
	name, link string
	data       []byte
}

func writeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if e.link != "" {
			h = &tar.Header{Name: e.name, Linkname: e.link, Mode: 0o777, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func uncompressedLayers(t *testing.T, img v1.Image) [][]byte {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// legacySave is `docker save` of Docker before 25: <id>/layer.tar,
// <config hex>.json and manifest.json last.
func legacySave(t *testing.T, img v1.Image) []byte {
	t.Helper()
	cfgName, _ := img.ConfigName()
	cfg, _ := img.RawConfigFile()
	var entries []tarEntry
	var paths []string
	for i, l := range uncompressedLayers(t, img) {
		p := strings.Repeat(string(rune('a'+i)), 64) + "/layer.tar"
		entries = append(entries, tarEntry{name: p, data: l})
		paths = append(paths, p)
	}
	entries = append(entries, tarEntry{name: cfgName.Hex + ".json", data: cfg})
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgName.Hex + ".json", "RepoTags": nil, "Layers": paths}})
	return writeTar(t, append(entries, tarEntry{name: "manifest.json", data: mf}))
}

// ociSave is `docker save` of Docker 25+: an OCI layout with the legacy
// names as symlinks into blobs/, manifest.json naming the blobs.
func ociSave(t *testing.T, img v1.Image) []byte {
	t.Helper()
	cfgName, _ := img.ConfigName()
	cfg, _ := img.RawConfigFile()
	cf, _ := img.ConfigFile()
	entries := []tarEntry{{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
	var paths []string
	for i, l := range uncompressedLayers(t, img) {
		blob := "blobs/sha256/" + cf.RootFS.DiffIDs[i].Hex
		entries = append(entries, tarEntry{name: blob, data: l})
		legacy := strings.Repeat(string(rune('a'+i)), 64) + "/layer.tar"
		entries = append(entries, tarEntry{name: legacy, link: "../" + blob})
		paths = append(paths, legacy)
	}
	entries = append(entries, tarEntry{name: "blobs/sha256/" + cfgName.Hex, data: cfg})
	mf, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + cfgName.Hex, "Layers": paths}})
	return writeTar(t, append(entries, tarEntry{name: "manifest.json", data: mf}, tarEntry{name: "index.json", data: []byte(`{"schemaVersion":2,"manifests":[]}`)}))
}

// ggcrSave is go-containerregistry's tarball.Write: gzipped layers.
func ggcrSave(t *testing.T, img v1.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tarball.Write(name.MustParseReference("example.com/org/app:x"), img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestStreamFromEngineContainerdStoreIDs: the containerd image store names
// an image by its manifest or its index, both saved as blobs of the OCI
// layout; an id that leads to the saved config through them is the built
// image, one whose blob does not hash to its name is not.
func TestStreamFromEngineContainerdStoreIDs(t *testing.T) {
	img, err := random.Image(3000, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	rawCfg, _ := img.RawConfigFile()
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgName.String(), "size": len(rawCfg)},
		"layers": []any{},
	})
	mDigest, mSize, _ := v1.SHA256(bytes.NewReader(manifest))
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mDigest.String(), "size": mSize}},
	})
	iDigest, _, _ := v1.SHA256(bytes.NewReader(index))
	forged := "sha256:" + strings.Repeat("ab", 32)
	save := func(t *testing.T, extra ...tarEntry) []byte {
		t.Helper()
		var entries []tarEntry
		tr := tar.NewReader(bytes.NewReader(ociSave(t, img)))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(tr)
			e := tarEntry{name: hdr.Name, data: b}
			if hdr.Typeflag == tar.TypeSymlink {
				e = tarEntry{name: hdr.Name, link: hdr.Linkname}
			}
			entries = append(entries, e)
		}
		return writeTar(t, append(entries, extra...))
	}
	blobs := []tarEntry{
		{name: "blobs/sha256/" + mDigest.Hex, data: manifest},
		{name: "blobs/sha256/" + iDigest.Hex, data: index},
		// A blob that names the manifest's content under another digest.
		{name: "blobs/sha256/" + strings.TrimPrefix(forged, "sha256:"), data: manifest},
	}
	for _, tc := range []struct {
		name, id, want string
	}{
		{name: "the manifest digest", id: mDigest.String()},
		{name: "the index digest", id: iDigest.String()},
		{name: "a blob that does not hash to its name", id: forged, want: "which the built image id " + forged + " does not name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bi := pipeline.BuiltImage{Role: pipeline.RoleFinal, EngineImageID: tc.id}
			art, err := openBuilt(t.Context(), bi, savedEngine{save(t, blobs...)}, t.TempDir())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			art.cleanup()
		})
	}
}

func TestStreamFromEngineFormats(t *testing.T) {
	base, err := random.Image(3000, 2)
	if err != nil {
		t.Fatal(err)
	}
	emptyTar := writeTar(t, nil) // 1024 zero bytes: an empty layer
	emptyLayer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(emptyTar)), nil })
	if err != nil {
		t.Fatal(err)
	}
	withEmpty, err := mutate.AppendLayers(base, emptyLayer)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		img  v1.Image
		save func(*testing.T, v1.Image) []byte
		id   func(v1.Image) string
		want string // error substring, "" for success
	}{
		{name: "legacy docker save", img: base, save: legacySave},
		{name: "OCI docker save with symlinks", img: base, save: ociSave},
		{name: "gzipped layers", img: base, save: ggcrSave},
		{name: "empty layer", img: withEmpty, save: legacySave},
		{name: "another image than built", img: base, save: legacySave, id: func(v1.Image) string { return "sha256:" + strings.Repeat("0", 64) }, want: "which the built image id sha256:0000"},
		{name: "no manifest.json", img: base, save: func(t *testing.T, _ v1.Image) []byte {
			return writeTar(t, []tarEntry{{name: "x.json", data: []byte("{}")}})
		}, want: "manifest.json is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := digestOf(t, configName{tc.img})
			if tc.id != nil {
				id = tc.id(tc.img)
			}
			bi := pipeline.BuiltImage{Role: pipeline.RoleFinal, EngineImageID: id}
			art, err := openBuilt(t.Context(), bi, savedEngine{tc.save(t, tc.img)}, t.TempDir())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer art.cleanup()
			if got := digestOf(t, configName{art.img}); got != id {
				t.Errorf("config digest = %s, want the image id %s", got, id)
			}
			if err := validate.Image(art.img); err != nil {
				t.Errorf("the streamed image does not validate: %v", err)
			}
			if got := digestOf(t, art.img); got != art.digest().String() {
				t.Errorf("artifact digest %s, image digest %s", art.digest(), got)
			}
		})
	}
}

// configName adapts an image's ConfigName to digestOf.
type configName struct{ img v1.Image }

func (c configName) Digest() (v1.Hash, error) { return c.img.ConfigName() }
