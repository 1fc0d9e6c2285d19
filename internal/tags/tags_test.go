package tags

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/org/image-pipeline/internal/testenv/golden"
)

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.File(t, filepath.Join("testdata", name), got)
}

func TestSanitizeTag(t *testing.T) {
	long := strings.Repeat("feature-", 20)
	tests := []struct {
		in, want, reason string
	}{
		{in: "v1.2.3", want: "v1.2.3"},
		{in: "my/feature#1245", want: "my-feature-1245"},
		{in: "a  b//c", want: "a-b-c"},
		{in: "Ünïcode-branch", want: "-nicode-branch", reason: "start with"},
		{in: "_ok", want: "_ok"},
		{in: "-9630782", reason: "start with \"-\""},
		{in: ".hidden", reason: "start with \".\""},
		{in: "", reason: "empty"},
		{in: long + "a", want: long[:119] + "-"},
		{in: strings.Repeat("x", 128), want: strings.Repeat("x", 128)},
	}
	for _, tc := range tests {
		got, reason := SanitizeTag(tc.in)
		if tc.reason != "" {
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("SanitizeTag(%q) reason = %q, want it to mention %q", tc.in, reason, tc.reason)
			}
			continue
		}
		if reason != "" {
			t.Errorf("SanitizeTag(%q) refused: %s", tc.in, reason)
			continue
		}
		if !strings.HasPrefix(got, tc.want) || len(got) > MaxTagLength || !validTag.MatchString(got) {
			t.Errorf("SanitizeTag(%q) = %q (len %d), want prefix %q and a valid tag", tc.in, got, len(got), tc.want)
		}
	}
	a, _ := SanitizeTag(long + "first")
	b, _ := SanitizeTag(long + "second")
	if a == b || len(a) != MaxTagLength || len(b) != MaxTagLength {
		t.Errorf("two long branches collide or are not cut to 128: %q / %q", a, b)
	}
	if again, _ := SanitizeTag(long + "first"); again != a {
		t.Errorf("truncation is not stable: %q then %q", a, again)
	}
}

// pushInput is a plain push with the given rules.
func pushInput(t *testing.T, ref string, lines ...string) Input {
	t.Helper()
	rules, err := ParseRules(lines)
	if err != nil {
		t.Fatal(err)
	}
	images, _ := ParseImages([]string{"ghcr.io/Owner/App"})
	return Input{
		Event:  Event{Name: "push", Ref: ref, SHA: "860c1904a1ce19322e91ac35af1ab07466440c37", DefaultBranch: "main"},
		Repo:   Repo{Name: "App", FullName: "Owner/App", DefaultBranch: "main"},
		Images: images, Rules: rules,
		Now: time.Date(2020, 1, 10, 0, 30, 0, 0, time.UTC),
	}
}

