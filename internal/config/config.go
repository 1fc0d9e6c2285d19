// Package config parses the action's inputs (or the CLI flags that mirror
// them) once, validates all of them, and reports every problem in one go,
// each naming the input and the accepted values.
package config

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/lint"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/sign"
	"github.com/org/image-pipeline/internal/tags"
)

// Config is the validated configuration of one run.
type Config struct {
	// Images are the parsed `image` entries; empty means the default
	// ghcr.io/<owner>/<repository>.
	Images   []tags.Image
	TagRules []tags.Rule
	Flavor   tags.Flavor
	Labels   []string
	// Annotations is the annotations input; AnnotationLevels the levels
	// DOCKER_METADATA_ANNOTATIONS_LEVELS names (set by the app).
	Annotations      []string
	AnnotationLevels []string
	CacheImage       string
	// DependencySnapshot is the dependency-snapshot input.
	DependencySnapshot bool
	// CacheScope is the cache-scope input: "auto" (the app derives it from
	// the build settings), "" (none), or a scope.
	CacheScope string
	Plan       bool
	// AllowUntrustedBuild lets a pull_request_target run build a fork's
	// head (as a fork's build).
	AllowUntrustedBuild bool
	Context             string
	File                string
	Lint                LintConfig
	Build               BuildConfig
	Sign                SignConfig
	Scan                ScanConfig
	ReportsDir          string
	Push                registry.PushMode
	GitHubToken         string
	Registry            RegistryConfig
	Summary             bool
	ReportJSON          string

	// Workspace is the directory relative paths are resolved against
	// (GITHUB_WORKSPACE, or the current directory).
	Workspace string

	// Secrets holds every secret value read, so the runner can mask them.
	Secrets []string
}

// ReportPath is where the report file name goes: inside reports-dir,
// resolved against the workspace.
func (c *Config) ReportPath(name string) string {
	dir := c.ReportsDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.Workspace, dir)
	}
	return filepath.Join(dir, name)
}

// BuildConfig holds the build inputs (validated by the build stage's
// Options.Validate).
type BuildConfig struct {
	Target, BuilderTarget string
	// BuildArgs, Secrets (secrets and secret-envs) and Platforms are
	// parsed by the build package's parsers.
	BuildArgs  []build.BuildArg
	Secrets    []build.Secret
	Platforms  []string
	Provenance string // a build.Provenance mode
	// BuildContexts, SSH, AddHosts, Network and ShmSize are build-contexts,
	// ssh, add-hosts, network and shm-size, parsed; secret-files is in
	// Secrets.
	BuildContexts                                  []build.BuildContext
	SSH                                            []build.SSHAgent
	AddHosts                                       []string
	Network                                        string
	ShmSize                                        int64
	NoCache, Pull                                  bool
	Cache                                          string
	BuildkitAddress                                string
	BuildkitTLSCA, BuildkitTLSCert, BuildkitTLSKey string
}

// ScanConfig holds the scan inputs, parsed by the scan package's parsers.
// Report paths are filled from reports-dir when empty; the ignore files
// and report paths are checked against the workspace by the app.
type ScanConfig struct {
	Enabled, IgnoreUnfixed        bool
	FailOn                        scan.FailOn // upper case, or NONE
	Severities                    []string    // upper case
	IgnoreFiles                   []string
	PkgTypes                      []string
	SBOMFormat                    scan.SBOMFormat
	SBOMFile, JSONFile, SARIFFile string
	DBRepositories                []string
	JavaDBRepositories            []string
	NoJavaDB                      bool // trivy-java-db-repository: none
	CacheDir                      string
	DBMaxAge                      time.Duration
}

// SignConfig holds the sign inputs. The enums and URLs are parsed here;
// the sign stage's Options.Validate keeps what needs the file system (the
// key file) or the event (which companions matter when this run signs).
type SignConfig struct {
	Mode                            sign.Mode
	Key, Password                   string
	Tlog, AttestSBOM                bool
	Format                          sign.Format
	FulcioURL, RekorURL, OIDCIssuer string
	TrustedRoot                     string
	Annotations                     []sign.Annotation
}

