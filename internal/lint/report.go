package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
)

// WriteText writes findings one per line, as hadolint's tty format does:
//
//	Dockerfile:3 DL3006 warning: Tag the image explicitly ...
func WriteText(w io.Writer, findings []Finding) error {
	for _, f := range findings {
		if _, err := fmt.Fprintf(w, "%s:%d %s %s: %s\n", f.File, f.Line, f.Code, f.Severity, f.Message); err != nil {
			return fmt.Errorf("lint: writing the text report: %w", err)
		}
	}
	return nil
}

type jsonFinding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// WriteJSON writes findings as a JSON array (never null) of
// {"file","line","code","severity","message"} objects.
func WriteJSON(w io.Writer, findings []Finding) error {
	out := make([]jsonFinding, 0, len(findings))
	for _, f := range findings {
		out = append(out, jsonFinding{File: f.File, Line: f.Line, Code: f.Code, Severity: f.Severity, Message: f.Message})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("lint: writing the JSON report: %w", err)
	}
	return nil
}

// SARIFOptions describe the run a SARIF report comes from.
type SARIFOptions struct {
	// RepoRoot is the repository root; artifact URIs are made relative to it
	// (relative File names are taken from the current directory).
	RepoRoot string
	// ToolVersion is the version of image-pipeline; "dev" when empty.
	ToolVersion string
}

// ToolName and ToolURI identify the linter in SARIF reports.
const (
	ToolName = "image-pipeline-lint"
	ToolURI  = "https://github.com/org/image-pipeline"
)

// SARIFLevel maps a severity to a SARIF result level.
func SARIFLevel(severity string) string {
	switch severity {
	case "error":
		return "error"
	case "warning":
		return "warning"
	case "info", "style":
		return "note"
	}
	return "none"
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	ShortDescription     sarifText   `json:"shortDescription"`
	HelpURI              string      `json:"helpUri"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
}

// WriteSARIF writes findings as a SARIF 2.1.0 log with one run. Rules are
// listed for every code that has a finding; DL rules link to hadolint's
// wiki, IP rules to docs/lint.md.
func WriteSARIF(w io.Writer, findings []Finding, opts SARIFOptions) error {
	version := opts.ToolVersion
	if version == "" {
		version = "dev"
	}
	codes := map[string]bool{}
	for _, f := range findings {
		codes[f.Code] = true
	}
	ids := make([]string, 0, len(codes))
	for c := range codes {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	index := map[string]int{}
	rules := make([]sarifRule, 0, len(ids))
	for i, id := range ids {
		index[id] = i
		r, ok := LookupRule(id)
		if !ok {
			r = Rule{Code: id, Severity: SeverityWarning, Summary: id, HelpURI: hadolintWiki(id)}
		}
		rules = append(rules, sarifRule{
			ID:                   id,
			ShortDescription:     sarifText{r.Summary},
			HelpURI:              r.HelpURI,
			DefaultConfiguration: sarifConfig{Level: SARIFLevel(r.Severity.String())},
		})
	}
	results := make([]sarifResult, 0, len(findings))
	for _, f := range findings {
		uri, base := artifactURI(f.File, opts.RepoRoot)
		region := sarifRegion{StartLine: max(f.Line, 1), StartColumn: f.Column}
		if f.EndLine > f.Line {
			region.EndLine = f.EndLine
		}
		results = append(results, sarifResult{
			RuleID:    f.Code,
			RuleIndex: index[f.Code],
			Level:     SARIFLevel(f.Severity),
			Message:   sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: uri, URIBaseID: base},
				Region:           region,
			}}},
		})
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: ToolName, InformationURI: ToolURI, Version: version, Rules: rules}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("lint: writing the SARIF report: %w", err)
	}
	return nil
}

// artifactURI returns the URI of file relative to root with the
// %SRCROOT% base, or an absolute file URI when file lies outside root.
func artifactURI(file, root string) (string, string) {
	absFile, err := filepath.Abs(file)
	if err != nil {
		return escapePath(filepath.ToSlash(file)), "%SRCROOT%"
	}
	if root == "" {
		root = "."
	}
	absRoot, err := filepath.Abs(root)
	if err == nil {
		if rel, err := filepath.Rel(absRoot, absFile); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return escapePath(filepath.ToSlash(rel)), "%SRCROOT%"
		}
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absFile)}
	return u.String(), ""
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
