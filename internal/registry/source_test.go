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

// containerdSave is `docker save` of an image in Docker 29's containerd
// image store: an OCI layout whose blobs are as the store keeps them —
// layers gzipped, the engine's manifests and index byte for byte — and a
// manifest.json naming only the first platform, as the engine writes it.
// It returns the save and the digests of the manifests and the index.
func containerdSave(t *testing.T, imgs []v1.Image, extra ...tarEntry) ([]byte, []v1.Hash, v1.Hash) {
	t.Helper()
	entries := []tarEntry{{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
	var descs []any
	var manifests []v1.Hash
	var first []string
	for i, img := range imgs {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, l := range ls {
			d, _ := l.Digest()
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			entries = append(entries, tarEntry{name: "blobs/sha256/" + d.Hex, data: b})
			paths = append(paths, "blobs/sha256/"+d.Hex)
		}
		cfgName, _ := img.ConfigName()
		cfg, _ := img.RawConfigFile()
		raw, _ := img.RawManifest()
		d, _ := img.Digest()
		entries = append(entries, tarEntry{name: "blobs/sha256/" + cfgName.Hex, data: cfg}, tarEntry{name: "blobs/sha256/" + d.Hex, data: raw})
		mt, _ := img.MediaType()
		cf, _ := img.ConfigFile()
		descs = append(descs, map[string]any{"mediaType": mt, "digest": d.String(), "size": len(raw), "platform": map[string]any{"os": cf.OS, "architecture": cf.Architecture}})
		manifests = append(manifests, d)
		if i == 0 {
			first = append([]string{"blobs/sha256/" + cfgName.Hex}, paths...)
		}
	}
	index, _ := json.MarshalIndent(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs}, "", "   ")
	iDigest, iSize, _ := v1.SHA256(bytes.NewReader(index))
	mf, _ := json.Marshal([]map[string]any{{"Config": first[0], "Layers": first[1:]}})
	top, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": iDigest.String(), "size": iSize}}})
	entries = append(entries, tarEntry{name: "blobs/sha256/" + iDigest.Hex, data: index}, tarEntry{name: "index.json", data: top}, tarEntry{name: "manifest.json", data: mf})
	return writeTar(t, append(entries, extra...)), manifests, iDigest
}

// TestStreamFromEngineContainerdStoreIDs: the containerd image store names
// an image by its manifest or its index, both saved as blobs of the OCI
// layout. The push sends that document as it is — the engine's digest, every
// platform of an index, the layers as the store compressed them — and refuses
// a save that does not hold all of it, or a blob that does not hash to its
// name.
func TestStreamFromEngineContainerdStoreIDs(t *testing.T) {
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(3000, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	save, manifests, index := containerdSave(t, imgs)
	forged := "sha256:" + strings.Repeat("ab", 32)
	withForged := func(t *testing.T) []byte {
		raw, _ := imgs[0].RawManifest()
		b, _, _ := containerdSave(t, imgs, tarEntry{name: "blobs/sha256/" + strings.Repeat("ab", 32), data: raw})
		return b
	}
	// A save that lacks the second platform's manifest.
	partialSave := func(t *testing.T) []byte {
		var entries []tarEntry
		tr := tar.NewReader(bytes.NewReader(save))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			if hdr.Name == "blobs/sha256/"+manifests[1].Hex {
				continue
			}
			b, _ := io.ReadAll(tr)
			entries = append(entries, tarEntry{name: hdr.Name, data: b})
		}
		return writeTar(t, entries)
	}
	for _, tc := range []struct {
		name, id string
		save     func(*testing.T) []byte
		want     string // error substring, "" for success
		children int    // images of the pushed index; 0: an image
	}{
		{name: "the manifest digest", id: manifests[0].String()},
		{name: "the index digest", id: index.String(), children: 2},
		{name: "a blob that does not hash to its name", id: forged, save: withForged, want: "which the built image id " + forged + " does not name"},
		{name: "an index whose platform is not saved", id: index.String(), save: partialSave, want: "names " + manifests[1].String() + " (linux/arm64), which the save does not hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := save
			if tc.save != nil {
				data = tc.save(t)
			}
			bi := pipeline.BuiltImage{Role: pipeline.RoleFinal, EngineImageID: tc.id}
			art, err := openBuilt(t.Context(), bi, savedEngine{data}, t.TempDir(), nil, nil)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(art.cleanup)
			if got := art.digest().String(); got != tc.id {
				t.Errorf("pushed digest %s, want the engine's own %s", got, tc.id)
			}
			if tc.children == 0 {
				if err := validate.Image(art.img); err != nil {
					t.Errorf("the streamed image does not validate: %v", err)
				}
				assertSameLayers(t, art.img, imgs[0])
				return
			}
			if art.idx == nil {
				t.Fatalf("the index %s was pushed as an image", tc.id)
			}
			if err := validate.Index(art.idx); err != nil {
				t.Errorf("the streamed index does not validate: %v", err)
			}
			m, err := art.idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Manifests) != tc.children {
				t.Fatalf("index lists %d manifests, want %d", len(m.Manifests), tc.children)
			}
			for i, d := range m.Manifests {
				img, err := art.idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				assertSameLayers(t, img, imgs[i])
			}
		})
	}
}

// assertSameLayers checks got sends want's compressed layers unchanged.
func assertSameLayers(t *testing.T, got, want v1.Image) {
	t.Helper()
	gl, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	wl, _ := want.Layers()
	if len(gl) != len(wl) {
		t.Fatalf("%d layers, want %d", len(gl), len(wl))
	}
	for i := range gl {
		g, _ := gl[i].Digest()
		w, _ := wl[i].Digest()
		gm, _ := gl[i].MediaType()
		wm, _ := wl[i].MediaType()
		if g != w || gm != wm {
			t.Errorf("layer %d is %s (%s), want %s (%s) as saved", i+1, g, gm, w, wm)
		}
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
			art, err := openBuilt(t.Context(), bi, savedEngine{tc.save(t, tc.img)}, t.TempDir(), nil, nil)
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
