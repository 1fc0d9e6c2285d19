package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
)

// Skip reasons of the push stage, as the summary shows them.
const (
	ReasonPushFalse = "push is false: nothing is pushed"
	ReasonFork      = "pull request from a fork: nothing is pushed"
	ReasonNoImage   = "no image was built: nothing to push"
	ReasonNoTags    = "no tags were computed for this event: nothing to push"
)

// Stage is the push stage of the pipeline.
type Stage struct {
	opts     Options
	pusher   *Pusher
	result   *Result
	prepared bool
}

// NewStage returns the push stage over p (New checked its options, once).
func NewStage(p *Pusher) pipeline.Stage {
	return &Stage{opts: p.opts, pusher: p}
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "push" }

// SkipReason says why nothing is pushed for this state, or "". It also
// records the reason in st.Push, so that the outputs say pushed=false and
// why.
func (s *Stage) SkipReason(st *pipeline.State) string {
	reason := s.skipReason(st)
	if reason != "" {
		st.Push = &pipeline.PushOutcome{Pushed: false, Reason: reason}
	}
	return reason
}

func (s *Stage) skipReason(st *pipeline.State) string {
	switch {
	case s.opts.mode() == PushFalse:
		return ReasonPushFalse
	case s.opts.ForkPR:
		return ReasonFork
	case st.GateFailed():
		return "not pushed: " + st.ClosedGates()
	case st.Build == nil || st.Build.Final() == nil:
		return ReasonNoImage
	case st.Plan == nil || len(st.Plan.Tags) == 0:
		return ReasonNoTags
	}
	if s.opts.mode() == PushAuto {
		missing, err := s.pusher.creds.missingCredentials(Registries(st.Plan.Tags))
		if err == nil && len(missing) > 0 {
			return fmt.Sprintf("no credentials for %s (push: auto): nothing is pushed; to push, %s",
				strings.Join(missing, ", "), missingHint(missing))
		}
	}
	return ""
}

// Prepare starts, once the build has handed on its images, the engine's
// export of the cache images (the builder stage's) in the background, so
// that it overlaps the scan; nothing is sent to a registry before Run. It
// does nothing when this run pushes nothing.
func (s *Stage) Prepare(_ context.Context, st *pipeline.State) {
	if s.prepared || st.Build == nil || st.Build.Final() == nil || s.skipReason(st) != "" {
		return
	}
	if st.Build.Executed == 0 {
		// Every step came from a cache: the registry most likely holds
		// these images already (the push finds them there), and an export
		// nobody reads would only slow the scan down.
		return
	}
	s.prepared = true
	final := *st.Build.Final()
	for _, bi := range st.Build.Images {
		if len(bi.CacheRefs) > 0 && !sameImage(bi, final) {
			s.pusher.prefetch(bi)
		}
	}
}

// Run pushes the final image with the plan's tags, then the cache images,
// and fills st.Push and the summary section.
func (s *Stage) Run(ctx context.Context, st *pipeline.State) error {
	st.Push = &pipeline.PushOutcome{}
	if st.Build == nil || st.Build.Final() == nil || st.Plan == nil {
		st.Push.Reason = ReasonNoImage
		return errors.New("there is no built image or no tag plan to push (the push stage ran although its skip reason says it should not)")
	}
	p := s.pusher
	if s.opts.mode() == PushTrue {
		missing, err := p.MissingCredentials(st.Plan.Tags)
		if err != nil {
			st.Push.Reason = "the credentials could not be read"
			return err
		}
		if len(missing) > 0 {
			st.Push.Reason = "no credentials for " + strings.Join(missing, ", ")
			return fmt.Errorf("push is true but there are no credentials for %s: %s", strings.Join(missing, ", "), missingHint(missing))
		}
	}
	req := Request{Image: *st.Build.Final(), Tags: st.Plan.Tags, MountFrom: st.Plan.Cache.Read(),
		Revision: st.Plan.Revision, BuildInputs: st.Plan.BuildInputs, BaseImages: st.Build.BaseImages}
	for _, bi := range st.Build.Images {
		if len(bi.CacheRefs) > 0 {
			req.Cache = append(req.Cache, bi)
		}
	}
	res, err := p.Push(ctx, req)
	s.result = res
	if err != nil {
		st.Push.Reason = "the push failed"
		// Tags written before a failure point at the complete image: say so.
		var te *TagError
		if errors.As(err, &te) && len(te.Written) > 0 {
			st.Push.Digest, st.Push.Refs = te.Digest, te.Written
		}
		st.AddSection("Push", failureMarkdown(res))
		return err
	}
	st.Push = &pipeline.PushOutcome{Pushed: true, Digest: res.Digest, ImageRef: res.ImageRef, Refs: res.Refs}
	if res.Rerun != nil {
		st.Push.RerunOf = res.Rerun.Built
		st.Notice("Re-run of the release of commit %s: its release tags already held the image %s, built from the same commit and inputs; it was kept and every tag points at it (this run's rebuild %s was not pushed).",
			shortRevision(res.Rerun.Revision), res.Rerun.Released, res.Rerun.Built)
	}
	for _, w := range res.Warnings {
		st.Notice("push: %s", w)
	}
	st.AddSection("Push", summaryMarkdown(res))
	return nil
}

