package gitrepo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fixtures are made with the git CLI, which the tests also ask what
// the checkout holds: Open must read a checkout as git does.

// runGit runs the git CLI in dir with no user or system configuration and
// returns its trimmed output; the test fails when git does.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitErr(t, dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return out
}

// gitErr runs git like runGit does, with extra environment, and returns its
// error (with its stderr) instead of failing.
func gitErr(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", append([]string{
		"-c", "init.defaultBranch=main",
		"-c", "protocol.file.allow=always",
		"-c", "advice.detachedHead=false",
		"-c", "gc.auto=0",
	}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"HOME="+os.Getenv("GITREPO_TEST_HOME"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
	)
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", errors.Join(err, errors.New(strings.TrimSpace(stderr.String())))
	}
	return strings.TrimSpace(string(out)), nil
}

// cleanEnv is the environment without git's variables (a test run from a
// git hook has GIT_DIR set).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "gitrepo-home")
	if err != nil {
		panic(err)
	}
	os.Setenv("GITREPO_TEST_HOME", home)
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// commitNo counts the fixture commits so that each has its own times.
var commitNo int

// commit commits a new file in dir and returns the commit's name. Its
// committer time is in +02:00 and an hour after its author time, so that a
// test sees which one is read.
func commit(t *testing.T, dir, msg string) string {
	t.Helper()
	commitNo++
	committed := time.Date(2024, 3, 1, 12, 0, commitNo, 0, time.FixedZone("", 2*3600))
	authored := committed.Add(-time.Hour)
	name := strings.ReplaceAll(msg, " ", "-") + ".txt"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(msg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "add", name)
	if _, err := gitErr(t, dir, []string{
		"GIT_AUTHOR_DATE=" + authored.Format(time.RFC3339),
		"GIT_COMMITTER_DATE=" + committed.Format(time.RFC3339),
	}, "commit", "-q", "-m", msg); err != nil {
		t.Fatalf("git commit in %s: %v", dir, err)
	}
	return runGit(t, dir, "rev-parse", "HEAD")
}

// newRepo makes a repository at dir with the commits named, returning
// their names in order.
func newRepo(t *testing.T, dir string, msgs ...string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "init", "-q")
	var shas []string
	for _, m := range msgs {
		shas = append(shas, commit(t, dir, m))
	}
	return shas
}

// upstream is a repository with history on main, a branch "feature" off
// it and a branch "pr-merge" holding the merge of feature into main, as
// GitHub's refs/pull/N/merge does.
type upstream struct {
	dir                  string
	main, feature, merge []string // main's and feature's commits; the merge
}

