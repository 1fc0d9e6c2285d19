package app

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// The action image has no git binary: what the run needs from the checkout
// (the commit time for reproducible labels and the review tag, and, for
// local runs, the branch and HEAD) is read with go-git.

// openCheckout opens the git repository holding dir (dir itself or a
// parent, as git finds it).
func openCheckout(dir string) (*git.Repository, error) {
	if dir == "" {
		return nil, errors.New("no directory")
	}
	return git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
}

// commitTime is the committer time of sha in the checkout at dir, or zero
// when the commit is not there (a shallow checkout of the merge commit):
// the review tag then uses the run's clock.
func commitTime(dir, sha string) time.Time {
	if sha == "" || !plumbing.IsHash(sha) {
		return time.Time{}
	}
	repo, err := openCheckout(dir)
	if err != nil {
		return time.Time{}
	}
	c, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return time.Time{}
	}
	return c.Committer.When.UTC()
}

// checkoutInfo is what a local run takes from the checkout.
type checkoutInfo struct {
	root, branch, sha, defaultBranch string
}

// readCheckout describes the checkout holding dir; the zero value outside
// a git repository.
func readCheckout(dir string) checkoutInfo {
	repo, err := openCheckout(dir)
	if err != nil {
		return checkoutInfo{}
	}
	var info checkoutInfo
	if wt, err := repo.Worktree(); err == nil {
		info.root = wt.Filesystem.Root()
	}
	if head, err := repo.Head(); err == nil {
		info.sha = head.Hash().String()
		if head.Name().IsBranch() {
			info.branch = head.Name().Short()
		}
	}
	// The default branch: origin's HEAD when the clone knows it.
	if ref, err := repo.Reference(plumbing.NewRemoteHEADReferenceName("origin"), false); err == nil && ref.Type() == plumbing.SymbolicReference {
		info.defaultBranch = strings.TrimPrefix(ref.Target().Short(), "origin/")
	}
	return info
}

// repoName is the last element of a checkout's root, lower-cased.
func repoName(root string) string {
	if root == "" {
		return "app"
	}
	return strings.ToLower(filepath.Base(root))
}
