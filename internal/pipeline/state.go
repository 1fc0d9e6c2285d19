package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// State carries the typed hand-offs between stages. Each stage reads what
// earlier stages left and fills its own part; nothing is passed through
// untyped maps.
type State struct {
	// Plan is the tag plan: every push, cache ref and label comes from it.
	Plan *TagPlan
	// Lint is the outcome of the lint stage.
	Lint *LintOutcome
	// Build is the outcome of the build stage: the images it produced.
	Build *BuildOutcome
	// Scan is the outcome of the scan stage.
	Scan *ScanOutcome
	// Push is the outcome of the push stage.
	Push *PushOutcome
	// Sign is the outcome of the sign stage.
	Sign *SignOutcome
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
	Version string
	Tags    []string // full references, name:tag
	Labels  []string // key=value
	// Annotations are the OCI annotations (key=value) and AnnotationLevels
	// where they are written (manifest, index, manifest-descriptor,
	// index-descriptor); AnnotationLines the annotations output, one per
	// level (level:key=value).
	Annotations, AnnotationLevels, AnnotationLines []string
	// Cache is what the build reads and writes as cache, decided here
	// once: the build only translates it into BuildKit entries.
	Cache CachePlan
	// Skipped lists the rules that produced no tag, with the reason.
	Skipped []string
	// JSON is the plan in the `plan --format json` form (the `json` output).
	JSON string
	// Revision (the commit) and BuildInputs (a digest of the Dockerfile and
	// the build settings) are also labels of the image: together they
	// recognise a re-run of a release.
	Revision, BuildInputs string
	// SourceDateEpoch is the time the build stamps on the image
	// (BuildKit's SOURCE_DATE_EPOCH: the config's and history's times):
	// the runner's SOURCE_DATE_EPOCH, else the commit's time, so that the
	// same commit builds the same image. Zero: none.
	SourceDateEpoch time.Time
	// SourceDateEpochFrom says where it came from, for the log.
	SourceDateEpochFrom string
}

// CachePlan is the build cache of a run, decided by the tag plan: the
// cache images read and written, by the stage they hold. The build stores
// them as inline cache on these images or as registry cache beside them;
// whether anything is read or written (cache: none, a fork, a pull
// request and the default branch) is decided here and nowhere else.
type CachePlan struct {
	// ReadBuilder and ReadFinal are read, in ladder order: this branch,
	// then the base branch, then the default branch.
	ReadBuilder, ReadFinal []string
	// WriteBuilder and WriteFinal are written ("" when not).
	WriteBuilder, WriteFinal string
	// Note says why nothing is written, or nothing is read.
	Note string
}

// Read lists every ref read: the builder's, then the final image's.
func (c CachePlan) Read() []string {
	var out []string
	for _, r := range append(append([]string{}, c.ReadBuilder...), c.ReadFinal...) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Written lists the refs written: the builder's, then the final image's.
func (c CachePlan) Written() []string {
	var out []string
	for _, r := range []string{c.WriteBuilder, c.WriteFinal} {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
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

// Image roles in a build.
const (
	RoleFinal   = "final"   // the image that is scanned, pushed and signed
	RoleBuilder = "builder" // the builder stage image, pushed only as cache
)

// BuiltImage is one image the build stage produced. Exactly one of
// EngineImageID and OCILayout is set: the classic Docker Engine keeps the
// image in its store; a BuildKit with the image/oci exporter leaves an OCI
// layout on disk.
type BuiltImage struct {
	Role   string // RoleFinal or RoleBuilder
	Target string // the Dockerfile stage built ("" for the last stage)
	// EngineImageID is the image id in the Docker Engine ("sha256:…").
	EngineImageID string
	// EngineRef is a tag the engine holds for it, for the Engine API.
	EngineRef string
	// OCILayout is the path of an OCI image layout directory holding it.
	OCILayout string
	// Digest is the manifest (or index) digest when known before pushing.
	Digest string
	// ConfigDigest is the image config digest ("sha256:…"; the image id
	// docker shows), "" for a multi-platform index.
	ConfigDigest string
	Platforms    []string
	// CacheRefs are the refs this image must be pushed to as build cache
	// (inline cache), e.g. builder-<branch> and <branch>.
	CacheRefs []string
}

// SaveKey is the one name every stage gives an engine image when it asks
// the Engine (or the run's enginesave.Spool) to save it: its id, else its
// tag; "" for an image in an OCI layout. The scan's save is the push's
// only when both ask by the same name.
func (b BuiltImage) SaveKey() string {
	switch {
	case b.OCILayout != "":
		return ""
	case b.EngineImageID != "":
		return b.EngineImageID
	}
	return b.EngineRef
}

// BuildOutcome is what the build stage hands on.
type BuildOutcome struct {
	Driver              string // "docker" or "remote"
	Images              []BuiltImage
	CacheHits, Executed int // vertices served from cache vs run
	// ImageID is the final image's id (the imageid output): its config
	// digest, or its index digest for a multi-platform image.
	ImageID string
	// CacheMode is how the cache ladder was stored: inline, registry or none.
	CacheMode string
	// BaseImages are the images the Dockerfile builds FROM (build.BaseImages).
	BaseImages []string
}

// Final returns the final image, or nil.
func (b *BuildOutcome) Final() *BuiltImage {
	for i := range b.Images {
		if b.Images[i].Role == RoleFinal {
			return &b.Images[i]
		}
	}
	return nil
}

// ScanOutcome is what the scan stage hands on.
type ScanOutcome struct {
	// Counts by severity (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN).
	Counts map[string]int
	// Packages are every package found (what the SBOM lists).
	Packages   []Package
	Passed     bool
	JSONPath   string
	SARIFPath  string
	SBOMPath   string
	SBOMFormat string // "cyclonedx" or "spdx-json"
}

// Package is one package the scan found in the image.
type Package struct {
	Name, Version string
	// Type is the package type ("alpine", "node-pkg", "gobinary", …).
	Type string
	PURL string
	// Target is the part of the image it was found in, as Trivy names it
	// ("debian 12.8" for the OS, "Node.js" for node_modules, a binary's
	// path), and Class what kind of part ("os-pkgs", "lang-pkgs").
	Target, Class string
	// ID identifies it within its target; DependsOn are the IDs of the
	// packages it depends on there.
	ID        string
	DependsOn []string
	// Indirect is set for a package only another package needs.
	Indirect bool
	// FilePath is where in the image it was found ("" for OS packages).
	FilePath string
}

// PushOutcome is what the push stage hands on.
type PushOutcome struct {
	Pushed   bool
	Digest   string   // sha256:… of the pushed manifest or index
	ImageRef string   // first image name @ digest
	Refs     []string // every name:tag now pointing at Digest
	// Reason says why nothing was pushed, when Pushed is false.
	Reason string
	// RerunOf is set when the run re-ran a release: Digest is the image
	// released before, and RerunOf this run's rebuild, which was not pushed.
	RerunOf string
}

// SignOutcome is what the sign stage hands on.
type SignOutcome struct {
	Signed       bool
	SignatureRef string
	Attested     bool
	// VerifyCommand is the exact command a consumer runs to verify.
	VerifyCommand string
	Reason        string
}

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