func TestRulesAndExtensions(t *testing.T) {
	pr := Event{Name: "pull_request", Ref: "refs/pull/7/merge", SHA: "a9c8c5828b91ab8d4b1d1b8e3e2e8e8e8e8e8e8e", PRNumber: 7,
		PRHeadSHA: "3370e228f2209994d57af4427fe64e71bb79ac96", PRHeadRef: "fix/Thing", PRBaseRef: "main",
		HeadCommitTime: time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)}
	tests := []struct {
		name     string
		ref      string
		event    *Event
		lines    []string
		tags     []string
		skipped  string // a skip reason must contain this
		warning  string
		errorHas string
	}{
		{name: "empty expression never yields a broken tag", ref: "refs/tags/v1.0.0",
			lines: []string{"type=raw,value={{branch}}-{{sha}}"}, skipped: "would start with \"-\""},
		{name: "empty value is skipped with a reason", ref: "refs/tags/v1.0.0",
			lines: []string{"type=raw,value={{branch}}", "type=raw,value=x"}, tags: []string{"x"}, skipped: "value is empty"},
		{name: "prefix applies to an empty value, as upstream", ref: "refs/tags/v1.0.0",
			lines: []string{"type=raw,value={{branch}},prefix=x-"}, tags: []string{"x-"}},
		{name: "short_sha length", ref: "refs/heads/main",
			lines: []string{"type=raw,value={{short_sha 10}}", "type=raw,value={{short_sha}}", "type=raw,value={{sha}}"},
			tags:  []string{"860c1904a1", "860c190"}},
		{name: "not and is_* helpers", ref: "refs/heads/dev",
			lines: []string{"type=raw,value=a,enable={{not is_default_branch}}", "type=raw,value=b,enable={{is_tag}}", "type=raw,value=c,enable={{is_branch}}"},
			tags:  []string{"a", "c"}},
		{name: "pr, head_ref, head_sha and review expressions", event: &pr,
			lines: []string{"type=raw,value=pr{{pr}}-{{head_ref}}", "type=raw,value={{review}}", "type=raw,value={{head_sha}}"},
			tags: []string{"pr7-fix-Thing", "review-pr-7-3370e228f2209994d57af4427fe64e71bb79ac96-20210203040506",
				"3370e228f2209994d57af4427fe64e71bb79ac96"}},
		{name: "type=review with a short SHA and a suffix", event: &pr,
			lines: []string{"type=review,format=short,suffix=-x"}, tags: []string{"review-pr-7-3370e22-20210203040506-x"}},
		{name: "type=review is skipped outside pull requests", ref: "refs/heads/main",
			lines: []string{"type=review", "type=raw,value=x"}, tags: []string{"x"}, skipped: "not a pull request"},
		{name: "review without a head SHA is skipped", event: &Event{Name: "pull_request", Ref: "refs/pull/7/merge", SHA: "abc"},
			lines: []string{"type=review", "type=ref,event=pr"}, tags: []string{"pr-7"}, skipped: "head SHA is unknown"},
		{name: "unknown expression renders empty with a warning", ref: "refs/heads/main",
			lines: []string{"type=raw,value=a{{nope}}"}, tags: []string{"a"}, warning: "{{nope}}"},
		{name: "unknown attribute is a warning", ref: "refs/heads/main",
			lines: []string{"type=raw,value=a,prefx=b"}, tags: []string{"a"}, warning: "prefx"},
		{name: "enable must render true or false", ref: "refs/heads/main",
			lines: []string{"type=raw,value=a,enable={{branch}}"}, errorHas: "must be true or false"},
		{name: "match with /regex/flags and g", ref: "refs/tags/V1.2.3-V4.5.6",
			lines: []string{"type=match,pattern=/v\\d.\\d.\\d/ig,group=1"}, tags: []string{"V4.5.6", "latest"}},
		{name: "semver match attribute", ref: "refs/tags/app/v3.4.5",
			lines: []string{"type=semver,pattern={{major}}.{{minor}},match=v(\\d+\\.\\d+\\.\\d+)$"}, tags: []string{"3.4", "latest"}},
		{name: "pep440 normalization", ref: "refs/tags/1.0-Alpha-1+Local.007",
			lines: []string{"type=pep440,pattern={{version}}"}, tags: []string{"1.0a1-local.7"}},
		{name: "duplicates are reported", ref: "refs/tags/v1.2.0",
			lines: []string{"type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}.{{patch}}"},
			tags:  []string{"1.2.0", "latest"}, skipped: "already produced"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := pushInput(t, tc.ref, tc.lines...)
			in.Images = nil
			if tc.event != nil {
				in.Event = *tc.event
			}
			p, err := Compute(in)
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Tags, nonNil(tc.tags)) {
				t.Errorf("tags = %q, want %q (skipped %v)", p.Tags, tc.tags, p.Skipped)
			}
			if tc.skipped != "" && !slices.ContainsFunc(p.Skipped, func(s Skip) bool { return strings.Contains(s.Reason, tc.skipped) }) {
				t.Errorf("no skip reason mentions %q: %v", tc.skipped, p.Skipped)
			}
			if tc.warning != "" && !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, tc.warning) }) {
				t.Errorf("no warning mentions %q: %v", tc.warning, p.Warnings)
			}
		})
	}
}

