package build

import (
	"fmt"
	"slices"
	"strings"

	bkclient "github.com/moby/buildkit/client"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/tags"
)

// Tag prefixes of the cache ladder. builder-<branch> and <branch> are
// images (the builder stage and the final stage, with inline cache
// metadata); buildcache-<branch> is a BuildKit registry cache manifest
// (mode=max), never an image, so it gets a tag of its own.
const buildcacheTagPrefix = "buildcache-"

// cachePlan is how one build reads and writes the cache ladder.
type cachePlan struct {
	// Mode is the storage used: CacheInline, CacheRegistry or CacheNone.
	Mode string
	// Imports are read, in order, by every solve but the builder's when
	// BuilderImports is set.
	Imports []bkclient.CacheOptionsEntry
	// BuilderImports are what the builder stage's solve reads with inline
	// cache: only the builder images. The final images' inline cache also
	// names the builder's steps (as inputs of COPY --from) without their
	// layers; BuildKit v0.8, given both, picked that record about half of
	// the time and ran the builder's steps again.
	BuilderImports []bkclient.CacheOptionsEntry
	// Inline embeds cache metadata in the exported images.
	Inline bool
	// Exports are registry cache exports (mode=max) of the final solve.
	Exports []bkclient.CacheOptionsEntry
	// BuilderRefs and FinalRefs are what the push stage pushes the builder
	// and final images to, as inline cache (BuiltImage.CacheRefs).
	BuilderRefs, FinalRefs []string
	// Read and Written list the refs, for the log and the summary.
	Read, Written []string
	// Notes say why something is not written, or why reading may give
	// few hits.
	Notes []string
}

// importsFor are the cache imports of the solve of an image of role.
func (cp *cachePlan) importsFor(role string) []bkclient.CacheOptionsEntry {
	if role == pipeline.RoleBuilder && len(cp.BuilderImports) > 0 {
		return cp.BuilderImports
	}
	return cp.Imports
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
			return nil, inputerr.New("cache", mode, "needs a BuildKit that exports registry cache, and this one only exports inline cache (the Docker Engine's classic image store)", "branch or inline with this builder; registry with the containerd image store or buildkit-address (a buildkitd)")
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
	var c pipeline.CachePlan
	if plan != nil {
		c = plan.Cache
	}
	switch {
	case c.Note != "" && len(c.Written()) == 0:
		cp.Notes = append(cp.Notes, c.Note)
	case len(c.Read())+len(c.Written()) == 0:
		cp.Notes = append(cp.Notes, "the tag plan names no cache refs")
	}
	var fromCache []string
	for _, r := range c.ReadFinal {
		if b, ok := buildcacheRef(r); ok {
			fromCache = append(fromCache, b)
		}
	}
	toCache := ""
	if c.WriteFinal != "" {
		toCache, _ = buildcacheRef(c.WriteFinal)
	}

	// Read: registry cache first (it holds every stage), then the images.
	if cp.Mode == CacheRegistry {
		cp.Read = append(cp.Read, fromCache...)
	}
	cp.Read = append(cp.Read, c.Read()...)
	for _, r := range cp.Read {
		cp.Imports = append(cp.Imports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": r}})
	}
	if cp.Mode == CacheInline {
		for _, r := range c.ReadBuilder {
			cp.BuilderImports = append(cp.BuilderImports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": r}})
		}
	}

	// Write.
	if !o.WriteCache {
		if len(c.Written()) > 0 {
			cp.Notes = append(cp.Notes, "pushing is not allowed for this run: the cache is read, not written")
		}
		return cp, nil
	}
	switch cp.Mode {
	case CacheInline:
		if c.WriteBuilder != "" {
			cp.BuilderRefs = []string{c.WriteBuilder}
		}
		if c.WriteFinal != "" {
			cp.FinalRefs = []string{c.WriteFinal}
		}
		cp.Written = append(append(cp.Written, cp.BuilderRefs...), cp.FinalRefs...)
		cp.Inline = len(cp.Written) > 0
	case CacheRegistry:
		if toCache != "" && plan != nil && (slices.Contains(plan.Tags, toCache) || slices.Contains(c.Read(), toCache)) {
			cp.Notes = append(cp.Notes, fmt.Sprintf("the registry cache ref %s is also an image tag of this run: it is not written, so the image is never overwritten by a cache manifest", toCache))
		} else if toCache != "" {
			cp.Exports = append(cp.Exports, bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{
				"ref":  toCache,
				"mode": "max",
				// A cache that cannot be written must not fail the build;
				// BuildKit says so in the build log.
				"ignore-error": "true",
			}})
			cp.Written = append(cp.Written, toCache)
		}
	}
	return cp, nil
}
