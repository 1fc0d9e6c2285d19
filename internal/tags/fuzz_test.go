package tags

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// FuzzCompute feeds arbitrary branch names, tag names, image names and
// templates through Compute on a branch push, a tag push and a pull
// request, and checks that every produced tag and cache ref is one a
// registry accepts and every image name is a valid lower-case repository.
func FuzzCompute(f *testing.F) {
	f.Add("main", "v1.2.3", "ghcr.io/Owner/App", "{{branch}}-{{sha}}")
	f.Add("feature/ÄÖ#1", "v2.0.8-beta.67", "org/app,ghcr.io/user/app", "type=raw,value={{tag}}")
	f.Add(strings.Repeat("long-branch-", 20), "1.0dev4", "name=Foo/Bar,enable=true", "{{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}")
	f.Add("-dash", ".dot", "user/app", "{{base_ref}}.{{short_sha 9}}")
	f.Add("x", "p1/v1.0.0", "user/app", "{{review}}{{pr}}")
	f.Add("_", "", "", "\\{{raw}}")
	f.Fuzz(func(t *testing.T, branch, tag, image, tmpl string) {
		var images []Image
		if image != "" {
			var err error
			if images, err = ParseImages([]string{image}); err != nil {
				images = nil
			}
		}
		var rules []Rule
		for _, line := range []string{
			"type=raw,value=" + tmpl,
			"type=raw,value=" + tmpl + ",prefix={{branch}}-",
			"type=match,pattern=" + tmpl,
			"type=semver,pattern=" + tmpl,
			"type=pep440,pattern=" + tmpl,
			"type=schedule,pattern=" + tmpl,
			"type=sha,suffix=" + tmpl,
		} {
			if r, err := ParseRule(line); err == nil {
				rules = append(rules, r)
			}
		}
		rules = append(rules, DefaultRules()...)
		rules = append(rules, MetadataActionDefaults()...)
		events := []Event{
			{Name: "push", Ref: "refs/heads/" + branch, SHA: "860c1904a1ce19322e91ac35af1ab07466440c37", DefaultBranch: "main"},
			{Name: "push", Ref: "refs/tags/" + tag, SHA: "860c1904a1ce19322e91ac35af1ab07466440c37", TagBaseRef: "refs/heads/" + branch},
			{Name: "pull_request", Ref: "refs/pull/15/merge", SHA: "a9c8c5828b91ab8d4b1d1b8e3e2e8e8e8e8e8e8e", PRNumber: 15,
				PRHeadSHA: "3370e228f2209994d57af4427fe64e71bb79ac96", PRHeadRef: branch, PRBaseRef: tag},
			{Name: "schedule", Ref: "refs/heads/" + branch, SHA: "860c1904a1ce19322e91ac35af1ab07466440c37"},
		}
		for _, ev := range events {
			for _, rs := range [][]Rule{rules, nil} {
				in := Input{
					Event: ev, Images: images, Rules: rs,
					Repo:   Repo{Name: "app", FullName: "Owner/App", DefaultBranch: branch},
					Flavor: Flavor{Latest: "auto", Prefix: tmpl, PrefixLatest: true},
					Now:    time.Date(2020, 1, 10, 0, 30, 0, 0, time.UTC),
				}
				p, err := Compute(in)
				if err != nil {
					continue // a rule error (bad enable, unknown tz) is a config error, not a bad tag
				}
				check(t, p)
			}
		}
	})
}

func check(t *testing.T, p *Plan) {
	t.Helper()
	for _, tag := range p.TagNames {
		if !validTag.MatchString(tag) {
			t.Fatalf("invalid tag %q", tag)
		}
	}
	for _, img := range p.Images {
		if img != strings.ToLower(img) {
			t.Fatalf("image %q is not lower case", img)
		}
		if _, err := name.NewRepository(img); err != nil {
			t.Fatalf("image %q: %v", img, err)
		}
	}
	refs := append(append(append([]string{}, p.Tags...), p.CacheFrom...), p.CacheTo...)
	for _, ref := range refs {
		if len(p.Images) == 0 && !strings.Contains(ref, ":") {
			continue // bare tags, checked above
		}
		i := strings.LastIndex(ref, ":")
		if !validTag.MatchString(ref[i+1:]) {
			t.Fatalf("invalid tag in %q", ref)
		}
		if _, err := name.NewTag(ref); err != nil {
			t.Fatalf("reference %q: %v", ref, err)
		}
	}
}
