package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/lint"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
	"github.com/org/image-pipeline/internal/wsfile"
)

// maxSummaryFindings bounds the findings table of the job summary; the
// SARIF file and the annotations carry all of them.
const maxSummaryFindings = 50

// lintStage lints the Dockerfile that is built. Findings are data: the
// stage records a gate and never fails because of them.
type lintStage struct {
	cfg *config.Config
	log *ghactions.Runner
}

func (s *lintStage) Name() string { return "lint" }

func (s *lintStage) SkipReason(*pipeline.State) string {
	if !s.cfg.Lint.Enabled {
		return "input lint is false"
	}
	return ""
}

func (s *lintStage) Fact(st *pipeline.State) string {
	if st.Lint == nil {
		return ""
	}
	return countsText(lint.Counts{Error: st.Lint.Errors, Warning: st.Lint.Warnings, Info: st.Lint.Infos, Style: st.Lint.Styles})
}

func countsText(c lint.Counts) string {
	if c.Total() == 0 {
		return "no findings"
	}
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{c.Error, "error"}, {c.Warning, "warning"}, {c.Info, "info"}, {c.Style, "style"}} {
		if p.n == 1 || (p.n > 1 && p.name == "info") || (p.n > 1 && p.name == "style") {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		} else if p.n > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss", p.n, p.name))
		}
	}
	return strings.Join(parts, ", ")
}

// lintConfig loads the hadolint config (input, else the workspace's
// .hadolint.yaml) and merges the inputs over it.
func lintConfig(lc config.LintConfig, workspace string) (*lint.Config, error) {
	path := lc.ConfigFile
	if path == "" {
		path, _ = lint.FindConfig(workspace)
	}
	cfg := &lint.Config{}
	if path != "" {
		var err error
		if cfg, err = lint.LoadConfig(path); err != nil {
			return nil, err
		}
	}
	cfg.Ignored = append(cfg.Ignored, lc.Ignore...)
	cfg.TrustedRegistries = append(cfg.TrustedRegistries, lc.TrustedRegistries...)
	if lc.FailureThreshold != "" {
		cfg.FailureThreshold = lc.FailureThreshold
	}
	return cfg, nil
}

func (s *lintStage) Run(_ context.Context, st *pipeline.State) error {
	lcfg, err := lintConfig(s.cfg.Lint, s.cfg.Workspace)
	if err != nil {
		return fmt.Errorf("cannot read the lint configuration: %w", err)
	}
	findings, err := lint.LintFile(s.cfg.File, lcfg, lint.WithBuildContext(s.cfg.Context, 0))
	if err != nil {
		return fmt.Errorf("%w (check the file and context inputs)", err)
	}
	rel := relativeTo(s.cfg.Workspace, s.cfg.File)
	for i := range findings {
		findings[i].File = rel
	}
	for _, f := range findings {
		s.log.Annotate(annotationLevel(f.Severity), fmt.Sprintf("%s %s", f.Code, f.Message), ghactions.Annotation{
			File: f.File, Line: f.Line, EndLine: f.EndLine, Col: f.Column, Title: "lint " + f.Code,
		})
	}
	counts := lint.CountBySeverity(findings)
	out := &pipeline.LintOutcome{
		Files:    []string{rel},
		Errors:   counts.Error,
		Warnings: counts.Warning,
		Infos:    counts.Info,
		Styles:   counts.Style,
	}
	st.Lint = out

	sarifPath := s.cfg.ReportPath("lint.sarif")
	sarif := relativeTo(s.cfg.Workspace, sarifPath)
	if err := wsfile.WriteFile(s.cfg.Workspace, sarifPath, func(f io.Writer) error {
		return lint.WriteSARIF(f, findings, lint.SARIFOptions{RepoRoot: s.cfg.Workspace, ToolVersion: versionString()})
	}); err != nil {
		return fmt.Errorf("cannot write the lint SARIF report: %w", err)
	}
	out.SARIFPath = sarif

	threshold := lcfg.Threshold()
	gate := pipeline.Gate{Name: "lint", Passed: !lint.Gate(findings, threshold)}
	switch {
	case lcfg.NoFail:
		gate.Passed = true
		gate.Reason = fmt.Sprintf("%s; no-fail is set in %s", countsText(counts), lcfg.Path)
	case threshold == lint.SeverityNone:
		gate.Reason = countsText(counts) + "; failure threshold none"
	case gate.Passed:
		gate.Reason = fmt.Sprintf("no finding at or above %s (%s)", threshold, countsText(counts))
	default:
		gate.Reason = fmt.Sprintf("findings at or above %s: %s", threshold, countsText(counts))
	}
	st.AddGate(gate)
	st.AddSection("Lint", lintMarkdown(rel, findings, counts, sarif))
	return nil
}

func annotationLevel(severity string) ghactions.Level {
	switch severity {
	case "error":
		return ghactions.LevelError
	case "warning":
		return ghactions.LevelWarning
	}
	return ghactions.LevelNotice
}

func lintMarkdown(file string, findings []lint.Finding, c lint.Counts, sarif string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: **%d** error, **%d** warning, **%d** info, **%d** style. SARIF: %s\n",
		textfmt.Code(file), c.Error, c.Warning, c.Info, c.Style, textfmt.Code(sarif))
	if len(findings) == 0 {
		return b.String()
	}
	b.WriteString("\n| Line | Rule | Severity | Message |\n|---|---|---|---|\n")
	for i, f := range findings {
		if i == maxSummaryFindings {
			fmt.Fprintf(&b, "\n%d more findings are in the SARIF file and the annotations.\n", len(findings)-maxSummaryFindings)
			break
		}
		code := f.Code
		if r, ok := lint.LookupRule(f.Code); ok && r.HelpURI != "" {
			code = fmt.Sprintf("[%s](%s)", f.Code, r.HelpURI)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", f.Line, code, f.Severity, textfmt.Cell(f.Message))
	}
	return b.String()
}

// relativeTo gives path relative to base when it lies inside it, with
// forward slashes (annotations and SARIF want repository-relative paths).
func relativeTo(base, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	baseAbs, err := filepath.Abs(base)
	if err != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(baseAbs, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}
