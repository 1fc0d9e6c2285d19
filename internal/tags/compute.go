package tags

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"

	"github.com/google/go-containerregistry/pkg/name"
)

// Event is the GitHub event context. EventFromPayload fills it from the
// runner's GITHUB_* values and the event payload.
type Event struct {
	Name string // GITHUB_EVENT_NAME
	Ref  string // GITHUB_REF
	SHA  string // GITHUB_SHA (the merge commit on pull_request)
	// HeadRef and BaseRef are GITHUB_HEAD_REF and GITHUB_BASE_REF.
	HeadRef, BaseRef string

	// From the payload.
	PRNumber      int    // pull_request.number (or number)
	PRHeadSHA     string // pull_request.head.sha
	PRHeadRef     string // pull_request.head.ref
	PRBaseRef     string // pull_request.base.ref
	Fork          bool   // the PR's head repository is not this repository
	DefaultBranch string // repository.default_branch
	TagBaseRef    string // base_ref of a push (the branch a tag was pushed from)
	// HeadCommitTime is the committer time of the PR head commit, when the
	// app knows it; the review tag uses it so re-runs give the same tag.
	HeadCommitTime time.Time
}

// Repo is the repository metadata used for labels and type=edge.
type Repo struct {
	Name          string // repository.name
	FullName      string // owner/name
	Description   string
	HTMLURL       string
	License       string // SPDX id, e.g. MIT
	DefaultBranch string
}

// CacheOptions controls the build-cache references.
type CacheOptions struct {
	// Image is the repository that holds the cache tags (cache-image);
	// empty means DefaultCacheImage of the first enabled image, so that the
	// cache adds no tag to the image's own repository.
	Image string
	// Scope (cache-scope) separates the caches of variants built from one
	// repository (a matrix of build args or targets): the cache tags are
	// <branch>-<scope> and builder-<branch>-<scope>. Empty: <branch> and
	// builder-<branch>. ScopeFrom says what it was made of, for the plan.
	Scope, ScopeFrom string
	// Disabled turns cache references off; DisabledNote says why (the
	// plan shows it).
	Disabled     bool
	DisabledNote string
}

// Input is everything Compute needs. It reads nothing else.
type Input struct {
	Event  Event
	Repo   Repo
	Images []Image
	// Rules are the parsed `tags` input; empty means DefaultRules().
	Rules  []Rule
	Flavor Flavor
	// Labels are extra key=value labels; they may use expressions and
	// override the generated ones.
	Labels []string
	// Annotations are the annotations input's key=value lines (expressions
	// allowed), over the generated OCI keys; AnnotationLevels where they
	// go (DOCKER_METADATA_ANNOTATIONS_LEVELS; empty: manifest).
	Annotations      []string
	AnnotationLevels []string
	// Now is the run's clock: {{date}}, the created label and the review
	// tag's fallback timestamp.
	Now time.Time
	// DockerfileVar reads an ARG or ENV value of the Dockerfile's final
	// stage ({{dockerfile 'NAME'}}); absent says why there is none, and the
	// rule is skipped with that reason. nil: no Dockerfile is known.
	DockerfileVar func(name string) (value, absent string)
	// CommitDate is the time of the commit being built ({{commit_date}});
	// zero means Now.
	CommitDate time.Time
	// Created, when set, is the created label's time instead of Now: the
	// commit's time, so that building the same commit again (the re-run
	// button) gives the same labels and, where the builder allows, the
	// same image.
	Created time.Time
	// OmitEmptyLabels leaves out generated labels whose value is empty (a
	// repository with no description or license), which would otherwise
	// override the Dockerfile's own LABEL lines. metadata-action emits
	// them; its conformance suite runs without this.
	OmitEmptyLabels bool
	// PRHeadSHAForSHA is DOCKER_METADATA_PR_HEAD_SHA: on pull requests,
	// {{sha}}, type=sha and the revision label use the PR head commit.
	PRHeadSHAForSHA bool
	// ShortSHALength is the length of short SHAs (DOCKER_METADATA_SHORT_SHA_LENGTH); 0 means 7.
	ShortSHALength int
	Cache          CacheOptions
}

