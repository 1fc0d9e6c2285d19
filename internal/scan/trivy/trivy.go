// Package trivy is the scan stage's Scanner: the embedded Trivy library
// analyses the image once, for the vulnerability reports and the SBOM, with
// the vulnerability DB downloaded as Trivy's CLI does and a layer cache of
// its own. It is the only package that imports Trivy: main.go hands New to
// the app (app.WithScanner), which sees only scan.Scanner.
package trivy

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

	xos "github.com/aquasecurity/trivy/pkg/x/os"
	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/scan"
)

// trivyMu serialises scans: Trivy keeps the vulnerability DB and its logger
// process-wide.
var trivyMu sync.Mutex

// New returns the embedded Trivy scanner for opts; it is a
// scan.NewScannerFunc, which main.go hands to the app.
func New(opts scan.Options) (scan.Scanner, error) {
	s, err := opts.Settings()
	if err != nil {
		return nil, err
	}
	return &scanner{s: s}, nil
}

type scanner struct{ s scan.Settings }

func (ts *scanner) Scan(ctx context.Context, t scan.Target) (*scan.Analysis, error) {
	if t.Empty() {
		return nil, errors.New("the build left no image to scan (neither an engine image nor an OCI layout)")
	}
	s := ts.s
	ignores, err := loadIgnoreFiles(ctx, s)
	if err != nil {
		return nil, err
	}

	trivyMu.Lock()
	defer trivyMu.Unlock()
	defer routeTrivyLogs(s.Log)()

	dbInfo, err := prepareDB(ctx, s)
	if err != nil {
		return nil, err
	}
	defer trivydb.Close()

	layerDir := filepath.Join(s.CacheDir, filepath.FromSlash(LayerCacheSubdir))
	if s.NoLayerCache {
		layerDir = ""
	}
	img, exported, cleanup, err := openImage(ctx, t, s, blobStore{dir: layerDir})
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var platformNote string
	if cf, err := img.ConfigFile(); err == nil {
		if platformNote = t.PlatformNote(cf.OS + "/" + cf.Architecture); platformNote != "" {
			s.Log.Infof("scan: %s", platformNote)
		}
	}

	mem := newLayerCache(layerDir, s.Log)
	defer mem.Close()
	defer func() {
		if err := mem.prune(LayerCacheMaxAge, time.Now()); err != nil {
			s.Log.Warningf("scan: could not prune the layer cache: %v", err)
		}
	}()
	pc := &progressCache{Cache: mem, log: s.Log, start: time.Now()}
	art, err := artimage.NewArtifact(img, pc, artifactOptions(s))
	if err != nil {
		return nil, fmt.Errorf("prepare the analysis of %s: %w", t.Name(), err)
	}
	var jdb *javaDB
	if !s.NoJavaDB {
		jdb = &javaDB{s: s}
	}
	backend := local.NewService(applier.NewApplier(mem), ospkg.NewScanner(), langpkg.NewScanner(), vulnerability.NewClient(trivydb.Config{}))
	report, err := tscan.NewService(backend, art).ScanArtifact(withJavaDB(ctx, jdb), scanOptions(s))
	if err != nil {
		if jdb != nil && jdb.err != nil {
			err = jdb.err // Trivy's wrapping adds nothing a user can act on
		}
		return nil, fmt.Errorf("analyse %s: %w", t.Name(), err)
	}
	report.Trivy.Version = trivyVersion()
	reportAsJar(&report)
	if t.OCILayout == "" && !exported() {
		s.Log.Infof("scan: every layer's analysis was in the layer cache: the image was not exported from the Docker Engine")
	}

	filtered := cloneResults(report)
	for i := range filtered.Results {
		if err := result.FilterResult(ctx, &filtered.Results[i], ignores, filterOptions(s)); err != nil {
			return nil, fmt.Errorf("filter the findings: %w", err)
		}
	}
	a := &scan.Analysis{
		Target:    t.Name(),
		DB:        dbInfo,
		JavaDB:    jdb.used(),
		Documents: trivyDocuments{full: report, filtered: filtered},
	}
	if s.NoJavaDB {
		a.Notes = append(a.Notes, JavaOffNote)
	}
	if platformNote != "" {
		a.Notes = append(a.Notes, platformNote)
	}
	if osInfo := report.Metadata.OS; osInfo != nil {
		a.OS = string(osInfo.Family) + " " + osInfo.Name
	}
	for _, r := range filtered.Results {
		for _, v := range r.Vulnerabilities {
			a.Findings = append(a.Findings, scan.Finding{
				ID: v.VulnerabilityID, Package: v.PkgName, InstalledVersion: v.InstalledVersion,
				FixedVersion: v.FixedVersion, Severity: v.Severity, Title: v.Title, URL: v.PrimaryURL, Target: r.Target,
			})
		}
		a.Ignored += len(r.ModifiedFindings)
	}
	scan.SortFindings(a.Findings)
	for _, r := range report.Results {
		for _, p := range r.Packages {
			pkg := scan.Package{
				Name: p.Name, Version: p.Version, Type: string(r.Type),
				Target: r.Target, Class: string(r.Class), ID: p.ID, DependsOn: p.DependsOn,
				Indirect: p.Relationship == ftypes.RelationshipIndirect, FilePath: p.FilePath,
			}
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
func scanOptions(s scan.Settings) types.ScanOptions {
	return types.ScanOptions{
		PkgTypes:            slices.Clone(s.PkgTypes),
		PkgRelationships:    slices.Clone(ftypes.Relationships),
		Scanners:            types.Scanners{types.VulnerabilityScanner, types.SBOMScanner},
		VulnSeveritySources: []dbTypes.SourceID{"auto"},
	}
}

// filterOptions: nil severities would drop every finding.
func filterOptions(s scan.Settings) result.FilterOptions {
	var sevs []dbTypes.Severity
	for _, name := range s.Severities {
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
func artifactOptions(s scan.Settings) artifact.Option {
	disabled := slices.Concat(
		analyzer.TypeLockfiles, // an image is scanned for what is installed, not for lock files
		[]analyzer.Type{
			analyzer.TypeApkCommand, analyzer.TypeSecret, analyzer.TypeLicenseFile,
			analyzer.TypeHistoryDockerfile, analyzer.TypeExecutable, analyzer.TypeRpmArchive,
			analyzer.TypeJar, // jarAnalyzer reads Java archives
		},
		analyzer.TypeConfigFiles,
	)
	if !slices.Contains(s.PkgTypes, scan.PkgTypeLibrary) {
		disabled = append(disabled, analyzer.TypeLanguages...)
	}
	if s.NoJavaDB || !slices.Contains(s.PkgTypes, scan.PkgTypeLibrary) {
		disabled = append(disabled, typeJarOnDemand)
	}
	return artifact.Option{
		DisabledAnalyzers: disabled,
		Parallel:          5,
		NoProgress:        true,
		FileChecksum:      true,
		DetectionPriority: ftypes.PriorityPrecise,
	}
}

func loadIgnoreFiles(ctx context.Context, s scan.Settings) (result.IgnoreConfig, error) {
	files := s.IgnoreFiles
	explicit := len(files) > 0
	if !explicit {
		files = scan.DefaultIgnoreFiles
	}
	var merged result.IgnoreConfig
	var paths []string
	for _, f := range files {
		p := s.Path(strings.TrimSpace(f))
		if _, err := os.Stat(p); err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return result.IgnoreConfig{}, inputerr.Wrap("trivyignores", f, "cannot be read", ".trivyignore or .trivyignore.yaml files in the workspace", err)
		}
		conf, err := result.ParseIgnoreFile(ctx, p)
		if err != nil {
			return result.IgnoreConfig{}, inputerr.Wrap("trivyignores", f, "is not a valid .trivyignore or .trivyignore.yaml file", ".trivyignore or .trivyignore.yaml files in the workspace", err)
		}
		merged.Vulnerabilities = append(merged.Vulnerabilities, conf.Vulnerabilities...)
		merged.Misconfigurations = append(merged.Misconfigurations, conf.Misconfigurations...)
		merged.Secrets = append(merged.Secrets, conf.Secrets...)
		merged.Licenses = append(merged.Licenses, conf.Licenses...)
		paths = append(paths, p)
	}
	merged.FilePath = strings.Join(paths, ", ")
	if len(paths) > 0 {
		s.Log.Infof("scan: ignore files %s", merged.FilePath)
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

// RemoveTempDir removes the directory Trivy keeps for the process's
// temporary files (<TMPDIR>/trivy-<pid>), which it creates on first use and
// leaves behind. Call it once, when no scan of the process runs any more:
// after it, the process's scans cannot make temporary files.
func RemoveTempDir() error { return xos.Cleanup() }
