package tags

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// RuleType is the `type=` of a tag rule.
type RuleType string

// Rule types. All but TypeReview are docker/metadata-action's.
const (
	TypeSchedule RuleType = "schedule"
	TypeSemver   RuleType = "semver"
	TypePep440   RuleType = "pep440"
	TypeMatch    RuleType = "match"
	TypeEdge     RuleType = "edge"
	TypeRef      RuleType = "ref"
	TypeRaw      RuleType = "raw"
	TypeSha      RuleType = "sha"
	// TypeReview is our extension: review-pr-<N>-<head sha>-<YYYYMMDDHHMMSS>.
	TypeReview RuleType = "review"
)

var ruleTypes = []RuleType{TypeSchedule, TypeSemver, TypePep440, TypeMatch, TypeEdge, TypeRef, TypeRaw, TypeSha, TypeReview}

// defaultPriority mirrors metadata-action's priorities; review sits just
// above ref so that on a pull request the review tag is the version.
var defaultPriority = map[RuleType]int{
	TypeSchedule: 1000,
	TypeSemver:   900,
	TypePep440:   900,
	TypeMatch:    800,
	TypeEdge:     700,
	TypeReview:   650,
	TypeRef:      600,
	TypeRaw:      200,
	TypeSha:      100,
}

// knownAttrs are the attributes some rule type reads. Others are accepted
// (metadata-action accepts them) but reported as warnings.
var knownAttrs = []string{"type", "value", "pattern", "group", "prefix", "suffix", "enable", "priority", "event", "format", "branch", "match"}

// Rule is one parsed line of the `tags` input.
//
// Attrs holds every attribute after defaults were applied, exactly as
// metadata-action stores them (priority and enable as strings), so a parsed
// rule can be compared with upstream's parser.
type Rule struct {
	Type  RuleType
	Attrs map[string]string
	// Line is the input line the rule came from, used in skip reasons.
	Line string
	// Warnings are non-fatal remarks (unknown attributes).
	Warnings []string

	priority int
	re       *jsRegexp // type=match pattern
	matchRe  *regexp.Regexp
}

// Priority is the rule's numeric priority (higher runs first).
func (r Rule) Priority() int { return r.priority }

// String is the rule as given by the user.
func (r Rule) String() string {
	if r.Line != "" {
		return r.Line
	}
	return "type=" + string(r.Type)
}

// SplitInput splits a multi-line action input into entries the way
// metadata-action reads `images`, `tags`, `flavor` and `labels`: one entry
// per line, surrounding space trimmed, empty lines dropped, and lines that
// start with '#' treated as comments ('#' elsewhere is kept).
func SplitInput(s string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// splitFields splits one input line into comma-separated fields. A field
// that starts with a double quote runs to the next lone quote, and "" inside
// it stands for one quote, as in CSV.
func splitFields(line string) ([]string, error) {
	var fields []string
	var b strings.Builder
	i := 0
	for {
		b.Reset()
		if i < len(line) && line[i] == '"' {
			i++
			closed := false
			for i < len(line) {
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(line[i])
				i++
			}
			if !closed {
				return nil, errors.New("a quoted field is not closed: add the missing '\"'")
			}
			if i < len(line) && line[i] != ',' {
				return nil, fmt.Errorf("unexpected %q after a quoted field: quote the whole field, e.g. \"pattern=...\"", line[i:i+1])
			}
		} else {
			for i < len(line) && line[i] != ',' {
				b.WriteByte(line[i])
				i++
			}
		}
		fields = append(fields, b.String())
		if i >= len(line) {
			return fields, nil
		}
		i++ // skip the comma
	}
}

// splitAttr splits "key=value" at the first '='; ok is false for a bare value.
func splitAttr(field string) (key, value string, ok bool) {
	k, v, found := strings.Cut(field, "=")
	if !found {
		return "", strings.TrimSpace(field), false
	}
	return strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v), true
}

const acceptedTypes = "schedule, semver, pep440, match, edge, ref, raw, sha, review"

