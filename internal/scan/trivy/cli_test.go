package trivy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// trivyCLI is the Trivy CLI of the pinned version, built into the cache
// directory by scripts/tools-trivy. A cold build takes 10 to 30 minutes on
// two cores, longer than go test's default timeout, so the test does not
// build it: like a missing service, a missing CLI skips the test, or fails
// it under IMAGE_PIPELINE_REQUIRE_SERVICES=1.
func trivyCLI(t *testing.T) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "tools-trivy"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), "bash", script, "--path").Output()
	if err != nil {
		t.Fatalf("%s --path: %v", script, err)
	}
	return testenv.RequireCLI(t, "Trivy CLI", strings.TrimSpace(string(out)), "bash scripts/tools-trivy")
}

// runCLI runs the Trivy CLI with its own cache dir, without version checks or telemetry.
func runCLI(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	args = append([]string{"image", "--quiet", "--skip-version-check", "--disable-telemetry"}, args...)
	cmd := exec.CommandContext(t.Context(), bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("trivy %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestSideBySideWithTrivyCLI scans the same image with the same DB (both
// download it from the test registry) with the embedded scanner, options at
// their zero value, and with the Trivy CLI of the same version: the
// vulnerabilities (ID, package, installed version) and the SBOM's packages
// must be the same, from the OCI layout and from the engine.
func TestSideBySideWithTrivyCLI(t *testing.T) {
	layoutDir, engineRef := testImages(t)
	env, _ := testenv.RequireEngine(t)
	repo := fixtureDBRepo(t)
	bin := trivyCLI(t)
	cliCache := t.TempDir()

	tests := []struct {
		name    string
		target  scan.Target
		cliArgs []string
	}{
		{"OCI layout", scan.Target{OCILayout: layoutDir}, []string{"--input", layoutDir}},
		{"engine", scan.Target{EngineRef: engineRef}, []string{"--image-src", "docker", "--docker-host", env.DockerHost, engineRef}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t, &testenv.Log{})
			opts.DockerHost = env.DockerHost
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			a, err := sc.Scan(t.Context(), tc.target)
			if err != nil {
				t.Fatal(err)
			}
			ours := keysOf(a.Findings)

			common := []string{"--cache-dir", cliCache, "--db-repository", repo}
			cliJSON := runCLI(t, bin, slices.Concat(common, []string{"--scanners", "vuln", "--format", "json"}, tc.cliArgs)...)
			theirs := trivyJSON(t, cliJSON)
			if !slices.Equal(ours, theirs) {
				t.Errorf("vulnerabilities differ\nembedded %q\n     CLI %q", ours, theirs)
			}
			if !slices.Equal(ours, allFindings) {
				t.Errorf("embedded findings %q, want %q", ours, allFindings)
			}

			cliBOM := runCLI(t, bin, slices.Concat(common, []string{"--format", "cyclonedx"}, tc.cliArgs)...)
			var ourBOM bytes.Buffer
			if err := a.Documents.WriteSBOM(t.Context(), &ourBOM, scan.FormatCycloneDX); err != nil {
				t.Fatal(err)
			}
			if o, c := cdxPackages(t, ourBOM.Bytes()), cdxPackages(t, cliBOM); !slices.Equal(o, c) || !slices.Equal(o, allPackages()) {
				t.Errorf("SBOM packages differ\nembedded %q\n     CLI %q\n    want %q", o, c, allPackages())
			}
			t.Logf("%d vulnerabilities and %d packages, the same as trivy %s", len(ours), len(allPackages()), filepath.Base(filepath.Dir(filepath.Dir(bin))))
		})
	}
}

// TestJavaArchivesSideBySideWithTrivyCLI: the JAR image, with the same
// fixture Java DB (both download it from the test registry), gives the
// embedded scanner and the Trivy CLI the same vulnerabilities and the same
// SBOM packages.
func TestJavaArchivesSideBySideWithTrivyCLI(t *testing.T) {
	javaRepo, jarLayout := javaFixtures(t)
	repo := fixtureDBRepo(t)
	bin := trivyCLI(t)
	opts := testOptions(t, &testenv.Log{})
	opts.CacheDir = t.TempDir()
	opts.JavaDBRepositories = []string{javaRepo}
	sc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sc.Scan(t.Context(), scan.Target{OCILayout: jarLayout})
	if err != nil {
		t.Fatal(err)
	}
	ours := keysOf(a.Findings)
	common := []string{"--cache-dir", t.TempDir(), "--db-repository", repo, "--java-db-repository", javaRepo, "--input", jarLayout}
	theirs := trivyJSON(t, runCLI(t, bin, slices.Concat(common, []string{"--scanners", "vuln", "--format", "json"})...))
	if !slices.Equal(ours, theirs) || !slices.Equal(ours, sorted(javaFindings)) {
		t.Errorf("vulnerabilities\nembedded %q\n     CLI %q\n    want %q", ours, theirs, sorted(javaFindings))
	}
	var ourBOM bytes.Buffer
	if err := a.Documents.WriteSBOM(t.Context(), &ourBOM, scan.FormatCycloneDX); err != nil {
		t.Fatal(err)
	}
	cliBOM := runCLI(t, bin, slices.Concat(common, []string{"--format", "cyclonedx"})...)
	if o, c := cdxPackages(t, ourBOM.Bytes()), cdxPackages(t, cliBOM); !slices.Equal(o, c) || len(o) != 3 {
		t.Errorf("SBOM packages differ\nembedded %q\n     CLI %q", o, c)
	}
}

// TestSBOMValidatesAgainstSchemas writes both SBOM formats of one analysis
// and validates them: CycloneDX against the 1.6 schema, SPDX against 2.3.
func TestSBOMValidatesAgainstSchemas(t *testing.T) {
	layoutDir, _ := testImages(t)
	sc, err := New(testOptions(t, &testenv.Log{}))
	if err != nil {
		t.Fatal(err)
	}
	a, err := sc.Scan(t.Context(), scan.Target{OCILayout: layoutDir})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format scan.SBOMFormat
		schema string
		files  map[string]string // resource URL → testdata/schema file
	}{
		{scan.FormatCycloneDX, "http://cyclonedx.org/schema/bom-1.6.schema.json", map[string]string{
			"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
			"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
			"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
		}},
		{scan.FormatSPDXJSON, "http://spdx.org/rdf/terms/2.3", map[string]string{
			"http://spdx.org/rdf/terms/2.3": "spdx-2.3.schema.json",
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			c := jsonschema.NewCompiler()
			c.AssertFormat()
			for url, file := range tc.files {
				f, err := os.Open(filepath.Join("testdata", "schema", file))
				if err != nil {
					t.Fatal(err)
				}
				doc, err := jsonschema.UnmarshalJSON(f)
				f.Close()
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if err := c.AddResource(url, doc); err != nil {
					t.Fatal(err)
				}
			}
			sch, err := c.Compile(tc.schema)
			if err != nil {
				t.Fatalf("compile %s: %v", tc.schema, err)
			}
			var buf bytes.Buffer
			if err := a.Documents.WriteSBOM(t.Context(), &buf, tc.format); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Fatalf("the %s SBOM does not validate: %v\n%s", tc.format, err, buf.String())
			}
			if got := sbomPackages(t, tc.format, buf.Bytes()); !slices.Equal(got, allPackages()) {
				t.Errorf("SBOM packages %q, want %q", got, allPackages())
			}
		})
	}
}

