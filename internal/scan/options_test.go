package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/report"
	"github.com/org/image-pipeline/internal/testenv/golden"
)

func TestParsers(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]string) ([]string, error)
		in    []string
		want  []string
		errs  []string // one message per bad item
	}{
		{name: "severity", parse: ParseSeverities, in: []string{"critical", " HIGH"}, want: []string{"CRITICAL", "HIGH"}},
		{name: "bad severity", parse: ParseSeverities, in: []string{"HIGH", "urgent", "severe"}, want: []string{"HIGH"}, errs: []string{
			`input "severity": "urgent" is not a severity; accepted values: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN`,
			`input "severity": "severe" is not a severity; accepted values: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN`,
		}},
		{name: "pkg-types", parse: ParsePkgTypes, in: []string{"os", " library"}, want: []string{"os", "library"}},
		{name: "bad pkg-types", parse: ParsePkgTypes, in: []string{"lib"}, errs: []string{
			`input "pkg-types": "lib" is not a package type; accepted values: os, library, or both`,
		}},
		{name: "db repository", parse: ParseDBRepositories, in: []string{"registry.example.com/mirror/trivy-db:2"}, want: []string{"registry.example.com/mirror/trivy-db:2"}},
		{name: "bad db repository", parse: ParseDBRepositories, in: []string{"Not A Ref"}, errs: []string{
			`input "trivy-db-repository": "Not A Ref" is not an OCI reference; accepted values: OCI references such as ghcr.io/aquasecurity/trivy-db:2, tried in order`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.in)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("values = %q, want %q", got, tc.want)
			}
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("error = %v, want nil", err)
				}
				return
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(tc.errs) {
				t.Fatalf("error = %v, want %d joined errors", err, len(tc.errs))
			}
			for i, e := range joined.Unwrap() {
				var ie *inputerr.Error
				if !errors.As(e, &ie) || e.Error() != tc.errs[i] {
					t.Errorf("error %d = %v (%T), want the input error %q", i, e, e, tc.errs[i])
				}
			}
		})
	}
}

