package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
)

// Log is what the build writes to the job log: lines, groups, the
// build's own output as an untrusted stream, annotations on the
// Dockerfile, and the secrets it reads to mask.
type Log interface {
	pipeline.Logger
	Group(title string) (end func())
	Mask(secret string)
	UntrustedWriter() io.WriteCloser
	Annotate(level ghactions.Level, msg string, a ghactions.Annotation)
}

// Stage is the build stage of the pipeline.
type Stage struct {
	opts   Options
	log    Log
	engine Engine
	// connect is New; tests replace it with a fake builder.
	connect func(context.Context, Options, Engine) (Builder, error)
	result  *Result
}

// NewStage returns the build stage. log receives the progress (as untrusted
// text) and the annotations; engine is the Docker Engine client for the
// docker driver (nil: one from DOCKER_HOST, or none for the remote driver).
func NewStage(opts Options, log Log, engine Engine) pipeline.Stage {
	return &Stage{opts: opts, log: log, engine: engine, connect: New}
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "build" }

// SkipReason implements pipeline.Stage: the stage is skipped when the file
// input is empty and the context has no Dockerfile (nothing to build). An
// explicit file input that does not exist is an error, reported by Run.
func (s *Stage) SkipReason(*pipeline.State) string {
	if s.opts.File != "" {
		return ""
	}
	if _, err := os.Stat(s.opts.dockerfilePath()); errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("no Dockerfile at %s and no file input: nothing to build", s.opts.dockerfileDisplay())
	}
	return ""
}

// Run builds the images and hands them on in st.Build.
func (s *Stage) Run(ctx context.Context, st *pipeline.State) error {
	for _, v := range s.opts.SecretValues() {
		s.log.Mask(v)
	}
	b, err := s.connect(ctx, s.opts, s.engine)
	if err != nil {
		return err
	}
	defer b.Close()
	f := b.Features()
	s.log.Infof("Builder: %s (driver %s)", f.Description, f.Driver)

	end := s.log.Group(fmt.Sprintf("BuildKit log: %s", s.opts.dockerfileDisplay()))
	w := s.log.UntrustedWriter()
	res, err := b.Build(ctx, st.Plan, w)
	_ = w.Close()
	end()
	if err != nil {
		if ctx.Err() != nil {
			// Stopped (the runner's cancel, or the run's stop cause): the
			// Dockerfile is not at fault, so nothing is annotated.
			return fmt.Errorf("the build was stopped before it ended: %w", context.Cause(ctx))
		}
		s.reportFailure(st, err)
		return err
	}
	s.result = res
	res.Outcome.BaseImages = BaseImages(s.opts.dockerfilePath(), s.opts.BuildArgs)
	st.Build = &res.Outcome
	s.logCache(res.Cache)
	for _, n := range res.Notes {
		s.log.Infof("Note: %s", n)
	}
	if res.Provenance != "" {
		s.log.Infof("Provenance: attestation mode=%s attached to the final image", res.Provenance)
	}
	s.log.Infof("Built in %s: %s", res.Duration.Round(100*time.Millisecond), stepsText(res.Steps))
	s.logEpoch(res, st.Plan)
	for _, img := range res.Outcome.Images {
		where := img.EngineImageID
		if img.OCILayout != "" {
			where = img.Digest + " in the OCI layout " + img.OCILayout
		}
		s.log.Infof("  %s image (stage %s): %s", img.Role, stageText(img.Target), where)
	}
	st.AddSection("Build", summaryMarkdown(f, res))
	return nil
}

// logEpoch says which time the image carries.
func (s *Stage) logEpoch(res *Result, plan *pipeline.TagPlan) {
	for _, a := range s.opts.BuildArgs {
		if a.Name == "SOURCE_DATE_EPOCH" {
			if a.Value == "" {
				s.log.Infof("Timestamps: the build's own (SOURCE_DATE_EPOCH is empty in build-args)")
			} else {
				s.log.Infof("Timestamps: SOURCE_DATE_EPOCH=%s from build-args", a.Value)
			}
			return
		}
	}
	switch {
	case res.SourceDateEpoch != "" && plan != nil:
		s.log.Infof("Timestamps: SOURCE_DATE_EPOCH=%s (%s, %s), so the same commit builds the same image", res.SourceDateEpoch, plan.SourceDateEpochFrom, plan.SourceDateEpoch.Format(time.RFC3339))
	case plan != nil && !plan.SourceDateEpoch.IsZero():
		s.log.Infof("Timestamps: the build's own (this BuildKit does not read SOURCE_DATE_EPOCH: it came before v0.11)")
	}
}