func newUpstream(t *testing.T, dir string) upstream {
	t.Helper()
	u := upstream{dir: dir}
	u.main = newRepo(t, dir, "one", "two", "three")
	runGit(t, dir, "checkout", "-q", "-b", "feature", u.main[1])
	u.feature = []string{commit(t, dir, "feature work")}
	runGit(t, dir, "checkout", "-q", "-b", "pr-merge", "main")
	runGit(t, dir, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
	u.merge = []string{runGit(t, dir, "rev-parse", "HEAD")}
	runGit(t, dir, "checkout", "-q", "main")
	return u
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// oracle is what the git CLI says of the checkout at dir, as
// internal/app used to ask it.
type oracle struct {
	root, branch, sha, defaultBranch string
}

func askGit(t *testing.T, dir string) oracle {
	t.Helper()
	var o oracle
	o.root = runGit(t, dir, "rev-parse", "--show-toplevel")
	o.branch, _ = gitErr(t, dir, nil, "symbolic-ref", "--short", "-q", "HEAD")
	o.sha, _ = gitErr(t, dir, nil, "rev-parse", "-q", "--verify", "HEAD")
	if def, err := gitErr(t, dir, nil, "symbolic-ref", "-q", "refs/remotes/origin/HEAD"); err == nil {
		o.defaultBranch = strings.TrimPrefix(def, "refs/remotes/origin/")
	}
	return o
}

// gitCommitTime is git's committer time of sha, false when git does not
// have the commit.
func gitCommitTime(t *testing.T, dir, sha string) (time.Time, bool) {
	t.Helper()
	out, err := gitErr(t, dir, nil, "show", "-s", "--format=%cI", sha)
	if err != nil {
		return time.Time{}, false
	}
	tm, err := time.Parse(time.RFC3339, out)
	if err != nil {
		t.Fatalf("git show %%cI printed %q: %v", out, err)
	}
	return tm, true
}

// want is what TestOpen expects of a checkout.
type want struct {
	root          string // relative to the workspace
	branch        string
	sha           string
	defaultBranch string
	origin        string
	shallow       bool
	present       []string // commits CommitTime finds
	absent        []string // commits CommitTime does not find
}

func TestOpen(t *testing.T) {
	check := checkOpen
	cases := []struct {
		name string
		// setup makes the fixture in ws and says where to open it; when
		// it gives no options, the checkout is also opened Within(ws),
		// unless unbounded.
		setup     func(t *testing.T, ws string) (dir string, opts []Option, w want)
		unbounded bool
	}{{
		name: "at the top level",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "repo"), "one", "two")
			return filepath.Join(ws, "repo"), nil, want{root: "repo", branch: "main", sha: shas[1], present: shas}
		},
	}, {
		name: "in a subdirectory, within the workspace",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "repo"), "one")
			return mkdir(t, filepath.Join(ws, "repo", "a", "b")), []Option{Within(ws)}, want{root: "repo", branch: "main", sha: shas[0], present: shas}
		},
	}, {
		name: "a file in the checkout",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "repo"), "one")
			return filepath.Join(ws, "repo", "one.txt"), []Option{Within(ws)}, want{root: "repo", branch: "main", sha: shas[0], present: shas}
		},
	}, {
		name: "detached HEAD",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			dir := filepath.Join(ws, "repo")
			shas := newRepo(t, dir, "one", "two")
			runGit(t, dir, "checkout", "-q", "--detach", shas[0])
			return dir, nil, want{root: "repo", sha: shas[0], present: shas}
		},
	}, {
		name: "a new repository with no commit",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			newRepo(t, filepath.Join(ws, "repo"))
			return filepath.Join(ws, "repo"), nil, want{root: "repo", branch: "main"}
		},
	}, {
		name: "another branch, after git gc (packed refs, one packfile)",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "repo"))
			runGit(t, u.dir, "checkout", "-q", "feature")
			runGit(t, u.dir, "gc", "-q", "--prune=now")
			assertPacked(t, filepath.Join(u.dir, ".git"), "feature")
			all := slices.Concat(u.main, u.feature, u.merge)
			return u.dir, nil, want{root: "repo", branch: "feature", sha: u.feature[0], present: all}
		},
	}, {
		name: "a clone: origin's HEAD and URL",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "upstream"))
			runGit(t, ws, "clone", "-q", "file://"+u.dir, "clone")
			return filepath.Join(ws, "clone"), []Option{Within(ws)}, want{
				root: "clone", branch: "main", sha: u.main[2], defaultBranch: "main",
				origin: "file://" + u.dir, present: slices.Concat(u.main, u.feature),
			}
		},
	}, {
		name: "a clone whose default branch is not main",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "upstream"))
			runGit(t, u.dir, "branch", "-q", "-m", "main", "trunk")
			runGit(t, ws, "clone", "-q", "--branch", "feature", "file://"+u.dir, "clone")
			return filepath.Join(ws, "clone"), nil, want{
				root: "clone", branch: "feature", sha: u.feature[0], defaultBranch: "trunk",
				origin: "file://" + u.dir, present: slices.Concat(u.main, u.feature),
			}
		},
	}, {
		name: "a shallow clone",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "upstream"))
			runGit(t, ws, "clone", "-q", "--depth", "1", "file://"+u.dir, "clone")
			return filepath.Join(ws, "clone"), []Option{Within(ws)}, want{
				root: "clone", branch: "main", sha: u.main[2], defaultBranch: "main", origin: "file://" + u.dir,
				shallow: true, present: u.main[2:], absent: slices.Concat(u.main[:2], u.feature),
			}
		},
	}, {
		name: "a shallow clone of a pull request's merge commit, detached",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "upstream"))
			runGit(t, ws, "clone", "-q", "--depth", "1", "--branch", "pr-merge", "file://"+u.dir, "clone")
			dir := filepath.Join(ws, "clone")
			runGit(t, dir, "checkout", "-q", "--detach")
			runGit(t, dir, "gc", "-q", "--prune=now")
			return dir, []Option{Within(ws)}, want{
				root: "clone", sha: u.merge[0], origin: "file://" + u.dir,
				shallow: true, present: u.merge, absent: slices.Concat(u.main, u.feature),
			}
		},
	}, {
		name: "as actions/checkout fetches a pull request",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "upstream"))
			dir := mkdir(t, filepath.Join(ws, "checkout"))
			runGit(t, dir, "init", "-q")
			runGit(t, dir, "remote", "add", "origin", "https://x-access-token:secret@github.com/org/repo")
			runGit(t, dir, "fetch", "-q", "--no-tags", "--depth=1", "file://"+u.dir, "+"+u.merge[0]+":refs/remotes/pull/1/merge")
			runGit(t, dir, "checkout", "-q", "--detach", "refs/remotes/pull/1/merge")
			return dir, []Option{Within(ws)}, want{
				root: "checkout", sha: u.merge[0], origin: "https://github.com/org/repo",
				shallow: true, present: u.merge, absent: slices.Concat(u.main, u.feature),
			}
		},
	}, {
		name: "a linked worktree (a gitdir: file and a commondir)",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			u := newUpstream(t, filepath.Join(ws, "main"))
			runGit(t, u.dir, "gc", "-q", "--prune=now")
			runGit(t, u.dir, "worktree", "add", "-q", "-b", "topic", filepath.Join(ws, "wt"), u.feature[0])
			return mkdir(t, filepath.Join(ws, "wt", "sub")), []Option{Within(ws)}, want{
				root: "wt", branch: "topic", sha: u.feature[0], present: slices.Concat(u.main, u.feature),
			}
		},
	}, {
		name: "a submodule",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			subShas := newRepo(t, filepath.Join(ws, "lib"), "lib one", "lib two")
			super := filepath.Join(ws, "super")
			superShas := newRepo(t, super, "super one")
			runGit(t, super, "submodule", "add", "-q", "file://"+filepath.Join(ws, "lib"), "vendor/lib")
			return filepath.Join(super, "vendor", "lib"), []Option{Within(super)}, want{
				root: "super/vendor/lib", branch: "main", sha: subShas[1], defaultBranch: "main",
				origin: "file://" + filepath.Join(ws, "lib"), present: subShas, absent: superShas,
			}
		},
	}, {
		name: "a .git symlink inside the workspace",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "repo"), "one")
			mkdir(t, filepath.Join(ws, "store"))
			if err := os.Rename(filepath.Join(ws, "repo", ".git"), filepath.Join(ws, "store", "repo.git")); err != nil {
				t.Fatal(err)
			}
			symlink(t, "../store/repo.git", filepath.Join(ws, "repo", ".git"))
			return filepath.Join(ws, "repo"), []Option{Within(ws)}, want{root: "repo", branch: "main", sha: shas[0], present: shas}
		},
	}, {
		name: "a workspace reached through a symlink",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "real", "repo"), "one")
			symlink(t, "real", filepath.Join(ws, "link"))
			return mkdir(t, filepath.Join(ws, "link", "repo", "sub")), []Option{Within(filepath.Join(ws, "link"))},
				want{root: "real/repo", branch: "main", sha: shas[0], present: shas}
		},
	}, {
		name: "an empty .git directory is passed over, as git does",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "repo"), "one")
			mkdir(t, filepath.Join(ws, "repo", "sub", ".git"))
			return filepath.Join(ws, "repo", "sub"), []Option{Within(ws)}, want{root: "repo", branch: "main", sha: shas[0], present: shas}
		},
	}, {
		name: "without Within, a .git symlink out of the directory is followed, as git does",
		setup: func(t *testing.T, ws string) (string, []Option, want) {
			shas := newRepo(t, filepath.Join(ws, "elsewhere"), "one")
			mkdir(t, filepath.Join(ws, "work"))
			symlink(t, filepath.Join(ws, "elsewhere", ".git"), filepath.Join(ws, "work", ".git"))
			return filepath.Join(ws, "work"), nil, want{root: "work", branch: "main", sha: shas[0], present: shas}
		},
		unbounded: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			dir, opts, w := tc.setup(t, ws)
			check(t, ws, dir, opts, w)
			if opts == nil && !tc.unbounded {
				// Within changes nothing when the checkout is inside.
				t.Run("within the workspace", func(t *testing.T) {
					check(t, ws, dir, []Option{Within(ws)}, w)
				})
			}
		})
	}
}