// Skip says why a rule produced no tag.
type Skip struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Plan is the result of Compute.
type Plan struct {
	// Version is the main tag (metadata-action's `version` output), or "".
	Version string `json:"version"`
	// Tags are full references name:tag, image by image; bare tags when no
	// image is given.
	Tags []string `json:"tags"`
	// Labels are key=value, sorted by key.
	Labels    []string `json:"labels"`
	CacheFrom []string `json:"cache_from"`
	CacheTo   []string `json:"cache_to"`
	Skipped   []Skip   `json:"skipped"`
	Warnings  []string `json:"warnings,omitempty"`

	// TagNames are the tags without image names, main first.
	TagNames []string `json:"-"`
	// Images are the enabled image repositories, lower-cased.
	Images []string `json:"-"`
	// Latest says whether a latest tag is part of TagNames.
	Latest bool `json:"-"`
	// CacheNote explains missing cache-to refs (fork, tag build, ...).
	CacheNote string `json:"-"`
	// Cache is the build cache, typed: CacheFrom, CacheTo and CacheNote
	// are its lists for the JSON and the text.
	Cache pipeline.CachePlan `json:"-"`
	// Annotations are the OCI annotations, key=value sorted by key, and
	// AnnotationLevels the levels they are written at.
	Annotations      []string `json:"-"`
	AnnotationLevels []string `json:"-"`
	// CacheScope is the cache's scope ("" for none) and CacheScopeFrom
	// what it was made of.
	CacheScope     string `json:"cache_scope,omitempty"`
	CacheScopeFrom string `json:"-"`
}

