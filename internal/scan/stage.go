package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
	"github.com/org/image-pipeline/internal/wsfile"
)

// MaxSummaryFindings is how many findings the summary section lists.
const MaxSummaryFindings = 10

// Stage is the pipeline's scan stage.
type Stage struct {
	opts    Options
	set     Settings
	setErr  error
	scanner Scanner
	last    *Analysis
}

// NewStage returns the scan stage over sc. Bad options fail its Run (the
// app validates them first with Options.Validate); sc may be nil only when
// the stage never runs (input scan is false).
func NewStage(opts Options, sc Scanner) *Stage {
	st := &Stage{opts: opts, scanner: sc}
	st.set, st.setErr = opts.Settings()
	return st
}

var _ pipeline.Stage = (*Stage)(nil)
var _ pipeline.Facter = (*Stage)(nil)

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "scan" }

// SkipReason implements pipeline.Stage.
func (s *Stage) SkipReason(st *pipeline.State) string {
	switch {
	case !s.opts.Enabled:
		return "input scan is false"
	case st.Build == nil || st.Build.Final() == nil:
		return "no image was built"
	case TargetOf(st.Build.Final()).Empty():
		return "the build left no local image to scan"
	}
	return ""
}

// Run scans the final image once, writes the JSON and SARIF reports and the
// SBOM, records the outcome and the gate, and adds the summary section.
// Findings never make Run fail: the gate does, after every report is written.
func (s *Stage) Run(ctx context.Context, st *pipeline.State) error {
	if s.setErr != nil {
		return s.setErr
	}
	if s.scanner == nil {
		return errors.New("the scan stage has no scanner")
	}
	a, err := s.scanner.Scan(ctx, TargetOf(st.Build.Final()))
	if err != nil {
		return err
	}
	s.last = a
	out := &pipeline.ScanOutcome{Counts: Count(a.Findings), SBOMFormat: string(s.set.SBOMFormat), Packages: a.Packages}

	var errs []error
	write := func(what, input, path string, fn func(context.Context, io.Writer) error) string {
		if path == "" {
			return ""
		}
		full := s.set.Path(path)
		if err := wsfile.WriteFile(s.set.Workspace, full, func(w io.Writer) error { return fn(ctx, w) }); err != nil {
			errs = append(errs, fmt.Errorf("write the %s to %s (input %s): %w", what, full, input, err))
			return ""
		}
		return full
	}
	out.JSONPath = write("JSON report", "scan-json", s.set.JSONFile, a.Documents.WriteJSON)
	out.SARIFPath = write("SARIF report", "scan-sarif", s.set.SARIFFile, a.Documents.WriteSARIF)
	out.SBOMPath = write("SBOM", "sbom-file", s.set.SBOMFile, func(ctx context.Context, w io.Writer) error {
		return a.Documents.WriteSBOM(ctx, w, s.set.SBOMFormat)
	})

	gate := Gate(a.Findings, s.set.FailOn)
	out.Passed = gate.Passed
	st.Scan = out
	st.AddGate(gate)
	st.AddSection("Vulnerabilities", Summary(a, out, s.set.FailOn, s.set.Workspace))
	return errors.Join(errs...)
}

// Fact implements pipeline.Facter: "1 critical, 2 high · SBOM 14 packages".
func (s *Stage) Fact(st *pipeline.State) string {
	if st.Scan == nil {
		return ""
	}
	var parts []string
	for _, sev := range Severities {
		if n := st.Scan.Counts[sev]; n > 0 || sev == "CRITICAL" || sev == "HIGH" {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(sev)))
		}
	}
	fact := strings.Join(parts, ", ")
	if s.last != nil && st.Scan.SBOMPath != "" {
		fact += fmt.Sprintf(" · SBOM %d packages", len(s.last.Packages))
	}
	return fact
}

// Count is the number of findings of each severity (every severity present).
func Count(fs []Finding) map[string]int {
	c := make(map[string]int, len(Severities))
	for _, sev := range Severities {
		c[sev] = 0
	}
	for _, f := range fs {
		c[f.Severity]++
	}
	return c
}

