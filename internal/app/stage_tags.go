package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/tags"
	"github.com/org/image-pipeline/internal/textfmt"
)

// tagsStage computes the tag plan: every push, cache ref and label of the
// run comes from it.
type tagsStage struct {
	cfg    *config.Config
	ev     *ghactions.Context
	getenv func(string) string
	now    time.Time
	log    *ghactions.Runner
	// quiet leaves the plan out of the log (the plan command prints it).
	quiet bool
	// plan keeps the full result for the plan command.
	plan *tags.Plan
}

func (s *tagsStage) Name() string                      { return "tags" }
func (s *tagsStage) SkipReason(*pipeline.State) string { return "" }

func (s *tagsStage) Fact(st *pipeline.State) string {
	if st.Plan == nil {
		return ""
	}
	n := len(s.plan.TagNames)
	fact := fmt.Sprintf("%s on %s", textfmt.Count(n, "tag", "tags"), textfmt.Count(len(s.plan.Images), "image", "images"))
	if st.Plan.Version != "" {
		fact = "version " + st.Plan.Version + ", " + fact
	}
	return fact
}

func (s *tagsStage) Run(_ context.Context, st *pipeline.State) error {
	in := tagInput(s.cfg, s.ev, s.getenv, s.now)
	plan, err := tags.Compute(in)
	if err != nil {
		return fmt.Errorf("cannot compute the tags: %w", err)
	}
	s.plan = plan
	for _, w := range plan.Warnings {
		s.log.Warningf("tags: %s", w)
	}
	js, err := plan.JSON()
	if err != nil {
		return err
	}
	st.Plan = &pipeline.TagPlan{
		Version: plan.Version,
		Tags:    plan.Tags,
		Labels:  plan.Labels,
		Cache:   plan.Cache,
		// Annotations, AnnotationLevels and AnnotationLines below.
		JSON: strings.TrimSpace(string(js)),
	}
	st.Plan.Annotations, st.Plan.AnnotationLevels, st.Plan.AnnotationLines = plan.Annotations, plan.AnnotationLevels, plan.AnnotationLines()
	var badEpoch bool
	st.Plan.SourceDateEpoch, st.Plan.SourceDateEpochFrom, badEpoch = sourceDateEpoch(s.getenv, in.CommitDate)
	if badEpoch {
		s.log.Warningf("tags: SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970, so it is not used: the image's timestamps are the commit's", s.getenv("SOURCE_DATE_EPOCH"))
	}
	for _, l := range plan.Labels {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case registry.LabelRevision:
			st.Plan.Revision = v
		case registry.LabelBuildInputs:
			st.Plan.BuildInputs = v
		}
	}
	for _, sk := range plan.Skipped {
		st.Plan.Skipped = append(st.Plan.Skipped, sk.Rule+": "+sk.Reason)
	}
	if !s.quiet {
		for _, line := range strings.Split(strings.TrimRight(plan.Text(), "\n"), "\n") {
			s.log.Infof("%s", line)
		}
	}
	st.AddSection("Tags", tagsMarkdown(plan))
	return nil
}

// sourceDateEpoch is the time the build stamps on the image: the runner's
// SOURCE_DATE_EPOCH (as buildx reads it), else the commit's time; where it
// came from (the zero time and "" when neither is known); and whether
// SOURCE_DATE_EPOCH was set but is not a number of seconds.
func sourceDateEpoch(getenv func(string) string, commit time.Time) (t time.Time, from string, bad bool) {
	if v := strings.TrimSpace(getenv("SOURCE_DATE_EPOCH")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil && n >= 0 {
			return time.Unix(n, 0).UTC(), "SOURCE_DATE_EPOCH", false
		}
		bad = true
	}
	if commit.IsZero() {
		return time.Time{}, "", bad
	}
	return commit.UTC(), "the commit's time", bad
}

