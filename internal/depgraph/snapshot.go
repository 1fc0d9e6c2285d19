// Package depgraph is the dependencies stage: it submits the packages the
// scan found to GitHub's dependency graph (the dependency submission API,
// POST /repos/{owner}/{repo}/dependency-graph/snapshots), so that
// Dependabot alerts cover what the image ships — also when the scan gate
// closed, which is when the alerts matter most.
package depgraph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Snapshot is the dependency submission API's request body (GitHub's
// "snapshot" schema, testdata/snapshot.schema.json).
type Snapshot struct {
	Version   int                 `json:"version"`
	Job       Job                 `json:"job"`
	SHA       string              `json:"sha"`
	Ref       string              `json:"ref"`
	Detector  Detector            `json:"detector"`
	Metadata  map[string]string   `json:"metadata,omitempty"`
	Manifests map[string]Manifest `json:"manifests,omitempty"`
	Scanned   string              `json:"scanned"`
}

// Job identifies the submitting run; Correlator groups snapshots: only
// the latest one of a correlator (and detector) counts.
type Job struct {
	ID         string `json:"id"`
	Correlator string `json:"correlator"`
	HTMLURL    string `json:"html_url,omitempty"`
}

// Detector names the tool that found the packages.
type Detector struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
}

// Manifest is one group of packages: one part of the image (its OS, its
// Node.js modules, one Go binary).
type Manifest struct {
	Name     string                 `json:"name"`
	File     *File                  `json:"file,omitempty"`
	Metadata map[string]string      `json:"metadata,omitempty"`
	Resolved map[string]ResolvedDep `json:"resolved,omitempty"`
}

// File is where the manifest comes from in the repository.
type File struct {
	SourceLocation string `json:"source_location,omitempty"`
}

// ResolvedDep is one package.
type ResolvedDep struct {
	PackageURL   string            `json:"package_url"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	Relationship string            `json:"relationship,omitempty"`
	Scope        string            `json:"scope,omitempty"`
	Dependencies []string          `json:"dependencies,omitempty"`
}

// Source is what the snapshot is about, beside the packages.
type Source struct {
	// Image is the image's repository (the first image); Scope separates
	// variants of it built by one job (the cache scope). Both go into the
	// correlator, so that matrix jobs do not replace each other's snapshot.
	Image, Scope string
	// Workflow, Job and RunID are GITHUB_WORKFLOW, GITHUB_JOB and
	// GITHUB_RUN_ID; RunURL the run's page.
	Workflow, Job, RunID, RunURL string
	// Ref and SHA are GITHUB_REF and GITHUB_SHA.
	Ref, SHA string
	// Dockerfile is the Dockerfile's path in the repository: the file the
	// packages are attributed to.
	Dockerfile string
	// Version is image-pipeline's version (the detector's).
	Version string
	// Scanned is the time of the scan.
	Scanned time.Time
}

// Correlator is the snapshot's job.correlator:
// <workflow>_<job>_<image>[_<scope>].
func (s Source) Correlator() string {
	c := s.Workflow + "_" + s.Job + "_" + s.Image
	if s.Scope != "" {
		c += "_" + s.Scope
	}
	return c
}

// Build makes the snapshot of pkgs: one manifest per part of the image,
// every package with a package URL (those without one are counted in
// skipped: GitHub cannot place them), its dependencies as package URLs.
func Build(src Source, pkgs []pipeline.Package) (snap *Snapshot, skipped int) {
	snap = &Snapshot{
		Version:  0,
		Job:      Job{ID: src.RunID, Correlator: src.Correlator(), HTMLURL: src.RunURL},
		SHA:      src.SHA,
		Ref:      src.Ref,
		Detector: Detector{Name: "image-pipeline", Version: src.Version, URL: "https://github.com/org/image-pipeline"},
		Metadata: map[string]string{"image": src.Image},
		Scanned:  src.Scanned.UTC().Format(time.RFC3339),
	}
	if src.Scope != "" {
		snap.Metadata["variant"] = src.Scope
	}
	byTarget := map[string][]pipeline.Package{}
	for _, p := range pkgs {
		byTarget[p.Target] = append(byTarget[p.Target], p)
	}
	snap.Manifests = map[string]Manifest{}
	for _, target := range slices.Sorted(maps.Keys(byTarget)) {
		group := byTarget[target]
		purlOf := map[string]string{}
		for _, p := range group {
			if p.ID != "" && p.PURL != "" {
				purlOf[p.ID] = p.PURL
			}
		}
		m := Manifest{
			Name:     manifestName(target, group),
			Metadata: map[string]string{"image": src.Image, "type": group[0].Type},
			Resolved: map[string]ResolvedDep{},
		}
		if src.Dockerfile != "" {
			m.File = &File{SourceLocation: src.Dockerfile}
		}
		for _, p := range group {
			if p.PURL == "" {
				skipped++
				continue
			}
			d := ResolvedDep{PackageURL: p.PURL, Relationship: "direct", Scope: "runtime"}
			if p.Indirect {
				d.Relationship = "indirect"
			}
			for _, id := range p.DependsOn {
				if u, ok := purlOf[id]; ok && !slices.Contains(d.Dependencies, u) {
					d.Dependencies = append(d.Dependencies, u)
				}
			}
			sort.Strings(d.Dependencies)
			if p.FilePath != "" {
				d.Metadata = map[string]string{"path": p.FilePath}
			}
			// Keyed by package URL: two versions of one name (a Go binary
			// and another's module) stay two entries.
			m.Resolved[p.PURL] = d
		}
		if len(m.Resolved) > 0 {
			snap.Manifests[manifestKey(src.Image, target)] = m
		}
	}
	return snap, skipped
}

// manifestKey is unique per image and part: two images submitted by one
// job keep their manifests apart.
func manifestKey(image, target string) string {
	if target == "" {
		target = "image"
	}
	return image + " " + target
}

func manifestName(target string, group []pipeline.Package) string {
	if target == "" {
		return group[0].Type
	}
	return target
}

// Packages counts the packages a snapshot submits.
func (s *Snapshot) Packages() int {
	n := 0
	for _, m := range s.Manifests {
		n += len(m.Resolved)
	}
	return n
}

// String is a one-line description for the log.
func (s *Snapshot) String() string {
	return fmt.Sprintf("%d packages in %d manifests (correlator %s)", s.Packages(), len(s.Manifests), strings.TrimSpace(s.Job.Correlator))
}
