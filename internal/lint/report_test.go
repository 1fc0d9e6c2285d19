package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func sampleFindings(t *testing.T) []Finding {
	t.Helper()
	f, err := LintFile(filepath.Join("testdata", "sample", "Dockerfile"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) < 5 {
		t.Fatalf("sample Dockerfile gave only %d findings", len(f))
	}
	return f
}

func TestWriteTextGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleFindings(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample/report.txt", buf.Bytes())
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "[]" {
		t.Errorf("no findings: got %s, want []", got)
	}
	buf.Reset()
	f := []Finding{{File: "Dockerfile", Line: 3, Column: 2, EndLine: 4, Code: "DL3006", Severity: "warning", Message: "Tag <it> & pin"}}
	if err := WriteJSON(&buf, f); err != nil {
		t.Fatal(err)
	}
	want := `[{"file":"Dockerfile","line":3,"code":"DL3006","severity":"warning","message":"Tag <it> & pin"}]`
	if got := strings.TrimSpace(buf.String()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	buf.Reset()
	if err := WriteJSON(&buf, sampleFindings(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample/report.json", buf.Bytes())
}

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestWriteSARIFValidates checks SARIF output against the SARIF 2.1.0
// schema, for the sample, for no findings, and for odd file names.
func TestWriteSARIFValidates(t *testing.T) {
	sch := compileSARIFSchema(t)
	tests := []struct {
		name     string
		findings []Finding
		opts     SARIFOptions
	}{
		{"sample", sampleFindings(t), SARIFOptions{RepoRoot: ".", ToolVersion: "1.2.3"}},
		{"no findings", nil, SARIFOptions{}},
		{"odd names and outside the root", []Finding{
			{File: "dir with space/Docker file#1", Line: 1, Code: "DL3006", Severity: "warning", Message: "m"},
			{File: "/elsewhere/Dockerfile", Line: 2, Column: 3, EndLine: 5, Code: "IP001", Severity: "style", Message: "m"},
			{File: "Dockerfile", Line: 0, Code: "SC2086", Severity: "info", Message: "unknown rule code"},
		}, SARIFOptions{RepoRoot: "."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSARIF(&buf, tt.findings, tt.opts); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("SARIF does not validate: %v\n%s", err, buf.String())
			}
		})
	}
}

func TestWriteSARIFContent(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "services", "api", "Dockerfile")
	findings := []Finding{
		{File: file, Line: 2, Column: 1, EndLine: 4, Code: "DL3008", Severity: "warning", Message: "pin"},
		{File: file, Line: 1, Code: "IP002", Severity: "style", Message: "digest"},
		{File: file, Line: 3, Code: "DL3059", Severity: "info", Message: "merge"},
	}
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, findings, SARIFOptions{RepoRoot: root, ToolVersion: "v1.0.0"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, InformationURI, Version string
					Rules                         []struct {
						ID, HelpURI          string
						DefaultConfiguration struct{ Level string }
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string }
						Region           struct{ StartLine, EndLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("runs: %d", len(log.Runs))
	}
	run := log.Runs[0]
	if d := run.Tool.Driver; d.Name != ToolName || d.Version != "v1.0.0" || d.InformationURI == "" {
		t.Errorf("driver: %+v", d)
	}
	rules := map[string]string{}
	levels := map[string]string{}
	for _, r := range run.Tool.Driver.Rules {
		rules[r.ID] = r.HelpURI
		levels[r.ID] = r.DefaultConfiguration.Level
	}
	if rules["DL3008"] != "https://github.com/hadolint/hadolint/wiki/DL3008" || !strings.HasSuffix(rules["IP002"], "docs/lint.md#ip002") {
		t.Errorf("helpUri: %v", rules)
	}
	if levels["DL3008"] != "warning" || levels["IP002"] != "note" || levels["DL3059"] != "note" {
		t.Errorf("default levels: %v", levels)
	}
	wantLevel := map[string]string{"DL3008": "warning", "IP002": "note", "DL3059": "note"}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "services/api/Dockerfile" || loc.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("artifact location: %+v", loc.ArtifactLocation)
		}
		if r.Level != wantLevel[r.RuleID] {
			t.Errorf("%s level %s", r.RuleID, r.Level)
		}
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
		if r.RuleID == "DL3008" && (loc.Region.StartLine != 2 || loc.Region.EndLine != 4) {
			t.Errorf("region: %+v", loc.Region)
		}
	}
}

func TestWriteSARIFGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, sampleFindings(t), SARIFOptions{RepoRoot: ".", ToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample/report.sarif", buf.Bytes())
}

func TestSeverities(t *testing.T) {
	for _, s := range []string{"error", "warning", "info", "style", "none", "ignore", "WARNING"} {
		if _, err := ParseSeverity(s); err != nil {
			t.Errorf("ParseSeverity(%q): %v", s, err)
		}
	}
	_, err := ParseSeverity("fatal")
	if err == nil || !strings.Contains(err.Error(), "error, warning, info, style, none") {
		t.Errorf("ParseSeverity(fatal) error should list the accepted values: %v", err)
	}
	if !(SeverityError > SeverityWarning && SeverityWarning > SeverityInfo && SeverityInfo > SeverityStyle && SeverityStyle > SeverityNone) {
		t.Error("severities are not ordered")
	}
	findings := []Finding{{Severity: "info"}, {Severity: "style"}}
	gates := map[Severity]bool{SeverityError: false, SeverityWarning: false, SeverityInfo: true, SeverityStyle: true, SeverityNone: false}
	for th, want := range gates {
		if got := Gate(findings, th); got != want {
			t.Errorf("Gate(info+style, %s) = %v, want %v", th, got, want)
		}
	}
	if Gate(nil, SeverityStyle) {
		t.Error("Gate trips without findings")
	}
	c := CountBySeverity([]Finding{{Severity: "error"}, {Severity: "warning"}, {Severity: "warning"}, {Severity: "style"}})
	if c != (Counts{Error: 1, Warning: 2, Style: 1}) || c.Total() != 4 {
		t.Errorf("counts: %+v", c)
	}
	for sev, level := range map[string]string{"error": "error", "warning": "warning", "info": "note", "style": "note"} {
		if SARIFLevel(sev) != level {
			t.Errorf("SARIFLevel(%s) = %s", sev, SARIFLevel(sev))
		}
	}
}

func TestRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.Code] || r.Summary == "" || r.HelpURI == "" {
			t.Errorf("bad rule entry %+v", r)
		}
		seen[r.Code] = true
	}
	if len(seen) != 71+1+6 {
		t.Errorf("%d rules, want 71 DL rules, DL1000 and 6 IP rules", len(seen))
	}
}
