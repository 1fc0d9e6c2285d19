package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
)

// Skip reasons of the sign stage, as the summary shows them.
const (
	ReasonSignFalse = "sign is false: nothing is signed"
	ReasonFork      = "pull request from a fork: nothing is signed (forks get neither secrets nor an OIDC token)"
	ReasonNotPushed = "nothing was pushed: there is no digest to sign"
)

// Stage is the sign stage of the pipeline.
type Stage struct {
	opts   Options
	signer Signer
	key    *LoadedKey
	result *Result
}

// WithLoadedKey signs with the key Preflight decrypted (nil: the stage
// decrypts cosign-key itself).
func WithLoadedKey(k *LoadedKey) StageOption { return func(st *Stage) { st.key = k } }

// StageOption configures the stage.
type StageOption func(*Stage)

// WithSigner replaces the cosign-library Signer (tests use a fake).
func WithSigner(s Signer) StageOption { return func(st *Stage) { st.signer = s } }

// NewStage returns the sign stage.
func NewStage(opts Options, stageOpts ...StageOption) pipeline.Stage {
	s := &Stage{opts: opts}
	for _, o := range stageOpts {
		o(s)
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "sign" }

// SkipReason says why nothing is signed for this state, or "". It also
// records the reason in st.Sign, so that the outputs say signed=false and
// why.
func (s *Stage) SkipReason(st *pipeline.State) string {
	reason := s.skipReason(st)
	if reason != "" {
		st.Sign = &pipeline.SignOutcome{Reason: reason}
	}
	return reason
}

func (s *Stage) skipReason(st *pipeline.State) string {
	o := s.opts
	switch {
	case o.mode() == SignFalse:
		return ReasonSignFalse
	case o.ForkPR:
		return ReasonFork
	case st.Push == nil || !st.Push.Pushed || st.Push.Digest == "":
		return ReasonNotPushed
	}
	if o.mode() == SignAuto {
		if !o.releaseEvent() {
			return fmt.Sprintf("sign is auto and %s is not a release event: only tag pushes and default-branch pushes are signed (sign: true signs every push)", o.eventDescription())
		}
		if o.keyless() && !o.hasIDToken() {
			return "sign is auto and there is neither a cosign-key nor an OIDC token: for keyless signing add `permissions: id-token: write` to the job"
		}
	}
	return ""
}

// releaseEvent reports whether the event publishes a release: a tag, or
// the default branch outside a pull request.
func (o Options) releaseEvent() bool {
	return !o.PullRequest && (o.IsTag || o.IsDefaultBranch)
}

// eventDescription names the event for the summary.
func (o Options) eventDescription() string {
	ev := o.EventName
	if ev == "" {
		ev = "a local run"
	} else {
		ev = "this " + ev + " event"
	}
	switch {
	case o.PullRequest:
		return ev + " (a pull request)"
	case o.IsTag:
		return ev + " (a tag)"
	case o.IsDefaultBranch:
		return ev + " (the default branch)"
	}
	return ev + " (not the default branch)"
}

// whySigned is the summary's one-line answer to "why was this signed?".
func (o Options) whySigned() string {
	how := "keyless (GitHub OIDC → Fulcio)"
	if !o.keyless() {
		how = "with " + InputKey
	}
	if o.mode() == SignTrue {
		return "sign is true; signed " + how
	}
	return "sign is auto and " + o.eventDescription() + " is a release event; signed " + how
}

// Run signs the pushed digest and fills st.Sign and the summary section.
func (s *Stage) Run(ctx context.Context, st *pipeline.State) error {
	st.Sign = &pipeline.SignOutcome{}
	if st.Push == nil || !st.Push.Pushed {
		st.Sign.Reason = ReasonNotPushed
		return errors.New("there is no pushed digest to sign (the sign stage ran although its skip reason says it should not)")
	}
	req, err := request(st, !s.opts.NoAttestSBOM)
	if st.Plan != nil {
		req.Annotations = s.opts.annotations(st.Plan.Revision)
	} else {
		req.Annotations = s.opts.annotations("")
	}
	if err != nil {
		st.Sign.Reason = "the pushed references cannot be read"
		return err
	}
	signer := s.signer
	if signer == nil {
		if signer, err = newSigner(s.opts, s.key); err != nil {
			st.Sign.Reason = "the sign inputs are invalid"
			return err
		}
	}
	res, err := signer.Sign(ctx, req)
	s.result = res
	if err != nil {
		st.Sign.Reason = "signing failed: " + firstLine(err.Error())
		st.AddSection("Sign", failureMarkdown(st.Push.Digest, res, err))
		return err
	}
	cmds := VerifyCommands(s.opts, res)
	st.Sign = &pipeline.SignOutcome{
		Signed:        true,
		Attested:      res.Attested(),
		VerifyCommand: cmds.Signature,
		Reason:        s.opts.whySigned(),
	}
	if len(res.Repositories) > 0 {
		st.Sign.SignatureRef = res.Repositories[0].SignatureRef
	}
	if !s.opts.NoAttestSBOM && req.SBOMPath == "" {
		st.Notice("sign: the SBOM was not attested: the scan stage produced no SBOM")
	}
	st.AddSection("Sign", summaryMarkdown(s.opts, res, cmds, req))
	return nil
}

// request turns the push outcome into what to sign: the digest, and each
// repository that holds it once, however many tags point at it.
func request(st *pipeline.State, attest bool) (Request, error) {
	req := Request{Digest: st.Push.Digest}
	seen := map[string]bool{}
	refs := append([]string{st.Push.ImageRef}, st.Push.Refs...)
	for _, r := range refs {
		if r == "" {
			continue
		}
		ref, err := name.ParseReference(r)
		if err != nil {
			return req, fmt.Errorf("pushed reference %q: %w", r, err)
		}
		repo := ref.Context().Name()
		if !seen[repo] {
			seen[repo] = true
			req.Repositories = append(req.Repositories, repo)
		}
	}
	if attest && st.Scan != nil && st.Scan.SBOMPath != "" {
		req.SBOMPath, req.SBOMFormat = st.Scan.SBOMPath, st.Scan.SBOMFormat
	}
	return req, nil
}

// Fact is the summary table's key fact: "sha256:abcd1234… signed (key) +
// SBOM attested".
func (s *Stage) Fact(st *pipeline.State) string {
	if st.Sign == nil || !st.Sign.Signed || s.result == nil {
		return ""
	}
	how := "key"
	if s.result.Keyless {
		how = "keyless"
	}
	f := fmt.Sprintf("%s signed (%s, %s)", textfmt.ShortDigest(s.result.Digest), how, s.result.Format)
	if s.result.Attested() {
		f += " + SBOM attested"
	}
	return f
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// compile-time check that the stage satisfies the pipeline's interfaces.
var (
	_ pipeline.Stage  = (*Stage)(nil)
	_ pipeline.Facter = (*Stage)(nil)
)