// Compute evaluates the rules against the event. It returns an error only
// for problems in the rules themselves (an enable expression that is not
// true/false, an unknown time zone, an unknown helper); everything that
// merely does not apply to this event is a Skip.
func Compute(in Input) (*Plan, error) {
	c := newRunCtx(&in)
	if in.Cache.Image != "" {
		if _, err := name.NewRepository(strings.ToLower(in.Cache.Image)); err != nil {
			return nil, fmt.Errorf("cache image %q is not a valid image repository (%w); write it as [registry/]owner/name", in.Cache.Image, err)
		}
	}
	rules := in.Rules
	if len(rules) == 0 {
		rules = DefaultRules()
	}
	p := &Plan{}
	for _, r := range rules {
		p.Warnings = append(p.Warnings, r.Warnings...)
	}
	var errs []error
	var main string
	var partial []string
	latest, latestSet := false, false
	for _, r := range rules {
		enabled, err := c.renderGlobal(r.Attrs["enable"], &p.Warnings)
		var skipEnable *skipRule
		if errors.As(err, &skipEnable) {
			p.Skipped = append(p.Skipped, Skip{r.String(), skipEnable.reason})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tags: %q: enable: %w", r.String(), err))
			continue
		}
		if enabled != "true" && enabled != "false" {
			errs = append(errs, fmt.Errorf("tags: %q: enable evaluated to %q; it must be true or false", r.String(), enabled))
			continue
		}
		if enabled == "false" {
			p.Skipped = append(p.Skipped, Skip{r.String(), "disabled (enable=false)"})
			continue
		}
		val, ruleLatest, reason, err := c.evalRule(r, &p.Warnings)
		var skip *skipRule
		if errors.As(err, &skip) {
			p.Skipped = append(p.Skipped, Skip{r.String(), skip.reason})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tags: %q: %w", r.String(), err))
			continue
		}
		if reason != "" {
			p.Skipped = append(p.Skipped, Skip{r.String(), reason})
			continue
		}
		if val == "" {
			p.Skipped = append(p.Skipped, Skip{r.String(), "the rule's value is empty"})
			continue
		}
		tag, reason := SanitizeTag(val)
		if reason != "" {
			p.Skipped = append(p.Skipped, Skip{r.String(), reason})
			continue
		}
		switch {
		case main == "":
			main = tag
		case tag == main || slices.Contains(partial, tag):
			p.Skipped = append(p.Skipped, Skip{r.String(), fmt.Sprintf("tag %q is already produced by an earlier rule", tag)})
		default:
			partial = append(partial, tag)
		}
		if !latestSet {
			latest, latestSet = c.latestFor(ruleLatest), true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	p.Version = main
	if main != "" {
		p.TagNames = append([]string{main}, partial...)
		if latest {
			lt := "latest"
			if c.flavor.PrefixLatest {
				lt = c.flavor.Prefix + lt
			}
			if c.flavor.SuffixLatest {
				lt += c.flavor.Suffix
			}
			if tag, reason := SanitizeTag(lt); reason == "" {
				p.TagNames = append(p.TagNames, tag)
				p.Latest = true
			} else {
				p.Warnings = append(p.Warnings, "latest tag skipped: "+reason)
			}
		}
	}
	for _, img := range in.Images {
		if img.Enable && !slices.Contains(p.Images, img.Ref()) {
			p.Images = append(p.Images, img.Ref())
		}
	}
	if len(p.TagNames) > 0 {
		if len(p.Images) == 0 {
			p.Tags = slices.Clone(p.TagNames)
		}
		for _, img := range p.Images {
			for _, t := range p.TagNames {
				p.Tags = append(p.Tags, img+":"+t)
			}
		}
	}
	labels, err := c.labels(main, "labels", in.Labels, &p.Warnings)
	if err != nil {
		return nil, err
	}
	p.Labels = labels
	// Annotations are metadata-action's: the same generated OCI keys, with
	// the annotations input over them instead of the labels input.
	if p.Annotations, err = c.labels(main, "annotations", in.Annotations, &p.Warnings); err != nil {
		return nil, err
	}
	p.AnnotationLevels = in.AnnotationLevels
	if len(p.AnnotationLevels) == 0 {
		p.AnnotationLevels = []string{LevelManifest}
	}
	p.Cache = c.cacheRefs(p.Images)
	if !in.Cache.Disabled {
		p.CacheScope, p.CacheScopeFrom = in.Cache.Scope, in.Cache.ScopeFrom
	}
	p.CacheFrom, p.CacheTo, p.CacheNote = p.Cache.Read(), p.Cache.Written(), p.Cache.Note
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.CacheFrom == nil {
		p.CacheFrom = []string{}
	}
	if p.CacheTo == nil {
		p.CacheTo = []string{}
	}
	if p.Skipped == nil {
		p.Skipped = []Skip{}
	}
	p.Warnings = uniqueStrings(p.Warnings)
	return p, nil
}

func uniqueStrings(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// runCtx is the effective context after metadata-action's adjustments.
type runCtx struct {
	in        *Input
	eventName string
	ref       string
	sha       string
	flavor    Flavor
}

func newRunCtx(in *Input) *runCtx {
	c := &runCtx{in: in, eventName: in.Event.Name, ref: in.Event.Ref, sha: in.Event.SHA, flavor: in.Flavor}
	if c.flavor.Latest == "" {
		c.flavor.Latest = "auto"
	}
	// pull_request_target runs on the base branch; tag it as the PR.
	if strings.Contains(c.eventName, "pull_request_target") && in.Event.PRNumber > 0 {
		c.ref = fmt.Sprintf("refs/pull/%d/merge", in.Event.PRNumber)
	}
	if in.PRHeadSHAForSHA && strings.Contains(c.eventName, "pull_request") && in.Event.PRHeadSHA != "" {
		c.sha = in.Event.PRHeadSHA
	}
	return c
}

const (
	headsPrefix = "refs/heads/"
	tagsPrefix  = "refs/tags/"
	pullPrefix  = "refs/pull/"
)

func (c *runCtx) branch() string {
	if b, ok := strings.CutPrefix(c.ref, headsPrefix); ok {
		return b
	}
	return ""
}

func (c *runCtx) tagName() string {
	if t, ok := strings.CutPrefix(c.ref, tagsPrefix); ok {
		return t
	}
	return ""
}

func (c *runCtx) isPull() bool { return strings.HasPrefix(c.ref, pullPrefix) }

// prNumber is the pull request number of a PR event, or "".
func (c *runCtx) prNumber() string {
	if !c.isPull() {
		return ""
	}
	n := strings.TrimSuffix(strings.TrimPrefix(c.ref, pullPrefix), "/merge")
	n = strings.TrimSuffix(n, "/head")
	if _, err := strconv.Atoi(n); err == nil {
		return n
	}
	if c.in.Event.PRNumber > 0 {
		return strconv.Itoa(c.in.Event.PRNumber)
	}
	return ""
}

func (c *runCtx) shortLen() int {
	if c.in.ShortSHALength > 0 {
		return c.in.ShortSHALength
	}
	return 7
}

func shortSHA(sha string, n int) string {
	if n >= len(sha) || n <= 0 {
		return sha
	}
	return sha[:n]
}

func (c *runCtx) commitDate() time.Time {
	if c.in.CommitDate.IsZero() {
		return c.in.Now
	}
	return c.in.CommitDate
}

func (c *runCtx) isDefaultBranch() bool {
	b := strings.TrimPrefix(c.ref, headsPrefix)
	if b == "" {
		return false
	}
	if c.in.Event.DefaultBranch == b {
		return true
	}
	// These events always run on the default branch's last commit.
	for _, e := range []string{"create", "discussion", "issues", "schedule"} {
		if strings.Contains(c.eventName, e) {
			return true
		}
	}
	return false
}

func (c *runCtx) baseRef() string {
	if strings.HasPrefix(c.ref, tagsPrefix) && c.in.Event.TagBaseRef != "" {
		return strings.TrimPrefix(c.in.Event.TagBaseRef, headsPrefix)
	}
	if c.isPull() && c.in.Event.PRBaseRef != "" {
		return c.in.Event.PRBaseRef
	}
	return ""
}

// headRef is the PR's head branch.
func (c *runCtx) headRef() string {
	if !c.isPull() {
		return ""
	}
	if c.in.Event.PRHeadRef != "" {
		return c.in.Event.PRHeadRef
	}
	return c.in.Event.HeadRef
}

// review is the review tag body <N>-<head sha>-<YYYYMMDDHHMMSS>, or a
// reason why there is none.
func (c *runCtx) review(format string) (string, string) {
	if !c.isPull() {
		return "", fmt.Sprintf("not a pull request (ref %q)", c.ref)
	}
	n := c.prNumber()
	if n == "" {
		return "", "the pull request number is unknown (no refs/pull/<N>/ ref and no number in the payload)"
	}
	sha := c.in.Event.PRHeadSHA
	if sha == "" {
		return "", "the pull request head SHA is unknown (the payload has no pull_request.head.sha)"
	}
	if format == "short" {
		sha = shortSHA(sha, c.shortLen())
	}
	ts := c.in.Event.HeadCommitTime
	if ts.IsZero() {
		ts = c.in.Now
	}
	if ts.IsZero() {
		return "", "no timestamp: neither the head commit time nor the run's clock is known"
	}
	return n + "-" + sha + "-" + ts.UTC().Format("20060102150405"), ""
}

func boolString(b bool) string { return strconv.FormatBool(b) }

func (c *runCtx) dateHelper(t time.Time) helper {
	return func(params []tmplArg, hash map[string]tmplArg) (string, error) {
		format := ""
		if len(params) > 0 && params[0].kind == argString {
			format = params[0].s
		}
		tz := "UTC"
		for k, v := range hash {
			if k != "tz" {
				return "", fmt.Errorf("unknown attribute %s=; the only attribute is tz='Area/City'", k)
			}
			tz = v.s
		}
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" || tz == "Local" {
			return "", fmt.Errorf("unknown time zone tz=%q; use an IANA name such as 'UTC' or 'Europe/London'", tz)
		}
		return formatMoment(t.In(loc), format), nil
	}
}

// skipRule is a helper's verdict that the rule produces no tag for this
// run (a Dockerfile variable it reads is not set): a skip with the reason,
// not a configuration error.
type skipRule struct{ reason string }

func (s *skipRule) Error() string { return s.reason }

// scheduleScope is what type=schedule patterns see (as upstream: dates only).
func (c *runCtx) scheduleScope() scope {
	return scope{"date": c.dateHelper(c.in.Now), "commit_date": c.dateHelper(c.commitDate())}
}

// globalScope is what value, prefix, suffix, enable and labels see.
func (c *runCtx) globalScope() scope {
	sc := scope{
		"branch":                constHelper(c.branch()),
		"tag":                   constHelper(c.tagName()),
		"sha":                   constHelper(shortSHA(c.sha, c.shortLen())),
		"base_ref":              constHelper(c.baseRef()),
		"is_default_branch":     constHelper(boolString(c.isDefaultBranch())),
		"is_not_default_branch": constHelper(boolString(!c.isDefaultBranch())),
		"date":                  c.dateHelper(c.in.Now),
		"commit_date":           c.dateHelper(c.commitDate()),
		// Extensions (docs/tags.md).
		"pr":        constHelper(c.prNumber()),
		"head_ref":  constHelper(c.headRef()),
		"head_sha":  constHelper(c.headSHA()),
		"is_branch": constHelper(boolString(c.branch() != "")),
		"is_tag":    constHelper(boolString(c.tagName() != "")),
		"is_pr":     constHelper(boolString(c.isPull())),
		"is_semver": constHelper(boolString(c.isSemverTag())),
		"short_sha": func(params []tmplArg, _ map[string]tmplArg) (string, error) {
			n := c.shortLen()
			if len(params) > 0 {
				v, err := strconv.Atoi(params[0].s)
				if err != nil || v < 1 || (params[0].kind != argNumber && params[0].kind != argString) {
					return "", fmt.Errorf("length %q is not a positive whole number; write e.g. {{short_sha 8}}", params[0].s)
				}
				n = v
			}
			return shortSHA(c.sha, n), nil
		},
		"dockerfile": func(params []tmplArg, _ map[string]tmplArg) (string, error) {
			if len(params) != 1 || params[0].kind != argString || params[0].s == "" {
				return "", errors.New("takes the name of an ARG or ENV in quotes, e.g. {{dockerfile 'APP_VERSION'}}")
			}
			name := params[0].s
			if c.in.DockerfileVar == nil {
				return "", &skipRule{fmt.Sprintf("{{dockerfile '%s'}}: no Dockerfile was read", name)}
			}
			v, absent := c.in.DockerfileVar(name)
			if absent != "" {
				return "", &skipRule{fmt.Sprintf("{{dockerfile '%s'}}: %s", name, absent)}
			}
			return v, nil
		},
		"review": func([]tmplArg, map[string]tmplArg) (string, error) {
			body, _ := c.review("long")
			if body == "" {
				return "", nil
			}
			return "review-pr-" + body, nil
		},
	}
	sc["not"] = func(params []tmplArg, _ map[string]tmplArg) (string, error) {
		if len(params) != 1 {
			return "", errors.New("takes one argument, e.g. {{not is_default_branch}}")
		}
		v := params[0].s
		if params[0].kind == argPath {
			h, ok := sc[v]
			if !ok {
				return "", fmt.Errorf("unknown expression %q", v)
			}
			var err error
			if v, err = h(nil, nil); err != nil {
				return "", err
			}
		}
		switch v {
		case "true":
			return "false", nil
		case "false":
			return "true", nil
		}
		return "", fmt.Errorf("%q is not true or false", v)
	}
	return sc
}

func (c *runCtx) headSHA() string {
	if c.isPull() && c.in.Event.PRHeadSHA != "" {
		return c.in.Event.PRHeadSHA
	}
	return c.sha
}

func (c *runCtx) isSemverTag() bool {
	t := c.tagName()
	if t == "" {
		return false
	}
	_, ok := parseSemver(strings.ReplaceAll(t, "/", "-"))
	return ok
}

func (c *runCtx) renderGlobal(s string, warnings *[]string) (string, error) {
	out, w, err := render(s, c.globalScope())
	*warnings = append(*warnings, w...)
	return out, err
}

// withAffixes applies the rule's prefix/suffix, or the flavor's when the
// rule has none (an empty prefix= on the rule overrides the flavor).
func (c *runCtx) withAffixes(val string, r Rule, warnings *[]string) (string, error) {
	prefix, hasPrefix := r.Attrs["prefix"]
	if !hasPrefix {
		prefix = c.flavor.Prefix
	}
	suffix, hasSuffix := r.Attrs["suffix"]
	if !hasSuffix {
		suffix = c.flavor.Suffix
	}
	p, err := c.renderGlobal(prefix, warnings)
	if err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	s, err := c.renderGlobal(suffix, warnings)
	if err != nil {
		return "", fmt.Errorf("suffix: %w", err)
	}
	return p + val + s, nil
}

// latestFor turns a rule's own opinion into the flavor's decision.
func (c *runCtx) latestFor(ruleLatest bool) bool {
	switch c.flavor.Latest {
	case "true":
		return true
	case "false":
		return false
	}
	return ruleLatest
}

// versionSource is the string semver, pep440 and match rules work on.
func (c *runCtx) versionSource(r Rule, warnings *[]string) (string, string, error) {
	if v := r.Attrs["value"]; v != "" {
		out, err := c.renderGlobal(v, warnings)
		return out, "", err
	}
	t, ok := strings.CutPrefix(c.ref, tagsPrefix)
	if !ok {
		return "", fmt.Sprintf("not a tag push (ref %q) and no value= given", c.ref), nil
	}
	return t, "", nil
}

// evalRule returns the rule's value before sanitizing, whether the rule
// asks for latest under latest=auto, or a skip reason.
func (c *runCtx) evalRule(r Rule, warnings *[]string) (val string, latest bool, reason string, err error) {
	affix := func(v string) (string, bool, string, error) {
		out, err := c.withAffixes(v, r, warnings)
		return out, false, "", err
	}
	switch r.Type {
	case TypeSchedule:
		if !strings.Contains(c.eventName, "schedule") {
			return "", false, fmt.Sprintf("not a schedule event (event %q)", c.eventName), nil
		}
		out, w, err := render(r.Attrs["pattern"], c.scheduleScope())
		*warnings = append(*warnings, w...)
		if err != nil {
			return "", false, "", fmt.Errorf("pattern: %w", err)
		}
		return affix(out)

	case TypeSemver, TypePep440:
		src, reason, err := c.versionSource(r, warnings)
		if reason != "" || err != nil {
			return "", false, reason, err
		}
		if r.matchRe != nil {
			if m := r.matchRe.FindStringSubmatch(src); m == nil {
				*warnings = append(*warnings, fmt.Sprintf("tags: %q: match %q does not match %q; using it whole", r.String(), r.Attrs["match"], src))
			} else if len(m) < 2 {
				return "", false, fmt.Sprintf("match %q has no capture group; put the version in (...)", r.Attrs["match"]), nil
			} else {
				src = m[1]
			}
		}
		src = strings.ReplaceAll(src, "/", "-")
		pattern := r.Attrs["pattern"]
		if r.Type == TypeSemver {
			v, ok := parseSemver(src)
			if !ok {
				return "", false, fmt.Sprintf("%q is not a valid semantic version (https://semver.org)", src), nil
			}
			if len(v.prerelease) > 0 && !isRawStatement(pattern) {
				pattern = "{{version}}"
			}
			out, w, err := render(pattern, v.scope())
			*warnings = append(*warnings, w...)
			if err != nil {
				return "", false, "", fmt.Errorf("pattern: %w", err)
			}
			out, err = c.withAffixes(out, r, warnings)
			return out, len(v.prerelease) == 0, "", err
		}
		v, ok := parsePep440(src)
		if !ok {
			return "", false, fmt.Sprintf("%q does not conform to PEP 440 (https://peps.python.org/pep-0440/)", src), nil
		}
		var out string
		switch {
		case v.special() && isRawStatement(pattern):
			out = src
		case v.special():
			out = v.normalized()
		default:
			var w []string
			out, w, err = render(pattern, v.scope())
			*warnings = append(*warnings, w...)
			if err != nil {
				return "", false, "", fmt.Errorf("pattern: %w", err)
			}
		}
		out, err = c.withAffixes(out, r, warnings)
		return out, !v.special(), "", err

	case TypeMatch:
		src, reason, err := c.versionSource(r, warnings)
		if reason != "" || err != nil {
			return "", false, reason, err
		}
		groups, ok := r.re.match(src)
		if groups == nil {
			return "", false, fmt.Sprintf("pattern %q does not match %q", r.Attrs["pattern"], src), nil
		}
		g, err := strconv.Atoi(strings.TrimSpace(r.Attrs["group"]))
		if err != nil || g < 0 || g >= len(groups) || !ok[g] {
			return "", false, fmt.Sprintf("group %s does not exist in pattern %q for %q", r.Attrs["group"], r.Attrs["pattern"], src), nil
		}
		out, err := c.withAffixes(groups[g], r, warnings)
		return out, true, "", err

	case TypeEdge:
		b := c.branch()
		if !strings.HasPrefix(c.ref, headsPrefix) {
			return "", false, fmt.Sprintf("not a branch push (ref %q)", c.ref), nil
		}
		want := r.Attrs["branch"]
		if want == "" {
			want = c.in.Repo.DefaultBranch
		}
		if want != b {
			return "", false, fmt.Sprintf("branch %q is not %q", b, want), nil
		}
		return affix("edge")

	case TypeRef:
		switch r.Attrs["event"] {
		case "branch":
			if !strings.HasPrefix(c.ref, headsPrefix) {
				return "", false, fmt.Sprintf("not a branch push (ref %q)", c.ref), nil
			}
			return affix(c.branch())
		case "tag":
			if !strings.HasPrefix(c.ref, tagsPrefix) {
				return "", false, fmt.Sprintf("not a tag push (ref %q)", c.ref), nil
			}
			out, err := c.withAffixes(c.tagName(), r, warnings)
			return out, true, "", err
		case "pr":
			if !c.isPull() {
				return "", false, fmt.Sprintf("not a pull request (ref %q)", c.ref), nil
			}
			n := strings.TrimSuffix(strings.TrimPrefix(c.ref, pullPrefix), "/merge")
			return affix(n)
		}

	case TypeRaw:
		out, err := c.renderGlobal(r.Attrs["value"], warnings)
		if err != nil {
			return "", false, "", fmt.Errorf("value: %w", err)
		}
		// As upstream, prefix and suffix apply even to an empty value.
		if out, err = c.withAffixes(out, r, warnings); err != nil || out != "" {
			return out, false, "", err
		}
		return "", false, "the value is empty (an expression in it rendered nothing for this event)", nil

	case TypeSha:
		if c.sha == "" {
			return "", false, "the commit SHA is unknown", nil
		}
		v := c.sha
		if r.Attrs["format"] == "short" {
			v = shortSHA(v, c.shortLen())
		}
		return affix(v)

	case TypeReview:
		body, reason := c.review(r.Attrs["format"])
		if reason != "" {
			return "", false, reason, nil
		}
		return affix(body)
	}
	return "", false, "", fmt.Errorf("unknown rule type %q", r.Type)
}

// MaxTagLength is the registry limit on tag length.
const MaxTagLength = 128

var invalidTagChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// SanitizeTag makes a registry-safe tag: each run of characters outside
// [A-Za-z0-9._-] becomes "-", and a tag longer than 128 characters is cut
// to 119 and suffixed with "-" and 8 hex digits of its SHA-256, so two long
// branch names never share a tag. A tag that would start with "." or "-"
// (typically an expression that rendered empty, as in "{{branch}}-abc" on
// a tag push) is refused with a reason instead of being patched up.
func SanitizeTag(v string) (tag, reason string) {
	s := invalidTagChars.ReplaceAllString(v, "-")
	if s == "" {
		return "", "the tag is empty"
	}
	if s[0] == '.' || s[0] == '-' {
		return "", fmt.Sprintf("tag %q would start with %q, which registries reject (an expression in the rule was probably empty for this event)", s, s[:1])
	}
	if len(s) > MaxTagLength {
		sum := sha256.Sum256([]byte(s))
		s = s[:MaxTagLength-9] + "-" + hex.EncodeToString(sum[:])[:8]
	}
	return s, ""
}
