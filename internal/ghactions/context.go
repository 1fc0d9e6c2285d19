package ghactions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Context is what the runner tells a step about the event that started the
// workflow: the GITHUB_* environment and the webhook payload at
// GITHUB_EVENT_PATH.
type Context struct {
	EventName, Ref, SHA, Repository, Owner, Actor string
	ServerURL, APIURL                             string // defaults https://github.com / https://api.github.com
	RunID, RunNumber, RunAttempt, Workflow, Job   string
	Workspace                                     string
	DefaultBranch                                 string // payload.repository.default_branch
	HeadRef, BaseRef                              string // GITHUB_HEAD_REF / GITHUB_BASE_REF (from the payload when unset)

	// PullRequest is set for pull_request, pull_request_target,
	// pull_request_review and pull_request_review_comment events.
	PullRequest *PullRequest
	// HeadCommitTime is payload.head_commit.timestamp on push; zero otherwise.
	HeadCommitTime time.Time
	// Payload is the whole webhook payload; empty (not nil) when there is none.
	Payload map[string]any
}

// PullRequest is the part of a pull request event the pipeline decides on.
type PullRequest struct {
	Number            int
	HeadSHA, HeadRef  string
	HeadRepo          string // head repository full_name; "" when the head repository was deleted
	BaseRef, BaseRepo string // base branch and base repository full_name
	// Fork is true when the head repository differs from the base repository,
	// when the head repository is gone (deleted fork), or when it cannot be
	// determined: a fork gets no secrets and a read-only token, so assuming
	// one is the safe side.
	Fork  bool
	Draft bool
}

// pullRequestEvents are the events whose payload carries "pull_request".
var pullRequestEvents = map[string]bool{
	"pull_request":                true,
	"pull_request_target":         true,
	"pull_request_review":         true,
	"pull_request_review_comment": true,
}

