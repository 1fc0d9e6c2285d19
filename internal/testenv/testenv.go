// Package testenv locates the real services that tests use — a Docker Engine,
// a plain registry, a registry with TLS and basic auth, a standalone buildkitd
// and a busybox base image in both registries — as started by
// `scripts/testenv up` (make testenv-up), which writes an env file that this
// package reads.
//
// Tests call Require (or a finer Require* helper). When a service is missing
// the test is skipped with the command that starts it, unless
// IMAGE_PIPELINE_REQUIRE_SERVICES=1, as in CI, where it fails instead.
package testenv

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const (
	// FileVar names the env file to read instead of the default location.
	FileVar = "IMAGE_PIPELINE_TESTENV"
	// StateDirVar is the state directory scripts/testenv uses; the env file is in it.
	StateDirVar = "IMAGE_PIPELINE_STATE_DIR"
	// RequireServicesVar set to 1 turns a skip for a missing service into a failure.
	RequireServicesVar = "IMAGE_PIPELINE_REQUIRE_SERVICES"
	// StartCommand starts the services.
	StartCommand = "make testenv-up"
)

// Env is the test environment written by scripts/testenv up.
type Env struct {
	// File is the env file this was read from.
	File string
	// StateDir holds the services' pids, logs, configs, certificates and storage.
	StateDir string
	// DockerHost is the Docker Engine address (DOCKER_HOST); a DOCKER_HOST
	// in the process environment takes precedence over the env file.
	DockerHost string
	// BuildkitHost is the standalone buildkitd address, e.g. unix:///…/buildkitd.sock.
	BuildkitHost string
	// Registry is the plain HTTP registry, host:port.
	Registry string
	// AuthRegistry is the registry with TLS and basic auth, host:port.
	AuthRegistry string
	// AuthUser and AuthPassword are AuthRegistry's credentials.
	AuthUser     string
	AuthPassword string
	// CAFile is the PEM certificate of the CA that signed AuthRegistry's certificate.
	CAFile string
	// BaseImage and AuthBaseImage are a busybox image in Registry and in
	// AuthRegistry; test Dockerfiles take it as ARG BASE.
	BaseImage     string
	AuthBaseImage string
	// DockerConfig is a DOCKER_CONFIG directory logged in to AuthRegistry.
	DockerConfig string
	// BinDir holds the buildkitd and buildctl binaries built by scripts/testenv.
	BinDir string
	// Docker29Host and Docker29ClassicHost are the Docker 29 engines
	// scripts/testenv runs beside DockerHost: with the containerd image
	// store, and with the classic store.
	Docker29Host, Docker29ClassicHost string
	// Sigstore is the local Sigstore instance scripts/testenv-sigstore
	// runs (issue #17): Fulcio, Rekor over Trillian, an OIDC issuer.
	Sigstore Sigstore

	poolOnce sync.Once
	pool     *x509.CertPool
	poolErr  error
}

// The env file's keys, as scripts/testenv writes them.
var fileKeys = map[string]func(*Env) *string{
	"IMAGE_PIPELINE_STATE_DIR":      func(e *Env) *string { return &e.StateDir },
	"DOCKER_HOST":                   func(e *Env) *string { return &e.DockerHost },
	"BUILDKIT_HOST":                 func(e *Env) *string { return &e.BuildkitHost },
	"TESTENV_REGISTRY":              func(e *Env) *string { return &e.Registry },
	"TESTENV_AUTH_REGISTRY":         func(e *Env) *string { return &e.AuthRegistry },
	"TESTENV_AUTH_USER":             func(e *Env) *string { return &e.AuthUser },
	"TESTENV_AUTH_PASSWORD":         func(e *Env) *string { return &e.AuthPassword },
	"TESTENV_CA_FILE":               func(e *Env) *string { return &e.CAFile },
	"TESTENV_BASE_IMAGE":            func(e *Env) *string { return &e.BaseImage },
	"TESTENV_AUTH_BASE_IMAGE":       func(e *Env) *string { return &e.AuthBaseImage },
	"TESTENV_DOCKER_CONFIG":         func(e *Env) *string { return &e.DockerConfig },
	"TESTENV_BIN_DIR":               func(e *Env) *string { return &e.BinDir },
	"TESTENV_DOCKER29_HOST":         func(e *Env) *string { return &e.Docker29Host },
	"TESTENV_DOCKER29_CLASSIC_HOST": func(e *Env) *string { return &e.Docker29ClassicHost },

	"IMAGE_PIPELINE_TEST_REKOR_URL":                   func(e *Env) *string { return &e.Sigstore.RekorURL },
	"IMAGE_PIPELINE_TEST_REKOR_PUBLIC_KEY":            func(e *Env) *string { return &e.Sigstore.RekorPublicKey },
	"IMAGE_PIPELINE_TEST_FULCIO_URL":                  func(e *Env) *string { return &e.Sigstore.FulcioURL },
	"IMAGE_PIPELINE_TEST_FULCIO_CA":                   func(e *Env) *string { return &e.Sigstore.FulcioCA },
	"IMAGE_PIPELINE_TEST_OIDC_ISSUER":                 func(e *Env) *string { return &e.Sigstore.OIDCIssuer },
	"IMAGE_PIPELINE_TEST_CT_LOG_URL":                  func(e *Env) *string { return &e.Sigstore.CTLogURL },
	"IMAGE_PIPELINE_TEST_CT_LOG_PUBLIC_KEY":           func(e *Env) *string { return &e.Sigstore.CTLogPublicKey },
	"IMAGE_PIPELINE_TEST_TRUSTED_ROOT":                func(e *Env) *string { return &e.Sigstore.TrustedRoot },
	"IMAGE_PIPELINE_TEST_ID_TOKEN_REQUEST_URL":        func(e *Env) *string { return &e.Sigstore.IDTokenRequestURL },
	"IMAGE_PIPELINE_TEST_ID_TOKEN_REQUEST_TOKEN_FILE": func(e *Env) *string { return &e.Sigstore.IDTokenRequestTokenFile },
}

