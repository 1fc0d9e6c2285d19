// Package gitrepo reads what the action needs from a git checkout (the
// branch and commit of HEAD, origin's default branch and URL, a commit's
// time) with go-git, because the action's image has no git binary.
//
// Open finds the repository as git does, walking up from a directory to the
// first one holding a ".git" directory, or a ".git" file ("gitdir: ...", as
// worktrees and submodules have; a worktree's "commondir" is followed too).
// Bare repositories are not looked for: the action reads checkouts.
//
// With the Within option, nothing outside a workspace root is read: the walk
// stops at the root, and a ".git" (a symlink, a gitdir: file or a worktree's
// commondir) that resolves outside the root is refused with ErrOutside.
// Symlinks inside the git directory then resolve as if the git directory
// were the file system's root (go-billy's BoundOS), so they cannot reach
// outside it either.
package gitrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// ErrNotFound means no git repository is at or above the directory (or,
// with Within, between the directory and the workspace root).
var ErrNotFound = errors.New("no git repository found")

// ErrOutside means a path, once its symlinks are resolved, is outside the
// workspace root given with Within.
var ErrOutside = errors.New("outside the workspace")

// Option configures Open.
type Option func(*options)

type options struct {
	root string
}

// Within confines Open to the workspace root: dir must be inside root
// (symlinks resolved), the search for ".git" stops at root, and the git
// directory a ".git" symlink or "gitdir:" file names, and a worktree's
// common directory, must be inside root too. An empty root means no limit,
// which is git's own behaviour.
func Within(root string) Option {
	return func(o *options) { o.root = root }
}

// Repo is an opened checkout. Its methods may be called concurrently.
type Repo struct {
	root   string // the worktree's top-level directory
	gitDir string // the checkout's git directory (for a worktree, its own)

	mu   sync.Mutex // go-git's storage is not documented as goroutine-safe
	repo *git.Repository
}

// Open opens the git repository holding dir: dir itself or the nearest
// parent with a ".git". The error wraps ErrNotFound when there is none,
// and ErrOutside when Within's rule refuses one.
func Open(dir string, opts ...Option) (*Repo, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" {
		return nil, errors.New("gitrepo: no directory given")
	}
	start, err := realPath(dir)
	if err != nil {
		return nil, fmt.Errorf("gitrepo: %w", err)
	}
	if fi, err := os.Stat(start); err == nil && !fi.IsDir() {
		start = filepath.Dir(start)
	}
	var root string // the bound, symlinks resolved; "" when none
	if o.root != "" {
		if root, err = realPath(o.root); err != nil {
			return nil, fmt.Errorf("gitrepo: the workspace: %w", err)
		}
		if !inside(root, start) {
			return nil, fmt.Errorf("gitrepo: %s resolves to %s, %w %s", dir, start, ErrOutside, o.root)
		}
	}

	for level := start; ; {
		gitDir, err := findGitDir(level, root, o.root)
		if err != nil {
			return nil, fmt.Errorf("gitrepo: %w", err)
		}
		if gitDir != "" {
			return open(level, gitDir, root, o.root)
		}
		parent := filepath.Dir(level)
		if parent == level || level == root {
			break
		}
		level = parent
	}
	if root != "" {
		return nil, fmt.Errorf("gitrepo: %w at or above %s within %s", ErrNotFound, dir, o.root)
	}
	return nil, fmt.Errorf("gitrepo: %w at or above %s", ErrNotFound, dir)
}

// findGitDir is the git directory that level's ".git" names, "" when level
// has none, or none that looks like a repository (git walks on then too).
func findGitDir(level, root, rootName string) (string, error) {
	dotGit := filepath.Join(level, git.GitDirName)
	fi, err := os.Lstat(dotGit)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	target := dotGit
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(dotGit); errors.Is(err, fs.ErrNotExist) {
			return "", nil // a dangling symlink is no repository
		} else if err != nil {
			return "", err
		}
		if root != "" && !inside(root, target) {
			return "", fmt.Errorf("%s is a symlink to %s, %w %s", dotGit, target, ErrOutside, rootName)
		}
		if fi, err = os.Stat(target); err != nil {
			return "", err
		}
	}
	if fi.IsDir() {
		if !looksLikeGitDir(target) {
			return "", nil
		}
		return target, nil
	}
	if !fi.Mode().IsRegular() {
		return "", nil
	}
	// A "gitdir: <path>" file: a worktree's or a submodule's.
	b, err := os.ReadFile(target)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	name, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", fmt.Errorf("%s is a file but not a %q file", dotGit, "gitdir: <path>")
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(target), name)
	}
	gitDir, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", fmt.Errorf("%s names the git directory %s: %w", dotGit, name, err)
	}
	if root != "" && !inside(root, gitDir) {
		return "", fmt.Errorf("%s names the git directory %s, %w %s", dotGit, gitDir, ErrOutside, rootName)
	}
	if !looksLikeGitDir(gitDir) {
		return "", fmt.Errorf("%s names %s, which is not a git directory", dotGit, gitDir)
	}
	return gitDir, nil
}