// RegistryConfig holds the push inputs (validated by the push stage's
// Options.Validate, which knows the registries line format).
type RegistryConfig struct {
	Username, Password string
	// Registries are the registries input's logins, parsed; Timeout is
	// push-timeout (0: the default).
	Registries           []registry.Credential
	Timeout              time.Duration
	OverwriteReleaseTags bool
}

// LintConfig holds the lint inputs.
type LintConfig struct {
	Enabled bool
	// FailureThreshold is "" (the config file's, else hadolint's info) or a
	// severity name.
	FailureThreshold  string
	Ignore            []string
	ConfigFile        string
	TrustedRegistries []string
}

// CacheScopeAuto is the cache-scope value that makes the scope from the
// build settings.
const CacheScopeAuto = "auto"

// MaxCacheScope is the longest cache scope, so that <branch>-<scope>
// stays a readable tag.
const MaxCacheScope = 40

func validCacheScope(s string) bool {
	if len(s) > MaxCacheScope || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Source returns an input's raw value and whether it was given at all.
type Source func(name string) (value string, ok bool)

// InputError is a problem with one input's value: the one error type of
// every input message (package inputerr).
type InputError = inputerr.Error

// Parse reads and validates every input. The error, when not nil, joins one
// *InputError per problem.
func Parse(src Source) (*Config, error) {
	p := &Reader{src: src}
	c := &Config{
		Context:     p.String("context"),
		File:        p.String("file"),
		Push:        registry.PushMode(p.Enum("push")),
		GitHubToken: p.Secret("github-token"),
		Registry: RegistryConfig{
			Username:             p.String("registry-username"),
			Password:             p.Secret("registry-password"),
			OverwriteReleaseTags: p.Bool("overwrite-release-tags"),
		},
		Summary:    p.Bool("summary"),
		ReportJSON: p.String("report-json"),
		CacheImage: p.String("cache-image"),
		CacheScope: p.String("cache-scope"),
		ReportsDir: p.String("reports-dir"),
		Build: BuildConfig{
			Target:          p.String("target"),
			BuilderTarget:   p.String("builder-target"),
			NoCache:         p.Bool("no-cache"),
			Pull:            p.Bool("pull"),
			Cache:           p.Enum("cache"),
			BuildkitAddress: p.String("buildkit-address"),
			BuildkitTLSCA:   p.String("buildkit-tls-ca"),
			BuildkitTLSCert: p.String("buildkit-tls-cert"),
			BuildkitTLSKey:  p.String("buildkit-tls-key"),
		},
		Scan: ScanConfig{
			Enabled:       p.Bool("scan"),
			FailOn:        scan.FailOn(strings.ToUpper(p.Enum("fail-on"))),
			IgnoreUnfixed: p.Bool("ignore-unfixed"),
			IgnoreFiles:   p.List("trivyignores"),
			SBOMFormat:    scan.SBOMFormat(p.Enum("sbom-format")),
			SBOMFile:      p.String("sbom-file"),
			JSONFile:      p.String("scan-json"),
			SARIFFile:     p.String("scan-sarif"),
			CacheDir:      p.String("trivy-cache-dir"),
		},
		Sign: SignConfig{
			Mode:        sign.Mode(p.Enum("sign")),
			Key:         p.Secret("cosign-key"),
			Password:    p.Secret("cosign-password"),
			Tlog:        p.Bool("cosign-tlog"),
			AttestSBOM:  p.Bool("attest-sbom"),
			Format:      sign.Format(p.Enum("signature-format")),
			FulcioURL:   p.URL("fulcio-url"),
			RekorURL:    p.URL("rekor-url"),
			OIDCIssuer:  p.URL("oidc-issuer"),
			TrustedRoot: p.String("sigstore-trusted-root"),
		},
		Lint: LintConfig{
			Enabled:           p.Bool("lint"),
			FailureThreshold:  p.Enum("lint-failure-threshold"),
			ConfigFile:        p.String("lint-config"),
			TrustedRegistries: p.List("lint-trusted-registries"),
		},
		DependencySnapshot:  p.Bool("dependency-snapshot"),
		Plan:                p.Bool("plan"),
		AllowUntrustedBuild: p.Bool("allow-untrusted-build"),
	}
	var err error
	imageLines := p.Lines("image")
	if alias := p.Lines("images"); len(alias) > 0 {
		if len(imageLines) > 0 {
			p.Fail(&InputError{Input: "images", Problem: `and "image" are both set; "images" is docker/metadata-action's name for "image"`, Accepted: "one of image or images"})
		} else {
			imageLines = alias
		}
	}
	if c.Images, err = tags.ParseImages(imageLines); err != nil {
		p.FailErr(err)
	}
	if c.TagRules, err = tags.ParseRules(p.Lines("tags")); err != nil {
		p.FailErr(err)
	}
	if c.Flavor, err = tags.ParseFlavor(p.Lines("flavor")); err != nil {
		p.FailErr(err)
	}
	if c.Labels, err = tags.ParseLabels(p.Lines("labels")); err != nil {
		p.FailErr(err)
	}
	if c.Annotations, err = tags.ParseAnnotations(p.Lines("annotations")); err != nil {
		p.FailErr(err)
	}
	if c.Build.BuildArgs, err = build.ParseBuildArgs(p.Lines("build-args")); err != nil {
		p.FailErr(err)
	}
	if c.Build.Secrets, err = build.ParseSecrets(tags.SplitInput(p.Secret("secrets")), p.Lines("secret-envs")); err != nil {
		p.FailErr(err)
	}
	if files, err := build.ParseSecretFiles(p.Lines("secret-files")); err != nil {
		p.FailErr(err)
	} else {
		c.Build.Secrets = append(c.Build.Secrets, files...)
	}
	if c.Build.BuildContexts, err = build.ParseBuildContexts(p.Lines("build-contexts")); err != nil {
		p.FailErr(err)
	}
	if c.Build.SSH, err = build.ParseSSH(p.Lines("ssh")); err != nil {
		p.FailErr(err)
	}
	if c.Build.AddHosts, err = build.ParseAddHosts(p.List("add-hosts")); err != nil {
		p.FailErr(err)
	}
	if c.Build.Network, err = build.ParseNetwork(p.String("network")); err != nil {
		p.FailErr(err)
	}
	if c.Build.ShmSize, err = build.ParseShmSize(p.String("shm-size")); err != nil {
		p.FailErr(err)
	}
	if c.Build.Platforms, err = build.ParsePlatforms(p.List("platforms")); err != nil {
		p.FailErr(err)
	}
	if c.Sign.Annotations, err = sign.ParseAnnotations(p.Lines(sign.InputAnnotations)); err != nil {
		p.FailErr(err)
	}
	if c.CacheScope != CacheScopeAuto && c.CacheScope != "" && !validCacheScope(c.CacheScope) {
		p.Fail(&InputError{Input: "cache-scope", Value: c.CacheScope, Problem: "is not a cache scope", Accepted: "auto, empty for none, or up to 40 letters, digits, '.', '_' and '-', starting with a letter or digit"})
	}
	if c.Build.Provenance, err = build.ParseProvenance(p.String("provenance")); err != nil {
		p.FailErr(err)
	}
	if c.Scan.Severities, err = scan.ParseSeverities(p.List("severity")); err != nil {
		p.FailErr(err)
	}
	if c.Scan.PkgTypes, err = scan.ParsePkgTypes(p.List("pkg-types")); err != nil {
		p.FailErr(err)
	}
	if c.Scan.DBRepositories, err = scan.ParseDBRepositories(p.List("trivy-db-repository")); err != nil {
		p.FailErr(err)
	}
	if c.Scan.JavaDBRepositories, c.Scan.NoJavaDB, err = scan.ParseJavaDBRepositories(p.List("trivy-java-db-repository")); err != nil {
		p.FailErr(err)
	}
	if a := p.String("trivy-db-max-age"); a != "" {
		if c.Scan.DBMaxAge, err = scan.ParseAge(a); err != nil {
			p.FailErr(err)
		}
	}
	registries := p.Secret("registries")
	p.secrets = append(p.secrets, registry.RegistriesSecrets(registries)...)
	if c.Registry.Registries, err = registry.ParseRegistries(registries); err != nil {
		p.FailErr(err)
	}
	if t := p.String("push-timeout"); t != "" {
		if c.Registry.Timeout, err = registry.ParseTimeout(t); err != nil {
			p.FailErr(err)
		}
	}
	for _, code := range p.List("lint-ignore") {
		if codes, err := lint.ParseCodeList(code); err != nil || len(codes) != 1 {
			p.Fail(&InputError{Input: "lint-ignore", Value: code, Problem: "is not a rule code", Accepted: "rule codes such as DL3008, SC2086, IP001"})
		} else {
			c.Lint.Ignore = append(c.Lint.Ignore, codes[0])
		}
	}
	if c.ReportsDir == "" {
		c.ReportsDir = "image-pipeline-reports"
	}
	if c.Scan.SBOMFile == "" {
		c.Scan.SBOMFile = filepath.Join(c.ReportsDir, filepath.Base(scan.DefaultSBOMFile(c.Scan.SBOMFormat)))
	}
	if c.Scan.JSONFile == "" {
		c.Scan.JSONFile = filepath.Join(c.ReportsDir, "scan.json")
	}
	if c.Scan.SARIFFile == "" {
		c.Scan.SARIFFile = filepath.Join(c.ReportsDir, "scan.sarif")
	}
	if c.Context == "" {
		c.Context = "."
	}
	if c.File == "" {
		c.File = filepath.Join(c.Context, "Dockerfile")
	}
	c.Secrets = p.secrets
	return c, p.Err()
}

// Reader reads inputs by name, applying the defaults of the Inputs table
// and collecting every problem. Stage packages that grow their own inputs
// read them through the same Reader.
type Reader struct {
	src     Source
	errs    []error
	secrets []string
}

// Err joins every problem found so far.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records a problem with an input.
func (r *Reader) Fail(e *InputError) { r.errs = append(r.errs, e) }

// FailErr records the problems of a parser that already names its input;
// joined errors are kept one per line.
func (r *Reader) FailErr(err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		r.errs = append(r.errs, j.Unwrap()...)
		return
	}
	r.errs = append(r.errs, err)
}

