package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"

	goldenfile "github.com/org/image-pipeline/internal/testenv/golden"
)

func sample() *Result {
	st := &pipeline.State{
		Plan: &pipeline.TagPlan{Version: "main", Tags: []string{"ghcr.io/o/app:main", "ghcr.io/o/app:0123abcd"}, Labels: []string{"org.opencontainers.image.version=main"}},
		Lint: &pipeline.LintOutcome{Warnings: 2, Infos: 1, SARIFPath: "image-pipeline/lint.sarif"},
	}
	st.AddGate(pipeline.Gate{Name: "lint", Passed: true, Reason: "no finding at or above error"})
	st.Notice("Not pushed: pull request from fork evil/app | <script>")
	st.AddSection("Lint", "| Severity | Count |\n|---|---|\n| warning | 2 |\n")
	res := &pipeline.Result{
		Stages: []pipeline.StageResult{
			{Name: "lint", Status: pipeline.StatusOK, Duration: 120 * time.Millisecond, Fact: "2 warnings, 1 info"},
			{Name: "build", Status: pipeline.StatusFailed, Duration: 12300 * time.Millisecond, Err: errors.New("build: step 3/5 failed: exit code 1")},
			{Name: "push", Status: pipeline.StatusSkipped, SkipReason: "stage build failed"},
		},
	}
	res.Err = res.Stages[1].Err
	return New(res, st, "/ws")
}

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.File(t, filepath.Join("testdata", name), got)
}

func TestJSONReportShape(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", buf.Bytes())

	// The documented contract: stages with name/status/duration_ms/skip_reason,
	// outputs exactly as written to GITHUB_OUTPUT.
	var doc struct {
		Stages []struct {
			Name       string  `json:"name"`
			Status     string  `json:"status"`
			DurationMS *int64  `json:"duration_ms"`
			SkipReason *string `json:"skip_reason"`
		} `json:"stages"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Stages) != 3 || doc.Stages[2].Status != "skipped" || *doc.Stages[2].SkipReason != "stage build failed" {
		t.Errorf("stages: %+v", doc.Stages)
	}
	for _, s := range doc.Stages {
		if s.DurationMS == nil || s.SkipReason == nil {
			t.Errorf("stage %s lacks duration_ms or skip_reason", s.Name)
		}
	}
	if doc.Outputs["result"] != "failure" || doc.Outputs["lint-warnings"] != "2" || doc.Outputs["tags"] != "ghcr.io/o/app:main\nghcr.io/o/app:0123abcd" {
		t.Errorf("outputs: %v", doc.Outputs)
	}
}

func TestMarkdownSummary(t *testing.T) {
	md := sample().Markdown()
	golden(t, "summary.md", []byte(md))
	if strings.Contains(md, "<script>") {
		t.Error("untrusted HTML reached the summary unescaped")
	}
	if !strings.Contains(md, "| build | ❌ failed | 12.3 s |") {
		t.Errorf("missing failed build row:\n%s", md)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond:   "850 ms",
		12300 * time.Millisecond: "12.3 s",
		125 * time.Second:        "2 m 05 s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestEveryOutputIsDocumented(t *testing.T) {
	known := map[string]bool{}
	for _, o := range OutputSpecs {
		known[o.Name] = true
	}
	for _, o := range sample().Outputs {
		if !known[o.Name] {
			t.Errorf("output %s is set but not in OutputSpecs", o.Name)
		}
	}
}

func TestFileOutputsAreRelativeToTheWorkspace(t *testing.T) {
	st := &pipeline.State{Scan: &pipeline.ScanOutcome{SBOMPath: "/github/workspace/reports/sbom.cdx.json", SARIFPath: "/elsewhere/scan.sarif"}}
	r := New(&pipeline.Result{}, st, "/github/workspace")
	if v, _ := r.Output("sbom-path"); v != "reports/sbom.cdx.json" {
		t.Errorf("sbom-path = %q", v)
	}
	if v, _ := r.Output("scan-sarif"); v != "/elsewhere/scan.sarif" {
		t.Errorf("scan-sarif outside the workspace = %q", v)
	}
}
