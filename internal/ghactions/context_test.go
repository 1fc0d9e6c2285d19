package ghactions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const eventsDir = "../../testdata/events"

// fixtureEnv returns the runner environment for testdata/events/<name>.json:
// the variables in <name>.env plus GITHUB_EVENT_PATH.
func fixtureEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, name+".env"))
	if err != nil {
		t.Fatalf("read fixture environment: %v", err)
	}
	env := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s.env: line %q is not KEY=VALUE", name, line)
		}
		env[k] = v
	}
	env["GITHUB_EVENT_PATH"] = filepath.Join(eventsDir, name+".json")
	return env
}

func TestLoadContextFixtures(t *testing.T) {
	type want struct {
		event, branch, tag, defaultBranch string
		isDefault, isPR, isFork           bool
		pr                                *PullRequest
		headCommitTime                    string // RFC 3339, "" for zero
	}
	tests := []struct {
		fixture string
		want    want
	}{
		{"push_main", want{
			event: "push", branch: "main", defaultBranch: "main", isDefault: true,
			headCommitTime: "2026-03-03T11:21:40+01:00",
		}},
		{"push_tag", want{
			event: "push", tag: "v1.2.3", defaultBranch: "main",
			headCommitTime: "2026-03-03T11:21:40+01:00",
		}},
		{"push_untrusted", want{
			event: "push", branch: "feature/100%25-%0Apwned", defaultBranch: "main",
			headCommitTime: "2026-03-04T08:00:00Z",
		}},
		{"pull_request", want{
			event: "pull_request", branch: "feature/distroless", defaultBranch: "main", isPR: true,
			pr: &PullRequest{
				Number: 27, HeadSHA: "e83c5163316f89bfbde7d9ab23ca2e25604af290", HeadRef: "feature/distroless",
				HeadRepo: "octo-org/hello-image", BaseRef: "main", BaseRepo: "octo-org/hello-image",
			},
		}},
		{"pull_request_fork", want{
			event: "pull_request", branch: "main", defaultBranch: "main", isPR: true, isFork: true,
			pr: &PullRequest{
				Number: 31, HeadSHA: "1f2e3d4c5b6a79880796a5b4c3d2e1f0a1b2c3d4", HeadRef: "main",
				HeadRepo: "octo-contributor/hello-image", BaseRef: "main", BaseRepo: "octo-org/hello-image", Fork: true,
			},
		}},
		{"pull_request_target", want{
			// The fork's "main" is not our default branch.
			event: "pull_request_target", branch: "main", defaultBranch: "main", isPR: true, isFork: true,
			pr: &PullRequest{
				Number: 31, HeadSHA: "1f2e3d4c5b6a79880796a5b4c3d2e1f0a1b2c3d4", HeadRef: "main",
				HeadRepo: "octo-contributor/hello-image", BaseRef: "main", BaseRepo: "octo-org/hello-image", Fork: true,
			},
		}},
		{"release", want{event: "release", tag: "v1.2.3", defaultBranch: "main"}},
		{"workflow_dispatch", want{event: "workflow_dispatch", branch: "main", defaultBranch: "main", isDefault: true}},
		{"schedule", want{event: "schedule", branch: "main", defaultBranch: "main", isDefault: true}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			env := fixtureEnv(t, tt.fixture)
			c, err := LoadContext(envOf(env))
			if err != nil {
				t.Fatalf("LoadContext: %v", err)
			}
			w := tt.want
			checks := []struct{ what, got, want string }{
				{"EventName", c.EventName, w.event},
				{"Branch()", c.Branch(), w.branch},
				{"Tag()", c.Tag(), w.tag},
				{"DefaultBranch", c.DefaultBranch, w.defaultBranch},
				{"Ref", c.Ref, env["GITHUB_REF"]},
				{"SHA", c.SHA, env["GITHUB_SHA"]},
				{"Repository", c.Repository, "octo-org/hello-image"},
				{"Owner", c.Owner, "octo-org"},
				{"Actor", c.Actor, env["GITHUB_ACTOR"]},
				{"ServerURL", c.ServerURL, "https://github.com"},
				{"APIURL", c.APIURL, "https://api.github.com"},
				{"RunID", c.RunID, env["GITHUB_RUN_ID"]},
				{"RunNumber", c.RunNumber, env["GITHUB_RUN_NUMBER"]},
				{"RunAttempt", c.RunAttempt, "1"},
				{"Workflow", c.Workflow, "image"},
				{"Job", c.Job, "image"},
				{"Workspace", c.Workspace, "/github/workspace"},
				{"HeadRef", c.HeadRef, env["GITHUB_HEAD_REF"]},
				{"BaseRef", c.BaseRef, env["GITHUB_BASE_REF"]},
			}
			for _, ch := range checks {
				if ch.got != ch.want {
					t.Errorf("%s = %q, want %q", ch.what, ch.got, ch.want)
				}
			}
			if c.IsDefaultBranch() != w.isDefault || c.IsPullRequest() != w.isPR || c.IsFork() != w.isFork {
				t.Errorf("IsDefaultBranch, IsPullRequest, IsFork = %v, %v, %v; want %v, %v, %v",
					c.IsDefaultBranch(), c.IsPullRequest(), c.IsFork(), w.isDefault, w.isPR, w.isFork)
			}
			switch {
			case w.pr == nil && c.PullRequest != nil:
				t.Errorf("PullRequest = %+v, want nil", *c.PullRequest)
			case w.pr != nil && (c.PullRequest == nil || *c.PullRequest != *w.pr):
				t.Errorf("PullRequest = %+v, want %+v", c.PullRequest, *w.pr)
			}
			var wantTime time.Time
			if w.headCommitTime != "" {
				wantTime, _ = time.Parse(time.RFC3339, w.headCommitTime)
			}
			if !c.HeadCommitTime.Equal(wantTime) {
				t.Errorf("HeadCommitTime = %v, want %v", c.HeadCommitTime, wantTime)
			}
			if len(c.Payload) == 0 {
				t.Error("Payload is empty")
			}
		})
	}
}

