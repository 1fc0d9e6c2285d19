package scan

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Scanner analyses an image once: vulnerabilities and SBOM come from the
// same analysis. The stage depends on nothing else of the scanner;
// internal/scan/trivy is the one that links Trivy.
type Scanner interface {
	Scan(ctx context.Context, t Target) (*Analysis, error)
}

// NewScannerFunc builds the Scanner for a run's options (validated by the
// caller); trivy.New is one. The app takes it as an option, so that only
// the binary links the scanner.
type NewScannerFunc func(Options) (Scanner, error)

// Analysis is the outcome of one scan.
type Analysis struct {
	// Target names the scanned image; OS is the detected distribution ("alpine 3.20.3").
	Target, OS string
	// Findings are the reported vulnerabilities: after severity,
	// ignore-unfixed and the ignore files, most severe first (SortFindings).
	Findings []Finding
	// Ignored counts findings dropped by the ignore files.
	Ignored int
	// Packages are every package found, as listed in the SBOM.
	Packages []Package
	DB       DBInfo
	// JavaDB is the Java DB the analysis of Java archives used; nil when
	// the image holds none (the Java DB is downloaded only then).
	JavaDB *DBInfo
	// Notes are limits of the scan the summary must state.
	Notes []string
	// Documents writes the reports and the SBOM of this analysis.
	Documents Documents
}

// Finding is one vulnerability of one installed package.
type Finding struct {
	ID               string
	Package          string
	InstalledVersion string
	FixedVersion     string
	Severity         string // CRITICAL … UNKNOWN
	Title            string
	URL              string
	// Target is where the package was found ("img (alpine 3.20.3)", "app/node_modules/…/package.json").
	Target string
}

// Package is one SBOM entry.
type Package = pipeline.Package

// DBInfo says which vulnerability DB a scan used.
type DBInfo struct {
	// Repository is where it was downloaded from this run ("" when the cached DB was current or used as a fallback).
	Repository string
	UpdatedAt  time.Time
	// Stale is set when no repository answered and a cached DB younger than
	// trivy-db-max-age was used instead.
	Stale bool
}

// Documents writes the reports of one analysis.
type Documents interface {
	// WriteJSON writes Trivy's JSON report of the reported findings.
	WriteJSON(ctx context.Context, w io.Writer) error
	// WriteSARIF writes a SARIF 2.1.0 log of the reported findings.
	WriteSARIF(ctx context.Context, w io.Writer) error
	// WriteSBOM writes the SBOM (every package, no findings) in format.
	WriteSBOM(ctx context.Context, w io.Writer, format SBOMFormat) error
}

// SortFindings orders findings as an Analysis holds them: most severe
// first, then by vulnerability ID and package.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
}

func severityRank(s string) int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}
