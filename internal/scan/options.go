// Package scan is the scan stage: one analysis of the built image by a
// Scanner yields the vulnerability report (JSON, SARIF, summary) and the
// SBOM (CycloneDX or SPDX), and a gate on the findings decides whether the
// image may be pushed. It holds the options, their validation, the stage,
// the gate and the summary, and does not link Trivy: the embedded Trivy is
// the Scanner of internal/scan/trivy, which the binary hands to the app.
package scan

import (
	"cmp"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
)

// Severities from the most to the least severe, as Trivy names them.
var Severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// SBOMFormat is the sbom-format input.
type SBOMFormat string

// SBOM formats.
const (
	FormatCycloneDX SBOMFormat = "cyclonedx"
	FormatSPDXJSON  SBOMFormat = "spdx-json"
)

// FailOn is the fail-on input: the lowest severity that closes the gate, as
// Trivy names it (CRITICAL … UNKNOWN; any case), or FailOnNone.
type FailOn string

// Package types, as Trivy's --pkg-types.
const (
	PkgTypeOS      = "os"
	PkgTypeLibrary = "library"
)

// FailOnNone is the fail-on value that never closes the gate.
const FailOnNone FailOn = "NONE"

// Defaults of the inputs. DefaultDBRepositories is Trivy's own list: the
// first one that answers wins.
var (
	DefaultDBRepositories = []string{"mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"}
	// DefaultJavaDBRepositories is Trivy's list for the Java DB, which
	// maps JAR files to Maven coordinates.
	DefaultJavaDBRepositories = []string{"mirror.gcr.io/aquasec/trivy-java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"}
	DefaultSeverities         = Severities
	DefaultPkgTypes           = []string{PkgTypeOS, PkgTypeLibrary}
	// DefaultIgnoreFiles are read from the workspace, those that exist,
	// when IgnoreFiles is empty (the app refuses any that is a symlink out
	// of the workspace).
	DefaultIgnoreFiles = []string{".trivyignore", ".trivyignore.yaml"}
)

// Input defaults as written in action.yml.
const (
	DefaultFailOn     FailOn = "CRITICAL"
	DefaultSBOMFormat        = FormatCycloneDX
	DefaultCacheDir          = "~/.cache/trivy"
	DefaultDBMaxAge          = 3 * 24 * time.Hour
)

// DefaultSBOMFile is where the SBOM is written, relative to the workspace,
// when sbom-file is empty.
func DefaultSBOMFile(format SBOMFormat) string {
	if format == FormatSPDXJSON {
		return "image-pipeline-reports/sbom.spdx.json"
	}
	return "image-pipeline-reports/sbom.cdx.json"
}

// Options are the scan stage's settings. The configuration parses the
// action inputs (named in each comment) with the parsers below, once, and
// the app maps them onto these fields; the zero value of every field but
// Enabled means the input's default.
type Options struct {
	// Enabled is input `scan`.
	Enabled bool
	// FailOn is input `fail-on`: the lowest severity that closes the gate
	// (critical, high, medium, low, unknown) or none.
	FailOn FailOn
	// Severities is input `severity`: the severities reported and counted
	// (ParseSeverities).
	Severities []string
	// IgnoreUnfixed is input `ignore-unfixed`: drop findings without a fixed version.
	IgnoreUnfixed bool
	// IgnoreFiles is input `trivyignores`: .trivyignore or .trivyignore.yaml
	// files. Empty means the workspace's .trivyignore and .trivyignore.yaml
	// when they exist (DefaultIgnoreFiles).
	IgnoreFiles []string
	// PkgTypes is input `pkg-types`: os, library (ParsePkgTypes).
	PkgTypes []string
	// SBOMFormat is input `sbom-format`: cyclonedx or spdx-json.
	SBOMFormat SBOMFormat
	// SBOMFile is input `sbom-file`; relative to Workspace.
	SBOMFile string
	// JSONFile is input `scan-json`: Trivy's JSON report ("" = not written).
	JSONFile string
	// SARIFFile is input `scan-sarif`: SARIF 2.1.0 ("" = not written).
	SARIFFile string
	// DBRepositories is input `trivy-db-repository`: OCI references of the
	// vulnerability DB, tried in order (ParseDBRepositories).
	DBRepositories []string
	// JavaDBRepositories is input `trivy-java-db-repository`: OCI
	// references of the Java DB, tried in order, downloaded only when the
	// image holds a Java archive (ParseJavaDBRepositories).
	JavaDBRepositories []string
	// NoJavaDB is `trivy-java-db-repository: none`: Java archives are
	// not analysed.
	NoJavaDB bool
	// CacheDir is input `trivy-cache-dir`; ~ is the home directory.
	CacheDir string
	// DBMaxAge is input `trivy-db-max-age` (ParseAge): how old a cached DB
	// may be and still be used when no repository answers; 0 is
	// DefaultDBMaxAge.
	DBMaxAge time.Duration

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
	// DBRetry is how a DB repository that throttles or fails is retried
	// before the next one is tried (zero: DefaultDBRetry).
	DBRetry registry.ReadRetry
	// Log receives progress (DB download, layer analysis) and warnings.
	Log Logger
}

// Logger is where the scan reports progress; ghactions.Runner is one.
type Logger = pipeline.Logger

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Warningf(string, ...any) {}

// Input names, as the messages name them.
const (
	InputSeverity         = "severity"
	InputPkgTypes         = "pkg-types"
	InputDBRepository     = "trivy-db-repository"
	InputJavaDBRepository = "trivy-java-db-repository"
	InputDBMaxAge         = "trivy-db-max-age"
	InputCacheDir         = "trivy-cache-dir"
)