// writePayload writes a payload file and returns its path.
func writePayload(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadContextPayloadFile(t *testing.T) {
	unreadable := filepath.Join(t.TempDir(), "dir-not-file")
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "unset", path: ""},
		{name: "missing file", path: filepath.Join(t.TempDir(), "nope.json")},
		{name: "unreadable", path: unreadable},
		{name: "empty object", path: writePayload(t, "{}")},
		{name: "invalid JSON", path: writePayload(t, "{not json"), wantErr: "is not a JSON object"},
		{name: "array", path: writePayload(t, "[]"), wantErr: "is not a JSON object"},
		{name: "null", path: writePayload(t, "null"), wantErr: "is not a JSON object"},
		{name: "field of unexpected type", path: writePayload(t, `{"number": "seven", "repository": {"default_branch": 1}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadContext(envOf(map[string]string{
				"GITHUB_EVENT_PATH": tt.path,
				"GITHUB_EVENT_NAME": "push",
				"GITHUB_REPOSITORY": "octo-org/hello-image",
				"GITHUB_REF":        "refs/heads/dev",
			}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "GITHUB_EVENT_PATH") {
					t.Fatalf("LoadContext error = %v, want one mentioning GITHUB_EVENT_PATH and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadContext: %v", err)
			}
			if c.Payload == nil {
				t.Error("Payload is nil, want an empty map")
			}
			if c.Owner != "octo-org" || c.Branch() != "dev" || c.IsDefaultBranch() {
				t.Errorf("Owner, Branch(), IsDefaultBranch() = %q, %q, %v", c.Owner, c.Branch(), c.IsDefaultBranch())
			}
			if c.ServerURL != "https://github.com" || c.APIURL != "https://api.github.com" {
				t.Errorf("ServerURL, APIURL = %q, %q; want the github.com defaults", c.ServerURL, c.APIURL)
			}
		})
	}
}

func TestLoadContextPullRequestEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		ref     string
		payload string
		want    PullRequest
	}{
		{
			name:  "deleted fork",
			event: "pull_request",
			payload: `{"number": 5, "pull_request": {"number": 5, "draft": true,
				"head": {"ref": "patch-1", "sha": "abc", "repo": null},
				"base": {"ref": "main", "repo": {"full_name": "octo-org/hello-image"}}}}`,
			want: PullRequest{Number: 5, HeadSHA: "abc", HeadRef: "patch-1", BaseRef: "main", BaseRepo: "octo-org/hello-image", Fork: true, Draft: true},
		},
		{
			name:  "same repo, different case",
			event: "pull_request_review",
			payload: `{"pull_request": {"number": 6,
				"head": {"ref": "fix", "sha": "def", "repo": {"full_name": "Octo-Org/Hello-Image", "fork": false}},
				"base": {"ref": "main", "repo": {"full_name": "octo-org/hello-image"}}}}`,
			want: PullRequest{Number: 6, HeadSHA: "def", HeadRef: "fix", HeadRepo: "Octo-Org/Hello-Image", BaseRef: "main", BaseRepo: "octo-org/hello-image"},
		},
		{
			name:  "field of unexpected type elsewhere",
			event: "pull_request_target",
			payload: `{"number": "seven", "repository": {"default_branch": 1}, "pull_request": {"number": 7,
				"head": {"ref": "fix", "sha": "aaa", "repo": {"full_name": "octo-org/hello-image"}},
				"base": {"ref": "main", "repo": {"full_name": "octo-org/hello-image"}}}}`,
			want: PullRequest{Number: 7, HeadSHA: "aaa", HeadRef: "fix", HeadRepo: "octo-org/hello-image", BaseRef: "main", BaseRepo: "octo-org/hello-image"},
		},
		{
			name:    "no payload: number from GITHUB_REF, fork assumed",
			event:   "pull_request",
			ref:     "refs/pull/9/merge",
			payload: `{}`,
			want:    PullRequest{Number: 9, HeadRef: "topic", BaseRef: "main", BaseRepo: "octo-org/hello-image", Fork: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadContext(envOf(map[string]string{
				"GITHUB_EVENT_PATH": writePayload(t, tt.payload),
				"GITHUB_EVENT_NAME": tt.event,
				"GITHUB_REPOSITORY": "octo-org/hello-image",
				"GITHUB_REF":        tt.ref,
				"GITHUB_HEAD_REF":   "topic",
				"GITHUB_BASE_REF":   "main",
			}))
			if err != nil {
				t.Fatalf("LoadContext: %v", err)
			}
			if c.PullRequest == nil || *c.PullRequest != tt.want {
				t.Fatalf("PullRequest = %+v, want %+v", c.PullRequest, tt.want)
			}
			if c.IsFork() != tt.want.Fork || !c.IsPullRequest() || c.IsDefaultBranch() {
				t.Errorf("IsFork, IsPullRequest, IsDefaultBranch = %v, %v, %v", c.IsFork(), c.IsPullRequest(), c.IsDefaultBranch())
			}
		})
	}
}

func TestLoadContextHeadCommitTimeOnlyOnPush(t *testing.T) {
	payload := writePayload(t, `{"head_commit": {"timestamp": "2026-01-02T03:04:05Z"}, "repository": {"default_branch": "main"}}`)
	for _, event := range []string{"push", "workflow_dispatch"} {
		c, err := LoadContext(envOf(map[string]string{"GITHUB_EVENT_PATH": payload, "GITHUB_EVENT_NAME": event}))
		if err != nil {
			t.Fatal(err)
		}
		if got := !c.HeadCommitTime.IsZero(); got != (event == "push") {
			t.Errorf("%s: HeadCommitTime = %v", event, c.HeadCommitTime)
		}
	}
}
