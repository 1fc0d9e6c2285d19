package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com",
		"GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com",
		"GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCheckoutWithoutGitBinary reads what the action needs from real
// checkouts (loose objects, packed after gc, a shallow clone, a detached
// HEAD, a sub-directory) with go-git: the action image has no git.
func TestCheckoutWithoutGitBinary(t *testing.T) {
	origin := t.TempDir()
	gitIn(t, origin, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(origin, "f"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, origin, "add", "f")
	gitIn(t, origin, "commit", "-q", "-m", "one")
	first := gitIn(t, origin, "rev-parse", "HEAD")
	if err := os.WriteFile(filepath.Join(origin, "f"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, origin, "commit", "-q", "-am", "two")
	second := gitIn(t, origin, "rev-parse", "HEAD")
	if err := os.MkdirAll(filepath.Join(origin, "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	packed := filepath.Join(t.TempDir(), "packed")
	gitIn(t, origin, "clone", "-q", origin, packed)
	gitIn(t, packed, "gc", "-q")
	shallow := filepath.Join(t.TempDir(), "shallow")
	gitIn(t, origin, "clone", "-q", "--depth", "1", "file://"+origin, shallow)
	detached := filepath.Join(t.TempDir(), "detached")
	gitIn(t, origin, "clone", "-q", origin, detached)
	gitIn(t, detached, "checkout", "-q", "--detach", first)

	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name, dir, sha                 string
		wantTime                       bool
		wantBranch, wantHead, wantDeft string
	}{
		{name: "loose objects", dir: origin, sha: first, wantTime: true, wantBranch: "main", wantHead: second},
		// A local run finds the repository above a sub-directory; on the
		// runner a repository above the workspace is not read.
		{name: "sub-directory", dir: filepath.Join(origin, "sub", "dir"), sha: second, wantTime: false, wantBranch: "main", wantHead: second},
		{name: "packed after gc", dir: packed, sha: first, wantTime: true, wantBranch: "main", wantHead: second, wantDeft: "main"},
		{name: "shallow clone lacks the parent", dir: shallow, sha: first, wantTime: false, wantBranch: "main", wantHead: second, wantDeft: "main"},
		{name: "detached head", dir: detached, sha: second, wantTime: true, wantBranch: "", wantHead: first, wantDeft: "main"},
		{name: "not a repository", dir: t.TempDir(), sha: first},
		{name: "not a hash", dir: origin, sha: "main", wantBranch: "main", wantHead: second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := commitTime(tc.dir, tc.sha)
			if tc.wantTime && !got.Equal(want) || !tc.wantTime && !got.IsZero() {
				t.Errorf("commitTime = %v, want %v (%v)", got, want, tc.wantTime)
			}
			info := readCheckout(tc.dir, "")
			if info.branch != tc.wantBranch || info.sha != tc.wantHead || info.defaultBranch != tc.wantDeft {
				t.Errorf("checkout = %+v, want branch %q head %q default %q", info, tc.wantBranch, tc.wantHead, tc.wantDeft)
			}
		})
	}
}
