package tags

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The teaching-vacancies workflow (shared/seeds/003_*.txt) is the one whose
// tags we reproduce with the default rules.

const (
	tvRepo    = "DFE-Digital/teaching-vacancies"
	tvImage   = "ghcr.io/DFE-Digital/teaching-vacancies"
	tvMainSHA = "a18165a5a6d8ae5b753ac7c3cac65f0cbc34dd18"
	tvHeadSHA = "fa6128324de4bbf0d8f238011e672f5c06b9c975"
	tvMerge   = "0123456789abcdef0123456789abcdef01234567"
)

var tvNow = time.Date(2020, 10, 8, 15, 10, 0, 0, time.UTC)

func tvRepoMeta() Repo {
	return Repo{Name: "teaching-vacancies", FullName: tvRepo, HTMLURL: "https://github.com/" + tvRepo, License: "MIT", DefaultBranch: "main"}
}

func tvInput(t *testing.T, ev Event) Input {
	t.Helper()
	images, err := ParseImages([]string{tvImage})
	if err != nil {
		t.Fatal(err)
	}
	ev.DefaultBranch = "main"
	// Teaching Vacancies keeps builder-<branch> and <branch> in the
	// image's own repository: one line, cache-image, says so.
	return Input{Event: ev, Repo: tvRepoMeta(), Images: images, Now: tvNow, Cache: CacheOptions{Image: tvImage}}
}

