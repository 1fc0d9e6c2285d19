package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	dbTypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy/pkg/fanal/analyzer"
	"github.com/aquasecurity/trivy/pkg/fanal/applier"
	"github.com/aquasecurity/trivy/pkg/fanal/artifact"
	artimage "github.com/aquasecurity/trivy/pkg/fanal/artifact/image"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/result"
	tscan "github.com/aquasecurity/trivy/pkg/scan"
	"github.com/aquasecurity/trivy/pkg/scan/langpkg"
	"github.com/aquasecurity/trivy/pkg/scan/local"
	"github.com/aquasecurity/trivy/pkg/scan/ospkg"
	"github.com/aquasecurity/trivy/pkg/types"
	"github.com/aquasecurity/trivy/pkg/vulnerability"

	_ "modernc.org/sqlite" // Trivy reads RPM databases with it, as its CLI does

	"github.com/org/image-pipeline/internal/config"
)

// Scanner analyses an image once: vulnerabilities and SBOM come from the
// same analysis.
type Scanner interface {
	Scan(ctx context.Context, t Target) (*Analysis, error)
}

// Analysis is the outcome of one scan.
type Analysis struct {
	// Target names the scanned image; OS is the detected distribution ("alpine 3.20.3").
	Target, OS string
	// Findings are the reported vulnerabilities: after severity,
	// ignore-unfixed and the ignore files, most severe first.
	Findings []Finding
	// Ignored counts findings dropped by the ignore files.
	Ignored int
	// Packages are every package found, as listed in the SBOM.
	Packages []Package
	DB       DBInfo
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
type Package struct {
	Name, Version string
	// Type is the package type ("alpine", "node-pkg", "gobinary", …).
	Type string
	PURL string
}

// JavaNote says why Java archives are not analysed.
const JavaNote = "Java archives (.jar, .war, .ear) are not analysed: the Java DB is not used (see docs/scan.md)."

// trivyMu serialises scans: Trivy keeps the vulnerability DB and its logger
// process-wide.
var trivyMu sync.Mutex

// NewScanner returns the embedded Trivy scanner.
func NewScanner(opts Options) (Scanner, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, err
	}
	return &trivyScanner{s: s}, nil
}

type trivyScanner struct{ s settings }

func (ts *trivyScanner) Scan(ctx context.Context, t Target) (*Analysis, error) {
	if t.empty() {
		return nil, errors.New("the build left no image to scan (neither an engine image nor an OCI layout)")
	}
	s := ts.s
	ignores, err := loadIgnoreFiles(ctx, s)
	if err != nil {
		return nil, err
	}

	trivyMu.Lock()
	defer trivyMu.Unlock()
	defer routeTrivyLogs(s.log)()

	dbInfo, err := prepareDB(ctx, s)
	if err != nil {
		return nil, err
	}
	defer trivydb.Close()

	img, cleanup, err := openImage(ctx, t, s)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	layerDir := filepath.Join(s.cacheDir, filepath.FromSlash(LayerCacheSubdir))
	if s.NoLayerCache {
		layerDir = ""
	}
	mem := newLayerCache(layerDir, s.log)
	defer mem.Close()
	defer func() {
		if err := mem.prune(LayerCacheMaxAge, time.Now()); err != nil {
			s.log.Warningf("scan: could not prune the layer cache: %v", err)
		}
	}()
	pc := &progressCache{Cache: mem, log: s.log, start: time.Now()}
	art, err := artimage.NewArtifact(img, pc, artifactOptions(s))
	if err != nil {
		return nil, fmt.Errorf("prepare the analysis of %s: %w", t.Name(), err)
	}
	backend := local.NewService(applier.NewApplier(mem), ospkg.NewScanner(), langpkg.NewScanner(), vulnerability.NewClient(trivydb.Config{}))
	report, err := tscan.NewService(backend, art).ScanArtifact(ctx, scanOptions(s))
	if err != nil {
		return nil, fmt.Errorf("analyse %s: %w", t.Name(), err)
	}
	report.Trivy.Version = trivyVersion()

	filtered := cloneResults(report)
	for i := range filtered.Results {
		if err := result.FilterResult(ctx, &filtered.Results[i], ignores, filterOptions(s)); err != nil {
			return nil, fmt.Errorf("filter the findings: %w", err)
		}
	}
	a := &Analysis{
		Target:    t.Name(),
		DB:        dbInfo,
		Notes:     []string{JavaNote},
		Documents: trivyDocuments{full: report, filtered: filtered},
	}
	if osInfo := report.Metadata.OS; osInfo != nil {
		a.OS = string(osInfo.Family) + " " + osInfo.Name
	}
	for _, r := range filtered.Results {
		for _, v := range r.Vulnerabilities {
			a.Findings = append(a.Findings, Finding{
				ID: v.VulnerabilityID, Package: v.PkgName, InstalledVersion: v.InstalledVersion,
				FixedVersion: v.FixedVersion, Severity: v.Severity, Title: v.Title, URL: v.PrimaryURL, Target: r.Target,
			})
		}
		a.Ignored += len(r.ModifiedFindings)
	}
	sortFindings(a.Findings)
	for _, r := range report.Results {
		for _, p := range r.Packages {
			pkg := Package{Name: p.Name, Version: p.Version, Type: string(r.Type)}
			if p.Identifier.PURL != nil {
				pkg.PURL = p.Identifier.PURL.String()
			}
			a.Packages = append(a.Packages, pkg)
		}
	}
	return a, nil
}