func TestParseErrorsAreJoinedAndNameTheInput(t *testing.T) {
	_, err := ParseRules([]string{"type=foo", "type=ref", "type=sha,format=medium", "type=raw,value=ok", "type=raw,value={{#if x}}y{{/if}}"})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 error lines, got %d:\n%v", len(lines), err)
	}
	for _, want := range []string{"accepted types: schedule", "event=branch, event=tag, event=pr", "accepted values: short, long", "not supported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors do not mention %q:\n%v", want, err)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "tags: ") {
			t.Errorf("error line does not name the input: %q", l)
		}
	}
	_, err = ParseRules([]string{"type=raw,value={{date 'YYYY' tz='Mars/Base'}}", "type=raw,value={{frobnicate 'x'}}", "type=schedule,pattern={{date 'x' zone='y'}}"})
	for _, want := range []string{"unknown time zone", "unknown helper", "unknown attribute zone="} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expression errors are not reported at parse time: want %q in %v", want, err)
		}
	}
	_, err = ParseFlavor([]string{"latest=maybe", "colour=blue"})
	if err == nil || strings.Count(err.Error(), "flavor: ") != 2 || !strings.Contains(err.Error(), "auto, true, false") {
		t.Errorf("flavor errors: %v", err)
	}
	if _, err := ParseLabels([]string{"no-equals", "a={{date 'x' tz='Nowhere/Land'}}", "ok=1"}); err == nil || strings.Count(err.Error(), "labels: ") != 2 {
		t.Errorf("label errors: %v", err)
	}
	_, err = ParseImages([]string{"name=ghcr.io/a/b,enable=maybe", "ghcr.io/a/b c", "name="})
	if err == nil || strings.Count(err.Error(), "image: ") != 3 {
		t.Errorf("image errors: %v", err)
	}
}

