package trivy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dockerimage "github.com/docker/docker/api/types/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// The fixture DB (../testdata/db) against the test image (testdata/rootfs):
// every finding of an unfiltered scan, as "ID package installed-version".
var allFindings = []string{
	"CVE-2021-23337 lodash 4.17.20",               // HIGH, npm, fixed in 4.17.21
	"CVE-2023-42363 busybox 1.36.1-r28",           // MEDIUM, alpine, fixed in 1.36.1-r29
	"CVE-2024-5535 libcrypto3 3.3.0-r2",           // CRITICAL, alpine (origin openssl)
	"CVE-2024-5535 libssl3 3.3.0-r2",              // CRITICAL, alpine (origin openssl)
	"CVE-2025-26519 musl 1.2.5-r0",                // HIGH, alpine
	"CVE-2099-0001 minimist 1.2.5",                // LOW, npm, no fix
	"CVE-2099-0002 github.com/google/uuid v1.6.0", // MEDIUM, Go binary, fixed in 1.6.1
}

// allPackages is what the SBOM lists: Alpine packages, npm packages, and
// the Go binary's main module (no version), dependency and standard library
// (the version of the Go that built it).
func allPackages() []string {
	pkgs := []string{
		"busybox 1.36.1-r28", "example.com/gobin ", "github.com/google/uuid v1.6.0",
		"libcrypto3 3.3.0-r2", "libssl3 3.3.0-r2", "lodash 4.17.20", "minimist 1.2.5",
		"musl 1.2.5-r0", "stdlib " + shared.stdlib, "zlib 1.3.1-r1",
	}
	slices.Sort(pkgs)
	return pkgs
}

var libraryPackages = []string{"example.com/gobin", "github.com/google/uuid", "lodash", "minimist", "stdlib"}

func without(all []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool {
		return slices.ContainsFunc(drop, func(d string) bool { return strings.HasPrefix(s, d) })
	})
}

// testOptions for the tests: the fixture DB, a cache shared by the tests of
// this binary, a fresh workspace. Everything else is the zero value, i.e.
// the inputs' defaults.
func testOptions(t testing.TB, log scan.Logger) scan.Options {
	t.Helper()
	return scan.Options{
		Enabled:        true,
		DBRepositories: []string{fixtureDBRepo(t)},
		CacheDir:       filepath.Join(shared.root, "cache"),
		NoLayerCache:   true, // every test analyses; TestLayerCache reuses
		Workspace:      t.TempDir(),
		Log:            log,
	}
}

// newStage is the scan stage over this package's scanner, as the app
// builds it.
func newStage(t testing.TB, opts scan.Options) *scan.Stage {
	t.Helper()
	sc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return scan.NewStage(opts, sc)
}

// recorder is a Scanner that keeps the last analysis of the one it wraps,
// for the tests that check it beside what the stage made of it.
type recorder struct {
	scan.Scanner
	last *scan.Analysis
}

func (r *recorder) Scan(ctx context.Context, t scan.Target) (*scan.Analysis, error) {
	a, err := r.Scanner.Scan(ctx, t)
	r.last = a
	return a, err
}

// stateWith is a State as the build stage leaves it.
func stateWith(img pipeline.BuiltImage) *pipeline.State {
	img.Role = pipeline.RoleFinal
	return &pipeline.State{Build: &pipeline.BuildOutcome{Driver: "test", Images: []pipeline.BuiltImage{img}}}
}