func mustCompute(t *testing.T, in Input) *Plan {
	t.Helper()
	p, err := Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

func tvPR(fork bool) Event {
	return Event{
		Name: "pull_request", Ref: "refs/pull/2100/merge", SHA: tvMerge,
		PRNumber: 2100, PRHeadSHA: tvHeadSHA, PRHeadRef: "TEVA-1296-alert-filters", PRBaseRef: "main",
		HeadRef: "TEVA-1296-alert-filters", BaseRef: "main", Fork: fork,
		HeadCommitTime: time.Date(2020, 10, 8, 15, 3, 46, 0, time.UTC),
	}
}

func TestSeedTeachingVacancies(t *testing.T) {
	const img = "ghcr.io/dfe-digital/teaching-vacancies"
	tests := []struct {
		name          string
		event         Event
		version       string
		tags          []string
		cacheFrom     []string
		cacheTo       []string
		mutateInput   func(*Input)
		wantNoLatest  bool
		wantCacheNote string
	}{
		{
			name:    "pull request gets the review tag from the head SHA and head commit time",
			event:   tvPR(false),
			version: "review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008150346",
			tags: []string{
				img + ":review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008150346",
				img + ":pr-2100",
			},
			cacheFrom: []string{
				img + ":builder-TEVA-1296-alert-filters", img + ":builder-main",
				img + ":TEVA-1296-alert-filters", img + ":main",
			},
			cacheTo: []string{img + ":builder-TEVA-1296-alert-filters", img + ":TEVA-1296-alert-filters"},
		},
		{
			name: "without the head commit time the review tag uses the run's clock",
			event: func() Event {
				e := tvPR(false)
				e.HeadCommitTime = time.Time{}
				return e
			}(),
			version: "review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008151000",
			tags: []string{
				img + ":review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008151000",
				img + ":pr-2100",
			},
			cacheFrom: []string{
				img + ":builder-TEVA-1296-alert-filters", img + ":builder-main",
				img + ":TEVA-1296-alert-filters", img + ":main",
			},
			cacheTo: []string{img + ":builder-TEVA-1296-alert-filters", img + ":TEVA-1296-alert-filters"},
		},
		{
			name:    "fork pull request reads the cache but never writes it",
			event:   tvPR(true),
			version: "review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008150346",
			tags: []string{
				img + ":review-pr-2100-fa6128324de4bbf0d8f238011e672f5c06b9c975-20201008150346",
				img + ":pr-2100",
			},
			cacheFrom: []string{
				img + ":builder-TEVA-1296-alert-filters", img + ":builder-main",
				img + ":TEVA-1296-alert-filters", img + ":main",
			},
			wantCacheNote: "fork",
		},
		{
			name:      "push to main gives the branch and the full SHA",
			event:     Event{Name: "push", Ref: "refs/heads/main", SHA: tvMainSHA},
			version:   "main",
			tags:      []string{img + ":main", img + ":" + tvMainSHA},
			cacheFrom: []string{img + ":builder-main", img + ":main"},
			cacheTo:   []string{img + ":builder-main", img + ":main"},
		},
		{
			name:    "push to a feature branch reads main's cache and writes its own",
			event:   Event{Name: "push", Ref: "refs/heads/TEVA-1296-alert-filters", SHA: tvMainSHA},
			version: "TEVA-1296-alert-filters",
			tags:    []string{img + ":TEVA-1296-alert-filters", img + ":" + tvMainSHA},
			cacheFrom: []string{
				img + ":builder-TEVA-1296-alert-filters", img + ":builder-main",
				img + ":TEVA-1296-alert-filters", img + ":main",
			},
			cacheTo: []string{img + ":builder-TEVA-1296-alert-filters", img + ":TEVA-1296-alert-filters"},
		},
		{
			name:          "release tag v2.1.3",
			event:         Event{Name: "push", Ref: "refs/tags/v2.1.3", SHA: tvMainSHA},
			version:       "2.1.3",
			tags:          []string{img + ":2.1.3", img + ":2.1", img + ":2", img + ":latest"},
			cacheFrom:     []string{img + ":builder-main", img + ":main"},
			wantCacheNote: "not a branch",
		},
		{
			name:         "pre-release tag gets only its own tag",
			event:        Event{Name: "push", Ref: "refs/tags/v1.2.3-rc.1", SHA: tvMainSHA},
			version:      "1.2.3-rc.1",
			tags:         []string{img + ":1.2.3-rc.1"},
			cacheFrom:    []string{img + ":builder-main", img + ":main"},
			wantNoLatest: true,
		},
		{
			name:         "a tag that is not semver keeps its name and is not latest",
			event:        Event{Name: "push", Ref: "refs/tags/release-2020-10", SHA: tvMainSHA},
			version:      "release-2020-10",
			tags:         []string{img + ":release-2020-10"},
			cacheFrom:    []string{img + ":builder-main", img + ":main"},
			wantNoLatest: true,
		},
		{
			name:      "schedule on main: nightly, dated nightly, branch and SHA",
			event:     Event{Name: "schedule", Ref: "refs/heads/main", SHA: tvMainSHA},
			version:   "nightly",
			tags:      []string{img + ":nightly", img + ":nightly-20201008", img + ":main", img + ":" + tvMainSHA},
			cacheFrom: []string{img + ":builder-main", img + ":main"},
			cacheTo:   []string{img + ":builder-main", img + ":main"},
		},
		{
			name:      "workflow_dispatch on a branch behaves like a push",
			event:     Event{Name: "workflow_dispatch", Ref: "refs/heads/dev", SHA: tvMainSHA},
			version:   "dev",
			tags:      []string{img + ":dev", img + ":" + tvMainSHA},
			cacheFrom: []string{img + ":builder-dev", img + ":builder-main", img + ":dev", img + ":main"},
			cacheTo:   []string{img + ":builder-dev", img + ":dev"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tvInput(t, tc.event)
			if tc.mutateInput != nil {
				tc.mutateInput(&in)
			}
			p := mustCompute(t, in)
			if p.Version != tc.version {
				t.Errorf("version = %q, want %q", p.Version, tc.version)
			}
			if !slices.Equal(p.Tags, tc.tags) {
				t.Errorf("tags =\n  %q\nwant\n  %q\nskipped: %v", p.Tags, tc.tags, p.Skipped)
			}
			if !slices.Equal(p.CacheFrom, tc.cacheFrom) {
				t.Errorf("cache_from =\n  %q\nwant\n  %q", p.CacheFrom, tc.cacheFrom)
			}
			if !slices.Equal(p.CacheTo, nonNil(tc.cacheTo)) {
				t.Errorf("cache_to = %q, want %q", p.CacheTo, tc.cacheTo)
			}
			for _, ref := range p.CacheTo {
				if tc.event.Name == "pull_request" && (strings.HasSuffix(ref, ":main") || strings.HasSuffix(ref, ":builder-main")) {
					t.Errorf("a pull request writes the default branch's cache ref %s", ref)
				}
			}
			if tc.wantCacheNote != "" && !strings.Contains(p.CacheNote, tc.wantCacheNote) {
				t.Errorf("cache note %q does not mention %q", p.CacheNote, tc.wantCacheNote)
			}
			if tc.wantNoLatest && p.Latest {
				t.Errorf("latest is set for %s", tc.event.Ref)
			}
			if !slices.Contains(p.Labels, "org.opencontainers.image.source=https://github.com/DFE-Digital/teaching-vacancies") {
				t.Errorf("labels lack the source label: %q", p.Labels)
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// The revision label and {{sha}} use the PR head commit when asked to
// (DOCKER_METADATA_PR_HEAD_SHA), the merge commit otherwise.
func TestSeedRevisionLabel(t *testing.T) {
	for _, headSHA := range []bool{false, true} {
		in := tvInput(t, tvPR(false))
		in.PRHeadSHAForSHA = headSHA
		p := mustCompute(t, in)
		want := "org.opencontainers.image.revision=" + tvMerge
		if headSHA {
			want = "org.opencontainers.image.revision=" + tvHeadSHA
		}
		if !slices.Contains(p.Labels, want) {
			t.Errorf("PRHeadSHAForSHA=%v: labels %q lack %q", headSHA, p.Labels, want)
		}
	}
}
