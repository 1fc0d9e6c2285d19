package trivy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

func digestOf(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}

func TestResolveChain(t *testing.T) {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config).String(), "size": len(config)},
		"layers": []any{},
	})
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{"digest": digestOf(manifest).String()}}})
	dir := t.TempDir()
	store := blobStore{dir: dir}
	for _, b := range [][]byte{config, manifest, index} {
		if err := store.put(digestOf(b), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.put(digestOf(config), []byte("other bytes")); err == nil {
		t.Error("put kept bytes that do not hash to their name")
	}
	tests := []struct {
		name     string
		id       v1.Hash
		manifest bool
		wantErr  string
	}{
		{"classic store: the id is the config", digestOf(config), false, ""},
		{"containerd store: the id is the manifest", digestOf(manifest), true, ""},
		{"a multi-platform index is not followed", digestOf(index), false, "multi-platform index"},
		{"nothing kept", digestOf([]byte("x")), false, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resolveChain(tt.id, store.get)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(c.config) != string(config) || c.configDig != digestOf(config) || (c.manifest != nil) != tt.manifest {
				t.Errorf("chain %+v", c)
			}
		})
	}
	// A kept blob whose bytes changed is not trusted.
	p, _ := store.path(digestOf(config))
	if err := os.WriteFile(p, []byte(`{"rootfs":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range []v1.Hash{digestOf(config), digestOf(manifest)} {
		if _, err := resolveChain(id, store.get); err == nil || !strings.Contains(err.Error(), "hashes to") {
			t.Errorf("%s with a changed config: error %v, want a hash mismatch", id, err)
		}
	}
	if _, ok := (blobStore{dir: dir}).path(v1.Hash{Algorithm: "sha256", Hex: "../../x"}); ok {
		t.Error("a digest that is not hex became a file name")
	}
}

// TestEngineImageNotExportedWhenWarm: the second scan of the same engine
// image, with every layer's analysis in the layer cache, reads the config
// the first scan kept and never exports the image, with the same findings
// and packages; a kept config whose bytes changed, or a layer whose
// analysis is gone, costs an export again, with the same results.
func TestEngineImageNotExportedWhenWarm(t *testing.T) {
	layoutDir, _ := testImages(t)
	img := layoutV1Image(t, layoutDir)
	cfgName, _ := img.ConfigName()
	manifestDigest, _ := img.Digest()
	for _, tc := range []struct {
		name       string
		compressed bool
		id         v1.Hash
	}{
		{"classic store: the id is the config digest", false, cfgName},
		{"containerd store: the id is the manifest digest", true, manifestDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saves := &fileSaves{file: dockerSave(t, layoutDir, tc.compressed)}
			cacheDir := t.TempDir()
			target := scan.Target{EngineRef: "built:latest", EngineImageID: tc.id.String()}
			run := func() (*scan.Analysis, string) {
				t.Helper()
				log := &testenv.Log{}
				opts := testOptions(t, log)
				opts.CacheDir, opts.NoLayerCache, opts.EngineSaves = cacheDir, false, saves
				return scanWith(t, opts, target), log.String()
			}
			const notExported = "the image was not exported"
			first, log := run()
			if len(saves.refs) != 1 || strings.Contains(log, notExported) {
				t.Fatalf("the first scan exported %d times, want once:\n%s", len(saves.refs), log)
			}
			same := func(a *scan.Analysis) {
				t.Helper()
				if !slices.Equal(keysOf(a.Findings), keysOf(first.Findings)) || !slices.Equal(packagesOf(a.Packages), packagesOf(first.Packages)) {
					t.Errorf("findings %v, packages %v; first scan: %v, %v", keysOf(a.Findings), packagesOf(a.Packages), keysOf(first.Findings), packagesOf(first.Packages))
				}
			}
			layers := filepath.Join(cacheDir, filepath.FromSlash(LayerCacheSubdir))
			kept, _ := filepath.Glob(filepath.Join(layers, "*"+imageBlobSuffix))
			if want := map[bool]int{false: 1, true: 2}[tc.compressed]; len(kept) != want {
				t.Fatalf("kept blobs %v, want %d (the config, and the manifest the id names)", kept, want)
			}

			second, log := run()
			same(second)
			if len(saves.refs) != 1 || !strings.Contains(log, notExported) {
				t.Errorf("the warm scan exported the image (%d exports in all):\n%s", len(saves.refs), log)
			}

			// A layer analysis gone: the image is exported for it.
			analyses, _ := filepath.Glob(filepath.Join(layers, "sha256-*.json"))
			if len(analyses) == 0 {
				t.Fatal("no layer analysis kept")
			}
			if err := os.Remove(analyses[0]); err != nil {
				t.Fatal(err)
			}
			third, log := run()
			same(third)
			if len(saves.refs) != 2 || strings.Contains(log, notExported) {
				t.Errorf("a layer without its analysis: %d exports in all, want 2:\n%s", len(saves.refs), log)
			}

			// The kept config changed on disk: not trusted, exported again.
			p, _ := blobStore{dir: layers}.path(cfgName)
			if err := os.WriteFile(p, []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			fourth, log := run()
			same(fourth)
			if len(saves.refs) != 3 || strings.Contains(log, notExported) {
				t.Errorf("a changed config: %d exports in all, want 3:\n%s", len(saves.refs), log)
			}
			if data, err := os.ReadFile(p); err != nil || digestOf(data) != cfgName {
				t.Errorf("the changed config was not written again: %v", err)
			}
		})
	}
}

// TestSBOMIsReproducible: two scans of the same image write the same SBOM
// bytes in both formats (serial number, bom-refs, document namespace and
// time fixed by the image), dated with the image's creation time; another
// image gets another serial number.
func TestSBOMIsReproducible(t *testing.T) {
	layoutDir, _ := testImages(t)
	write := func(a *scan.Analysis, format scan.SBOMFormat) string {
		t.Helper()
		var b strings.Builder
		if err := a.Documents.WriteSBOM(t.Context(), &b, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	first := scanTarget(t, scan.Target{OCILayout: layoutDir}, nil)
	second := scanTarget(t, scan.Target{OCILayout: layoutDir}, nil)
	cf, err := layoutV1Image(t, layoutDir).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []scan.SBOMFormat{scan.FormatCycloneDX, scan.FormatSPDXJSON} {
		a, b := write(first, format), write(second, format)
		if a != b {
			t.Errorf("%s: two scans of one image wrote different SBOMs:\n%s\n---\n%s", format, a, b)
		}
		layout := map[scan.SBOMFormat]string{scan.FormatCycloneDX: "2006-01-02T15:04:05+00:00", scan.FormatSPDXJSON: time.RFC3339}[format]
		if created := cf.Created.UTC().Format(layout); cf.Created.IsZero() || !strings.Contains(a, created) {
			t.Errorf("%s: the SBOM is not dated %s (the image's creation time)", format, created)
		}
	}
	// The draw is the image's: another image, another serial number.
	other := *first
	docs := other.Documents.(trivyDocuments)
	docs.full.Metadata.ImageID = "sha256:" + strings.Repeat("0", 64)
	other.Documents = docs
	serial := func(doc string) string {
		var b struct {
			SerialNumber string `json:"serialNumber"`
		}
		if err := json.Unmarshal([]byte(doc), &b); err != nil || b.SerialNumber == "" {
			t.Fatalf("no serial number: %v", err)
		}
		return b.SerialNumber
	}
	if serial(write(first, scan.FormatCycloneDX)) == serial(write(&other, scan.FormatCycloneDX)) {
		t.Error("two images got the same CycloneDX serial number")
	}
}

// BenchmarkScanFromEngine times the scan of the test image (base image, Go
// binary) in the Docker Engine: cold, without the layer cache (exported,
// every layer analysed), and warm, with the layer cache and kept config of
// an earlier scan (nothing exported, nothing analysed). The DB is in the
// shared cache directory, downloaded before the timing.
//
//	go test ./internal/scan/trivy -run '^$' -bench ScanFromEngine -benchtime 5x
func BenchmarkScanFromEngine(b *testing.B) {
	_, engineRef := testImages(b)
	_, docker := testenv.RequireEngine(b)
	inspect, err := docker.ImageInspect(b.Context(), engineRef)
	if err != nil {
		b.Fatal(err)
	}
	target := scan.Target{EngineRef: engineRef, EngineImageID: inspect.ID}
	scanOnce := func(b *testing.B, layerCache bool) string {
		b.Helper()
		log := &testenv.Log{}
		opts := testOptions(b, log) // the shared cache dir: the DB is downloaded once
		opts.NoLayerCache = !layerCache
		scanWith(b, opts, target)
		return log.String()
	}
	scanOnce(b, true) // the DB, the layer analyses and the config, kept
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			scanOnce(b, false)
		}
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if log := scanOnce(b, true); !strings.Contains(log, "the image was not exported") {
				b.Fatalf("the warm scan exported the image:\n%s", log)
			}
		}
	})
}
