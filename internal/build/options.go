// Package build is the build stage: it runs a Dockerfile build on BuildKit,
// either the Docker Engine's embedded BuildKit (driver "docker") or a
// standalone buildkitd (driver "remote"), reads and writes the branch cache
// ladder (builder-<branch>, <branch>, buildcache-<branch>) and hands the
// built images to the push stage through pipeline.State.
package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/wsfile"
)

// Cache modes: the values of the cache input.
const (
	// CacheBranch is the default: the branch ladder, stored as registry
	// cache (mode=max, buildcache-<branch>) when the builder can export it,
	// else as inline cache on the builder-<branch> and <branch> images.
	CacheBranch = "branch"
	// CacheRegistry always stores the ladder as registry cache (mode=max);
	// a builder that cannot export it is an error.
	CacheRegistry = "registry"
	// CacheInline always stores the ladder as inline cache on the images
	// tagged builder-<branch> and <branch> (the seed workflow's scheme).
	CacheInline = "inline"
	// CacheNone reads and writes no cache refs.
	CacheNone = "none"
)

// CacheModes lists the accepted values of the cache input.
var CacheModes = []string{CacheBranch, CacheRegistry, CacheInline, CacheNone}

// BuilderTargetNone disables the builder image.
const BuilderTargetNone = "none"

// DefaultBuilderStage is the stage used as builder target when the
// builder-target input is empty and the Dockerfile has a stage of this name.
const DefaultBuilderStage = "builder"

// Options is what the build stage takes from the action's inputs. The app
// maps inputs onto it; Validate reports every bad value at once.
type Options struct {
	// Workspace is the directory Context and File are relative to
	// (GITHUB_WORKSPACE or the current directory). Empty: the current
	// directory.
	Workspace string
	// Context is the context input: the build context directory. Empty: ".".
	Context string
	// File is the file input: the Dockerfile. Empty: <Context>/Dockerfile.
	File string
	// Target is the target input: the stage to build as the final image.
	// Empty: the last stage.
	Target string
	// BuilderTarget is the builder-target input: the stage pushed as
	// builder-<branch> for the inline cache ladder. Empty: the stage named
	// "builder" when there is one; "none": no builder image.
	BuilderTarget string
	// AnnotationsRequested is set when the workflow asked for annotations
	// (the annotations input, or DOCKER_METADATA_ANNOTATIONS_LEVELS): then
	// the summary says which could not be written.
	AnnotationsRequested bool
	// BuildArgs are the build-args input, parsed (ParseBuildArgs).
	BuildArgs []BuildArg
	// Secrets are the secrets and secret-envs inputs, parsed
	// (ParseSecrets). Values go to BuildKit through the session's secret
	// provider, never as build args.
	Secrets []Secret
	// BuildContexts (build-contexts) are extra named contexts; SSH (ssh)
	// the agents forwarded to RUN --mount=type=ssh; AddHosts (add-hosts)
	// host=ip entries for /etc/hosts; Network (network) the RUN steps'
	// network mode ("", none, host); ShmSize (shm-size) /dev/shm's size in
	// bytes (0: BuildKit's default). The secret-files input is in Secrets
	// (Secret.File).
	BuildContexts []BuildContext
	SSH           []SSHAgent
	AddHosts      []string
	Network       string
	ShmSize       int64
	// SecretsWithheld, when set, says why the build gets no secrets (a
	// fork's pull request); a step that fails for want of one says it.
	SecretsWithheld string
	// Provenance is the provenance input: BuildKit's SLSA provenance
	// attestation attached to the final image, with what it names.
	Provenance Provenance
	// Platforms is the platforms input, parsed (ParsePlatforms), e.g.
	// linux/amd64, linux/arm64. Empty: the builder's own platform.
	Platforms []string
	// NoCache is the no-cache input: run every step, ignoring caches.
	NoCache bool
	// Pull is the pull input: always look up a newer base image.
	Pull bool
	// Cache is the cache input (CacheModes). Empty: CacheBranch.
	Cache string
	// WriteCache allows writing cache refs (set by the app when pushing is
	// allowed for this event). When false the cache is only read.
	WriteCache bool

	// BuildkitAddress is the buildkit-address input: empty for the Docker
	// Engine's BuildKit (driver "docker", DOCKER_HOST honoured), else a
	// buildkitd address unix:///path or tcp://host:port (driver "remote").
	BuildkitAddress string
	// BuildkitTLSCA, BuildkitTLSCert and BuildkitTLSKey are the
	// buildkit-tls-ca, buildkit-tls-cert and buildkit-tls-key inputs: PEM
	// file paths for a tcp:// buildkitd with TLS.
	BuildkitTLSCA, BuildkitTLSCert, BuildkitTLSKey string

	// Keychain gives registry credentials to BuildKit (base images, cache
	// refs, registry cache export) through the session's auth provider.
	// Nil: DockerConfig's credentials, else anonymous.
	Keychain authn.Keychain
	// DockerConfig is a directory holding a Docker config.json, read when
	// Keychain is nil. Empty: no config file is read.
	DockerConfig string
	// OutputDir is where the remote driver writes OCI image layouts for the
	// push stage. Empty: a new directory under the system's temp dir.
	OutputDir string
	// Exclude are patterns (relative to the context, .dockerignore syntax)
	// never sent to BuildKit, on top of the .dockerignore the frontend
	// applies: the app leaves its own reports directory out, so writing a
	// report never changes the context and never busts a COPY . cache.
	Exclude []string
	// Getenv reads secret-envs variables. Nil: os.Getenv.
	Getenv func(string) string
}