// ParseRules parses the `tags` input, one rule per line, and returns the
// rules sorted by priority (highest first, stable). Every bad line is
// reported; the errors are joined.
func ParseRules(lines []string) ([]Rule, error) {
	var rules []Rule
	var errs []error
	for _, line := range lines {
		r, err := ParseRule(line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(rules, func(a, b Rule) int { return b.priority - a.priority })
	return rules, nil
}

// ParseRule parses one line of the `tags` input.
func ParseRule(line string) (Rule, error) {
	fail := func(format string, args ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("tags: %q: %s", line, fmt.Sprintf(format, args...))
	}
	fields, err := splitFields(line)
	if err != nil {
		return fail("%v", err)
	}
	r := Rule{Attrs: map[string]string{}, Line: line}
	for _, f := range fields {
		k, v, ok := splitAttr(f)
		if !ok {
			r.Attrs["value"] = v
			continue
		}
		if k == "type" {
			if !slices.Contains(ruleTypes, RuleType(v)) {
				return fail("unknown type %q; accepted types: %s", v, acceptedTypes)
			}
			r.Type = RuleType(v)
			continue
		}
		r.Attrs[k] = v
	}
	if r.Type == "" {
		r.Type = TypeRaw
	}
	has := func(k string) bool { _, ok := r.Attrs[k]; return ok }
	setDefault := func(k, v string) {
		if !has(k) {
			r.Attrs[k] = v
		}
	}
	switch r.Type {
	case TypeSchedule:
		setDefault("pattern", "nightly")
	case TypeSemver, TypePep440:
		if !has("pattern") {
			return fail("type=%s needs a pattern, e.g. pattern={{version}} (also {{major}}, {{minor}}, {{patch}}, {{raw}})", r.Type)
		}
		setDefault("value", "")
		setDefault("match", "")
		if m := r.Attrs["match"]; m != "" {
			re, err := compileGoRegexp(m)
			if err != nil {
				return fail("match %q is not a regular expression this engine accepts: %v", m, err)
			}
			r.matchRe = re
		}
	case TypeMatch:
		if !has("pattern") {
			return fail("type=match needs a pattern, a regular expression such as pattern=v(\\d.\\d.\\d)")
		}
		setDefault("group", "0")
		if _, err := strconv.ParseFloat(strings.TrimSpace(r.Attrs["group"]), 64); err != nil && strings.TrimSpace(r.Attrs["group"]) != "" {
			return fail("group %q is not a number; give the capture group index, e.g. group=1", r.Attrs["group"])
		}
		setDefault("value", "")
		re, err := compileJSRegexp(r.Attrs["pattern"])
		if err != nil {
			return fail("pattern %q is not a regular expression this engine accepts: %v", r.Attrs["pattern"], err)
		}
		r.re = re
	case TypeEdge:
		setDefault("branch", "")
	case TypeRef:
		if !has("event") {
			return fail("type=ref needs an event; accepted values: event=branch, event=tag, event=pr")
		}
		switch r.Attrs["event"] {
		case "branch", "tag":
		case "pr":
			setDefault("prefix", "pr-")
		default:
			return fail("unknown event %q; accepted values: branch, tag, pr", r.Attrs["event"])
		}
	case TypeRaw:
		if !has("value") {
			return fail("type=raw needs a value, e.g. type=raw,value=latest")
		}
	case TypeSha:
		setDefault("prefix", "sha-")
		setDefault("format", "short")
		if f := r.Attrs["format"]; f != "short" && f != "long" {
			return fail("unknown format %q; accepted values: short, long", f)
		}
	case TypeReview:
		setDefault("prefix", "review-pr-")
		setDefault("format", "long")
		if f := r.Attrs["format"]; f != "short" && f != "long" {
			return fail("unknown format %q; accepted values: short, long", f)
		}
	}
	setDefault("enable", "true")
	if e := r.Attrs["enable"]; !strings.Contains(e, "{{") && e != "true" && e != "false" {
		return fail("enable=%q; accepted values: true, false or an expression such as {{is_default_branch}}", e)
	}
	if !has("priority") {
		r.Attrs["priority"] = strconv.Itoa(defaultPriority[r.Type])
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(r.Attrs["priority"]), 64)
	if err != nil {
		return fail("priority %q is not a number; higher numbers come first (defaults: schedule 1000, semver/pep440 900, match 800, edge 700, review 650, ref 600, raw 200, sha 100)", r.Attrs["priority"])
	}
	r.priority = int(p)
	templated := []string{"value", "prefix", "suffix", "enable"}
	if r.Type != TypeMatch { // a match pattern is a regular expression
		templated = append(templated, "pattern")
	}
	for _, k := range templated {
		if v, ok := r.Attrs[k]; ok && strings.Contains(v, "{{") {
			if err := checkTemplate(r.Type, k, v); err != nil {
				return fail("%s: %v", k, err)
			}
		}
	}
	for k := range r.Attrs {
		if !slices.Contains(knownAttrs, k) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("tags: %q: unknown attribute %q is ignored", line, k))
		}
	}
	slices.Sort(r.Warnings)
	return r, nil
}