// Gate closes when a reported finding is at or above failOn (upper case,
// or NONE which never closes).
func Gate(fs []Finding, threshold FailOn) pipeline.Gate {
	g := pipeline.Gate{Name: "scan", Passed: true}
	failOn := strings.ToUpper(string(threshold))
	if failOn == string(FailOnNone) || failOn == "" {
		g.Reason = fmt.Sprintf("%d vulnerabilities, fail-on is none", len(fs))
		return g
	}
	limit := severityRank(failOn)
	counts := Count(fs)
	var n int
	var parts []string
	for i, sev := range Severities {
		if i <= limit && counts[sev] > 0 {
			n += counts[sev]
			parts = append(parts, fmt.Sprintf("%d %s", counts[sev], strings.ToLower(sev)))
		}
	}
	if n == 0 {
		g.Reason = fmt.Sprintf("no vulnerability at or above fail-on %s", strings.ToLower(failOn))
		return g
	}
	g.Passed = false
	g.Reason = fmt.Sprintf("%s at or above fail-on %s", textfmt.Count(n, "vulnerability", "vulnerabilities")+" ("+strings.Join(parts, ", ")+")", strings.ToLower(failOn))
	return g
}

// Summary is the markdown section of the job summary; paths are shown
// relative to the workspace.
func Summary(a *Analysis, out *pipeline.ScanOutcome, failOn FailOn, workspace string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Image `%s`", a.Target)
	if a.OS != "" {
		fmt.Fprintf(&b, " (%s)", a.OS)
	}
	fmt.Fprintf(&b, ": %s", textfmt.Count(len(a.Findings), "vulnerability", "vulnerabilities"))
	if a.Ignored > 0 {
		fmt.Fprintf(&b, ", %d ignored by the ignore files", a.Ignored)
	}
	b.WriteString(".\n\n| critical | high | medium | low | unknown |\n|---:|---:|---:|---:|---:|\n|")
	for _, sev := range Severities {
		fmt.Fprintf(&b, " %d |", out.Counts[sev])
	}
	b.WriteString("\n")
	if len(a.Findings) > 0 {
		b.WriteString("\n| severity | vulnerability | package | installed | fixed in |\n|---|---|---|---|---|\n")
		for i, f := range a.Findings {
			if i == MaxSummaryFindings {
				break
			}
			id := textfmt.Cell(f.ID)
			if f.URL != "" {
				id = "[" + id + "](" + f.URL + ")"
			}
			fixed := textfmt.Cell(f.FixedVersion)
			if fixed == "" {
				fixed = "not fixed"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.ToLower(f.Severity), id, textfmt.Cell(f.Package), textfmt.Cell(f.InstalledVersion), fixed)
		}
		if n := len(a.Findings) - MaxSummaryFindings; n > 0 {
			fmt.Fprintf(&b, "\n…and %d more in the JSON or SARIF report.\n", n)
		}
	}
	b.WriteString("\n")
	threshold := strings.ToLower(string(failOn))
	if failOn == FailOnNone {
		b.WriteString("Gate: off (fail-on none).")
	} else if out.Passed {
		fmt.Fprintf(&b, "Gate: passed (nothing at or above %s).", threshold)
	} else {
		fmt.Fprintf(&b, "Gate: **failed** (findings at or above %s): the image is not pushed.", threshold)
	}
	if out.SBOMPath != "" {
		shown := out.SBOMPath
		if rel, err := filepath.Rel(workspace, shown); workspace != "" && err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
		fmt.Fprintf(&b, " SBOM (%s, %d packages): `%s`.", out.SBOMFormat, len(a.Packages), shown)
	}
	if !a.DB.UpdatedAt.IsZero() {
		fmt.Fprintf(&b, " Vulnerability DB of %s", a.DB.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"))
		if a.DB.Stale {
			b.WriteString(" (**cached; it could not be refreshed**)")
		}
		b.WriteString(".")
	}
	if a.JavaDB != nil && !a.JavaDB.UpdatedAt.IsZero() {
		fmt.Fprintf(&b, " Java archives looked up in the Java DB of %s", a.JavaDB.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"))
		if a.JavaDB.Stale {
			b.WriteString(" (**cached; it could not be refreshed**)")
		}
		b.WriteString(".")
	}
	b.WriteString("\n")
	for _, n := range a.Notes {
		b.WriteString("\n" + n + "\n")
	}
	return b.String()
}
