package tags

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
)

// The cache plan is decided here and only here: the build translates it.
// A pull request never writes the default branch's refs — also when its
// head branch only sanitizes to the same tag — a fork never writes, and
// cache: none names no ref at all.
func TestCachePlan(t *testing.T) {
	// The cache goes beside the image (DefaultCacheImage), not into it.
	const image = "ghcr.io/org/app"
	const img = image + "-cache"
	pr := func(head, def string, fork bool) Event {
		return Event{
			Name: "pull_request", Ref: "refs/pull/7/merge", SHA: strings.Repeat("a", 40),
			PRNumber: 7, PRHeadSHA: strings.Repeat("b", 40), PRHeadRef: head, PRBaseRef: def,
			HeadRef: head, BaseRef: def, Fork: fork, DefaultBranch: def,
			HeadCommitTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		}
	}
	push := func(branch string) Event {
		return Event{Name: "push", Ref: "refs/heads/" + branch, SHA: strings.Repeat("c", 40), DefaultBranch: "main"}
	}
	tests := []struct {
		name  string
		event Event
		cache CacheOptions
		want  pipeline.CachePlan
		note  string
	}{
		{name: "push to a branch writes its own refs", event: push("feature/x"), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-feature-x", img + ":builder-main"}, ReadFinal: []string{img + ":feature-x", img + ":main"},
			WriteBuilder: img + ":builder-feature-x", WriteFinal: img + ":feature-x",
		}},
		{name: "push to main writes main", event: push("main"), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-main"}, ReadFinal: []string{img + ":main"},
			WriteBuilder: img + ":builder-main", WriteFinal: img + ":main",
		}},
		{name: "a pull request writes its head branch", event: pr("feature/x", "main", false), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-feature-x", img + ":builder-main"}, ReadFinal: []string{img + ":feature-x", img + ":main"},
			WriteBuilder: img + ":builder-feature-x", WriteFinal: img + ":feature-x",
		}},
		{name: "a pull request from the default branch writes nothing", event: pr("main", "main", false), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-main"}, ReadFinal: []string{img + ":main"},
		}, note: "a pull request never writes the default branch's cache"},
		{name: "a head branch that sanitizes to the default branch's tag writes nothing", event: pr("release/1.x", "release-1.x", false), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-release-1.x"}, ReadFinal: []string{img + ":release-1.x"},
		}, note: "never writes the default branch's cache"},
		{name: "a branch named builder-x is two refs, not a builder ref", event: push("builder-x"), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-builder-x", img + ":builder-main"}, ReadFinal: []string{img + ":builder-x", img + ":main"},
			WriteBuilder: img + ":builder-builder-x", WriteFinal: img + ":builder-x",
		}},
		{name: "a fork reads only", event: pr("feature/x", "main", true), want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-feature-x", img + ":builder-main"}, ReadFinal: []string{img + ":feature-x", img + ":main"},
		}, note: "fork"},
		{name: "cache: none names nothing", event: push("main"), cache: CacheOptions{Disabled: true, DisabledNote: "cache is none"},
			want: pipeline.CachePlan{}, note: "cache is none"},
		{name: "cache-image names the image's own repository", event: push("main"), cache: CacheOptions{Image: "GHCR.io/org/app"}, want: pipeline.CachePlan{
			ReadBuilder: []string{image + ":builder-main"}, ReadFinal: []string{image + ":main"},
			WriteBuilder: image + ":builder-main", WriteFinal: image + ":main",
		}},
		{name: "a scope suffixes every ref", event: push("feature/x"), cache: CacheOptions{Scope: "stack-dev"}, want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-feature-x-stack-dev", img + ":builder-main-stack-dev"}, ReadFinal: []string{img + ":feature-x-stack-dev", img + ":main-stack-dev"},
			WriteBuilder: img + ":builder-feature-x-stack-dev", WriteFinal: img + ":feature-x-stack-dev",
		}},
		{name: "a scoped fork reads its scope only", event: pr("feature/x", "main", true), cache: CacheOptions{Scope: "prod"}, want: pipeline.CachePlan{
			ReadBuilder: []string{img + ":builder-feature-x-prod", img + ":builder-main-prod"}, ReadFinal: []string{img + ":feature-x-prod", img + ":main-prod"},
		}, note: "fork"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Event: tc.event, Images: []Image{{Name: image, Enable: true}}, Cache: tc.cache, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			p := mustCompute(t, in)
			got := p.Cache
			note := got.Note
			got.Note = ""
			if !slices.Equal(got.ReadBuilder, tc.want.ReadBuilder) || !slices.Equal(got.ReadFinal, tc.want.ReadFinal) ||
				got.WriteBuilder != tc.want.WriteBuilder || got.WriteFinal != tc.want.WriteFinal {
				t.Errorf("cache plan\n  %+v\nwant\n  %+v", got, tc.want)
			}
			if !strings.Contains(note, tc.note) {
				t.Errorf("note %q lacks %q", note, tc.note)
			}
			if !slices.Equal(p.CacheFrom, nonNil(got.Read())) || !slices.Equal(p.CacheTo, nonNil(got.Written())) {
				t.Errorf("the JSON lists %v %v differ from the typed plan %v %v", p.CacheFrom, p.CacheTo, got.Read(), got.Written())
			}
		})
	}
}
