// Package report turns the outcome of a run into what people and tools
// read: the action outputs, the markdown job summary and the JSON report.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
	"github.com/org/image-pipeline/internal/wsfile"
)

// Output is one action output.
type Output struct {
	Name  string
	Value string
}

// OutputSpec documents one action output (action.yml and the README are
// checked against this list).
type OutputSpec struct {
	Name        string
	Description string
}

// OutputSpecs lists every output the action can set, in a stable order.
var OutputSpecs = []OutputSpec{
	{"result", "`success` or `failure` (a stage failed or a gate closed)."},
	{"version", "The version computed by the tag engine (e.g. `1.2.3`, `main`, `pr-42`)."},
	{"tags", "Every computed image reference (`name:tag`), one per line; when pushed, each one points at `digest`."},
	{"labels", "The OCI labels applied to the image (`key=value`), one per line."},
	{"annotations", "The OCI annotations written into the pushed image, one per line, each with its level (`manifest:key=value`), as docker/metadata-action prints them."},
	{"json", "The tag plan as JSON, in docker/metadata-action's shape (`tags`, `tag-names`, `labels` as an object, `annotations`) plus `version`, `cache_from`, `cache_to`, `cache_scope`, `skipped`, `warnings`."},
	{"imageid", "Id of the built image: its config digest (the index digest for a multi-platform image)."},
	{"cache-hits", "Build steps served from the cache."},
	{"cache-misses", "Build steps that ran."},
	{"vulnerabilities", "Reported vulnerabilities by severity, as JSON (`{\"CRITICAL\":0,\"HIGH\":2,…}`)."},
	{"scan-passed", "`true` when no vulnerability reached `fail-on`."},
	{"sbom-path", "Path of the SBOM file, ready for actions/upload-artifact."},
	{"scan-sarif", "Path of the vulnerability SARIF report, for github/codeql-action/upload-sarif."},
	{"pushed", "`true` when the image was pushed and every tag read back at the pushed digest, else `false` (the summary says why)."},
	{"digest", "Digest of the pushed manifest or index (`sha256:…`)."},
	{"image-ref", "The first image pinned by digest (`name@sha256:…`), for deploys and signing."},
	{"signed", "`true` when the digest was signed (and verified) by this run."},
	{"signature-ref", "Where the signature is stored (e.g. `name:sha256-<hex>.sig`)."},
	{"lint-errors", "Number of error-level lint findings."},
	{"lint-warnings", "Number of warning-level lint findings."},
	{"lint-sarif", "Path of the lint SARIF report, for github/codeql-action/upload-sarif."},
}

// Result is everything the report sinks need.
type Result struct {
	Stages  []pipeline.StageResult
	State   *pipeline.State
	Outputs []Output
	// Context says what started the run ("push on branch main (commit …)").
	Context string
	// Err is the run's error (failed stages), if any.
	Err error
	// Cancelled is set when the run was cancelled.
	Cancelled bool
}

// New assembles a Result and computes the outputs from the state. File
// outputs are given relative to workspace when they lie inside it: in a
// container action the workspace is mounted at another path than on the
// runner, and the steps after this one resolve relative paths against
// their own workspace.
func New(res *pipeline.Result, st *pipeline.State, workspace string) *Result {
	r := &Result{State: st, Err: res.Err, Stages: res.Stages, Cancelled: res.Cancelled}
	r.Outputs = outputs(res, st, workspace)
	return r
}

// relPath gives path relative to workspace when it lies inside it.
func relPath(workspace, path string) string {
	if path == "" || workspace == "" || !filepath.IsAbs(path) {
		return path
	}
	rel, err := filepath.Rel(workspace, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return path
	}
	return filepath.ToSlash(rel)
}

// StateOutputs are the outputs the stages' state gives, as a map, computed
// as New computes them (the result output is "success"): the one mapping
// of outcomes to outputs, for the stages' tests.
func StateOutputs(st *pipeline.State, workspace string) map[string]string {
	m := map[string]string{}
	for _, o := range outputs(&pipeline.Result{}, st, workspace) {
		m[o.Name] = o.Value
	}
	return m
}

// Output returns the value of the named output and whether it is set.
func (r *Result) Output(name string) (string, bool) {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o.Value, true
		}
	}
	return "", false
}

