package app

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/gitrepo"
)

// The action image has no git binary: what the run needs from the checkout
// (the commit time for reproducible labels and the review tag, the commit
// checked out, and for local runs the branch and HEAD) is read with
// internal/gitrepo. On the runner the repository must lie in the
// workspace: a .git, gitdir: or commondir pointing out of it is not read.

// commitTime is the committer time of sha in the checkout of the
// workspace, or zero when the commit is not there (a shallow checkout of
// the merge commit): the review tag then uses the run's clock.
func commitTime(workspace, sha string) time.Time {
	if workspace == "" || sha == "" {
		return time.Time{}
	}
	repo, err := gitrepo.Open(workspace, gitrepo.Within(workspace))
	if err != nil {
		return time.Time{}
	}
	t, ok := repo.CommitTime(sha)
	if !ok {
		return time.Time{}
	}
	return t
}

// checkoutInfo is what a run takes from the checkout.
type checkoutInfo struct {
	root, branch, sha, defaultBranch string
}

// readCheckout describes the checkout holding dir; the zero value outside
// a git repository. within, when set, is the workspace the repository
// must lie in.
func readCheckout(dir, within string) checkoutInfo {
	var opts []gitrepo.Option
	if within != "" {
		opts = append(opts, gitrepo.Within(within))
	}
	repo, err := gitrepo.Open(dir, opts...)
	if err != nil {
		return checkoutInfo{}
	}
	info := checkoutInfo{root: repo.Root(), defaultBranch: repo.DefaultBranch()}
	info.branch, info.sha, _ = repo.Head()
	return info
}

// repoName is the last element of a checkout's root, lower-cased.
func repoName(root string) string {
	if root == "" {
		return "app"
	}
	return strings.ToLower(filepath.Base(root))
}