// eventPayload is the typed subset of the webhook payloads read here.
type eventPayload struct {
	Number     int `json:"number"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	HeadCommit *struct {
		Timestamp string `json:"timestamp"`
	} `json:"head_commit"`
	PullRequest *struct {
		Number int  `json:"number"`
		Draft  bool `json:"draft"`
		Head   struct {
			Ref  string       `json:"ref"`
			SHA  string       `json:"sha"`
			Repo *payloadRepo `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref  string       `json:"ref"`
			Repo *payloadRepo `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

type payloadRepo struct {
	FullName string `json:"full_name"`
	Fork     bool   `json:"fork"`
}

// LoadContext reads the event context. A missing or unreadable
// GITHUB_EVENT_PATH gives an empty payload (local runs); a payload file that
// is not a JSON object is an error. Payload fields of an unexpected type are
// ignored.
func LoadContext(getenv func(string) string) (*Context, error) {
	c := &Context{
		EventName:  getenv("GITHUB_EVENT_NAME"),
		Ref:        getenv("GITHUB_REF"),
		SHA:        getenv("GITHUB_SHA"),
		Repository: getenv("GITHUB_REPOSITORY"),
		Owner:      getenv("GITHUB_REPOSITORY_OWNER"),
		Actor:      getenv("GITHUB_ACTOR"),
		ServerURL:  strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/"),
		APIURL:     strings.TrimSuffix(getenv("GITHUB_API_URL"), "/"),
		RunID:      getenv("GITHUB_RUN_ID"),
		RunNumber:  getenv("GITHUB_RUN_NUMBER"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
		Workflow:   getenv("GITHUB_WORKFLOW"),
		Job:        getenv("GITHUB_JOB"),
		Workspace:  getenv("GITHUB_WORKSPACE"),
		HeadRef:    getenv("GITHUB_HEAD_REF"),
		BaseRef:    getenv("GITHUB_BASE_REF"),
		Payload:    map[string]any{},
	}
	if c.ServerURL == "" {
		c.ServerURL = "https://github.com"
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	if c.Owner == "" {
		c.Owner, _, _ = strings.Cut(c.Repository, "/")
	}

	var ev eventPayload
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := json.Unmarshal(data, &c.Payload); err != nil || c.Payload == nil {
				if err == nil {
					err = errors.New("the payload is null")
				}
				return nil, fmt.Errorf("event payload %s (GITHUB_EVENT_PATH) is not a JSON object: %w", path, err)
			}
			// A field of an unexpected type is left zero and the rest is
			// still read (json reports *UnmarshalTypeError after decoding
			// everything else); only invalid JSON is an error, checked above.
			_ = json.Unmarshal(data, &ev)
		case errors.Is(err, fs.ErrNotExist):
			// Local run with a stale path: behave as without a payload.
		default:
			// Unreadable: same as absent, by contract; the fields from the
			// environment are still right.
		}
	}

	if ev.Repository != nil {
		c.DefaultBranch = ev.Repository.DefaultBranch
		if c.Repository == "" {
			c.Repository = ev.Repository.FullName
			if c.Owner == "" {
				c.Owner, _, _ = strings.Cut(c.Repository, "/")
			}
		}
	}
	if c.EventName == "push" && ev.HeadCommit != nil && ev.HeadCommit.Timestamp != "" {
		// A bad timestamp only costs the review-tag time; keep it zero.
		if t, err := time.Parse(time.RFC3339, ev.HeadCommit.Timestamp); err == nil {
			c.HeadCommitTime = t
		}
	}
	if pullRequestEvents[c.EventName] {
		c.PullRequest = c.pullRequest(&ev)
		if c.HeadRef == "" {
			c.HeadRef = c.PullRequest.HeadRef
		}
		if c.BaseRef == "" {
			c.BaseRef = c.PullRequest.BaseRef
		}
	}
	return c, nil
}

func (c *Context) pullRequest(ev *eventPayload) *PullRequest {
	pr := &PullRequest{HeadRef: c.HeadRef, BaseRef: c.BaseRef, BaseRepo: c.Repository, Fork: true}
	if n, ok := strings.CutPrefix(c.Ref, "refs/pull/"); ok {
		n, _, _ = strings.Cut(n, "/")
		pr.Number, _ = strconv.Atoi(n)
	}
	if ev.Number != 0 {
		pr.Number = ev.Number
	}
	p := ev.PullRequest
	if p == nil {
		return pr // head repository unknown: stay on the safe side (Fork)
	}
	if p.Number != 0 {
		pr.Number = p.Number
	}
	pr.Draft = p.Draft
	pr.HeadSHA = p.Head.SHA
	if p.Head.Ref != "" {
		pr.HeadRef = p.Head.Ref
	}
	if p.Base.Ref != "" {
		pr.BaseRef = p.Base.Ref
	}
	if p.Base.Repo != nil && p.Base.Repo.FullName != "" {
		pr.BaseRepo = p.Base.Repo.FullName
	}
	if p.Head.Repo != nil {
		pr.HeadRepo = p.Head.Repo.FullName
	}
	// Repository names are case-insensitive on GitHub.
	pr.Fork = pr.HeadRepo == "" || pr.BaseRepo == "" || !strings.EqualFold(pr.HeadRepo, pr.BaseRepo)
	return pr
}

// IsPullRequest reports whether the event is about a pull request.
func (c *Context) IsPullRequest() bool { return c.PullRequest != nil }

// IsFork reports whether the event is a pull request from another
// repository (see PullRequest.Fork).
func (c *Context) IsFork() bool { return c.PullRequest != nil && c.PullRequest.Fork }

// Branch is the branch the event is about: the pull request's head branch
// for pull request events, otherwise the branch in GITHUB_REF
// (refs/heads/...) — push, workflow_dispatch, schedule. "" for tags.
func (c *Context) Branch() string {
	if c.PullRequest != nil {
		return c.PullRequest.HeadRef
	}
	if b, ok := strings.CutPrefix(c.Ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// Tag is the tag name in GITHUB_REF (refs/tags/...), "" otherwise.
func (c *Context) Tag() string {
	if t, ok := strings.CutPrefix(c.Ref, "refs/tags/"); ok {
		return t
	}
	return ""
}

// IsDefaultBranch reports whether the event is on the repository's default
// branch. Pull requests never are: their head branch may live in a fork.
func (c *Context) IsDefaultBranch() bool {
	if c.PullRequest != nil || c.DefaultBranch == "" {
		return false
	}
	return c.Branch() == c.DefaultBranch
}