// outputs maps the typed state to the action's named outputs, in a stable
// order. Only outputs whose stage produced something are set.
func outputs(res *pipeline.Result, st *pipeline.State, workspace string) []Output {
	var out []Output
	add := func(name, value string) { out = append(out, Output{Name: name, Value: value}) }
	result := "success"
	if res.Failed(st) {
		result = "failure"
	}
	add("result", result)
	if p := st.Plan; p != nil {
		add("version", p.Version)
		add("tags", strings.Join(p.Tags, "\n"))
		add("labels", strings.Join(p.Labels, "\n"))
		add("annotations", strings.Join(p.AnnotationLines, "\n"))
		add("json", p.JSON)
	}
	if b := st.Build; b != nil {
		add("imageid", b.ImageID)
		add("cache-hits", fmt.Sprint(b.CacheHits))
		add("cache-misses", fmt.Sprint(b.Executed))
	}
	if sc := st.Scan; sc != nil {
		counts, _ := json.Marshal(sc.Counts) // keys sorted
		add("vulnerabilities", string(counts))
		add("scan-passed", fmt.Sprint(sc.Passed))
		add("sbom-path", relPath(workspace, sc.SBOMPath))
		if sc.SARIFPath != "" {
			add("scan-sarif", relPath(workspace, sc.SARIFPath))
		}
	}
	if p := st.Push; p != nil {
		add("pushed", fmt.Sprint(p.Pushed))
		add("digest", p.Digest)
		add("image-ref", p.ImageRef)
	}
	if sg := st.Sign; sg != nil {
		add("signed", fmt.Sprint(sg.Signed))
		add("signature-ref", sg.SignatureRef)
	}
	if l := st.Lint; l != nil {
		add("lint-errors", fmt.Sprint(l.Errors))
		add("lint-warnings", fmt.Sprint(l.Warnings))
		if l.SARIFPath != "" {
			add("lint-sarif", relPath(workspace, l.SARIFPath))
		}
	}
	return out
}

// jsonReport is the stable shape of the JSON report; tools script against
// it, so fields are only ever added.
type jsonReport struct {
	Stages  []jsonStage       `json:"stages"`
	Outputs map[string]string `json:"outputs"`
}

type jsonStage struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	SkipReason string `json:"skip_reason"`
	Error      string `json:"error,omitempty"`
}

// WriteJSON writes the JSON report.
func (r *Result) WriteJSON(w io.Writer) error {
	rep := jsonReport{Stages: []jsonStage{}, Outputs: map[string]string{}}
	for _, s := range r.Stages {
		js := jsonStage{Name: s.Name, Status: string(s.Status), DurationMS: s.Duration.Milliseconds(), SkipReason: s.SkipReason}
		if s.Err != nil {
			js.Error = s.Err.Error()
		}
		rep.Stages = append(rep.Stages, js)
	}
	for _, o := range r.Outputs {
		rep.Outputs[o.Name] = o.Value
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteJSONFile writes the JSON report to path (anywhere: report-json is
// documented as a path of the runner's), atomically, creating its
// directory.
func (r *Result) WriteJSONFile(path string) error {
	if err := wsfile.WriteFile("", path, r.WriteJSON); err != nil {
		return fmt.Errorf("cannot write report-json %s: %w", path, err)
	}
	return nil
}

var statusIcon = map[pipeline.Status]string{
	pipeline.StatusOK:      "✅ ok",
	pipeline.StatusFailed:  "❌ failed",
	pipeline.StatusSkipped: "⏭️ skipped",
}

// Markdown renders the job summary: one row per stage, then notices,
// gates and each stage's own section.
func (r *Result) Markdown() string {
	var b strings.Builder
	title := "✅ image-pipeline succeeded"
	if r.Err != nil || (r.State != nil && r.State.GateFailed()) {
		title = "❌ image-pipeline failed"
	}
	if r.Cancelled {
		title = "❌ image-pipeline was cancelled"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	if r.Context != "" {
		fmt.Fprintf(&b, "%s\n\n", textfmt.Text(r.Context))
	}
	b.WriteString("| Stage | Status | Duration | Details |\n|---|---|---|---|\n")
	for _, s := range r.Stages {
		detail := s.Fact
		switch {
		case s.Status == pipeline.StatusSkipped:
			detail = s.SkipReason
		case s.Err != nil:
			detail = s.Err.Error()
		}
		dur := "–"
		if s.Status != pipeline.StatusSkipped {
			dur = FormatDuration(s.Duration)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Name, statusIcon[s.Status], dur, textfmt.Cell(detail))
	}
	if st := r.State; st != nil {
		if len(st.Gates) > 0 {
			b.WriteString("\n")
			for _, g := range st.Gates {
				mark := "✅"
				if !g.Passed {
					mark = "❌"
				}
				fmt.Fprintf(&b, "- %s **%s gate**: %s\n", mark, g.Name, textfmt.Text(g.Reason))
			}
		}
		if len(st.Notices) > 0 {
			b.WriteString("\n")
			for _, n := range st.Notices {
				fmt.Fprintf(&b, "> [!NOTE]\n> %s\n\n", textfmt.Text(n))
			}
		}
		for _, s := range st.Sections {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n", textfmt.Text(s.Title), strings.TrimRight(s.Markdown, "\n"))
		}
	}
	return b.String()
}

// FormatDuration prints a duration for people: 850 ms, 12.3 s, 2 m 05 s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		return fmt.Sprintf("%d m %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// ConfigErrorMarkdown is the job summary of a run stopped by its
// configuration: one line per problem, each naming its input.
func ConfigErrorMarkdown(context string, problems []string) string {
	var b strings.Builder
	b.WriteString("## ❌ image-pipeline: the configuration is invalid\n\n")
	if context != "" {
		fmt.Fprintf(&b, "%s\n\n", textfmt.Text(context))
	}
	b.WriteString("Nothing was built, pushed or signed. Fix these inputs of the step:\n\n")
	for _, p := range problems {
		fmt.Fprintf(&b, "- %s\n", textfmt.Text(p))
	}
	return b.String()
}
