// Package scan is the scan stage: one analysis of the built image by a
// Scanner yields the vulnerability report (JSON, SARIF, summary) and the
// SBOM (CycloneDX or SPDX), and a gate on the findings decides whether the
// image may be pushed. It holds the options, their validation, the stage,
// the gate and the summary, and does not link Trivy: the embedded Trivy is
// the Scanner of internal/scan/trivy, which the binary hands to the app.
package scan

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Severities from the most to the least severe, as Trivy names them.
var Severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// SBOM formats.
const (
	FormatCycloneDX = "cyclonedx"
	FormatSPDXJSON  = "spdx-json"
)

// Package types, as Trivy's --pkg-types.
const (
	PkgTypeOS      = "os"
	PkgTypeLibrary = "library"
)

// FailOnNone is the fail-on value that never closes the gate.
const FailOnNone = "none"

// Defaults of the inputs. DefaultDBRepositories is Trivy's own list: the
// first one that answers wins.
var (
	DefaultDBRepositories = []string{"mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"}
	DefaultSeverities     = Severities
	DefaultPkgTypes       = []string{PkgTypeOS, PkgTypeLibrary}
	// DefaultIgnoreFiles are read from the workspace, those that exist,
	// when IgnoreFiles is empty (the app refuses any that is a symlink out
	// of the workspace).
	DefaultIgnoreFiles = []string{".trivyignore", ".trivyignore.yaml"}
)

// Input defaults as written in action.yml.
const (
	DefaultFailOn     = "critical"
	DefaultSBOMFormat = FormatCycloneDX
	DefaultCacheDir   = "~/.cache/trivy"
	DefaultDBMaxAge   = "3d"
)

// DefaultSBOMFile is where the SBOM is written, relative to the workspace,
// when sbom-file is empty.
func DefaultSBOMFile(format string) string {
	if format == FormatSPDXJSON {
		return "image-pipeline-reports/sbom.spdx.json"
	}
	return "image-pipeline-reports/sbom.cdx.json"
}

// Options are the scan stage's settings. The app maps the action inputs
// (named in each comment) onto them; the zero value of every field but
// Enabled means the input's default.
type Options struct {
	// Enabled is input `scan`.
	Enabled bool
	// FailOn is input `fail-on`: the lowest severity that closes the gate
	// (critical, high, medium, low, unknown) or none.
	FailOn string
	// Severities is input `severity`: the severities reported and counted.
	Severities []string
	// IgnoreUnfixed is input `ignore-unfixed`: drop findings without a fixed version.
	IgnoreUnfixed bool
	// IgnoreFiles is input `trivyignores`: .trivyignore or .trivyignore.yaml
	// files. Empty means the workspace's .trivyignore and .trivyignore.yaml
	// when they exist (DefaultIgnoreFiles).
	IgnoreFiles []string
	// PkgTypes is input `pkg-types`: os, library.
	PkgTypes []string
	// SBOMFormat is input `sbom-format`: cyclonedx or spdx-json.
	SBOMFormat string
	// SBOMFile is input `sbom-file`; relative to Workspace.
	SBOMFile string
	// JSONFile is input `scan-json`: Trivy's JSON report ("" = not written).
	JSONFile string
	// SARIFFile is input `scan-sarif`: SARIF 2.1.0 ("" = not written).
	SARIFFile string
	// DBRepositories is input `trivy-db-repository`: OCI references of the
	// vulnerability DB, tried in order.
	DBRepositories []string
	// CacheDir is input `trivy-cache-dir`; ~ is the home directory.
	CacheDir string
	// DBMaxAge is input `trivy-db-max-age`: how old a cached DB may be and
	// still be used when no repository answers ("72h", "3d").
	DBMaxAge string

	// Workspace is where relative paths start (GITHUB_WORKSPACE).
	Workspace string
	// DockerHost is the Docker Engine holding EngineRef images ("" = DOCKER_HOST or the default socket).
	DockerHost string
	// NoLayerCache analyses every layer, keeping nothing for the next run
	// (tests and benchmarks of a cold analysis). By default the analyses of
	// layers are kept under CacheDir (LayerCacheSubdir).
	NoLayerCache bool
	// EngineSaves, when set, exports engine images (the app shares one
	// with the push stage); nil = the scan's own over DockerHost.
	EngineSaves EngineSaves
	// Keychain and Transport reach the DB repositories (nil = the Docker
	// config's credentials and the default transport).
	Keychain  authn.Keychain
	Transport http.RoundTripper
	// Log receives progress (DB download, layer analysis) and warnings.
	Log Logger
}

