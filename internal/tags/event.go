package tags

import (
	"strconv"
	"time"
)

// EventFromPayload builds an Event from the runner's GITHUB_EVENT_NAME,
// GITHUB_REF, GITHUB_SHA, GITHUB_HEAD_REF, GITHUB_BASE_REF and the decoded
// event payload (nil when there is none). It only reads the map. Fork is
// left to the caller: whether a pull request comes from a fork is decided
// once, by ghactions.Context (the app sets Event.Fork from it).
func EventFromPayload(name, ref, sha, headRef, baseRef string, payload map[string]any) Event {
	ev := Event{Name: name, Ref: ref, SHA: sha, HeadRef: headRef, BaseRef: baseRef}
	ev.DefaultBranch = str(payload, "repository", "default_branch")
	ev.TagBaseRef = str(payload, "base_ref")
	ev.PRHeadSHA = str(payload, "pull_request", "head", "sha")
	ev.PRHeadRef = str(payload, "pull_request", "head", "ref")
	ev.PRBaseRef = str(payload, "pull_request", "base", "ref")
	if n, ok := num(payload, "number"); ok {
		ev.PRNumber = n
	} else if n, ok := num(payload, "pull_request", "number"); ok {
		ev.PRNumber = n
	}
	return ev
}

// RepoFromPayload reads the payload's repository object.
func RepoFromPayload(payload map[string]any) Repo {
	return Repo{
		Name:          str(payload, "repository", "name"),
		FullName:      str(payload, "repository", "full_name"),
		Description:   str(payload, "repository", "description"),
		HTMLURL:       str(payload, "repository", "html_url"),
		License:       str(payload, "repository", "license", "spdx_id"),
		DefaultBranch: str(payload, "repository", "default_branch"),
	}
}

// CommitDateFromPayload finds the time of commit sha in a push payload
// (commits[].timestamp or head_commit.timestamp), as metadata-action does
// before it falls back to the GitHub API.
func CommitDateFromPayload(payload map[string]any, sha string) (time.Time, bool) {
	if commits, ok := lookup(payload, "commits").([]any); ok {
		for _, c := range commits {
			m, _ := c.(map[string]any)
			if id, _ := m["id"].(string); id == sha && sha != "" {
				if t, err := time.Parse(time.RFC3339, str(m, "timestamp")); err == nil {
					return t, true
				}
			}
		}
	}
	if str(payload, "head_commit", "id") == sha && sha != "" {
		if t, err := time.Parse(time.RFC3339, str(payload, "head_commit", "timestamp")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func lookup(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func str(m map[string]any, path ...string) string {
	s, _ := lookup(m, path...).(string)
	return s
}

func num(m map[string]any, path ...string) (int, bool) {
	switch v := lookup(m, path...).(type) {
	case float64:
		return int(v), v > 0
	case int:
		return v, v > 0
	case int64:
		return int(v), v > 0
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	}
	return 0, false
}