func (s *Stage) logCache(c CacheReport) {
	s.log.Infof("Cache: %s", c.Mode)
	if len(c.Read) > 0 {
		s.log.Infof("  read: %s", strings.Join(c.Read, ", "))
	}
	if len(c.Written) > 0 {
		s.log.Infof("  written: %s", strings.Join(c.Written, ", "))
	}
	for _, n := range c.Notes {
		s.log.Infof("  %s", n)
	}
}

// reportFailure annotates the Dockerfile line, prints the failing step's
// last log lines and adds the failure to the summary.
func (s *Stage) reportFailure(st *pipeline.State, err error) {
	var be *BuildError
	if !errors.As(err, &be) {
		return
	}
	title := "build failed"
	if be.Step != "" {
		title = "build failed at " + be.Step
	}
	s.log.Annotate(ghactions.LevelError, be.Reason, ghactions.Annotation{File: be.File, Line: be.Line, EndLine: be.EndLine, Title: title})
	if len(be.Logs) > 0 {
		end := s.log.Group(fmt.Sprintf("Last %d log lines of the failed step", len(be.Logs)))
		w := s.log.UntrustedWriter()
		for _, l := range be.Logs {
			_, _ = io.WriteString(w, l+"\n")
		}
		_ = w.Close()
		end()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The build failed")
	if be.Step != "" {
		fmt.Fprintf(&b, " at %s", textfmt.Code(be.Step))
	}
	if be.Line > 0 {
		fmt.Fprintf(&b, " (%s line %d)", textfmt.Code(be.File), be.Line)
	}
	fmt.Fprintf(&b, ":\n\n```\n%s\n```\n", fence(be.Reason))
	if len(be.Logs) > 0 {
		fmt.Fprintf(&b, "\nLast log lines:\n\n```\n%s\n```\n", fence(strings.Join(be.Logs, "\n")))
	}
	st.AddSection("Build", b.String())
}

// Fact is the summary table's key fact: "sha256:0123456789ab…, 9/10 steps
// cached (inline cache)".
func (s *Stage) Fact(st *pipeline.State) string {
	if st.Build == nil || s.result == nil {
		return ""
	}
	return fmt.Sprintf("%s, %s (%s cache)", textfmt.ShortDigest(st.Build.ImageID), stepsText(s.result.Steps), s.result.Cache.Mode)
}

func stepsText(c StepCounts) string {
	return fmt.Sprintf("%d of %d steps cached, %d run", c.Cached, c.Total, c.Executed)
}

func stageText(t string) string {
	if t == "" {
		return "last"
	}
	return t
}

// fence keeps untrusted text inside a ``` block, its control bytes
// escaped (a failed step's output can clear the reader's screen).
func fence(s string) string {
	return strings.ReplaceAll(ghactions.EscapeControls(strings.ReplaceAll(s, "\r", "")), "```", "'''")
}

func summaryMarkdown(f Features, r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Built with %s in %s.\n\n", f.Description, r.Duration.Round(100*time.Millisecond))
	b.WriteString("| image | stage | time | steps cached | steps run |\n|---|---|---|---|---|\n")
	for _, sv := range r.Solves {
		fmt.Fprintf(&b, "| %s | %s | %s | %d of %d | %d |\n", sv.Role, textfmt.Code(stageText(sv.Target)), sv.Duration.Round(100*time.Millisecond), sv.Steps.Cached, sv.Steps.Total, sv.Steps.Executed)
	}
	fmt.Fprintf(&b, "\nCache (%s):", r.Cache.Mode)
	if len(r.Cache.Read) > 0 {
		fmt.Fprintf(&b, " read %s;", joinCode(r.Cache.Read))
	}
	if len(r.Cache.Written) > 0 {
		fmt.Fprintf(&b, " written %s;", joinCode(r.Cache.Written))
	}
	b.WriteString("\n")
	for _, n := range r.Cache.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if r.Provenance != "" {
		fmt.Fprintf(&b, "\nProvenance: BuildKit's SLSA provenance attestation (mode=%s) is attached to the image index.\n", r.Provenance)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	return b.String()
}

func joinCode(refs []string) string {
	var out []string
	for _, r := range refs {
		out = append(out, textfmt.Code(r))
	}
	return strings.Join(out, ", ")
}
