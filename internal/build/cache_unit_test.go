package build

import (
	"slices"
	"strings"
	"testing"

	bkclient "github.com/moby/buildkit/client"

	"github.com/org/image-pipeline/internal/pipeline"
)

const repo = "ghcr.io/org/app"

func refs(tags ...string) []string {
	var out []string
	for _, t := range tags {
		out = append(out, repo+":"+t)
	}
	return out
}

// The tag engine's plans for a push to feature/x and for a pull request
// from feature/x into main.
var (
	featurePlan = &pipeline.TagPlan{
		Tags: refs("feature-x", "sha-abc"),
		Cache: pipeline.CachePlan{
			ReadBuilder: refs("builder-feature-x", "builder-main"), ReadFinal: refs("feature-x", "main"),
			WriteBuilder: repo + ":builder-feature-x", WriteFinal: repo + ":feature-x",
		},
	}
	mainPlan = &pipeline.TagPlan{
		Tags: refs("main"),
		Cache: pipeline.CachePlan{
			ReadBuilder: refs("builder-main"), ReadFinal: refs("main"),
			WriteBuilder: repo + ":builder-main", WriteFinal: repo + ":main",
		},
	}
	forkPlan = &pipeline.TagPlan{
		Cache: pipeline.CachePlan{
			ReadBuilder: refs("builder-feature-x", "builder-main"), ReadFinal: refs("feature-x", "main"),
			Note: "pull request from a fork: the cache is read, never written",
		},
	}
)

func TestPlanCache(t *testing.T) {
	tests := []struct {
		name          string
		opts          Options
		registryCache bool
		plan          *pipeline.TagPlan
		mode          string
		read          []string
		written       []string
		builder, fin  []string
		exports       int
		note          string
		err           string
	}{
		{name: "classic engine, branch: inline ladder", opts: Options{WriteCache: true}, plan: featurePlan,
			mode: CacheInline, read: refs("builder-feature-x", "builder-main", "feature-x", "main"),
			written: refs("builder-feature-x", "feature-x"), builder: refs("builder-feature-x"), fin: refs("feature-x")},
		{name: "buildkitd, branch: registry cache mode=max", opts: Options{WriteCache: true}, registryCache: true, plan: featurePlan,
			mode: CacheRegistry, read: refs("buildcache-feature-x", "buildcache-main", "builder-feature-x", "builder-main", "feature-x", "main"),
			written: refs("buildcache-feature-x"), exports: 1},
		{name: "buildkitd, inline forced", opts: Options{Cache: CacheInline, WriteCache: true}, registryCache: true, plan: featurePlan,
			mode: CacheInline, read: refs("builder-feature-x", "builder-main", "feature-x", "main"),
			written: refs("builder-feature-x", "feature-x"), builder: refs("builder-feature-x"), fin: refs("feature-x")},
		{name: "registry on a classic engine", opts: Options{Cache: CacheRegistry}, plan: featurePlan,
			err: `input "cache": "registry" needs a BuildKit that exports registry cache`},
		{name: "none", opts: Options{Cache: CacheNone, WriteCache: true}, registryCache: true, plan: featurePlan,
			mode: CacheNone, note: "no cache refs are read or written"},
		{name: "no write permission: read only", opts: Options{WriteCache: false}, plan: featurePlan,
			mode: CacheInline, read: refs("builder-feature-x", "builder-main", "feature-x", "main"), note: "the cache is read, not written"},
		{name: "fork: the plan writes nothing", opts: Options{WriteCache: true}, plan: forkPlan,
			mode: CacheInline, read: refs("builder-feature-x", "builder-main", "feature-x", "main"), note: "fork"},
		{name: "no plan", opts: Options{WriteCache: true}, mode: CacheInline, note: "the tag plan names no cache refs"},
		{name: "main writes main", opts: Options{WriteCache: true}, plan: mainPlan,
			mode: CacheInline, read: refs("builder-main", "main"), written: refs("builder-main", "main"), builder: refs("builder-main"), fin: refs("main")},
		// Whether a pull request may write (never the default branch's
		// refs) is the tag plan's decision: internal/tags TestCachePlan.
		{name: "a branch named builder-x", opts: Options{WriteCache: true}, registryCache: true,
			plan: &pipeline.TagPlan{Cache: pipeline.CachePlan{
				ReadBuilder: refs("builder-builder-x", "builder-main"), ReadFinal: refs("builder-x", "main"),
				WriteBuilder: repo + ":builder-builder-x", WriteFinal: repo + ":builder-x",
			}},
			mode: CacheRegistry, read: refs("buildcache-builder-x", "buildcache-main", "builder-builder-x", "builder-main", "builder-x", "main"),
			written: refs("buildcache-builder-x"), exports: 1},
		{name: "a registry cache ref that is an image tag is not written", opts: Options{WriteCache: true}, registryCache: true,
			plan: &pipeline.TagPlan{Tags: refs("buildcache-main"), Cache: mainPlan.Cache},
			mode: CacheRegistry, read: refs("buildcache-main", "builder-main", "main"), note: "is also an image tag of this run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := planCache(tc.opts, tc.registryCache, tc.plan)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cp.Mode != tc.mode {
				t.Errorf("mode %q, want %q", cp.Mode, tc.mode)
			}
			if !slices.Equal(cp.Read, tc.read) {
				t.Errorf("read %v\nwant %v", cp.Read, tc.read)
			}
			if len(cp.Imports) != len(cp.Read) {
				t.Errorf("%d imports for %d refs read", len(cp.Imports), len(cp.Read))
			}
			if !slices.Equal(cp.Written, tc.written) {
				t.Errorf("written %v\nwant %v", cp.Written, tc.written)
			}
			if !slices.Equal(cp.BuilderRefs, tc.builder) || !slices.Equal(cp.FinalRefs, tc.fin) {
				t.Errorf("builder refs %v final refs %v, want %v %v", cp.BuilderRefs, cp.FinalRefs, tc.builder, tc.fin)
			}
			if len(cp.Exports) != tc.exports {
				t.Errorf("%d registry exports, want %d", len(cp.Exports), tc.exports)
			}
			for _, e := range cp.Exports {
				if e.Attrs["mode"] != "max" || !strings.Contains(e.Attrs["ref"], ":buildcache-") {
					t.Errorf("export %v, want mode=max to a buildcache- ref", e.Attrs)
				}
			}
			if cp.Inline != (len(tc.builder)+len(tc.fin) > 0) {
				t.Errorf("inline %v with cache refs %v %v", cp.Inline, tc.builder, tc.fin)
			}
			if tc.note != "" && !strings.Contains(strings.Join(cp.Notes, "\n"), tc.note) {
				t.Errorf("notes %q lack %q", cp.Notes, tc.note)
			}
		})
	}
}