// ParseSeverities reads the severity input: Trivy's severity names in any
// case, returned in upper case. Every bad item is one error.
func ParseSeverities(items []string) ([]string, error) {
	return parseItems(items, func(s string) (string, *inputerr.Error) {
		if u := strings.ToUpper(s); slices.Contains(Severities, u) {
			return u, nil
		}
		return "", inputerr.New(InputSeverity, s, "is not a severity", strings.Join(Severities, ", "))
	})
}

// ParsePkgTypes reads the pkg-types input: os, library or both.
func ParsePkgTypes(items []string) ([]string, error) {
	return parseItems(items, func(p string) (string, *inputerr.Error) {
		if p == PkgTypeOS || p == PkgTypeLibrary {
			return p, nil
		}
		return "", inputerr.New(InputPkgTypes, p, "is not a package type", "os, library, or both")
	})
}

// ParseDBRepositories reads the trivy-db-repository input: OCI references.
func ParseDBRepositories(items []string) ([]string, error) {
	return parseItems(items, func(r string) (string, *inputerr.Error) {
		if _, err := name.ParseReference(r); err == nil {
			return r, nil
		}
		return "", inputerr.New(InputDBRepository, r, "is not an OCI reference", "OCI references such as ghcr.io/aquasecurity/trivy-db:2, tried in order")
	})
}

// JavaDBNone is the trivy-java-db-repository value that turns the analysis
// of Java archives off.
const JavaDBNone = "none"

// ParseJavaDBRepositories reads the trivy-java-db-repository input: OCI
// references, or none alone (off).
func ParseJavaDBRepositories(items []string) (repos []string, off bool, err error) {
	var named []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			named = append(named, it)
		}
	}
	if len(named) == 1 && strings.EqualFold(named[0], JavaDBNone) {
		return nil, true, nil
	}
	repos, err = parseItems(named, func(r string) (string, *inputerr.Error) {
		if _, err := name.ParseReference(r); err == nil && !strings.EqualFold(r, JavaDBNone) {
			return r, nil
		}
		return "", inputerr.New(InputJavaDBRepository, r, "is not an OCI reference", "OCI references such as ghcr.io/aquasecurity/trivy-java-db:1, tried in order, or none alone to leave Java archives unanalysed")
	})
	return repos, false, err
}

// parseItems checks each trimmed item of a list input, keeping the good
// ones and joining one error per bad one.
func parseItems(items []string, check func(string) (string, *inputerr.Error)) ([]string, error) {
	var out []string
	var errs []error
	for _, it := range items {
		v, bad := check(strings.TrimSpace(it))
		if bad != nil {
			errs = append(errs, bad)
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// ParseAge reads the trivy-db-max-age input: days ("3d") or Go's duration
// syntax ("72h", "90m"), not negative.
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
	return 0, inputerr.New(InputDBMaxAge, s, "is not a duration", "days such as 3d, or hours such as 72h")
}

// Settings are Options with every default applied and every value
// normalised: FailOn (upper case, or NONE) and Severities in upper case,
// PkgTypes, SBOMFormat, SBOMFile and DBRepositories filled in, CacheDir with
// ~ expanded and resolved against the workspace, Log never nil. The stage
// and a Scanner work from them.
type Settings struct {
	Options
	// MaxDBAge is DBMaxAge or its default.
	MaxDBAge time.Duration
}

// DefaultDBRetry retries a DB repository 4 times, 1 s to 8 s apart, and
// waits for a Retry-After of up to 30 s (ghcr.io's TOOMANYREQUESTS,
// aquasecurity/trivy-action#389); a longer one moves on to the next
// repository at once.
var DefaultDBRetry = registry.ReadRetry{
	RetryPolicy:   registry.RetryPolicy{Attempts: 4, InitialDelay: time.Second, MaxDelay: 8 * time.Second},
	MaxRetryAfter: 30 * time.Second,
}

// Settings applies the defaults. The values were checked when the inputs
// were parsed; the one error is a trivy-cache-dir under ~ without a home.
func (o Options) Settings() (Settings, error) {
	s := Settings{Options: o}
	if s.Log == nil {
		s.Log = discardLogger{}
	}
	s.FailOn = FailOn(strings.ToUpper(cmpOr(string(o.FailOn), string(DefaultFailOn))))
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
	s.SBOMFormat = SBOMFormat(cmpOr(string(o.SBOMFormat), string(DefaultSBOMFormat)))
	s.SBOMFile = cmpOr(o.SBOMFile, DefaultSBOMFile(s.SBOMFormat))
	if len(s.DBRepositories) == 0 {
		s.DBRepositories = slices.Clone(DefaultDBRepositories)
	}
	if len(s.JavaDBRepositories) == 0 && !s.NoJavaDB {
		s.JavaDBRepositories = slices.Clone(DefaultJavaDBRepositories)
	}
	s.MaxDBAge = cmp.Or(o.DBMaxAge, DefaultDBMaxAge)
	if s.DBRetry == (registry.ReadRetry{}) {
		s.DBRetry = DefaultDBRetry
	}
	dir, err := expandHome(cmpOr(o.CacheDir, DefaultCacheDir))
	if err != nil {
		return Settings{}, inputerr.New(InputCacheDir, o.CacheDir, "starts with ~ but there is no home directory ("+err.Error()+")", "an absolute path, a path relative to the workspace, or ~/… with HOME set")
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
		return "", err
	}
	return home + rest, nil
}

func cmpOr(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}