// checkOpen opens dir and compares what it reads with w and with git's
// answers.
func checkOpen(t *testing.T, ws, dir string, opts []Option, w want) {
	t.Helper()
	r, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	gitDir := dir
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		gitDir = filepath.Dir(dir)
	}
	o := askGit(t, gitDir)

	if want := filepath.Join(ws, w.root); r.Root() != want || r.Root() != o.root {
		t.Errorf("Root() = %s, want %s (git says %s)", r.Root(), want, o.root)
	}
	branch, sha, err := r.Head()
	if err != nil {
		t.Fatalf("Head(): %v", err)
	}
	if branch != w.branch || branch != o.branch {
		t.Errorf("Head() branch = %q, want %q (git says %q)", branch, w.branch, o.branch)
	}
	if sha != w.sha || sha != o.sha {
		t.Errorf("Head() sha = %q, want %q (git says %q)", sha, w.sha, o.sha)
	}
	if got := r.DefaultBranch(); got != w.defaultBranch || got != o.defaultBranch {
		t.Errorf("DefaultBranch() = %q, want %q (git says %q)", got, w.defaultBranch, o.defaultBranch)
	}
	if got := r.OriginURL(); got != w.origin {
		t.Errorf("OriginURL() = %q, want %q", got, w.origin)
	}
	if got := r.Shallow(); got != w.shallow {
		t.Errorf("Shallow() = %v, want %v", got, w.shallow)
	}
	for _, c := range w.present {
		want, ok := gitCommitTime(t, gitDir, c)
		if !ok {
			t.Fatalf("the fixture is wrong: git does not have %s", c)
		}
		got, ok := r.CommitTime(c)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("CommitTime(%s) = %v, %v; want %v (git's %%cI) in UTC", c, got, ok, want)
		}
	}
	for _, c := range w.absent {
		if _, ok := gitCommitTime(t, gitDir, c); ok {
			t.Fatalf("the fixture is wrong: git has %s", c)
		}
		if got, ok := r.CommitTime(c); ok || !got.IsZero() {
			t.Errorf("CommitTime(%s) = %v, %v; want it absent", c, got, ok)
		}
	}
}

