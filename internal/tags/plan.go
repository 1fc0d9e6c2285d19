package tags

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JSON is the `plan` output and the action's `json` output. It has
// metadata-action's shape — tags, tag-names, labels as an object,
// annotations with their level — so that
// fromJSON(steps.x.outputs.json).labels['org.opencontainers.image.version']
// works as pasted; and our fields beside it: version, cache_from, cache_to,
// cache_scope, skipped rules with reasons, warnings.
func (p *Plan) JSON() ([]byte, error) {
	labels := make(map[string]string, len(p.Labels))
	for _, l := range p.Labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	out, err := json.MarshalIndent(planJSON{
		Version: p.Version, Tags: nonNilStrings(p.Tags), TagNames: nonNilStrings(p.TagNames),
		Labels: labels, Annotations: p.AnnotationLines(),
		CacheFrom: p.CacheFrom, CacheTo: p.CacheTo, CacheScope: p.CacheScope,
		Skipped: p.Skipped, Warnings: p.Warnings,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("tags: encoding the plan as JSON: %w", err)
	}
	return append(out, '\n'), nil
}

// planJSON is the stable shape of Plan.JSON: fields are only ever added.
type planJSON struct {
	Version     string            `json:"version"`
	Tags        []string          `json:"tags"`
	TagNames    []string          `json:"tag-names"`
	Labels      map[string]string `json:"labels"`
	Annotations []string          `json:"annotations"`
	CacheFrom   []string          `json:"cache_from"`
	CacheTo     []string          `json:"cache_to"`
	CacheScope  string            `json:"cache_scope,omitempty"`
	Skipped     []Skip            `json:"skipped"`
	Warnings    []string          `json:"warnings,omitempty"`
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Text renders the plan for people (logs, the step summary's code block).
func (p *Plan) Text() string {
	var b strings.Builder
	version := p.Version
	if version == "" {
		version = "(none: no rule produced a tag)"
	}
	fmt.Fprintf(&b, "version: %s\n", version)
	list := func(title string, items []string, empty string) {
		fmt.Fprintf(&b, "%s:\n", title)
		if len(items) == 0 {
			fmt.Fprintf(&b, "  (%s)\n", empty)
		}
		for _, it := range items {
			fmt.Fprintf(&b, "  %s\n", it)
		}
	}
	list("tags", p.Tags, "none")
	list("labels", p.Labels, "none")
	if p.CacheScope != "" {
		scope := p.CacheScope
		if p.CacheScopeFrom != "" {
			scope += " (" + p.CacheScopeFrom + ")"
		}
		fmt.Fprintf(&b, "cache scope: %s\n", scope)
	}
	list("cache from", p.CacheFrom, "none")
	to := p.CacheTo
	if len(to) == 0 && p.CacheNote != "" {
		list("cache to", nil, p.CacheNote)
	} else {
		list("cache to", to, "none")
	}
	if len(p.Skipped) > 0 {
		b.WriteString("skipped rules:\n")
		for _, s := range p.Skipped {
			fmt.Fprintf(&b, "  %s: %s\n", s.Rule, s.Reason)
		}
	}
	if len(p.Warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range p.Warnings {
			fmt.Fprintf(&b, "  %s\n", w)
		}
	}
	return b.String()
}