func sbomPackages(t *testing.T, format scan.SBOMFormat, b []byte) []string {
	t.Helper()
	if format == scan.FormatCycloneDX {
		return cdxPackages(t, b)
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name         string `json:"name"`
			VersionInfo  string `json:"versionInfo"`
			ExternalRefs []struct {
				ReferenceType string `json:"referenceType"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q, want SPDX-2.3", doc.SPDXVersion)
	}
	var out []string
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			if r.ReferenceType == "purl" {
				out = append(out, p.Name+" "+p.VersionInfo)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// pushStage stands in for the push stage: like it, it runs only when no gate
// closed, and it writes to the real test registry.
type pushStage struct{ ref string }

func (pushStage) Name() string { return "push" }
func (pushStage) SkipReason(st *pipeline.State) string {
	if st.GateFailed() {
		return st.ClosedGates()
	}
	return ""
}
func (p pushStage) Run(ctx context.Context, st *pipeline.State) error {
	ref, err := name.ParseReference(p.ref)
	if err != nil {
		return err
	}
	img, err := random.Image(64, 1)
	if err != nil {
		return err
	}
	st.Push = &pipeline.PushOutcome{Pushed: true}
	return remote.Write(ref, img, remote.WithContext(ctx))
}

// TestGateBlocksPush runs scan then push through pipeline.Run: a closed
// gate skips the push and the registry repository stays empty; an open one
// lets it push.
func TestGateBlocksPush(t *testing.T) {
	layoutDir, _ := testImages(t)
	env := testenv.RequireRegistries(t)
	tests := []struct {
		failOn     scan.FailOn
		wantPushed bool
	}{
		{"critical", false},
		{"none", true},
	}
	for _, tc := range tests {
		t.Run("fail-on "+string(tc.failOn), func(t *testing.T) {
			repo := env.UniqueRepo(t, env.Registry, "gate")
			opts := testOptions(t, &testenv.Log{})
			opts.FailOn = tc.failOn
			st := stateWith(pipeline.BuiltImage{OCILayout: layoutDir})
			res := pipeline.Run(t.Context(), st, []pipeline.Stage{newStage(t, opts), pushStage{ref: repo + ":latest"}})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			push := res.Stages[1]
			r, err := name.NewRepository(repo)
			if err != nil {
				t.Fatal(err)
			}
			tags, listErr := remote.List(r, env.RemoteOptions(t.Context())...)
			if tc.wantPushed {
				if push.Status != pipeline.StatusOK || listErr != nil || !slices.Equal(tags, []string{"latest"}) {
					t.Errorf("push %s (%s); tags %v, %v", push.Status, push.SkipReason, tags, listErr)
				}
				return
			}
			if push.Status != pipeline.StatusSkipped || !strings.Contains(push.SkipReason, "scan gate failed (2 vulnerabilities (2 critical)") {
				t.Errorf("push %s, skip reason %q", push.Status, push.SkipReason)
			}
			if len(tags) != 0 {
				t.Errorf("registry repository %s has tags %v after a closed gate", repo, tags)
			}
			if listErr != nil && !strings.Contains(listErr.Error(), "NAME_UNKNOWN") {
				t.Errorf("list %s: %v", repo, listErr)
			}
			if !res.Failed(st) || st.Scan == nil || st.Scan.SBOMPath == "" {
				t.Errorf("run should fail on the gate with the reports written: %+v", st.Scan)
			}
		})
	}
}