// assertPacked checks that git gc left branch only in packed-refs and the
// objects only in a packfile, so that go-git is seen reading both.
func assertPacked(t *testing.T, gitDir, branch string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(gitDir, "refs", "heads", branch)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refs/heads/%s is still a loose ref (%v)", branch, err)
	}
	packed, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if err != nil || !strings.Contains(string(packed), "refs/heads/"+branch) {
		t.Fatalf("packed-refs lacks %s: %v", branch, err)
	}
	packs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
	loose, _ := filepath.Glob(filepath.Join(gitDir, "objects", "[0-9a-f][0-9a-f]"))
	if len(packs) != 1 || len(loose) != 0 {
		t.Fatalf("after gc: packfiles %v, loose object directories %v", packs, loose)
	}
}

func TestOpenRefuses(t *testing.T) {
	cases := []struct {
		name string
		// setup makes the fixture in ws and says where to open it.
		setup   func(t *testing.T, ws string) (dir string, opts []Option)
		wantErr error  // nil: some other error
		wantMsg string // in the message; "$ws" stands for the workspace
	}{{
		name: "no repository",
		setup: func(t *testing.T, ws string) (string, []Option) {
			return mkdir(t, filepath.Join(ws, "plain")), nil
		},
		wantErr: ErrNotFound,
		wantMsg: "gitrepo: no git repository found at or above $ws/plain",
	}, {
		name: "no repository within the workspace, one above it",
		setup: func(t *testing.T, ws string) (string, []Option) {
			newRepo(t, ws, "one")
			return mkdir(t, filepath.Join(ws, "inner", "sub")), []Option{Within(filepath.Join(ws, "inner"))}
		},
		wantErr: ErrNotFound,
		wantMsg: "no git repository found at or above $ws/inner/sub within $ws/inner",
	}, {
		name: "a .git symlink out of the workspace",
		setup: func(t *testing.T, ws string) (string, []Option) {
			newRepo(t, filepath.Join(ws, "elsewhere"), "one")
			mkdir(t, filepath.Join(ws, "work"))
			symlink(t, filepath.Join(ws, "elsewhere", ".git"), filepath.Join(ws, "work", ".git"))
			return filepath.Join(ws, "work"), []Option{Within(filepath.Join(ws, "work"))}
		},
		wantErr: ErrOutside,
		wantMsg: "$ws/work/.git is a symlink to $ws/elsewhere/.git, outside the workspace $ws/work",
	}, {
		name: "a relative .git symlink out of the workspace",
		setup: func(t *testing.T, ws string) (string, []Option) {
			newRepo(t, filepath.Join(ws, "elsewhere"), "one")
			mkdir(t, filepath.Join(ws, "work", "sub"))
			symlink(t, "../../elsewhere/.git", filepath.Join(ws, "work", "sub", ".git"))
			return filepath.Join(ws, "work", "sub"), []Option{Within(filepath.Join(ws, "work"))}
		},
		wantErr: ErrOutside,
	}, {
		name: "a directory that is a symlink out of the workspace",
		setup: func(t *testing.T, ws string) (string, []Option) {
			newRepo(t, filepath.Join(ws, "elsewhere"), "one")
			mkdir(t, filepath.Join(ws, "work"))
			symlink(t, filepath.Join(ws, "elsewhere"), filepath.Join(ws, "work", "link"))
			return filepath.Join(ws, "work", "link"), []Option{Within(filepath.Join(ws, "work"))}
		},
		wantErr: ErrOutside,
		wantMsg: "gitrepo: $ws/work/link resolves to $ws/elsewhere, outside the workspace $ws/work",
	}, {
		name: "a gitdir: file naming a directory out of the workspace",
		setup: func(t *testing.T, ws string) (string, []Option) {
			work := mkdir(t, filepath.Join(ws, "work"))
			runGit(t, ws, "init", "-q", "--separate-git-dir", filepath.Join(ws, "elsewhere.git"), work)
			commit(t, work, "one")
			return work, []Option{Within(work)}
		},
		wantErr: ErrOutside,
		wantMsg: "$ws/work/.git names the git directory $ws/elsewhere.git, outside the workspace $ws/work",
	}, {
		name: "a worktree of a repository out of the workspace",
		setup: func(t *testing.T, ws string) (string, []Option) {
			newRepo(t, filepath.Join(ws, "main"), "one")
			runGit(t, filepath.Join(ws, "main"), "worktree", "add", "-q", "-b", "topic", filepath.Join(ws, "wt"))
			// The worktree's own git directory is in the workspace; its
			// common directory is not.
			gitDir := filepath.Join(ws, "wt", "gitdir")
			if err := os.Rename(filepath.Join(ws, "main", ".git", "worktrees", "wt"), gitDir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(gitDir, "commondir"), []byte(filepath.Join(ws, "main", ".git")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ws, "wt", ".git"), []byte("gitdir: gitdir\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := gitErr(t, filepath.Join(ws, "wt"), nil, "rev-parse", "HEAD"); err != nil {
				t.Fatalf("the fixture is wrong: git cannot read the worktree: %v", err)
			}
			return filepath.Join(ws, "wt"), []Option{Within(filepath.Join(ws, "wt"))}
		},
		wantErr: ErrOutside,
		wantMsg: "the worktree $ws/wt shares the repository $ws/main/.git, outside the workspace $ws/wt",
	}, {
		name: "a .git file that is not a gitdir: file",
		setup: func(t *testing.T, ws string) (string, []Option) {
			dir := mkdir(t, filepath.Join(ws, "work"))
			if err := os.WriteFile(filepath.Join(dir, ".git"), []byte("hello\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir, []Option{Within(ws)}
		},
		wantMsg: `$ws/work/.git is a file but not a "gitdir: <path>" file`,
	}, {
		name: "a directory that does not exist",
		setup: func(t *testing.T, ws string) (string, []Option) {
			return filepath.Join(ws, "missing"), nil
		},
		wantErr: os.ErrNotExist,
	}, {
		name: "no directory",
		setup: func(t *testing.T, ws string) (string, []Option) {
			return "", nil
		},
		wantMsg: "gitrepo: no directory given",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			dir, opts := tc.setup(t, ws)
			r, err := Open(dir, opts...)
			if err == nil {
				t.Fatalf("Open(%s) opened %s, want an error", dir, r.Root())
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Open(%s): %v, want an error wrapping %v", dir, err, tc.wantErr)
			}
			if tc.wantErr == nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrOutside)) {
				t.Errorf("Open(%s): %v, want neither ErrNotFound nor ErrOutside", dir, err)
			}
			if want := strings.ReplaceAll(tc.wantMsg, "$ws", ws); !strings.Contains(err.Error(), want) {
				t.Errorf("Open(%s): %q, want it to say %q", dir, err, want)
			}
		})
	}
}

