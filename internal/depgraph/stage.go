package depgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/textfmt"
)

// InputEnabled is the input that turns submission on.
const InputEnabled = "dependency-snapshot"

// Options is what the stage needs from the inputs and the event.
type Options struct {
	// Enabled is the dependency-snapshot input.
	Enabled bool
	// APIURL is GITHUB_API_URL (https://api.github.com when empty);
	// Repository is owner/name; Token is the github-token input, sent to
	// APIURL only.
	APIURL, Repository, Token string
	// ForkPR is set for a fork's pull request: its token is read-only, and
	// nothing of a fork's run is published.
	ForkPR bool
	// Source is what the snapshot is about (Scanned is set by Run).
	Source Source
	// HTTPClient talks to the API; nil means one with a 30 s timeout that
	// follows no redirect (the token stays with APIURL's host).
	HTTPClient *http.Client
	// Log gets progress lines and the warning when GitHub refuses.
	Log pipeline.Logger
	// Now is the clock (nil: time.Now); Backoff the wait before a retry
	// (nil: 1 s, then 2 s).
	Now     func() time.Time
	Backoff func(attempt int) time.Duration
}

// Stage submits the scan's packages.
type Stage struct {
	o    Options
	fact string
}

// NewStage returns the dependencies stage.
func NewStage(o Options) *Stage { return &Stage{o: o} }

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "dependencies" }

// SkipReason implements pipeline.Stage. The scan gate does not matter:
// the snapshot is submitted whether or not the gate closed.
func (s *Stage) SkipReason(st *pipeline.State) string {
	o := s.o
	switch {
	case !o.Enabled:
		return InputEnabled + " is false: nothing is sent to the dependency graph"
	case st.Scan == nil:
		return "the scan did not run: there are no packages to submit"
	case o.ForkPR:
		return "pull request from a fork: its token cannot write the dependency graph, and nothing of a fork's run is published"
	case strings.TrimSpace(o.Token) == "":
		return "github-token is empty: there is no token to submit with"
	case o.Repository == "" || len(o.Source.SHA) != 40 || !strings.HasPrefix(o.Source.Ref, "refs/"):
		return "not a GitHub Actions run: GITHUB_REPOSITORY, GITHUB_SHA or GITHUB_REF is missing"
	}
	return ""
}

// Fact implements pipeline.Facter.
func (s *Stage) Fact(*pipeline.State) string { return s.fact }

// response is the API's answer to a submission.
type response struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	Result    string `json:"result"`
	Message   string `json:"message"`
}

// Run builds the snapshot and submits it. GitHub refusing it (no
// `contents: write`, the dependency graph off, an outage) is a warning,
// never a failure: the dependency graph is a report, and the image is
// pushed whatever it says.
func (s *Stage) Run(ctx context.Context, st *pipeline.State) error {
	src := s.o.Source
	now := time.Now
	if s.o.Now != nil {
		now = s.o.Now
	}
	src.Scanned = now()
	snap, skipped := Build(src, st.Scan.Packages)
	body, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode the dependency snapshot: %w", err)
	}
	url := s.endpoint()
	s.logf("dependencies: submitting %s to %s", snap, url)
	res, status, err := s.submit(ctx, url, body)
	var b strings.Builder
	switch {
	case err != nil:
		why := refusal(status, err)
		s.warnf("dependencies: the dependency graph did not take the snapshot: %s", why)
		s.fact = "not submitted"
		fmt.Fprintf(&b, "The snapshot of %d packages was **not** submitted: %s\n", snap.Packages(), textfmt.Text(why))
	default:
		s.fact = fmt.Sprintf("%d packages submitted", snap.Packages())
		s.logf("dependencies: snapshot %d %s: %s", res.ID, strings.ToLower(res.Result), res.Message)
		fmt.Fprintf(&b, "Submitted %d packages of %s in %d manifests to the dependency graph (snapshot %d, %s), correlator %s.\n",
			snap.Packages(), textfmt.Code(src.Image), len(snap.Manifests), res.ID, textfmt.Text(strings.ToLower(res.Result)), textfmt.Code(snap.Job.Correlator))
		if gateClosed(st) {
			b.WriteString("\nSubmitted although the scan gate closed: Dependabot alerts cover the image all the same.\n")
		}
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "\n%d packages have no package URL and were left out.\n", skipped)
	}
	st.AddSection("Dependency graph", b.String())
	return nil
}

func gateClosed(st *pipeline.State) bool {
	for _, g := range st.Gates {
		if g.Name == "scan" && !g.Passed {
			return true
		}
	}
	return false
}

func (s *Stage) endpoint() string {
	api := strings.TrimSuffix(s.o.APIURL, "/")
	if api == "" {
		api = "https://api.github.com"
	}
	return api + "/repos/" + s.o.Repository + "/dependency-graph/snapshots"
}

// statusError is an answer other than 201.
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string {
	if e.message != "" {
		return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.message)
	}
	return fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
}

// submit posts the snapshot, retrying twice on 5xx and on transport
// errors. status is the last HTTP status (0: none).
func (s *Stage) submit(ctx context.Context, url string, body []byte) (*response, int, error) {
	hc := s.o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	backoff := s.o.Backoff
	if backoff == nil {
		backoff = func(attempt int) time.Duration { return time.Duration(attempt) * time.Second }
	}
	var lastErr error
	status := 0
	for attempt := 1; attempt <= 3; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+s.o.Token)
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "image-pipeline")
		resp, err := hc.Do(req)
		if err != nil {
			lastErr, status = err, 0
		} else {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			status = resp.StatusCode
			if status == http.StatusCreated || status == http.StatusOK {
				var r response
				if err := json.Unmarshal(data, &r); err != nil {
					return nil, status, fmt.Errorf("the answer is not the API's JSON: %w", err)
				}
				return &r, status, nil
			}
			var e struct {
				Message string `json:"message"`
			}
			_ = json.Unmarshal(data, &e)
			lastErr = &statusError{status: status, message: e.Message}
			if status < 500 {
				return nil, status, lastErr
			}
		}
		if attempt < 3 {
			select {
			case <-ctx.Done():
				return nil, status, ctx.Err()
			case <-time.After(backoff(attempt)):
			}
		}
	}
	return nil, status, lastErr
}

// refusal says why GitHub refused, and what to do.
func refusal(status int, err error) string {
	var se *statusError
	if !errors.As(err, &se) {
		return err.Error()
	}
	switch se.status {
	case http.StatusForbidden, http.StatusNotFound:
		return se.Error() + ". The job's token needs `permissions: contents: write` to submit dependencies (and the repository's dependency graph on)"
	case http.StatusUnauthorized:
		return se.Error() + ". github-token is not a valid token for this repository"
	}
	return se.Error()
}

func (s *Stage) logf(format string, a ...any) {
	if s.o.Log != nil {
		s.o.Log.Infof(format, a...)
	}
}

func (s *Stage) warnf(format string, a ...any) {
	if s.o.Log != nil {
		s.o.Log.Warningf(format, a...)
	}
}

var (
	_ pipeline.Stage  = (*Stage)(nil)
	_ pipeline.Facter = (*Stage)(nil)
)