// TestParseJavaDBRepositories: references, none alone (off), and bad values.
func TestParseJavaDBRepositories(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		off     bool
		wantErr string
	}{
		{name: "references", in: []string{" r.example/java-db:1", "", "ghcr.io/aquasecurity/trivy-java-db:1"}, want: []string{"r.example/java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"}},
		{name: "default", in: nil},
		{name: "none", in: []string{" None "}, off: true},
		{name: "none among references", in: []string{"r.example/java-db:1", "none"}, want: []string{"r.example/java-db:1"},
			wantErr: `input "trivy-java-db-repository": "none" is not an OCI reference; accepted values: OCI references such as ghcr.io/aquasecurity/trivy-java-db:1, tried in order, or none alone to leave Java archives unanalysed`},
		{name: "bad reference", in: []string{"Not A Ref"},
			wantErr: `input "trivy-java-db-repository": "Not A Ref" is not an OCI reference`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, off, err := ParseJavaDBRepositories(tc.in)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || off != tc.off {
				t.Errorf("= %q, off %v; want %q, off %v", got, off, tc.want, tc.off)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	s, err := Options{NoJavaDB: true}.Settings()
	if err != nil || len(s.JavaDBRepositories) != 0 {
		t.Errorf("none: Settings().JavaDBRepositories = %q, %v; want none", s.JavaDBRepositories, err)
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "3d", want: 72 * time.Hour},
		{in: "0.5d", want: 12 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: " 90m ", want: 90 * time.Minute},
		{in: "-1d", wantErr: true},
		{in: "-3h", wantErr: true},
		{in: "week", wantErr: true},
		{in: "", wantErr: true},
	}
	if _, err := ParseAge("a week"); err == nil || err.Error() != `input "trivy-db-max-age": "a week" is not a duration; accepted values: days such as 3d, or hours such as 72h` {
		t.Errorf("ParseAge(a week) error = %v", err)
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			got, err := ParseAge(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseAge(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	t.Setenv("HOME", "/home/runner")
	s, err := Options{Workspace: "/ws"}.Settings()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"fail-on", string(s.FailOn), "CRITICAL"},
		{"severity", strings.Join(s.Severities, ","), "CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN"},
		{"pkg-types", strings.Join(s.PkgTypes, ","), "os,library"},
		{"sbom-format", string(s.SBOMFormat), "cyclonedx"},
		{"sbom-file", s.Path(s.SBOMFile), "/ws/image-pipeline-reports/sbom.cdx.json"},
		{"trivy-db-repository", strings.Join(s.DBRepositories, ","), "mirror.gcr.io/aquasec/trivy-db:2,ghcr.io/aquasecurity/trivy-db:2"},
		{"trivy-java-db-repository", strings.Join(s.JavaDBRepositories, ","), "mirror.gcr.io/aquasec/trivy-java-db:1,ghcr.io/aquasecurity/trivy-java-db:1"},
		{"trivy-cache-dir", s.CacheDir, "/home/runner/.cache/trivy"},
		{"trivy-db-max-age", s.MaxDBAge.String(), "72h0m0s"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s default = %q, want %q", c.name, c.got, c.want)
		}
	}
	spdx, _ := Options{SBOMFormat: "spdx-json", CacheDir: "cache"}.Settings()
	if spdx.SBOMFile != "image-pipeline-reports/sbom.spdx.json" || spdx.CacheDir != "cache" {
		t.Errorf("spdx defaults: %q, %q", spdx.SBOMFile, spdx.CacheDir)
	}
}

func TestGate(t *testing.T) {
	fs := []Finding{{Severity: "CRITICAL"}, {Severity: "HIGH"}, {Severity: "HIGH"}, {Severity: "LOW"}, {Severity: "UNKNOWN"}}
	tests := []struct {
		failOn     FailOn
		findings   []Finding
		wantPass   bool
		wantReason string
	}{
		{"CRITICAL", fs, false, "1 vulnerability (1 critical) at or above fail-on critical"},
		{"HIGH", fs, false, "3 vulnerabilities (1 critical, 2 high) at or above fail-on high"},
		{"UNKNOWN", fs, false, "5 vulnerabilities (1 critical, 2 high, 1 low, 1 unknown) at or above fail-on unknown"},
		{"CRITICAL", fs[1:], true, "no vulnerability at or above fail-on critical"},
		{"NONE", fs, true, "5 vulnerabilities, fail-on is none"},
		{"LOW", nil, true, "no vulnerability at or above fail-on low"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d findings", tc.failOn, len(tc.findings)), func(t *testing.T) {
			g := Gate(tc.findings, tc.failOn)
			if g.Name != "scan" || g.Passed != tc.wantPass || g.Reason != tc.wantReason {
				t.Errorf("Gate = %+v, want passed %v reason %q", g, tc.wantPass, tc.wantReason)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	out := &pipeline.ScanOutcome{Counts: Count([]Finding{{Severity: "HIGH"}, {Severity: "HIGH"}}), Passed: true, SBOMPath: "/ws/sbom.cdx.json"}
	got := report.StateOutputs(&pipeline.State{Scan: out}, "")
	want := map[string]string{
		"vulnerabilities": `{"CRITICAL":0,"HIGH":2,"LOW":0,"MEDIUM":0,"UNKNOWN":0}`,
		"scan-passed":     "true",
		"sbom-path":       "/ws/sbom.cdx.json",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestSkipReason(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		st      *pipeline.State
		want    string
	}{
		{"scan false", false, stateWith(pipeline.BuiltImage{OCILayout: "/x"}), "input scan is false"},
		{"no build", true, &pipeline.State{}, "no image was built"},
		{"no final image", true, &pipeline.State{Build: &pipeline.BuildOutcome{Images: []pipeline.BuiltImage{{Role: pipeline.RoleBuilder, OCILayout: "/x"}}}}, "no image was built"},
		{"nothing local", true, stateWith(pipeline.BuiltImage{Digest: "sha256:abc"}), "the build left no local image to scan"},
		{"engine image", true, stateWith(pipeline.BuiltImage{EngineImageID: "sha256:abc"}), ""},
		{"OCI layout", true, stateWith(pipeline.BuiltImage{OCILayout: "/x"}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewStage(Options{Enabled: tc.enabled}, nil).SkipReason(tc.st); got != tc.want {
				t.Errorf("SkipReason = %q, want %q", got, tc.want)
			}
		})
	}
}

// stateWith is a State as the build stage leaves it.
func stateWith(img pipeline.BuiltImage) *pipeline.State {
	img.Role = pipeline.RoleFinal
	return &pipeline.State{Build: &pipeline.BuildOutcome{Driver: "test", Images: []pipeline.BuiltImage{img}}}
}

// fakeScanner returns a fixed analysis, for tests of the stage alone.
type fakeScanner struct {
	a   *Analysis
	err error
}

func (f fakeScanner) Scan(context.Context, Target) (*Analysis, error) { return f.a, f.err }

type fakeDocs struct{}

func (fakeDocs) WriteJSON(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "{}")
	return err
}
func (fakeDocs) WriteSARIF(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "{}")
	return err
}
func (fakeDocs) WriteSBOM(_ context.Context, w io.Writer, f SBOMFormat) error {
	_, err := io.WriteString(w, `{"format":"`+string(f)+`"}`)
	return err
}

func fakeAnalysis() *Analysis {
	fs := []Finding{
		{ID: "CVE-2024-5535", Package: "libssl3", InstalledVersion: "3.3.0-r2", FixedVersion: "3.3.1-r1", Severity: "CRITICAL", URL: "https://avd.aquasec.com/nvd/cve-2024-5535"},
		{ID: "CVE-2099-0001", Package: "mini|mist", InstalledVersion: "1.2.5", Severity: "LOW"},
	}
	for i := range 11 {
		fs = append(fs, Finding{ID: "CVE-2024-" + strings.Repeat("1", 4) + string(rune('a'+i)), Package: "pkg", InstalledVersion: "1", FixedVersion: "2", Severity: "MEDIUM"})
	}
	SortFindings(fs)
	return &Analysis{
		Target: "ghcr.io/org/app:sha", OS: "alpine 3.20.3", Findings: fs, Ignored: 1,
		Packages:  []Package{{Name: "libssl3", Version: "3.3.0-r2"}, {Name: "minimist", Version: "1.2.5"}},
		DB:        DBInfo{UpdatedAt: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Stale: true},
		JavaDB:    &DBInfo{UpdatedAt: time.Date(2026, 1, 1, 5, 6, 0, 0, time.UTC)},
		Notes:     []string{"Java archives (.jar, .war, .ear, .par) are not analysed: trivy-java-db-repository is none."},
		Documents: fakeDocs{},
	}
}

// TestStageWithFakeScanner checks what the stage does with an analysis:
// files, outcome, gate, fact and the summary section (golden file).
func TestStageWithFakeScanner(t *testing.T) {
	ws := t.TempDir()
	stage := NewStage(Options{Enabled: true, Workspace: ws, SBOMFormat: "spdx-json", SARIFFile: "out/scan.sarif", FailOn: "high"},
		fakeScanner{a: fakeAnalysis()})
	st := stateWith(pipeline.BuiltImage{OCILayout: "/layout"})
	if err := stage.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if st.Scan.SBOMPath != filepath.Join(ws, "image-pipeline-reports/sbom.spdx.json") || st.Scan.JSONPath != "" || st.Scan.SARIFPath != filepath.Join(ws, "out/scan.sarif") {
		t.Errorf("paths: %+v", st.Scan)
	}
	if b, _ := os.ReadFile(st.Scan.SBOMPath); string(b) != `{"format":"spdx-json"}` {
		t.Errorf("SBOM file: %s", b)
	}
	if !st.GateFailed() || st.ClosedGates() != "scan gate failed (1 vulnerability (1 critical) at or above fail-on high)" {
		t.Errorf("gate: %s", st.ClosedGates())
	}
	if got, want := stage.Fact(st), "1 critical, 0 high, 11 medium, 1 low · SBOM 2 packages"; got != want {
		t.Errorf("Fact = %q, want %q", got, want)
	}
	golden.File(t, filepath.Join("testdata", "summary.golden.md"), []byte(st.Sections[0].Markdown))
}

func TestStageScanError(t *testing.T) {
	stage := NewStage(Options{Enabled: true}, fakeScanner{err: errors.New("boom")})
	st := stateWith(pipeline.BuiltImage{OCILayout: "/layout"})
	if err := stage.Run(t.Context(), st); err == nil || st.Scan != nil || len(st.Gates) != 0 {
		t.Fatalf("Run = %v, outcome %+v, gates %+v", err, st.Scan, st.Gates)
	}
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	unwritable := NewStage(Options{Enabled: true, Workspace: ws, SBOMFile: "taken"}, fakeScanner{a: fakeAnalysis()})
	st = stateWith(pipeline.BuiltImage{OCILayout: "/layout"})
	err := unwritable.Run(t.Context(), st)
	if err == nil || !strings.Contains(err.Error(), "write the SBOM to "+filepath.Join(ws, "taken")+" (input sbom-file)") {
		t.Errorf("Run with an unwritable sbom-file = %v", err)
	}
	if st.Scan == nil || len(st.Gates) != 1 {
		t.Errorf("the outcome and the gate are recorded even when a report cannot be written: %+v %+v", st.Scan, st.Gates)
	}
	if err := NewStage(Options{Enabled: true}, nil).Run(t.Context(), stateWith(pipeline.BuiltImage{OCILayout: "/layout"})); err == nil || !strings.Contains(err.Error(), "no scanner") {
		t.Fatalf("Run without a scanner = %v", err)
	}
	t.Setenv("HOME", "")
	bad := NewStage(Options{Enabled: true, CacheDir: "~/trivy"}, fakeScanner{a: fakeAnalysis()})
	if err := bad.Run(t.Context(), st); err == nil || !strings.Contains(err.Error(), `input "trivy-cache-dir": "~/trivy" starts with ~ but there is no home directory`) {
		t.Fatalf("Run with a cache dir under ~ and no HOME = %v", err)
	}
}
