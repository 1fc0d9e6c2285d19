package trivy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

const (
	blobA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	blobB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func blobInfo(diffID string) ftypes.BlobInfo {
	return ftypes.BlobInfo{
		SchemaVersion: ftypes.BlobJSONSchemaVersion,
		DiffID:        diffID,
		OS:            ftypes.OS{Family: "alpine", Name: "3.20.3"},
		PackageInfos: []ftypes.PackageInfo{{FilePath: "lib/apk/db/installed", Packages: []ftypes.Package{
			{Name: "musl", Version: "1.2.5-r0", Digest: "sha1:0123456789abcdef0123456789abcdef01234567"},
		}}},
	}
}

func TestLayerCacheKeepsLayersForTheNextRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	first := newLayerCache(dir, &testenv.Log{})
	if err := first.PutBlob(t.Context(), blobA, blobInfo("sha256:diff-a")); err != nil {
		t.Fatal(err)
	}
	// Not a blob key: kept in memory only, never a file name.
	if err := first.PutBlob(t.Context(), "../../etc/passwd", blobInfo("x")); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != strings.Replace(blobA, ":", "-", 1)+".json" {
		t.Fatalf("cache directory holds %v, want one file for %s", files, blobA)
	}

	next := newLayerCache(dir, &testenv.Log{})
	_, missing, err := next.MissingBlobs(t.Context(), "sha256:artifact", []string{blobA, blobB})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{blobB}) || next.Hits() != 1 {
		t.Fatalf("missing %v, hits %d; want only %s missing and 1 hit", missing, next.Hits(), blobB)
	}
	got, err := next.GetBlob(t.Context(), blobA)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(blobInfo("sha256:diff-a"))
	if b, _ := json.Marshal(got); !bytes.Equal(b, want) {
		t.Errorf("read back\n%s\nwant\n%s", b, want)
	}

	// A damaged entry, or one of another schema, is analysed again.
	if err := os.WriteFile(filepath.Join(dir, strings.Replace(blobB, ":", "-", 1)+".json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := blobInfo("sha256:diff-a")
	old.SchemaVersion = ftypes.BlobJSONSchemaVersion - 1
	b, _ := json.Marshal(old)
	if err := os.WriteFile(filepath.Join(dir, strings.Replace(blobA, ":", "-", 1)+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	third := newLayerCache(dir, &testenv.Log{})
	if _, missing, _ := third.MissingBlobs(t.Context(), "sha256:artifact", []string{blobA, blobB}); len(missing) != 2 {
		t.Errorf("missing %v, want both layers analysed again", missing)
	}
}

func TestLayerCacheMemoryOnly(t *testing.T) {
	c := newLayerCache("", &testenv.Log{})
	if err := c.PutBlob(t.Context(), blobA, blobInfo("d")); err != nil {
		t.Fatal(err)
	}
	if _, missing, _ := c.MissingBlobs(t.Context(), "a", []string{blobA}); len(missing) != 0 {
		t.Errorf("missing %v", missing)
	}
	if err := c.prune(0, time.Now()); err != nil {
		t.Error(err)
	}
}

func TestLayerCacheUnwritableWarnsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	log := &testenv.Log{}
	c := newLayerCache(filepath.Join(file, "layers"), log) // under a file: cannot be made
	for _, id := range []string{blobA, blobB} {
		if err := c.PutBlob(t.Context(), id, blobInfo("d")); err != nil {
			t.Fatalf("a cache that cannot be written must not fail the scan: %v", err)
		}
	}
	if n := strings.Count(log.String(), "could not keep the layer analysis"); n != 1 {
		t.Errorf("want one warning, got %d:\n%s", n, log)
	}
	if _, missing, _ := c.MissingBlobs(t.Context(), "a", []string{blobA, blobB}); len(missing) != 0 {
		t.Errorf("the analyses must still be in memory, missing %v", missing)
	}
}

func TestLayerCachePrunesUnusedEntries(t *testing.T) {
	dir := t.TempDir()
	c := newLayerCache(dir, &testenv.Log{})
	for _, id := range []string{blobA, blobB} {
		if err := c.PutBlob(t.Context(), id, blobInfo("d")); err != nil {
			t.Fatal(err)
		}
	}
	leftover := filepath.Join(dir, ".layer-123")
	if err := os.WriteFile(leftover, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * LayerCacheMaxAge)
	for _, f := range []string{filepath.Join(dir, strings.Replace(blobA, ":", "-", 1)+".json"), filepath.Join(dir, strings.Replace(blobB, ":", "-", 1)+".json"), leftover} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// Reading blob A marks it used.
	if _, _, err := newLayerCache(dir, &testenv.Log{}).MissingBlobs(t.Context(), "a", []string{blobA}); err != nil {
		t.Fatal(err)
	}
	if err := c.prune(LayerCacheMaxAge, time.Now()); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{strings.Replace(blobA, ":", "-", 1) + ".json"}; !slices.Equal(left, want) {
		t.Errorf("after pruning: %v, want %v", left, want)
	}
}

// TestLayerCache scans the test image three times on one cache directory:
// the first run analyses every layer, the later ones — from the OCI layout
// and from the engine, which hold the same layers — read them back, and
// every document is the same, SBOM hashes included.
func TestLayerCache(t *testing.T) {
	layoutDir, engineRef := testImages(t)
	cacheDir := t.TempDir()
	type run struct {
		log            string
		findings, pkgs []string
		hashes         int
	}
	runScan := func(img pipeline.BuiltImage) run {
		t.Helper()
		log := &testenv.Log{}
		opts := testOptions(t, log)
		opts.CacheDir = cacheDir
		opts.NoLayerCache = false
		opts.FailOn = scan.FailOnNone
		opts.JSONFile = "scan.json"
		st := stateWith(img)
		if err := newStage(t, opts).Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		sbom, err := os.ReadFile(st.Scan.SBOMPath)
		if err != nil {
			t.Fatal(err)
		}
		vuln, err := os.ReadFile(filepath.Join(opts.Workspace, "scan.json"))
		if err != nil {
			t.Fatal(err)
		}
		return run{log: log.String(), findings: trivyJSON(t, vuln), pkgs: cdxPackages(t, sbom), hashes: strings.Count(string(sbom), `"hashes"`)}
	}

	first := runScan(pipeline.BuiltImage{OCILayout: layoutDir})
	if strings.Contains(first.log, "layer cache") || !strings.Contains(first.log, "analysed (") {
		t.Fatalf("the first run must analyse every layer:\n%s", first.log)
	}
	entries, _ := filepath.Glob(filepath.Join(cacheDir, filepath.FromSlash(LayerCacheSubdir), "sha256-*.json"))
	if len(entries) == 0 {
		t.Fatalf("no layer analysis kept under %s", cacheDir)
	}
	if first.hashes == 0 || len(first.findings) == 0 {
		t.Fatalf("the first run found %d findings and %d hashes", len(first.findings), first.hashes)
	}
	for _, tc := range []struct {
		name string
		img  pipeline.BuiltImage
	}{
		{"OCI layout again", pipeline.BuiltImage{OCILayout: layoutDir}},
		{"engine, same layers", pipeline.BuiltImage{EngineRef: engineRef}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			again := runScan(tc.img)
			if !strings.Contains(again.log, fmt.Sprintf("analysing 0 of %d layers (%d analysed by an earlier run", len(entries), len(entries))) || strings.Contains(again.log, "analysed (") {
				t.Errorf("want every layer read from the layer cache:\n%s", again.log)
			}
			if !slices.Equal(again.findings, first.findings) || !slices.Equal(again.pkgs, first.pkgs) || again.hashes != first.hashes {
				t.Errorf("from the cache: findings %v, packages %v, %d hashes; first run: %v, %v, %d", again.findings, again.pkgs, again.hashes, first.findings, first.pkgs, first.hashes)
			}
		})
	}
}