func TestBuildcacheRef(t *testing.T) {
	// Registry ports are not tags; long tags are shortened as the tag engine does.
	if r, ok := buildcacheRef("localhost:5000/app:" + strings.Repeat("b", 128)); !ok || len(r[strings.LastIndex(r, ":")+1:]) != 128 {
		t.Errorf("buildcacheRef of a 128-character tag = %q, %v", r, ok)
	}
	if _, ok := buildcacheRef("localhost:5000/app"); ok {
		t.Error("buildcacheRef of a ref without a tag")
	}
	if r, _ := buildcacheRef(repo + ":release-1.x"); r != repo+":buildcache-release-1.x" {
		t.Errorf("buildcacheRef = %q", r)
	}
}

func TestHasInlineCacheRace(t *testing.T) {
	for v, want := range map[string]bool{
		"(before v0.11)": true, // Docker 20.10's embedded v0.8 does not say
		"":               true,
		"v0.8.3":         true,
		"v0.8.2-31-gabc": true,
		"v0.9.0":         false,
		"v0.26.2":        false,
		"v0.29.0":        false,
		"v1.0.0":         false,
	} {
		if got := hasInlineCacheRace(v); got != want {
			t.Errorf("hasInlineCacheRace(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestCacheImportsByRole: with inline cache the builder's solve reads only
// the builder images (the final images' inline cache names the builder's
// steps without their layers: BuildKit v0.8 then ran them again on about
// half of the new branches); the final solve reads every ref; with
// registry cache every solve reads every ref.
func TestCacheImportsByRole(t *testing.T) {
	refsOf := func(es []bkclient.CacheOptionsEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Attrs["ref"])
		}
		return out
	}
	inline, err := planCache(Options{WriteCache: true}, false, featurePlan)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refsOf(inline.importsFor(pipeline.RoleBuilder)), refs("builder-feature-x", "builder-main"); !slices.Equal(got, want) {
		t.Errorf("inline, builder solve reads %q, want %q", got, want)
	}
	if got, want := refsOf(inline.importsFor(pipeline.RoleFinal)), refs("builder-feature-x", "builder-main", "feature-x", "main"); !slices.Equal(got, want) {
		t.Errorf("inline, final solve reads %q, want %q", got, want)
	}
	reg, err := planCache(Options{WriteCache: true}, true, featurePlan)
	if err != nil {
		t.Fatal(err)
	}
	if got, all := refsOf(reg.importsFor(pipeline.RoleBuilder)), refsOf(reg.Imports); !slices.Equal(got, all) {
		t.Errorf("registry cache, builder solve reads %q, want every ref %q", got, all)
	}
}