// Fact is the summary table's key fact: "sha256:abcd1234… → 4 tags on 1
// repository".
func (s *Stage) Fact(st *pipeline.State) string {
	if st.Push == nil || !st.Push.Pushed {
		if s.result != nil && s.result.Stats.Requests > 0 {
			return fmt.Sprintf("failed after %d requests", s.result.Stats.Requests)
		}
		return ""
	}
	repos := 1
	if s.result != nil {
		repos = len(s.result.Repositories)
	}
	return fmt.Sprintf("%s → %s on %s", textfmt.ShortDigest(st.Push.Digest), textfmt.Count(len(st.Push.Refs), "tag", "tags"), textfmt.Count(repos, "repository", "repositories"))
}

func summaryMarkdown(r *Result) string {
	var b strings.Builder
	if r.Rerun != nil {
		fmt.Fprintf(&b, "Re-run of a release: the release tags already held %s, built from the same commit and inputs, and it was kept; this run's rebuild %s was not pushed.\n\n",
			textfmt.Code(r.Rerun.Released), textfmt.Code(r.Rerun.Built))
	}
	fmt.Fprintf(&b, "Pushed %s to %s; every tag was read back from the registry and points at it.\n\n",
		textfmt.Code(r.Digest), textfmt.Count(len(r.Repositories), "repository", "repositories"))
	if r.Reused != "" {
		fmt.Fprintf(&b, "The registry already held this image (%s): it was not exported from the engine or compressed again; the push wrote manifests only where it was missing.\n\n", textfmt.Cell(r.Reused))
	}
	b.WriteString("| Reference | Digest |\n|---|---|\n")
	for _, ref := range r.Refs {
		fmt.Fprintf(&b, "| %s | %s |\n", textfmt.Code(ref), textfmt.Code(r.Digest))
	}
	if len(r.CacheRefs) > 0 {
		b.WriteString("\nBuild cache: ")
		for i, c := range r.CacheRefs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(textfmt.Code(c))
		}
		b.WriteString("\n")
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> %s\n", strings.ReplaceAll(w, "\n", " "))
	}
	fmt.Fprintf(&b, "\n%d requests in %s", r.Stats.Requests, r.Duration.Round(1e6))
	if f := r.Stats.Faults(); f > 0 {
		fmt.Fprintf(&b, "; %d retried (%d × 429, %d × 5xx, %d broken connections)", f, r.Stats.Throttled, r.Stats.ServerErrors, r.Stats.ConnectionErrors)
	}
	b.WriteString(".\n")
	return b.String()
}

func failureMarkdown(r *Result) string {
	if r == nil {
		return "Nothing was pushed.\n"
	}
	var b strings.Builder
	b.WriteString("The push failed; no tag points at an incomplete image.")
	if r.Digest != "" {
		fmt.Fprintf(&b, " Image: %s.", textfmt.Code(r.Digest))
	}
	fmt.Fprintf(&b, " %d requests in %s", r.Stats.Requests, r.Duration.Round(1e6))
	if f := r.Stats.Faults(); f > 0 {
		fmt.Fprintf(&b, ", %d faults retried", f)
	}
	b.WriteString(".\n")
	return b.String()
}
