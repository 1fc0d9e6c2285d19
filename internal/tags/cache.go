package tags

import "strings"

// cacheRefs returns the build-cache references: read refs
// builder-<branch>, builder-<base>, <branch>, <base> (for a pull request
// the head branch, then the base branch; the default branch is the last
// fallback), and write refs for the branch being built only. A pull
// request never writes the default branch's refs, and a fork never writes.
func (c *runCtx) cacheRefs(images []string) (from, to []string, note string) {
	opts := c.in.Cache
	if opts.Disabled {
		return nil, nil, "cache references are disabled"
	}
	image := strings.ToLower(opts.Image)
	if image == "" && len(images) > 0 {
		image = images[0]
	}
	if image == "" {
		return nil, nil, "no image to hold the cache"
	}
	def := c.in.Repo.DefaultBranch
	if def == "" {
		def = c.in.Event.DefaultBranch
	}
	var current, base string
	writable := false
	switch {
	case c.isPull():
		current = c.headRef()
		base = c.in.Event.PRBaseRef
		if base == "" {
			base = c.in.Event.BaseRef
		}
		switch {
		case c.in.Event.Fork:
			note = "pull request from a fork: the cache is read, never written"
		case opts.ReadOnlyPRs:
			note = "pull requests only read the cache (read-only PR cache)"
		case current == "":
			note = "the pull request's head branch is unknown: the cache is not written"
		case current == def:
			note = "the pull request's head branch is the default branch: its cache is not written from a pull request"
		default:
			writable = true
		}
	case strings.HasPrefix(c.ref, headsPrefix):
		current = c.branch()
		base = def
		writable = current != ""
	default:
		base = def
		note = "not a branch or pull request build: the cache is read, not written"
	}
	var branches []string
	for _, b := range []string{current, base, def} {
		if b == "" {
			continue
		}
		if tag, reason := SanitizeTag(b); reason == "" && !contains(branches, tag) {
			branches = append(branches, tag)
		}
	}
	for _, prefix := range []string{"builder-", ""} {
		for _, b := range branches {
			if tag, reason := SanitizeTag(prefix + b); reason == "" {
				from = appendUnique(from, image+":"+tag)
			}
		}
	}
	if writable {
		if cur, reason := SanitizeTag(current); reason == "" {
			for _, prefix := range []string{"builder-", ""} {
				if tag, reason := SanitizeTag(prefix + cur); reason == "" {
					to = appendUnique(to, image+":"+tag)
				}
			}
		}
	}
	return from, to, note
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}