// raw returns the value given, or the table default. Defaults that are
// workflow expressions (${{ github.token }}) only mean something on the
// runner, which expands them; locally they count as empty.
func (r *Reader) raw(name string) string {
	if v, ok := r.src(name); ok {
		return strings.TrimSpace(v)
	}
	in, ok := Lookup(name)
	if !ok {
		panic("config: input " + name + " is not in the Inputs table")
	}
	if strings.HasPrefix(in.Default, "${{") {
		return ""
	}
	return in.Default
}

// String reads a plain text input.
func (r *Reader) String(name string) string { return r.raw(name) }

// Secret reads a secret input and remembers it for masking.
func (r *Reader) Secret(name string) string {
	v := r.raw(name)
	if v != "" {
		r.secrets = append(r.secrets, v)
	}
	return v
}

// Bool reads a boolean input (YAML forms: true/True/TRUE/false/False/FALSE).
func (r *Reader) Bool(name string) bool {
	v := r.raw(name)
	b, err := ghactions.ParseBool(name, v)
	if err != nil {
		r.Fail(&InputError{Input: name, Value: v, Problem: "is not a boolean", Accepted: "true, false"})
	}
	return b
}

// Enum reads an input that takes one of the values listed in the Inputs
// table; booleans-like values are matched case-insensitively.
func (r *Reader) Enum(name string) string {
	in, _ := Lookup(name)
	v := r.raw(name)
	for _, ok := range in.Values {
		if strings.EqualFold(v, ok) {
			return ok
		}
	}
	var accepted []string
	for _, ok := range in.Values {
		if ok != "" {
			accepted = append(accepted, ok)
		}
	}
	r.Fail(&InputError{Input: name, Value: v, Problem: "is not accepted", Accepted: strings.Join(accepted, ", ")})
	return in.Default
}

// URL reads an http(s) URL input (a private Sigstore's endpoints); empty
// stays empty.
func (r *Reader) URL(name string) string {
	v := r.raw(name)
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.Fail(&InputError{Input: name, Value: v, Problem: "is not a URL", Accepted: "an https:// URL (empty for the public Sigstore)"})
		return ""
	}
	return v
}

// List reads a list input: one item per line or comma-separated, with
// lines starting with # ignored.
func (r *Reader) List(name string) []string {
	return ghactions.ParseList(r.raw(name), true)
}

// Lines reads a list input with one item per line (items may hold commas);
// lines starting with # are comments.
func (r *Reader) Lines(name string) []string {
	return tags.SplitInput(r.raw(name))
}
