package pipeline

import (
	"fmt"
	"strings"
)

// State carries the typed hand-offs between stages. Each stage reads what
// earlier stages left and fills its own part; nothing is passed through
// untyped maps.
type State struct {
	// Plan is the tag plan: every push, cache ref and label comes from it.
	Plan *TagPlan
	// Lint is the outcome of the lint stage.
	Lint *LintOutcome
	// Gates are the pass/fail decisions taken on findings (lint, scan).
	// A closed gate fails the run after every report has been written and
	// stops the stages that publish (push, sign).
	Gates []Gate
	// Notices are facts the summary must state (e.g. why nothing was
	// pushed for a fork pull request).
	Notices []string
	// Sections are markdown parts of the job summary, one per stage that
	// has more to say than its row in the stage table.
	Sections []Section
}

// TagPlan is what the tag engine computed for this event.
type TagPlan struct {
	Version   string
	Tags      []string // full references, name:tag
	Labels    []string // key=value
	CacheFrom []string // full references read as build cache
	CacheTo   []string // full references written as build cache
}

// LintOutcome summarises the lint findings of every linted Dockerfile.
type LintOutcome struct {
	Files                           []string
	Errors, Warnings, Infos, Styles int
	// SARIFPath is where the SARIF report was written ("" when it was not).
	SARIFPath string
}

// Total is the number of findings of every severity.
func (l *LintOutcome) Total() int { return l.Errors + l.Warnings + l.Infos + l.Styles }

// Gate is one pass/fail decision on findings.
type Gate struct {
	Name   string // "lint", "scan"
	Passed bool
	Reason string // what was compared: "2 errors at or above failure threshold error"
}

// Section is a titled markdown part of the job summary.
type Section struct {
	Title    string
	Markdown string
}

// AddGate records a gate decision.
func (s *State) AddGate(g Gate) { s.Gates = append(s.Gates, g) }

// GateFailed reports whether any gate closed.
func (s *State) GateFailed() bool {
	for _, g := range s.Gates {
		if !g.Passed {
			return true
		}
	}
	return false
}

// ClosedGates describes the closed gates in one line, for skip reasons and
// the final error.
func (s *State) ClosedGates() string {
	var parts []string
	for _, g := range s.Gates {
		if !g.Passed {
			parts = append(parts, fmt.Sprintf("%s gate failed (%s)", g.Name, g.Reason))
		}
	}
	return strings.Join(parts, "; ")
}

// Notice records a fact for the summary.
func (s *State) Notice(format string, a ...any) {
	s.Notices = append(s.Notices, fmt.Sprintf(format, a...))
}

// AddSection appends a summary section.
func (s *State) AddSection(title, markdown string) {
	s.Sections = append(s.Sections, Section{Title: title, Markdown: markdown})
}