// A symlink inside the git directory does not reach out of it with
// Within: a ref that is a symlink to another repository's ref is not read.
func TestWithinBoundsSymlinksInGitDir(t *testing.T) {
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := newRepo(t, filepath.Join(ws, "outside"), "secret")
	repo := filepath.Join(ws, "work", "repo")
	newRepo(t, repo, "one")
	symlink(t, filepath.Join(ws, "outside", ".git", "refs", "heads", "main"), filepath.Join(repo, ".git", "refs", "heads", "evil"))
	runGit(t, repo, "symbolic-ref", "HEAD", "refs/heads/evil")
	if o := askGit(t, repo); o.sha != outside[0] {
		t.Fatalf("the fixture is wrong: git reads HEAD as %s, not %s", o.sha, outside[0])
	}

	r, err := Open(repo)
	if err != nil {
		t.Fatal(err)
	}
	if _, sha, err := r.Head(); err != nil || sha != outside[0] {
		t.Errorf("without Within: Head() sha = %q, %v; want %s, as git reads it", sha, err, outside[0])
	}

	r, err = Open(repo, Within(filepath.Join(ws, "work")))
	if err != nil {
		t.Fatal(err)
	}
	if branch, sha, err := r.Head(); sha == outside[0] {
		t.Errorf("Within: Head() = %q, %q, %v: it read the ref outside the git directory", branch, sha, err)
	}
}