// Flavor is the parsed `flavor` input.
type Flavor struct {
	Latest       string `json:"latest"` // auto, true or false
	Prefix       string `json:"prefix"`
	PrefixLatest bool   `json:"prefixLatest"`
	Suffix       string `json:"suffix"`
	SuffixLatest bool   `json:"suffixLatest"`
}

// DefaultFlavor is what an empty `flavor` input means.
func DefaultFlavor() Flavor { return Flavor{Latest: "auto"} }

// ParseFlavor parses the `flavor` input (latest=, prefix=, suffix=, each
// optionally followed by onlatest=). Every bad line is reported.
func ParseFlavor(lines []string) (Flavor, error) {
	f := DefaultFlavor()
	var errs []error
	for _, line := range lines {
		fields, err := splitFields(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("flavor: %q: %w", line, err))
			continue
		}
		onlatestFor := ""
		for _, field := range fields {
			k, v, ok := splitAttr(field)
			if !ok {
				errs = append(errs, fmt.Errorf("flavor: %q: %q is not key=value; accepted keys: latest, prefix, suffix, onlatest", line, field))
				break
			}
			switch k {
			case "latest":
				if v != "auto" && v != "true" && v != "false" {
					errs = append(errs, fmt.Errorf("flavor: %q: latest=%q; accepted values: auto, true, false", line, v))
					continue
				}
				f.Latest = v
			case "prefix":
				f.Prefix, onlatestFor = v, "prefix"
			case "suffix":
				f.Suffix, onlatestFor = v, "suffix"
			case "onlatest":
				if v != "true" && v != "false" {
					errs = append(errs, fmt.Errorf("flavor: %q: onlatest=%q; accepted values: true, false", line, v))
					continue
				}
				switch onlatestFor {
				case "prefix":
					f.PrefixLatest = v == "true"
				case "suffix":
					f.SuffixLatest = v == "true"
				}
			default:
				errs = append(errs, fmt.Errorf("flavor: %q: unknown key %q; accepted keys: latest, prefix, suffix, onlatest", line, k))
			}
		}
	}
	for _, s := range []string{f.Prefix, f.Suffix} {
		if strings.Contains(s, "{{") {
			if err := checkTemplate(TypeRaw, "prefix", s); err != nil {
				errs = append(errs, fmt.Errorf("flavor: %q: %w", s, err))
			}
		}
	}
	return f, errors.Join(errs...)
}

// Image is one entry of the `image` input.
type Image struct {
	// Name as written by the user; Ref() is the registry-safe form.
	Name   string `json:"name"`
	Enable bool   `json:"enable"`
}

// Ref is the image repository in lower case, as registries require.
func (i Image) Ref() string { return strings.ToLower(i.Name) }

