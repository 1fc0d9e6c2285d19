//go:build bench

// Built only with -tags bench (scripts/bench-scan), so that the comparison
// never shows up as a skipped test in the ordinary runs.

package trivy

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dockerimage "github.com/docker/docker/api/types/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/image-pipeline/internal/enginesave"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// BenchOutVar names the file TestBenchScanVsCLI writes its markdown table
// to; the test runs only when it is set (scripts/bench-scan sets it).
const BenchOutVar = "IMAGE_PIPELINE_BENCH_OUT"

// TestBenchScanVsCLI times the scan stage (one analysis: JSON, SARIF and
// CycloneDX SBOM) against the Trivy CLI run twice as users do today (JSON
// vulnerability report, then CycloneDX SBOM), on the same image and DB.
// The image is the test image plus a layer with Go's toolchain (binaries
// and sources, about 250 MB and 11,000 files) so that the analysis, not
// process start-up, dominates.
func TestBenchScanVsCLI(t *testing.T) {
	out, rounds := benchSettings(t)
	layoutDir, _ := testImages(t)
	env, docker := testenv.RequireEngine(t)
	repo := fixtureDBRepo(t)
	bin := trivyCLI(t)
	benchLayout, tag := benchImage(t)

	cacheDir := warmCache(t, layoutDir)
	cliCache := t.TempDir()
	runCLI(t, bin, "--cache-dir", cliCache, "--db-repository", repo, "--scanners", "vuln", "--format", "json", "--input", layoutDir)

	type source struct {
		name    string
		img     pipeline.BuiltImage
		cliArgs []string
	}
	sources := []source{
		{"Docker Engine (classic store)", pipeline.BuiltImage{EngineRef: tag}, []string{"--image-src", "docker", "--docker-host", env.DockerHost, tag}},
		{"OCI layout", pipeline.BuiltImage{OCILayout: benchLayout}, []string{"--input", benchLayout}},
	}
	var rows []string
	for _, src := range sources {
		var ours, cliFS, cliMem, cliVuln, cliSBOM, export []time.Duration
		for round := range rounds {
			if src.img.EngineRef != "" {
				// What every reader of the classic store pays first: the
				// Engine's own export, read to the end and dropped.
				start := time.Now()
				rc, err := docker.ImageSave(t.Context(), []string{tag})
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				export = append(export, time.Since(start))
			}
			log := &testenv.Log{}
			opts := testOptions(t, log)
			opts.CacheDir = cacheDir
			opts.DockerHost = env.DockerHost
			opts.JSONFile, opts.SARIFFile = "trivy.json", "trivy.sarif"
			start := time.Now()
			if err := newStage(t, opts).Run(t.Context(), stateWith(src.img)); err != nil {
				t.Fatal(err)
			}
			ours = append(ours, time.Since(start))
			if round == 0 {
				t.Logf("%s, embedded scan log:\n%s", src.name, log)
			}

			work := t.TempDir()
			twice := func(extra ...string) (total, vuln, sbom time.Duration) {
				common := slices.Concat([]string{"--cache-dir", cliCache, "--skip-db-update"}, extra)
				start := time.Now()
				runCLI(t, bin, slices.Concat(common, []string{"--scanners", "vuln", "--format", "json", "--output", filepath.Join(work, "trivy.json")}, src.cliArgs)...)
				vuln = time.Since(start)
				runCLI(t, bin, slices.Concat(common, []string{"--format", "cyclonedx", "--output", filepath.Join(work, "sbom.cdx.json")}, src.cliArgs)...)
				total = time.Since(start)
				return total, vuln, total - vuln
			}
			// Trivy's default file-system cache, emptied first: the second
			// run reuses the first one's layer analysis.
			if err := os.RemoveAll(filepath.Join(cliCache, "fanal")); err != nil {
				t.Fatal(err)
			}
			total, vuln, sbom := twice()
			cliFS, cliVuln, cliSBOM = append(cliFS, total), append(cliVuln, vuln), append(cliSBOM, sbom)
			// No cache shared between the two runs.
			total, _, _ = twice("--cache-backend", "memory")
			cliMem = append(cliMem, total)
		}
		o, f, m := median(ours), median(cliFS), median(cliMem)
		exportCell := "—"
		if len(export) > 0 {
			e := median(export)
			exportCell = fmt.Sprintf("%s (%.2f)", secs(e), e.Seconds()/f.Seconds())
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s (%s + %s) | %.2f | %s | %.2f | %s |", src.name, secs(o), secs(f), secs(median(cliVuln)), secs(median(cliSBOM)), o.Seconds()/f.Seconds(), secs(m), o.Seconds()/m.Seconds(), exportCell))
		t.Logf("%s: embedded %v; CLI twice, fs cache %v (vulnerability runs %v, SBOM runs %v); CLI twice, memory cache %v; engine export alone %v", src.name, ours, cliFS, cliVuln, cliSBOM, cliMem, export)
	}
	table := strings.Join(append([]string{
		"| image source | embedded, one analysis | Trivy CLI twice, default fs cache (vulnerability run + SBOM run) | ratio | Trivy CLI twice, --cache-backend memory | ratio | the Engine's export alone (its ratio to the fs-cache pair) |",
		"|---|---:|---:|---:|---:|---:|---:|",
	}, rows...), "\n") + "\n"
	fmt.Fprintf(os.Stderr, "\n%s\n", table)
	if err := appendFile(out, table); err != nil {
		t.Fatal(err)
	}
}

// benchImage is the bench image — the test image plus a layer with Go's
// toolchain (binaries and sources) — in an OCI layout and under a tag in
// the engine, removed when the test ends.
func benchImage(t *testing.T) (layoutDir, engineTag string) {
	t.Helper()
	testLayout, _ := testImages(t)
	env, docker := testenv.RequireEngine(t)
	base := layoutV1Image(t, testLayout)
	gorootOut, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(gorootOut))
	layer, err := dirLayer(t, goroot, "usr/local/go", []string{"bin", "pkg/tool", "src"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	layoutDir = filepath.Join(t.TempDir(), "bench-layout")
	p, err := layout.Write(layoutDir, empty.Index)
	if err == nil {
		err = p.AppendImage(img)
	}
	if err != nil {
		t.Fatal(err)
	}
	engineTag = "image-pipeline-scan-bench/" + filepath.Base(env.UniqueRepo(t, "x", "bench")) + ":latest"
	if _, err := testenv.LoadImage(t.Context(), docker, engineTag, img); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = docker.ImageRemove(ctx, engineTag, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	return layoutDir, engineTag
}

// TestBenchEmbeddedOnly runs only the embedded scan of the bench image,
// IMAGE_PIPELINE_BENCH_ROUNDS times per source, for profiling (and, with
// IMAGE_PIPELINE_BENCH_LAYER_CACHE=1, to time rescans from the layer cache):
//
//	IMAGE_PIPELINE_BENCH_OUT=/dev/null go test -tags bench -run TestBenchEmbeddedOnly -cpuprofile cpu.out ./internal/scan/trivy/
func TestBenchEmbeddedOnly(t *testing.T) {
	_, rounds := benchSettings(t)
	testLayout, _ := testImages(t)
	env, _ := testenv.RequireEngine(t)
	benchLayout, tag := benchImage(t)
	cacheDir := warmCache(t, testLayout)
	// IMAGE_PIPELINE_BENCH_LAYER_CACHE=1 keeps the layer analyses: the first
	// round of each source fills the cache, the next ones read it.
	layerCache := os.Getenv("IMAGE_PIPELINE_BENCH_LAYER_CACHE") == "1"
	for _, src := range []pipeline.BuiltImage{{EngineRef: tag}, {OCILayout: benchLayout}} {
		var times []time.Duration
		for range rounds {
			log := &testenv.Log{}
			opts := testOptions(t, log)
			opts.CacheDir = cacheDir
			opts.DockerHost = env.DockerHost
			opts.NoLayerCache = !layerCache
			start := time.Now()
			if err := newStage(t, opts).Run(t.Context(), stateWith(src)); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
			t.Logf("%s", log)
		}
		t.Logf("%s: %v (median %v)", scan.TargetOf(&src).Name(), times, median(times))
	}
}

// TestBenchScanThenPush times the push stage of the bench image from the
// engine after the scan, when it reads the export the scan kept (what a run
// does) and when it exports the image again (what it did before the two
// stages shared one export). It writes a markdown table to BenchOutVar.
func TestBenchScanThenPush(t *testing.T) {
	out, rounds := benchSettings(t)
	testLayout, _ := testImages(t)
	env, docker := testenv.RequireEngine(t)
	_, tag := benchImage(t)
	inspect, err := docker.ImageInspect(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	built := pipeline.BuiltImage{EngineRef: tag, EngineImageID: inspect.ID}
	cacheDir := warmCache(t, testLayout)
	push := func(saves *enginesave.Spool, repo string) time.Duration {
		t.Helper()
		p, err := registry.New(registry.Options{Transport: env.Transport(), TempDir: t.TempDir()}, saves)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := p.Push(t.Context(), registry.Request{Image: built, Tags: []string{repo + ":1"}}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	var scans, shared, again []time.Duration
	for range rounds {
		saves := enginesave.New(docker, t.TempDir())
		opts := testOptions(t, &testenv.Log{})
		opts.CacheDir = cacheDir
		opts.EngineSaves = saves
		start := time.Now()
		if err := newStage(t, opts).Run(t.Context(), stateWith(built)); err != nil {
			t.Fatal(err)
		}
		scans = append(scans, time.Since(start))
		shared = append(shared, push(saves, env.UniqueRepo(t, env.Registry, "bench-shared")))
		saves.Close()
		fresh := enginesave.New(docker, t.TempDir())
		again = append(again, push(fresh, env.UniqueRepo(t, env.Registry, "bench-again")))
		fresh.Close()
	}
	t.Logf("scan %v; push reading the scan's export %v; push exporting again %v", scans, shared, again)
	sc, sh, ag := median(scans), median(shared), median(again)
	table := fmt.Sprintf("| scan | push, reading the scan's export | push, exporting again | scan + push, shared | scan + push, exporting twice |\n|---:|---:|---:|---:|---:|\n| %s | %s | %s | %s | %s |\n",
		secs(sc), secs(sh), secs(ag), secs(sc+sh), secs(sc+ag))
	fmt.Fprintf(os.Stderr, "\n%s\n", table)
	if err := appendFile(out, table); err != nil {
		t.Fatal(err)
	}
}

// benchSettings skips the test unless BenchOutVar is set, and returns the
// output file and the rounds (IMAGE_PIPELINE_BENCH_ROUNDS, default 3).
func benchSettings(t *testing.T) (out string, rounds int) {
	t.Helper()
	out = os.Getenv(BenchOutVar)
	if out == "" {
		t.Skip("set " + BenchOutVar + " (scripts/bench-scan does) to run the benchmark")
	}
	rounds = 3
	if n, err := strconv.Atoi(os.Getenv("IMAGE_PIPELINE_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	return out, rounds
}

// warmCache is a Trivy cache directory holding the fixture DB, downloaded
// by a scan of the test image, so that no timed run downloads.
func warmCache(t *testing.T, testLayout string) string {
	t.Helper()
	dir := t.TempDir()
	warm := testOptions(t, &testenv.Log{})
	warm.CacheDir = dir
	if err := newStage(t, warm).Run(t.Context(), stateWith(pipeline.BuiltImage{OCILayout: testLayout})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// appendFile adds a table to the bench output file, after a blank line.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// dirLayer is a layer holding the given subdirectories of root under prefix.
func dirLayer(t *testing.T, root, prefix string, subdirs []string) (v1.Layer, error) {
	t.Helper()
	tmp, err := os.Create(filepath.Join(t.TempDir(), "layer.tar"))
	if err != nil {
		return nil, err
	}
	defer tmp.Close()
	tw := tar.NewWriter(tmp)
	for _, sub := range subdirs {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() && !info.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			h, err := tar.FileInfoHeader(info, "")
			if err != nil {
				return err
			}
			h.Name = filepath.ToSlash(filepath.Join(prefix, rel))
			if info.IsDir() {
				h.Name += "/"
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if info.IsDir() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(tmp.Name())
}