// Sigstore is the test environment's own Sigstore: URLs and the files a
// verifier needs.
type Sigstore struct {
	RekorURL, RekorPublicKey string // Rekor, and its key (PEM)
	FulcioURL, FulcioCA      string // Fulcio, and its CA certificate (PEM)
	CTLogURL, CTLogPublicKey string // the CT log Fulcio writes to, and its key (PEM)
	// OIDCIssuer is the issuer Fulcio trusts as a github-workflow issuer.
	OIDCIssuer string
	// TrustedRoot is the instance's trusted_root.json.
	TrustedRoot string
	// IDTokenRequestURL is the issuer's token endpoint, shaped like the
	// runner's ACTIONS_ID_TOKEN_REQUEST_URL (claims go in its query);
	// IDTokenRequestTokenFile holds the bearer token it wants.
	IDTokenRequestURL, IDTokenRequestTokenFile string
}

// requiredKeys must be present and non-empty for the env file to be usable.
var requiredKeys = []string{
	"DOCKER_HOST", "BUILDKIT_HOST", "TESTENV_REGISTRY", "TESTENV_AUTH_REGISTRY",
	"TESTENV_AUTH_USER", "TESTENV_AUTH_PASSWORD", "TESTENV_CA_FILE",
	"TESTENV_BASE_IMAGE", "TESTENV_AUTH_BASE_IMAGE",
}

// DefaultFile is where scripts/testenv writes the env file: $IMAGE_PIPELINE_TESTENV,
// else $IMAGE_PIPELINE_STATE_DIR/testenv.env, else
// ~/.local/state/image-pipeline/testenv.env.
func DefaultFile() (string, error) {
	if f := os.Getenv(FileVar); f != "" {
		return f, nil
	}
	if dir := os.Getenv(StateDirVar); dir != "" {
		return filepath.Join(dir, "testenv.env"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the test environment's env file: no home directory (set %s): %w", FileVar, err)
	}
	return filepath.Join(home, ".local", "state", "image-pipeline", "testenv.env"), nil
}

// Load reads the env file at DefaultFile.
func Load() (*Env, error) {
	path, err := DefaultFile()
	if err != nil {
		return nil, err
	}
	return LoadFile(path)
}

// LoadFile reads an env file of KEY=VALUE lines (blank lines and # comments
// ignored, values optionally quoted) as written by scripts/testenv up.
func LoadFile(path string) (*Env, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the test environment: %s does not exist; start the services with %s: %w", path, StartCommand, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read the test environment: %w", err)
	}
	defer f.Close()

	e := &Env{File: path}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("read the test environment: %s:%d is not KEY=VALUE; re-create it with %s", path, n, StartCommand)
		}
		key = strings.TrimSpace(strings.TrimPrefix(key, "export "))
		value = unquote(strings.TrimSpace(value))
		if field, known := fileKeys[key]; known {
			*field(e) = value
			seen[key] = value != ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the test environment from %s: %w", path, err)
	}
	var missing []string
	for _, k := range requiredKeys {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("read the test environment: %s lacks %s; re-create it with %s", path, strings.Join(missing, ", "), StartCommand)
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		e.DockerHost = h
	}
	return e, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// CertPool is the system's roots plus the test CA.
func (e *Env) CertPool() (*x509.CertPool, error) {
	e.poolOnce.Do(func() {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			e.poolErr = fmt.Errorf("read the test CA certificate (re-create it with %s): %w", StartCommand, err)
			return
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			e.poolErr = fmt.Errorf("read the test CA certificate: %s holds no PEM certificate; re-create it with %s", e.CAFile, StartCommand)
			return
		}
		e.pool = pool
	})
	return e.pool, e.poolErr
}