// ParseImages parses the `image` input with metadata-action's `images`
// syntax: one name per line, or several comma-separated names on a single
// line, or per-line attributes name=...,enable=true|false.
func ParseImages(lines []string) ([]Image, error) {
	var images []Image
	var errs []error
	if len(lines) == 1 {
		fields, err := splitFields(lines[0])
		if err == nil {
			plain := true
			for _, f := range fields {
				if _, _, ok := splitAttr(f); ok {
					plain = false
					break
				}
			}
			if plain {
				for _, f := range fields {
					images = append(images, Image{Name: strings.TrimSpace(f), Enable: true})
				}
				return images, validateImages(images)
			}
		}
	}
	for _, line := range lines {
		fields, err := splitFields(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("image: %q: %w", line, err))
			continue
		}
		img := Image{Enable: true}
		bad := false
		for _, f := range fields {
			k, v, ok := splitAttr(f)
			if !ok || k == "name" {
				if img.Name != "" {
					// Dropping one of the two names silently would push to
					// fewer repositories than the workflow says.
					errs = append(errs, fmt.Errorf("image: %q names two images; put each image on its own line, or all of them comma-separated on a single line", line))
					bad = true
				}
				img.Name = v
				continue
			}
			switch k {
			case "enable":
				if v != "true" && v != "false" {
					errs = append(errs, fmt.Errorf("image: %q: enable=%q; accepted values: true, false", line, v))
					bad = true
					continue
				}
				img.Enable = v == "true"
			default:
				errs = append(errs, fmt.Errorf("image: %q: unknown attribute %q; accepted attributes: name, enable", line, k))
				bad = true
			}
		}
		if bad {
			continue
		}
		if img.Name == "" {
			errs = append(errs, fmt.Errorf("image: %q: the image name is empty; write e.g. name=ghcr.io/owner/app", line))
			continue
		}
		images = append(images, img)
	}
	errs = append(errs, validateImages(images))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return images, nil
}

// pathComponent is one component of a repository path as registries
// accept it (the distribution spec's grammar).
var pathComponent = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)

// checkPathComponents refuses what go-containerregistry lets through but
// a registry refuses: empty components (ghcr.io//x), or ones that start
// or end with a separator.
func checkPathComponents(path string) error {
	for _, c := range strings.Split(path, "/") {
		if !pathComponent.MatchString(c) {
			if c == "" {
				return fmt.Errorf("the path %q has an empty component", path)
			}
			return fmt.Errorf("the path component %q must be lower-case letters and digits, separated by ., _, __ or -", c)
		}
	}
	return nil
}

func validateImages(images []Image) error {
	var errs []error
	for _, img := range images {
		r, err := name.NewRepository(img.Ref())
		if err == nil {
			err = checkPathComponents(r.RepositoryStr())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("image: %q is not a valid image repository (%w); write it as [registry/]owner/name, e.g. ghcr.io/owner/app", img.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkTemplate renders an expression against a sample context so that
// unknown helpers, bad tz= values and syntax errors are reported when the
// inputs are read rather than halfway through a run.
func checkTemplate(typ RuleType, attr, v string) error {
	t, err := parseTemplate(v)
	if err != nil {
		return err
	}
	c := newRunCtx(&Input{Event: Event{Name: "push", Ref: "refs/heads/main", SHA: "0000000000000000000000000000000000000000"},
		DockerfileVar: func(string) (string, string) { return "1.2.3", "" }})
	sc := c.globalScope()
	if attr == "pattern" {
		switch typ {
		case TypeSchedule:
			sc = c.scheduleScope()
		case TypeSemver:
			v, _ := parseSemver("1.2.3")
			sc = v.scope()
		case TypePep440:
			v, _ := parsePep440("1.2.3")
			sc = v.scope()
		}
	}
	_, _, err = t.exec(sc)
	return err
}

// ParseLabels checks the `labels` input: key=value lines whose expressions
// render. The lines are returned unchanged for Input.Labels.
func ParseLabels(lines []string) ([]string, error) { return parseKeyValues("labels", lines) }

// parseKeyValues checks key=value lines of input whose values may hold
// expressions.
func parseKeyValues(input string, lines []string) ([]string, error) {
	var errs []error
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not key=value; write e.g. org.opencontainers.image.vendor=ACME", input, l))
			continue
		}
		if strings.Contains(v, "{{") {
			if err := checkTemplate(TypeRaw, "label", v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q: %w", input, l, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return lines, nil
}