// Driver returns "remote" when a buildkit address is set, else "docker".
func (o Options) Driver() string {
	if strings.TrimSpace(o.BuildkitAddress) != "" {
		return DriverRemote
	}
	return DriverDocker
}

// Driver names.
const (
	DriverDocker = "docker"
	DriverRemote = "remote"
)

func (o Options) cacheMode() string {
	if o.Cache == "" {
		return CacheBranch
	}
	return o.Cache
}

// contextDir is the build context directory, resolved against Workspace.
func (o Options) contextDir() string {
	c := o.Context
	if c == "" {
		c = "."
	}
	return o.resolve(c)
}

// inWorkspace reports whether path, with every symlink resolved, is inside
// the workspace. Without a workspace (library use) there is nothing to
// leave.
func (o Options) inWorkspace(path string) bool {
	return o.Workspace == "" || wsfile.Inside(o.Workspace, path)
}

// dockerfilePath is the Dockerfile, resolved against Workspace.
func (o Options) dockerfilePath() string {
	if o.File == "" {
		return filepath.Join(o.contextDir(), "Dockerfile")
	}
	return o.resolve(o.File)
}

// dockerfileDisplay is the Dockerfile path as the user wrote it (relative
// to the workspace), for messages and annotations.
func (o Options) dockerfileDisplay() string {
	if o.File != "" {
		return filepath.ToSlash(filepath.Clean(o.File))
	}
	c := o.Context
	if c == "" {
		c = "."
	}
	return filepath.ToSlash(filepath.Join(c, "Dockerfile"))
}

