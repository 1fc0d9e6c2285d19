package build

import (
	"fmt"
	"slices"
	"strings"

	bkclient "github.com/moby/buildkit/client"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/tags"
)

// Tag prefixes of the cache ladder. builder-<branch> and <branch> are
// images (the builder stage and the final stage, with inline cache
// metadata); buildcache-<branch> is a BuildKit registry cache manifest
// (mode=max), never an image, so it gets a tag of its own.
const (
	builderTagPrefix    = "builder-"
	buildcacheTagPrefix = "buildcache-"
)

// cachePlan is how one build reads and writes the cache ladder.
type cachePlan struct {
	// Mode is the storage used: CacheInline, CacheRegistry or CacheNone.
	Mode string
	// Imports are read, in order, by every solve.
	Imports []bkclient.CacheOptionsEntry
	// Inline embeds cache metadata in the exported images.
	Inline bool
	// Exports are registry cache exports (mode=max) of the final solve.
	Exports []bkclient.CacheOptionsEntry
	// BuilderRefs and FinalRefs are what the push stage pushes the builder
	// and final images to, as inline cache (BuiltImage.CacheRefs).
	BuilderRefs, FinalRefs []string
	// Read and Written list the refs, for the log and the summary.
	Read, Written []string
	// Notes say why something is not written.
	Notes []string
}

// cacheLadder splits the tag plan's cache refs into image refs (builder and
// final) and names the registry cache refs that go with them.
type cacheLadder struct {
	fromBuilder, fromFinal []string // images read, ladder order
	toBuilder, toFinal     string   // images written ("" when none)
	fromCache              []string // buildcache-<branch> refs read
	toCache                string   // buildcache-<branch> ref written
}

// splitRef splits repo:tag (a digest-less reference as the tag engine
// writes them).
func splitRef(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}

// isBuilderRef reports whether ref is the builder- twin of another ref of
// refs: repo:builder-X where repo:X is in refs too. (A branch may itself be
// named builder-something, so the prefix alone does not decide.)
func isBuilderRef(ref string, refs []string) bool {
	repo, tag, ok := splitRef(ref)
	if !ok {
		return false
	}
	rest, ok := strings.CutPrefix(tag, builderTagPrefix)
	return ok && slices.Contains(refs, repo+":"+rest)
}

// buildcacheRef is repo:buildcache-<tag> for repo:<tag>.
func buildcacheRef(ref string) (string, bool) {
	repo, tag, ok := splitRef(ref)
	if !ok {
		return "", false
	}
	t, reason := tags.SanitizeTag(buildcacheTagPrefix + tag)
	if reason != "" {
		return "", false
	}
	return repo + ":" + t, true
}

// newCacheLadder reads the plan's refs; writable says whether a written
// ref may be written (the pull request guard).
func newCacheLadder(plan *pipeline.TagPlan, writable func(string) bool) cacheLadder {
	var l cacheLadder
	if plan == nil {
		return l
	}
	for _, r := range plan.CacheFrom {
		if isBuilderRef(r, plan.CacheFrom) {
			l.fromBuilder = append(l.fromBuilder, r)
			continue
		}
		l.fromFinal = append(l.fromFinal, r)
		if c, ok := buildcacheRef(r); ok {
			l.fromCache = append(l.fromCache, c)
		}
	}
	for _, r := range plan.CacheTo {
		if !writable(r) {
			continue
		}
		if isBuilderRef(r, plan.CacheTo) {
			if l.toBuilder == "" {
				l.toBuilder = r
			}
			continue
		}
		if l.toFinal == "" {
			l.toFinal = r
			if c, ok := buildcacheRef(r); ok && writable(c) {
				l.toCache = c
			}
		}
	}
	return l
}

