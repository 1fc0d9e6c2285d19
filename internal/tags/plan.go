package tags

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JSON is the `plan` output: version, tags (name:tag), labels (key=value),
// cache_from, cache_to, skipped rules with reasons and warnings.
func (p *Plan) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("tags: encoding the plan as JSON: %w", err)
	}
	return append(out, '\n'), nil
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