func (o Options) resolve(p string) string {
	if filepath.IsAbs(p) || o.Workspace == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(o.Workspace, p)
}

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// Validate checks every input without touching a daemon and returns one
// error per problem, joined; each names its input and the accepted values.
func (o Options) Validate() error {
	var errs []error
	bad := func(input, value, problem, accepted string) {
		errs = append(errs, inputerr.New(input, value, problem, accepted))
	}
	if fi, err := os.Stat(o.contextDir()); err != nil || !fi.IsDir() {
		bad("context", o.Context, "is not a directory in the workspace", "a directory relative to the workspace (default .)")
	} else if !o.inWorkspace(o.contextDir()) {
		bad("context", o.Context, "leaves the workspace (through .., an absolute path or a symlink): the build would send files from outside the checkout", "a directory inside the workspace (default .)")
	}
	if fi, err := os.Stat(o.dockerfilePath()); err != nil || fi.IsDir() {
		bad("file", o.dockerfileDisplay(), "is not a file in the workspace", "a Dockerfile path relative to the workspace (default <context>/Dockerfile)")
	} else if !o.inWorkspace(o.dockerfilePath()) {
		bad("file", o.dockerfileDisplay(), "leaves the workspace (through .., an absolute path or a symlink)", "a Dockerfile inside the workspace (default <context>/Dockerfile)")
	}
	if _, err := o.secretValues(); err != nil {
		errs = append(errs, err)
	}
	for _, c := range o.BuildContexts {
		if !c.local() {
			continue
		}
		dir := o.resolve(c.Source)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			bad("build-contexts", c.Name+"="+c.Source, "names no directory of the workspace", "name=docker-image://image:tag, name=https://…, or name=path of a directory in the workspace")
		} else if !o.inWorkspace(dir) {
			bad("build-contexts", c.Name+"="+c.Source, "leaves the workspace (through .., an absolute path or a symlink)", "a directory inside the workspace")
		}
	}
	for _, a := range o.SSH {
		if _, err := o.sshPaths(a); err != nil {
			errs = append(errs, err)
		}
	}
	if o.BuilderTarget != "" && o.BuilderTarget != BuilderTargetNone && !validStageName(o.BuilderTarget) {
		bad("builder-target", o.BuilderTarget, "is not a stage name", "a stage name of the Dockerfile, or none (default: the stage named builder)")
	}
	if o.Target != "" && !validStageName(o.Target) {
		bad("target", o.Target, "is not a stage name", "a stage name of the Dockerfile (default: the last stage)")
	}
	if addr := strings.TrimSpace(o.BuildkitAddress); addr != "" {
		scheme, rest, ok := strings.Cut(addr, "://")
		switch {
		case !ok || rest == "":
			bad("buildkit-address", addr, "is not an address", "unix:///path/to/buildkitd.sock or tcp://host:port (empty: the Docker Engine's BuildKit)")
		case scheme != "unix" && scheme != "tcp":
			bad("buildkit-address", addr, "uses a scheme this action does not support", "unix:///path/to/buildkitd.sock or tcp://host:port (empty: the Docker Engine's BuildKit)")
		}
	}
	tls := map[string]string{"buildkit-tls-ca": o.BuildkitTLSCA, "buildkit-tls-cert": o.BuildkitTLSCert, "buildkit-tls-key": o.BuildkitTLSKey}
	for _, input := range []string{"buildkit-tls-ca", "buildkit-tls-cert", "buildkit-tls-key"} {
		p := tls[input]
		if p == "" {
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(o.BuildkitAddress), "tcp://") {
			bad(input, p, "is set but buildkit-address is not a tcp:// address", "a PEM file path, only with buildkit-address tcp://host:port")
			continue
		}
		if fi, err := os.Stat(o.resolve(p)); err != nil || fi.IsDir() {
			bad(input, p, "is not a readable file", "a PEM file path")
		}
	}
	if (o.BuildkitTLSCert == "") != (o.BuildkitTLSKey == "") {
		bad("buildkit-tls-cert", "", "and buildkit-tls-key must be set together", "both PEM file paths, or both empty")
	}
	return errors.Join(errs...)
}

// validStageName accepts the names the Dockerfile frontend accepts after
// FROM … AS.
func validStageName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || (i > 0 && (c == '-' || c == '.'))
		if !ok {
			return false
		}
	}
	return true
}

// BuildArg is one build-args line: NAME=value.
type BuildArg struct{ Name, Value string }

// ParseBuildArgs reads the build-args input: NAME=value lines, blank lines
// ignored. Errors name the line, never its value.
func ParseBuildArgs(lines []string) ([]BuildArg, error) {
	var out []BuildArg
	var errs []error
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			errs = append(errs, inputerr.New("build-args", "", fmt.Sprintf("line %d has no NAME= before its value", i+1), "NAME=value, one per line"))
			continue
		}
		out = append(out, BuildArg{Name: k, Value: v})
	}
	return out, errors.Join(errs...)
}

// Secret is one build secret: from the secrets input (Value) or the
// secret-envs input (Env, the variable holding the value, read when the
// build starts).
type Secret struct {
	ID, Value, Env string
	// File is a secret-files path, read when the build starts.
	File string
}