// protectedTags are the default branch's cache tags, which a pull request
// must never write.
func protectedTags(defaultBranch string) []string {
	if defaultBranch == "" {
		return nil
	}
	var out []string
	for _, p := range []string{"", builderTagPrefix, buildcacheTagPrefix} {
		if t, reason := tags.SanitizeTag(p + defaultBranch); reason == "" {
			out = append(out, t)
		}
	}
	return out
}

// planCache decides how this build uses the cache ladder, given the cache
// input, whether the builder can export registry cache, the tag plan and
// the write permission.
func planCache(o Options, registryCache bool, plan *pipeline.TagPlan) (*cachePlan, error) {
	cp := &cachePlan{}
	mode := o.cacheMode()
	switch mode {
	case CacheNone:
		cp.Mode = CacheNone
		cp.Notes = append(cp.Notes, "cache is none: no cache refs are read or written")
		return cp, nil
	case CacheRegistry:
		if !registryCache {
			return nil, fmt.Errorf("input %q: %q needs a BuildKit that exports registry cache, and this one only exports inline cache (the Docker Engine's classic image store); use cache: branch or inline, enable the containerd image store, or set buildkit-address to a buildkitd", "cache", mode)
		}
		cp.Mode = CacheRegistry
	case CacheInline:
		cp.Mode = CacheInline
	default:
		cp.Mode = CacheInline
		if registryCache {
			cp.Mode = CacheRegistry
		}
	}
	l := newCacheLadder(plan, func(ref string) bool {
		if o.PullRequest && o.WriteCache {
			_, tag, _ := splitRef(ref)
			if slices.Contains(protectedTags(o.DefaultBranch), tag) {
				cp.Notes = append(cp.Notes, fmt.Sprintf("a pull request never writes the default branch's cache: %s is not written", ref))
				return false
			}
		}
		return true
	})
	switch {
	case plan != nil && len(plan.CacheTo) == 0 && plan.CacheNote != "":
		cp.Notes = append(cp.Notes, plan.CacheNote)
	case plan == nil || len(plan.CacheFrom)+len(plan.CacheTo) == 0:
		cp.Notes = append(cp.Notes, "the tag plan names no cache refs")
	}

	// Read: registry cache first (it holds every stage), then the images.
	if cp.Mode == CacheRegistry {
		cp.Read = append(cp.Read, l.fromCache...)
	}
	cp.Read = append(cp.Read, l.fromBuilder...)
	cp.Read = append(cp.Read, l.fromFinal...)
	for _, r := range cp.Read {
		cp.Imports = append(cp.Imports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": r}})
	}

	// Write.
	if !o.WriteCache {
		if plan != nil && len(plan.CacheTo) > 0 {
			cp.Notes = append(cp.Notes, "pushing is not allowed for this run: the cache is read, not written")
		}
		return cp, nil
	}
	keep := func(ref string) bool { return ref != "" }
	switch cp.Mode {
	case CacheInline:
		if keep(l.toBuilder) {
			cp.BuilderRefs = []string{l.toBuilder}
		}
		if keep(l.toFinal) {
			cp.FinalRefs = []string{l.toFinal}
		}
		cp.Written = append(append(cp.Written, cp.BuilderRefs...), cp.FinalRefs...)
		cp.Inline = len(cp.Written) > 0
	case CacheRegistry:
		if l.toCache != "" && plan != nil && (slices.Contains(plan.Tags, l.toCache) || slices.Contains(plan.CacheFrom, l.toCache)) {
			cp.Notes = append(cp.Notes, fmt.Sprintf("the registry cache ref %s is also an image tag of this run: it is not written, so the image is never overwritten by a cache manifest", l.toCache))
		} else if keep(l.toCache) {
			cp.Exports = append(cp.Exports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{
				"ref":  l.toCache,
				"mode": "max",
				// A cache that cannot be written must not fail the build;
				// BuildKit says so in the build log.
				"ignore-error": "true",
			}})
			cp.Written = append(cp.Written, l.toCache)
		}
	}
	return cp, nil
}