// looksLikeGitDir reports whether dir has a HEAD, as every git directory
// (a worktree's too) has.
func looksLikeGitDir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "HEAD"))
	return err == nil && fi.Mode().IsRegular()
}

// open opens the repository whose worktree is top and git directory gitDir.
func open(top, gitDir, root, rootName string) (*Repo, error) {
	newFS := func(dir string) billy.Filesystem {
		if root != "" {
			return osfs.New(dir, osfs.WithBoundOS())
		}
		return osfs.New(dir)
	}
	var dotFS billy.Filesystem = newFS(gitDir)
	common, err := commonDir(gitDir)
	if err != nil {
		return nil, fmt.Errorf("gitrepo: %w", err)
	}
	if common != "" {
		if root != "" && !inside(root, common) {
			return nil, fmt.Errorf("gitrepo: the worktree %s shares the repository %s, %w %s", top, common, ErrOutside, rootName)
		}
		dotFS = dotgit.NewRepositoryFilesystem(dotFS, newFS(common))
	}
	st := filesystem.NewStorage(dotFS, cache.NewObjectLRUDefault())
	repo, err := git.Open(st, osfs.New(top))
	if err != nil {
		return nil, fmt.Errorf("gitrepo: opening the repository in %s: %w", gitDir, err)
	}
	return &Repo{root: top, gitDir: gitDir, repo: repo}, nil
}

// commonDir is the directory a worktree's git directory names in its
// "commondir" file (symlinks resolved), "" when it has none.
func commonDir(gitDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(b))
	if name == "" {
		return "", nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(gitDir, name)
	}
	dir, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", fmt.Errorf("the common git directory of %s: %w", gitDir, err)
	}
	return dir, nil
}

// Root is the top-level directory of the checkout, symlinks resolved, as
// `git rev-parse --show-toplevel` prints it.
func (r *Repo) Root() string { return r.root }

// GitDir is the checkout's git directory, symlinks resolved (a worktree's
// own, under the main repository's "worktrees").
func (r *Repo) GitDir() string { return r.gitDir }

// Head is the branch HEAD is on ("" when HEAD is detached, or on a ref that
// is not a branch) and the commit it points at. On a branch with no commit
// yet (a new repository) sha is "" and err nil, as `git symbolic-ref` still
// names the branch.
func (r *Repo) Head() (branch, sha string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	head, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", "", fmt.Errorf("gitrepo: reading HEAD in %s: %w", r.gitDir, err)
	}
	if head.Type() == plumbing.HashReference {
		return "", head.Hash().String(), nil
	}
	if head.Target().IsBranch() {
		branch = head.Target().Short()
	}
	ref, err := storer.ResolveReference(r.repo.Storer, plumbing.HEAD)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return branch, "", nil
	}
	if err != nil {
		return branch, "", fmt.Errorf("gitrepo: resolving HEAD (%s) in %s: %w", head.Target(), r.gitDir, err)
	}
	return branch, ref.Hash().String(), nil
}

// DefaultBranch is the branch origin's HEAD names (refs/remotes/origin/HEAD,
// which `git clone` records), or "" when the checkout does not know it
// (actions/checkout does not record it).
func (r *Repo) DefaultBranch() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference(plumbing.NewRemoteHEADReferenceName("origin"))
	if err != nil || ref.Type() != plumbing.SymbolicReference {
		return ""
	}
	branch, ok := strings.CutPrefix(ref.Target().String(), "refs/remotes/origin/")
	if !ok {
		return ""
	}
	return branch
}

// CommitTime is the committer time of the commit sha (a full hex object
// name), in UTC. ok is false when the repository does not have that commit:
// a shallow checkout has the commits it fetched but not their parents (a
// pull request's merge commit, checked out alone, lacks the pull request's
// head), or sha is not a commit.
func (r *Repo) CommitTime(sha string) (t time.Time, ok bool) {
	if !plumbing.IsHash(sha) {
		return time.Time{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return time.Time{}, false
	}
	return c.Committer.When.UTC(), true
}

// Shallow reports whether the checkout is a shallow clone (it has
// .git/shallow), whose oldest commits' parents are absent.
func (r *Repo) Shallow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.repo.Storer.Shallow()
	return err == nil && len(s) > 0
}

// OriginURL is the first URL of the remote "origin" as configured, with
// any user name and password removed, or "" when there is no origin.
func (r *Repo) OriginURL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	remote, err := r.repo.Remote(git.DefaultRemoteName)
	if err != nil {
		return ""
	}
	urls := remote.Config().URLs
	if len(urls) == 0 {
		return ""
	}
	return redact(urls[0])
}

// redact removes the userinfo of a URL with a scheme; other forms (a path,
// scp-like "git@host:path") are returned as they are.
func redact(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "" // cannot tell a password from the rest
		}
		return s
	}
	u.User = nil
	return u.String()
}

// realPath is path made absolute with its symlinks resolved.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// inside reports whether path is root or under it; both are clean absolute
// paths.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