// ParseSecrets reads the secrets (id=value) and secret-envs (id=ENVVAR)
// inputs; each id once across both. Errors never contain a value.
func ParseSecrets(secrets, secretEnvs []string) ([]Secret, error) {
	var out []Secret
	var errs []error
	seen := map[string]bool{}
	for i, line := range secrets {
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, v, ok := strings.Cut(line, "=")
		id = strings.TrimSpace(id)
		switch {
		case !ok || id == "":
			errs = append(errs, inputerr.New("secrets", "", fmt.Sprintf("line %d has no id= before its value", i+1), "id=value, one per line"))
		case seen[id]:
			errs = append(errs, inputerr.New("secrets", "", fmt.Sprintf("secret id %q is given twice", id), "each id once across secrets and secret-envs"))
		default:
			seen[id] = true
			out = append(out, Secret{ID: id, Value: v})
		}
	}
	for i, line := range secretEnvs {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, env, ok := strings.Cut(line, "=")
		id, env = strings.TrimSpace(id), strings.TrimSpace(env)
		switch {
		case !ok || id == "" || env == "":
			errs = append(errs, inputerr.New("secret-envs", "", fmt.Sprintf("line %d (%q) is not id=ENVVAR", i+1, line), "id=ENVVAR, one per line"))
		case seen[id]:
			errs = append(errs, inputerr.New("secret-envs", "", fmt.Sprintf("secret id %q is given twice", id), "each id once across secrets and secret-envs"))
		default:
			seen[id] = true
			out = append(out, Secret{ID: id, Env: env})
		}
	}
	return out, errors.Join(errs...)
}

// ParsePlatforms reads the platforms input: os/arch[/variant] each,
// returned trimmed.
func ParsePlatforms(list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, p := range list {
		p = strings.TrimSpace(p)
		if _, err := platforms.Parse(p); err != nil || p == "" {
			errs = append(errs, inputerr.New("platforms", p, "is not a platform", "os/arch[/variant] such as linux/amd64 or linux/arm64, comma-separated"))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Provenance modes: the values ParseProvenance gives.
const (
	ProvenanceOff = ""    // no attestation (the default)
	ProvenanceMin = "min" // BuildKit's mode=min: no build args, no secrets' ids
	ProvenanceMax = "max" // mode=max: build args and the build's steps too
)

// Provenance is what the build asks BuildKit's provenance attestation for.
type Provenance struct {
	// Mode is ProvenanceOff, ProvenanceMin or ProvenanceMax.
	Mode string
	// BuilderID names the run that built the image (its URL); Source and
	// Revision the repository and commit built (the vcs: attributes).
	BuilderID, Source, Revision string
}

// ParseProvenance reads the provenance input as build-push-action takes
// it: false (or empty), true (= mode=min), mode=min or mode=max.
func ParseProvenance(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false":
		return ProvenanceOff, nil
	case "true", "mode=min", "min":
		return ProvenanceMin, nil
	case "mode=max", "max":
		return ProvenanceMax, nil
	}
	return "", inputerr.New("provenance", v, "is not a provenance setting", "false, true (mode=min), mode=min or mode=max")
}

// attestAttrs are the frontend attributes that ask for the provenance
// attestation: none when it is off.
func (p Provenance) attestAttrs() map[string]string {
	if p.Mode == ProvenanceOff {
		return nil
	}
	v := "mode=" + p.Mode
	if p.BuilderID != "" && !strings.ContainsAny(p.BuilderID, ",\"") {
		v += ",builder-id=" + p.BuilderID
	}
	attrs := map[string]string{"attest:provenance": v}
	if p.Source != "" {
		attrs["vcs:source"] = p.Source
	}
	if p.Revision != "" {
		attrs["vcs:revision"] = p.Revision
	}
	return attrs
}

// secretValues resolves the secrets into id → value, reading secret-envs'
// variables. Errors never contain a value.
func (o Options) secretValues() (map[string][]byte, error) {
	var errs []error
	m := map[string][]byte{}
	for _, s := range o.Secrets {
		if s.File != "" {
			b, err := o.secretFileValue(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			m[s.ID] = b
			continue
		}
		if s.Env == "" {
			m[s.ID] = []byte(s.Value)
			continue
		}
		v := o.getenv(s.Env)
		if v == "" {
			errs = append(errs, inputerr.New("secret-envs", "", fmt.Sprintf("the environment variable %s (for secret %q) is empty or unset", s.Env, s.ID), "id=ENVVAR naming a set variable"))
			continue
		}
		m[s.ID] = []byte(v)
	}
	return m, errors.Join(errs...)
}

// SecretValues returns every secret value the options hold, so the runner
// can mask each one before anything is logged.
func (o Options) SecretValues() []string {
	m, _ := o.secretValues()
	out := make([]string, 0, len(m))
	for _, v := range m {
		if len(v) > 0 {
			out = append(out, string(v))
		}
	}
	slices.Sort(out)
	return out
}
