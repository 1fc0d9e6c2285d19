package tags

import (
	"strings"

	"github.com/org/image-pipeline/internal/pipeline"
)

// cacheRefs decides the build cache: read refs builder-<branch>,
// builder-<base>, … then <branch>, <base>, … (for a pull request the head
// branch, then the base branch; the default branch is the last fallback),
// and write refs for the branch being built only. This is the one place
// that decides what may be written: a pull request never writes the
// default branch's refs, a fork never writes, and cache: none (Disabled)
// reads and writes nothing.
func (c *runCtx) cacheRefs(images []string) pipeline.CachePlan {
	opts := c.in.Cache
	if opts.Disabled {
		note := opts.DisabledNote
		if note == "" {
			note = "cache references are disabled"
		}
		return pipeline.CachePlan{Note: note}
	}
	image := strings.ToLower(opts.Image)
	if image == "" && len(images) > 0 {
		image = DefaultCacheImage(images[0])
	}
	if image == "" {
		return pipeline.CachePlan{Note: "no image to hold the cache"}
	}
	def := c.in.Repo.DefaultBranch
	if def == "" {
		def = c.in.Event.DefaultBranch
	}
	sanitized := func(b string) string {
		t, reason := SanitizeTag(b)
		if reason != "" {
			return ""
		}
		return t
	}
	var cp pipeline.CachePlan
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
			cp.Note = "pull request from a fork: the cache is read, never written"
		case current == "":
			cp.Note = "the pull request's head branch is unknown: the cache is not written"
		case current == def || (def != "" && sanitized(current) == sanitized(def)):
			cp.Note = "the pull request's head branch is the default branch: a pull request never writes the default branch's cache"
		default:
			writable = true
		}
	case strings.HasPrefix(c.ref, headsPrefix):
		current = c.branch()
		base = def
		writable = current != ""
	default:
		base = def
		cp.Note = "not a branch or pull request build: the cache is read, not written"
	}
	var branches []string
	for _, b := range []string{current, base, def} {
		if t := sanitized(b); t != "" && !contains(branches, t) {
			branches = append(branches, t)
		}
	}
	scoped := func(b string) string {
		if opts.Scope == "" {
			return b
		}
		return sanitized(b + "-" + opts.Scope)
	}
	for _, b := range branches {
		if t := sanitized(builderPrefix + scoped(b)); t != "" {
			cp.ReadBuilder = appendUnique(cp.ReadBuilder, image+":"+t)
		}
		if t := scoped(b); t != "" {
			cp.ReadFinal = appendUnique(cp.ReadFinal, image+":"+t)
		}
	}
	if writable {
		if cur := scoped(sanitized(current)); cur != "" {
			if t := sanitized(builderPrefix + cur); t != "" {
				cp.WriteBuilder = image + ":" + t
			}
			cp.WriteFinal = image + ":" + cur
		}
	}
	return cp
}

// DefaultCacheImage is the repository that holds image's cache tags when
// cache-image is not given: image-cache, beside the image, so that the
// image's own repository (the package users see) gets only the tags the
// tag plan pushes.
func DefaultCacheImage(image string) string {
	return strings.ToLower(image) + "-cache"
}

// builderPrefix names the builder stage's cache image: builder-<branch>.
const builderPrefix = "builder-"

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