func TestCommitTimeRejectsNonCommits(t *testing.T) {
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	shas := newRepo(t, ws, "one")
	r, err := Open(ws)
	if err != nil {
		t.Fatal(err)
	}
	tree := runGit(t, ws, "rev-parse", "HEAD^{tree}")
	for _, sha := range []string{"", "HEAD", "main", shas[0][:12], tree, strings.Repeat("0", 40), strings.Repeat("z", 40)} {
		if got, ok := r.CommitTime(sha); ok || !got.IsZero() {
			t.Errorf("CommitTime(%q) = %v, %v; want it absent", sha, got, ok)
		}
	}
	if _, ok := r.CommitTime(strings.ToUpper(shas[0])); !ok {
		t.Errorf("CommitTime(%q): absent, want the commit (hex is case-blind)", strings.ToUpper(shas[0]))
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/org/repo":                      "https://github.com/org/repo",
		"https://x-access-token:secret@github.com/org/rep": "https://github.com/org/rep",
		"https://user@host.example/org/repo.git":           "https://host.example/org/repo.git",
		"ssh://git@github.com/org/repo.git":                "ssh://github.com/org/repo.git",
		"git@github.com:org/repo.git":                      "git@github.com:org/repo.git",
		"/srv/git/repo.git":                                "/srv/git/repo.git",
		"file:///srv/git/repo.git":                         "file:///srv/git/repo.git",
		"https://user:p%zz@host/x":                         "",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