// scanOptions avoids Trivy's zero-value traps: nil package types scan
// nothing, nil relationships drop every package, nil severity sources make
// every severity UNKNOWN. These are the CLI's defaults.
func scanOptions(s settings) types.ScanOptions {
	return types.ScanOptions{
		PkgTypes:            slices.Clone(s.PkgTypes),
		PkgRelationships:    slices.Clone(ftypes.Relationships),
		Scanners:            types.Scanners{types.VulnerabilityScanner, types.SBOMScanner},
		VulnSeveritySources: []dbTypes.SourceID{"auto"},
	}
}

// filterOptions: nil severities would drop every finding.
func filterOptions(s settings) result.FilterOptions {
	var sevs []dbTypes.Severity
	for _, name := range s.severities {
		sev, _ := dbTypes.NewSeverity(name) // validated
		sevs = append(sevs, sev)
	}
	var statuses []dbTypes.Status
	if s.IgnoreUnfixed {
		// As the CLI's --ignore-unfixed: every status but "fixed".
		fixed := dbTypes.StatusFixed
		for _, st := range dbTypes.Statuses {
			if st != fixed.String() {
				statuses = append(statuses, dbTypes.NewStatus(st))
			}
		}
	}
	return result.FilterOptions{Severities: sevs, IgnoreStatuses: statuses}
}

// artifactOptions are those of `trivy image --scanners vuln` with an SBOM
// format (file checksums on), with the same analysers disabled.
func artifactOptions(s settings) artifact.Option {
	disabled := slices.Concat(
		analyzer.TypeLockfiles, // an image is scanned for what is installed, not for lock files
		[]analyzer.Type{
			analyzer.TypeApkCommand, analyzer.TypeSecret, analyzer.TypeLicenseFile,
			analyzer.TypeHistoryDockerfile, analyzer.TypeExecutable, analyzer.TypeRpmArchive,
			analyzer.TypeJar, // needs the Java DB: see JavaNote
		},
		analyzer.TypeConfigFiles,
	)
	if !slices.Contains(s.PkgTypes, PkgTypeLibrary) {
		disabled = append(disabled, analyzer.TypeLanguages...)
	}
	return artifact.Option{
		DisabledAnalyzers: disabled,
		Parallel:          5,
		NoProgress:        true,
		FileChecksum:      true,
		DetectionPriority: ftypes.PriorityPrecise,
	}
}

func loadIgnoreFiles(ctx context.Context, s settings) (result.IgnoreConfig, error) {
	files := s.IgnoreFiles
	explicit := len(files) > 0
	if !explicit {
		files = config.TrivyIgnoreDefaults
	}
	var merged result.IgnoreConfig
	var paths []string
	for _, f := range files {
		p := s.path(strings.TrimSpace(f))
		if _, err := os.Stat(p); err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return result.IgnoreConfig{}, fmt.Errorf("input trivyignores: read %s: %w", p, err)
		}
		conf, err := result.ParseIgnoreFile(ctx, p)
		if err != nil {
			return result.IgnoreConfig{}, fmt.Errorf("input trivyignores: %s is not a valid .trivyignore or .trivyignore.yaml file: %w", p, err)
		}
		merged.Vulnerabilities = append(merged.Vulnerabilities, conf.Vulnerabilities...)
		merged.Misconfigurations = append(merged.Misconfigurations, conf.Misconfigurations...)
		merged.Secrets = append(merged.Secrets, conf.Secrets...)
		merged.Licenses = append(merged.Licenses, conf.Licenses...)
		paths = append(paths, p)
	}
	merged.FilePath = strings.Join(paths, ", ")
	if len(paths) > 0 {
		s.log.Infof("scan: ignore files %s", merged.FilePath)
	}
	return merged, nil
}

// cloneResults copies the results so that writers and filters, which set
// fields of each result, do not change another document's.
func cloneResults(r types.Report) types.Report {
	r.Results = slices.Clone(r.Results)
	for i := range r.Results {
		r.Results[i].Vulnerabilities = slices.Clone(r.Results[i].Vulnerabilities)
		r.Results[i].Packages = slices.Clone(r.Results[i].Packages)
	}
	return r
}

func severityRank(s string) int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

func sortFindings(fs []Finding) {
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

// trivyVersion is the linked Trivy module's version ("0.69.3").
func trivyVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/aquasecurity/trivy" {
				if d.Replace != nil {
					d = d.Replace
				}
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "0.69.3"
}