// tagsMarkdown renders the plan for the job summary.
func tagsMarkdown(p *tags.Plan) string {
	var b strings.Builder
	if p.Version != "" {
		fmt.Fprintf(&b, "Version %s\n\n", textfmt.Code(p.Version))
	}
	if len(p.Tags) == 0 {
		b.WriteString("No tag: no rule applies to this event.\n")
	} else {
		b.WriteString("| Image reference |\n|---|\n")
		for _, t := range p.Tags {
			fmt.Fprintf(&b, "| %s |\n", textfmt.Code(t))
		}
	}
	if read, written := p.Cache.Read(), p.Cache.Written(); len(read) > 0 || len(written) > 0 {
		b.WriteString("\n<details><summary>Cache references</summary>\n\n")
		for _, r := range read {
			fmt.Fprintf(&b, "- read %s\n", textfmt.Code(r))
		}
		for _, r := range written {
			fmt.Fprintf(&b, "- write %s\n", textfmt.Code(r))
		}
		if len(written) == 0 && p.Cache.Note != "" {
			fmt.Fprintf(&b, "- nothing written: %s\n", textfmt.Text(p.Cache.Note))
		}
		b.WriteString("\n</details>\n")
	}
	if len(p.Skipped) > 0 {
		b.WriteString("\n<details><summary>Rules that produced no tag</summary>\n\n")
		for _, sk := range p.Skipped {
			fmt.Fprintf(&b, "- %s: %s\n", textfmt.Code(sk.Rule), textfmt.Text(sk.Reason))
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

// tagInput maps the event and the configuration onto the pure tag engine.
func tagInput(cfg *config.Config, ev *ghactions.Context, getenv func(string) string, now time.Time) tags.Input {
	tev := tags.EventFromPayload(ev.EventName, ev.Ref, ev.SHA, ev.HeadRef, ev.BaseRef, ev.Payload)
	tev.Fork = ev.IsFork() // decided once, by the event context
	if tev.DefaultBranch == "" {
		tev.DefaultBranch = ev.DefaultBranch
	}
	if ev.PullRequest != nil {
		tev.HeadCommitTime = commitTime(ev.Workspace, ev.PullRequest.HeadSHA)
	}
	repo := tags.RepoFromPayload(ev.Payload)
	if repo.FullName == "" {
		repo.FullName = ev.Repository
	}
	if repo.Name == "" {
		_, repo.Name, _ = strings.Cut(ev.Repository, "/")
	}
	if repo.HTMLURL == "" && ev.Repository != "" {
		repo.HTMLURL = strings.TrimRight(ev.ServerURL, "/") + "/" + ev.Repository
	}
	if repo.DefaultBranch == "" {
		repo.DefaultBranch = tev.DefaultBranch
	}
	images := cfg.Images
	if len(images) == 0 {
		images = []tags.Image{{Name: "ghcr.io/" + strings.ToLower(ev.Repository), Enable: true}}
	}
	scope, scopeFrom := cacheScope(cfg, ev)
	in := tags.Input{
		Event:            tev,
		Repo:             repo,
		Images:           images,
		Rules:            cfg.TagRules,
		Flavor:           cfg.Flavor,
		Labels:           cfg.Labels,
		Annotations:      cfg.Annotations,
		AnnotationLevels: cfg.AnnotationLevels,
		Now:              now,
		PRHeadSHAForSHA:  getenv("DOCKER_METADATA_PR_HEAD_SHA") == "true",
		Cache: tags.CacheOptions{
			Image:        cfg.CacheImage,
			Scope:        scope,
			ScopeFrom:    scopeFrom,
			Disabled:     cfg.Build.Cache == build.CacheNone,
			DisabledNote: "cache is none: no cache refs are read or written",
		},
	}
	// {{dockerfile 'NAME'}}: the final stage's ARG or ENV, the Dockerfile
	// read once, when a rule asks.
	var vars *build.StageVars
	in.DockerfileVar = func(name string) (string, string) {
		if vars == nil {
			vars = build.ReadStageVars(dockerfilePath(cfg), cfg.File, cfg.Build.Target, cfg.Build.BuildArgs)
		}
		return vars.Lookup(name)
	}
	if t, ok := tags.CommitDateFromPayload(ev.Payload, ev.SHA); ok {
		in.CommitDate = t
	} else if t := commitTime(ev.Workspace, ev.SHA); !t.IsZero() {
		in.CommitDate = t
	}
	if d := buildInputs(cfg); d != "" {
		in.Labels = append(slices.Clone(in.Labels), registry.LabelBuildInputs+"="+d)
	}
	// The image of a commit carries the commit's time, not the run's, so
	// that the re-run button builds the same labels again; and generated
	// labels with nothing to say do not blank the Dockerfile's own.
	in.Created = in.CommitDate
	in.OmitEmptyLabels = true
	if n, err := strconv.Atoi(getenv("DOCKER_METADATA_SHORT_SHA_LENGTH")); err == nil && n > 0 {
		in.ShortSHALength = n
	}
	return in
}

// buildInputs digests what, besides the commit's files, decides the
// image: the Dockerfile's bytes and the build settings. With the revision
// it recognises a release built again from the same sources (a re-run),
// whose image may differ in timestamps only. "" when the Dockerfile
// cannot be read (the build stage reports that).
func buildInputs(cfg *config.Config) string {
	df, err := os.ReadFile(dockerfilePath(cfg))
	if err != nil {
		return ""
	}
	h := sha256.New()
	field := func(name string, values ...string) {
		fmt.Fprintf(h, "%s %d\n", name, len(values))
		for _, v := range values {
			fmt.Fprintf(h, "%d:%s\n", len(v), v)
		}
	}
	field("dockerfile", string(df))
	field("target", cfg.Build.Target)
	field("builder-target", cfg.Build.BuilderTarget)
	var args []string
	for _, a := range cfg.Build.BuildArgs {
		args = append(args, a.Name+"="+a.Value)
	}
	field("build-args", args...)
	field("platforms", cfg.Build.Platforms...)
	field("labels", cfg.Labels...)
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// clock returns the run's time: IMAGE_PIPELINE_NOW (RFC 3339) when set, for
// reproducible plans and tests, otherwise now.
func clock(getenv func(string) string) (time.Time, error) {
	if v := getenv("IMAGE_PIPELINE_NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("IMAGE_PIPELINE_NOW=%q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z): %w", v, err)
		}
		return t.UTC(), nil
	}
	return time.Now().UTC(), nil
}