// TestStageOnTestImage runs the scan stage over this scanner on the test
// image, from the OCI layout and from the engine, under each option that
// changes what is reported, and checks the exact findings, the counts, the
// gate and the files written.
func TestStageOnTestImage(t *testing.T) {
	layoutDir, engineRef := testImages(t)
	_, docker := testenv.RequireEngine(t)
	inspect, err := docker.ImageInspect(t.Context(), engineRef)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		image      pipeline.BuiltImage
		opts       func(o *scan.Options)
		ignoreFile string // name and content written to the workspace
		ignoreBody string
		want       []string
		wantCounts map[string]int
		wantPass   bool
		wantReason string
		wantPkgs   func() []string
	}{
		{
			name: "OCI layout, defaults", image: pipeline.BuiltImage{OCILayout: layoutDir},
			want:       allFindings,
			wantCounts: map[string]int{"CRITICAL": 2, "HIGH": 2, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0},
			wantReason: "2 vulnerabilities (2 critical) at or above fail-on critical",
			wantPkgs:   allPackages,
		},
		{
			name: "engine, defaults", image: pipeline.BuiltImage{EngineRef: engineRef, EngineImageID: inspect.ID},
			want:       allFindings,
			wantCounts: map[string]int{"CRITICAL": 2, "HIGH": 2, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0},
			wantReason: "2 vulnerabilities (2 critical) at or above fail-on critical",
			wantPkgs:   allPackages,
		},
		{
			name: "fail-on none never closes the gate", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.FailOn = "none" },
			want:       allFindings,
			wantPass:   true,
			wantReason: "7 vulnerabilities, fail-on is none",
			wantPkgs:   allPackages,
		},
		{
			name: "fail-on medium counts everything from medium up", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.FailOn = "Medium" },
			want:       allFindings,
			wantReason: "6 vulnerabilities (2 critical, 2 high, 2 medium) at or above fail-on medium",
			wantPkgs:   allPackages,
		},
		{
			name: ".trivyignore drops the critical finding and opens the gate", image: pipeline.BuiltImage{OCILayout: layoutDir},
			ignoreFile: ".trivyignore", ignoreBody: "# accepted until the base image moves\nCVE-2024-5535\n",
			want:       without(allFindings, "CVE-2024-5535"),
			wantCounts: map[string]int{"CRITICAL": 0, "HIGH": 2, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0},
			wantPass:   true,
			wantReason: "no vulnerability at or above fail-on critical",
			wantPkgs:   allPackages,
		},
		{
			name: ".trivyignore.yaml named by trivyignores", image: pipeline.BuiltImage{EngineRef: engineRef},
			opts:       func(o *scan.Options) { o.IgnoreFiles = []string{"policy/.trivyignore.yaml"}; o.FailOn = "high" },
			ignoreFile: "policy/.trivyignore.yaml", ignoreBody: "vulnerabilities:\n  - id: CVE-2021-23337\n    statement: lodash templates are not used\n",
			want:       without(allFindings, "CVE-2021-23337"),
			wantReason: "3 vulnerabilities (2 critical, 1 high) at or above fail-on high",
			wantPkgs:   allPackages,
		},
		{
			name: "severity HIGH,CRITICAL and ignore-unfixed", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.Severities = []string{"HIGH", "critical"}; o.IgnoreUnfixed = true },
			want:       without(allFindings, "CVE-2023-42363", "CVE-2099-0001", "CVE-2099-0002"),
			wantCounts: map[string]int{"CRITICAL": 2, "HIGH": 2, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0},
			wantReason: "2 vulnerabilities (2 critical) at or above fail-on critical",
			wantPkgs:   allPackages,
		},
		{
			name: "ignore-unfixed drops the finding without a fix", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.IgnoreUnfixed = true },
			want:       without(allFindings, "CVE-2099-0001"),
			wantReason: "2 vulnerabilities (2 critical) at or above fail-on critical",
			wantPkgs:   allPackages,
		},
		{
			name: "pkg-types os", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.PkgTypes = []string{"os"} },
			want:       without(allFindings, "CVE-2021-23337", "CVE-2099-0001", "CVE-2099-0002"),
			wantReason: "2 vulnerabilities (2 critical) at or above fail-on critical",
			wantPkgs:   func() []string { return without(allPackages(), libraryPackages...) },
		},
		{
			name: "pkg-types library", image: pipeline.BuiltImage{OCILayout: layoutDir},
			opts:       func(o *scan.Options) { o.PkgTypes = []string{"library"}; o.FailOn = "high" },
			want:       []string{"CVE-2021-23337 lodash 4.17.20", "CVE-2099-0001 minimist 1.2.5", "CVE-2099-0002 github.com/google/uuid v1.6.0"},
			wantReason: "1 vulnerability (1 high) at or above fail-on high",
			wantPkgs: func() []string {
				return slices.DeleteFunc(allPackages(), func(p string) bool {
					return !slices.ContainsFunc(libraryPackages, func(l string) bool { return strings.HasPrefix(p, l) })
				})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t, &testenv.Log{})
			opts.JSONFile = "reports/trivy.json"
			opts.SARIFFile = "reports/trivy.sarif"
			if tc.opts != nil {
				tc.opts(&opts)
			}
			if tc.ignoreFile != "" {
				p := filepath.Join(opts.Workspace, tc.ignoreFile)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(tc.ignoreBody), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{Scanner: sc}
			stage := scan.NewStage(opts, rec)
			st := stateWith(tc.image)
			if r := stage.SkipReason(st); r != "" {
				t.Fatalf("stage skipped: %s", r)
			}
			if err := stage.Run(t.Context(), st); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := keysOf(rec.last.Findings); !slices.Equal(got, tc.want) {
				t.Errorf("findings\n got %q\nwant %q", got, tc.want)
			}
			if got, want := packagesOf(rec.last.Packages), tc.wantPkgs(); !slices.Equal(got, want) {
				t.Errorf("packages\n got %q\nwant %q", got, want)
			}
			out := st.Scan
			if tc.wantCounts != nil {
				for sev, n := range tc.wantCounts {
					if out.Counts[sev] != n {
						t.Errorf("Counts[%s] = %d, want %d (all: %v)", sev, out.Counts[sev], n, out.Counts)
					}
				}
			}
			if out.Passed != tc.wantPass || st.GateFailed() == tc.wantPass {
				t.Errorf("Passed = %v, GateFailed = %v, want passed %v", out.Passed, st.GateFailed(), tc.wantPass)
			}
			if len(st.Gates) != 1 || st.Gates[0].Name != "scan" || st.Gates[0].Reason != tc.wantReason {
				t.Errorf("gates %+v, want one scan gate with reason %q", st.Gates, tc.wantReason)
			}
			wantSBOM := filepath.Join(opts.Workspace, "image-pipeline-reports", "sbom.cdx.json")
			for _, p := range []string{out.JSONPath, out.SARIFPath, out.SBOMPath} {
				if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
					t.Errorf("report %q not written: %v", p, err)
				}
			}
			if out.SBOMPath != wantSBOM || out.SBOMFormat != string(scan.FormatCycloneDX) {
				t.Errorf("SBOM %s (%s), want %s (cyclonedx)", out.SBOMPath, out.SBOMFormat, wantSBOM)
			}
			b, err := os.ReadFile(out.JSONPath)
			if err != nil {
				t.Fatal(err)
			}
			if got := trivyJSON(t, b); !slices.Equal(got, tc.want) {
				t.Errorf("JSON report findings\n got %q\nwant %q", got, tc.want)
			}
			sarif, err := os.ReadFile(out.SARIFPath)
			if err != nil {
				t.Fatal(err)
			}
			var log struct {
				Version string `json:"version"`
				Runs    []struct {
					Results []struct {
						RuleID string `json:"ruleId"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(sarif, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != len(tc.want) {
				t.Errorf("SARIF: version %q, %d runs, error %v; want 2.1.0 with one run of %d results", log.Version, len(log.Runs), err, len(tc.want))
			}
			if len(st.Sections) != 1 || !strings.Contains(st.Sections[0].Markdown, "| critical | high |") {
				t.Errorf("summary section missing: %+v", st.Sections)
			}
		})
	}
}

// TestEngineImageOnEveryEngine scans the test image out of each engine —
// Debian's 20.10, Docker 29 with the containerd image store (whose save is
// an OCI layout with the image named by its manifest), Docker 29 with the
// classic store — and requires the same findings and packages as from the
// OCI layout: the save format does not change what is reported.
func TestEngineImageOnEveryEngine(t *testing.T) {
	layoutDir, _ := testImages(t)
	env, engines := testenv.RequireEngines(t)
	img := layoutTestImage(t, layoutDir)
	wantCfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			tag := "image-pipeline-scan-test/" + filepath.Base(env.UniqueRepo(t, "x", "every-engine")) + ":latest"
			id, err := testenv.LoadImage(t.Context(), en.Client, tag, img)
			if err != nil {
				t.Fatalf("load the test image into %s: %v", en.Name, err)
			}
			t.Cleanup(func() {
				_, _ = en.Client.ImageRemove(context.WithoutCancel(t.Context()), tag, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
			})
			if en.ContainerdStore == (id == wantCfg.String()) {
				t.Errorf("%s names the image %s (config %s); want the config digest on a classic store only", en.Name, id, wantCfg)
			}
			opts := testOptions(t, &testenv.Log{})
			opts.DockerHost = en.Host
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{Scanner: sc}
			st := stateWith(pipeline.BuiltImage{EngineRef: tag, EngineImageID: id})
			if err := scan.NewStage(opts, rec).Run(t.Context(), st); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := keysOf(rec.last.Findings); !slices.Equal(got, allFindings) {
				t.Errorf("findings\n got %q\nwant %q", got, allFindings)
			}
			if got, want := packagesOf(rec.last.Packages), allPackages(); !slices.Equal(got, want) {
				t.Errorf("packages\n got %q\nwant %q", got, want)
			}
		})
	}
}

// layoutTestImage is the one image of the test OCI layout.
func layoutTestImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("the test layout holds %v (%v), want one image", m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