func TestTemplates(t *testing.T) {
	sc := scope{"x": constHelper("X"), "raw": constHelper("R")}
	tests := []struct{ in, want string }{
		{"a{{x}}b", "aXb"},
		{"a {{~ x ~}} b", "aXb"},
		{"{{! note }}{{x}}", "X"},
		{"{{!-- {{x}} --}}y", "y"},
		{"\\{{x}}", "{{x}}"},
		{"{{{x}}}", "X"},
		{"{{ x }}-{{raw}}", "X-R"},
	}
	for _, tc := range tests {
		got, _, err := render(tc.in, sc)
		if err != nil || got != tc.want {
			t.Errorf("render(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"{{x", "{{#if x}}{{/if}}", "{{> partial}}", "{{x 'unclosed}}", "{{}}"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) accepted", bad)
		}
	}
}

func TestMomentFormat(t *testing.T) {
	ts := time.Date(2020, 1, 5, 15, 4, 5, 678000000, time.UTC)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		t      time.Time
		format string
		want   string
	}{
		{ts, "YYYYMMDD-HHmmss", "20200105-150405"},
		{ts, "YY-M-D H:m:s", "20-1-5 15:4:5"},
		{ts, "MMM MMMM Do DDD DDDD", "Jan January 5th 5 005"},
		{ts, "d dd ddd dddd E e", "0 Su Sun Sunday 7 0"},
		{ts, "h hh a A k", "3 03 pm PM 15"},
		{ts, "S SS SSS SSSS", "6 67 678 6780"},
		{ts, "W WW w ww GGGG gggg Q Qo", "1 01 2 02 2020 2020 1 1st"},
		{ts, "[at] HH[h] \\Y", "at 15h Y"},
		{ts, "X x", "1578236645 1578236645678"},
		{ts, "Z ZZ z", "+00:00 +0000 UTC"},
		{ts, "", "2020-01-05T15:04:05Z"},
		{ts.In(tokyo), "", "2020-01-06T00:04:05+09:00"},
		{ts.In(tokyo), "YYYYMMDD z", "20200106 JST"},
		{time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), "GGGG-[W]WW gggg-ww", "2020-W53 2021-01"},
	}
	for _, tc := range tests {
		if got := formatMoment(tc.t, tc.format); got != tc.want {
			t.Errorf("formatMoment(%s, %q) = %q, want %q", tc.t, tc.format, got, tc.want)
		}
	}
}

func TestVersions(t *testing.T) {
	semvers := []struct {
		in      string
		ok      bool
		version string
		pre     bool
	}{
		{"v1.2.3", true, "1.2.3", false},
		{"1.2.3-rc.1+build.5", true, "1.2.3-rc.1", true},
		{"01.2.3", false, "", false},
		{"1.2", false, "", false},
		{"1.2.3beta", false, "", false},
		{"v2.0.8-beta.67", true, "2.0.8-beta.67", true},
	}
	for _, tc := range semvers {
		v, ok := parseSemver(tc.in)
		if ok != tc.ok || (ok && (v.version() != tc.version || (len(v.prerelease) > 0) != tc.pre)) {
			t.Errorf("parseSemver(%q) = %+v, %v", tc.in, v, ok)
		}
	}
	peps := []struct {
		in, want string
		special  bool
	}{
		{"1.1beta2", "1.1b2", true},
		{"1.0dev4", "1.0.dev4", true},
		{"1.2post1", "1.2.post1", true},
		{"v1.2.3rc2", "1.2.3rc2", true},
		{"1!2.0-r3", "1!2.0.post3", true},
		{"1.2", "1.2", false},
		{"1.0-5", "1.0.post5", true},
		{"2.0.PREVIEW.1", "2.0rc1", true},
	}
	for _, tc := range peps {
		v, ok := parsePep440(tc.in)
		if !ok || v.normalized() != tc.want || v.special() != tc.special {
			t.Errorf("parsePep440(%q) = %q special=%v ok=%v; want %q special=%v", tc.in, v.normalized(), v.special(), ok, tc.want, tc.special)
		}
	}
	for _, bad := range []string{"sometag", "1.2.3-beta.x", "v"} {
		if _, ok := parsePep440(bad); ok {
			t.Errorf("parsePep440(%q) accepted", bad)
		}
	}
}

func TestEventFromPayload(t *testing.T) {
	payload := map[string]any{
		"number": 15.0,
		"pull_request": map[string]any{
			"number": 15.0,
			"head":   map[string]any{"sha": "3370e22", "ref": "feature", "repo": map[string]any{"full_name": "someone/app"}},
			"base":   map[string]any{"ref": "main", "repo": map[string]any{"full_name": "Owner/App"}},
		},
		"repository": map[string]any{"name": "App", "full_name": "Owner/App", "default_branch": "main", "html_url": "https://github.com/Owner/App", "license": map[string]any{"spdx_id": "MIT"}},
	}
	ev := EventFromPayload("pull_request_target", "refs/heads/main", "26657411", "feature", "main", payload)
	if ev.PRNumber != 15 || ev.PRHeadSHA != "3370e22" || ev.PRHeadRef != "feature" || ev.PRBaseRef != "main" || ev.DefaultBranch != "main" {
		t.Errorf("EventFromPayload = %+v", ev)
	}
	if r := RepoFromPayload(payload); r.License != "MIT" || r.HTMLURL != "https://github.com/Owner/App" || r.Name != "App" {
		t.Errorf("RepoFromPayload = %+v", r)
	}
	// pull_request_target is tagged as the pull request.
	p := mustCompute(t, Input{Event: ev, Rules: MetadataActionDefaults()})
	if !slices.Equal(p.Tags, []string{"pr-15"}) {
		t.Errorf("pull_request_target tags = %q", p.Tags)
	}
	push := map[string]any{"commits": []any{map[string]any{"id": "abc", "timestamp": "2020-10-08T16:03:46+01:00"}}}
	if ts, ok := CommitDateFromPayload(push, "abc"); !ok || !ts.Equal(time.Date(2020, 10, 8, 15, 3, 46, 0, time.UTC)) {
		t.Errorf("CommitDateFromPayload = %v, %v", ts, ok)
	}
}

func TestPlanGolden(t *testing.T) {
	in := tvInput(t, tvPR(false))
	in.Labels = []string{"maintainer=TV team", "org.opencontainers.image.description=Teaching vacancies service"}
	p := mustCompute(t, in)
	js, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan_pr.json", js)
	golden(t, "plan_pr.txt", []byte(p.Text()))

	tag := mustCompute(t, tvInput(t, Event{Name: "push", Ref: "refs/tags/v2.1.3", SHA: tvMainSHA}))
	js, err = tag.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan_tag.json", js)
	golden(t, "plan_tag.txt", []byte(tag.Text()))
}

func TestDefaultRuleLinesParse(t *testing.T) {
	for _, set := range [][]string{DefaultRuleLines, MetadataActionDefaultLines} {
		rules, err := ParseRules(set)
		if err != nil || len(rules) != len(set) {
			t.Fatalf("default rules do not parse: %v", err)
		}
		for _, r := range rules {
			if len(r.Warnings) > 0 {
				t.Errorf("default rule %q warns: %v", r, r.Warnings)
			}
		}
	}
	// docs/tags.md shows the same block users can copy.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "tags.md"))
	if err != nil {
		t.Fatalf("docs/tags.md: %v", err)
	}
	block := "    tags: |\n      " + strings.Join(DefaultRuleLines, "\n      ") + "\n"
	if !strings.Contains(string(doc), block) {
		t.Errorf("docs/tags.md does not contain the default rules block:\n%s", block)
	}
}

func TestLabelsForReproducibleImages(t *testing.T) {
	commit := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name      string
		created   time.Time
		omitEmpty bool
		labels    []string
		want      []string // labels that must be there
		absent    []string // label keys that must not
	}{
		{name: "metadata-action's labels", want: []string{"org.opencontainers.image.description=", "org.opencontainers.image.created=2026-03-03T12:00:00.000Z"}},
		{name: "created from the commit", created: commit, want: []string{"org.opencontainers.image.created=2024-05-06T07:08:09.000Z"}},
		{name: "empty generated labels left out", omitEmpty: true,
			absent: []string{"org.opencontainers.image.description", "org.opencontainers.image.licenses"}},
		{name: "a user's empty label stays", omitEmpty: true, labels: []string{"team="},
			want: []string{"team="}, absent: []string{"org.opencontainers.image.description"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := pushInput(t, "refs/heads/main")
			in.Repo.Description, in.Repo.License = "", ""
			in.Now = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
			in.Created, in.OmitEmptyLabels, in.Labels = tc.created, tc.omitEmpty, tc.labels
			p, err := Compute(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !slices.Contains(p.Labels, w) {
					t.Errorf("labels %q lack %q", p.Labels, w)
				}
			}
			for _, k := range tc.absent {
				if slices.ContainsFunc(p.Labels, func(l string) bool { return strings.HasPrefix(l, k+"=") }) {
					t.Errorf("labels %q hold %s", p.Labels, k)
				}
			}
		})
	}
}

func TestParseImagesRefusesWhatRegistriesRefuse(t *testing.T) {
	for _, bad := range []string{"ghcr.io//x", "ghcr.io/owner/", "ghcr.io/-owner/app", "ghcr.io/owner/app."} {
		if _, err := ParseImages([]string{bad}); err == nil || !strings.Contains(err.Error(), "is not a valid image repository") {
			t.Errorf("ParseImages(%q) = %v, want an error", bad, err)
		}
	}
	for _, good := range []string{"ghcr.io/owner/app", "127.0.0.1:5000/a/b", "registry.example.com/a__b/c-d.e", "Docker.io/Library/App"} {
		if _, err := ParseImages([]string{good}); err != nil {
			t.Errorf("ParseImages(%q) = %v", good, err)
		}
	}
}