// Logger is where the scan reports progress; ghactions.Runner is one.
type Logger = pipeline.Logger

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Warningf(string, ...any) {}

// Validate reports every bad setting at once, each naming its input and the
// accepted values.
func (o Options) Validate() error {
	var errs []error
	if o.FailOn != "" && !strings.EqualFold(o.FailOn, FailOnNone) && !slices.Contains(Severities, strings.ToUpper(o.FailOn)) {
		errs = append(errs, fmt.Errorf("input fail-on: %q is not a severity; use one of critical, high, medium, low, unknown or none", o.FailOn))
	}
	for _, s := range o.Severities {
		if !slices.Contains(Severities, strings.ToUpper(strings.TrimSpace(s))) {
			errs = append(errs, fmt.Errorf("input severity: %q is not a severity; use a list of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN", s))
		}
	}
	for _, p := range o.PkgTypes {
		if p := strings.TrimSpace(p); p != PkgTypeOS && p != PkgTypeLibrary {
			errs = append(errs, fmt.Errorf("input pkg-types: %q is not a package type; use os, library or both", p))
		}
	}
	if o.SBOMFormat != "" && o.SBOMFormat != FormatCycloneDX && o.SBOMFormat != FormatSPDXJSON {
		errs = append(errs, fmt.Errorf("input sbom-format: %q is not supported; use cyclonedx or spdx-json", o.SBOMFormat))
	}
	for _, r := range o.DBRepositories {
		if _, err := name.ParseReference(strings.TrimSpace(r)); err != nil {
			errs = append(errs, fmt.Errorf("input trivy-db-repository: %q is not an OCI reference such as ghcr.io/aquasecurity/trivy-db:2: %w", r, err))
		}
	}
	if o.DBMaxAge != "" {
		if _, err := ParseAge(o.DBMaxAge); err != nil {
			errs = append(errs, fmt.Errorf("input trivy-db-max-age: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ParseAge reads a duration in days ("3d") or Go's syntax ("72h", "90m").
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration; use days such as 3d or hours such as 72h", s)
}

// Settings are Options with every default applied and every value
// normalised: FailOn (upper case, or NONE) and Severities in upper case,
// PkgTypes, SBOMFormat, SBOMFile and DBRepositories filled in, CacheDir with
// ~ expanded and resolved against the workspace, Log never nil. The stage
// and a Scanner work from them.
type Settings struct {
	Options
	// MaxDBAge is DBMaxAge parsed.
	MaxDBAge time.Duration
}

// Settings validates the options and applies the defaults.
func (o Options) Settings() (Settings, error) {
	if err := o.Validate(); err != nil {
		return Settings{}, err
	}
	s := Settings{Options: o}
	if s.Log == nil {
		s.Log = discardLogger{}
	}
	s.FailOn = strings.ToUpper(cmpOr(o.FailOn, DefaultFailOn))
	s.Severities = nil
	for _, sev := range o.Severities {
		s.Severities = append(s.Severities, strings.ToUpper(strings.TrimSpace(sev)))
	}
	if len(s.Severities) == 0 {
		s.Severities = slices.Clone(DefaultSeverities)
	}
	if len(s.PkgTypes) == 0 {
		s.PkgTypes = slices.Clone(DefaultPkgTypes)
	}
	s.SBOMFormat = cmpOr(o.SBOMFormat, DefaultSBOMFormat)
	s.SBOMFile = cmpOr(o.SBOMFile, DefaultSBOMFile(s.SBOMFormat))
	if len(s.DBRepositories) == 0 {
		s.DBRepositories = slices.Clone(DefaultDBRepositories)
	}
	s.MaxDBAge, _ = ParseAge(cmpOr(o.DBMaxAge, DefaultDBMaxAge))
	dir, err := expandHome(cmpOr(o.CacheDir, DefaultCacheDir))
	if err != nil {
		return Settings{}, fmt.Errorf("input trivy-cache-dir: %w", err)
	}
	s.CacheDir = s.Path(dir)
	return s, nil
}

// Path resolves p against the workspace.
func (s Settings) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.Workspace, p)
}

func expandHome(p string) (string, error) {
	rest, ok := strings.CutPrefix(p, "~")
	if !ok || (rest != "" && rest[0] != '/') {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%s starts with ~ but there is no home directory (set HOME or give an absolute path): %w", p, err)
	}
	return home + rest, nil
}

func cmpOr(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}
