package registry

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/inputerr"
)

// Where a credential came from; error messages tell the user which input
// to check.
const (
	SourceRegistries   = "registries"
	SourceUserPassword = "registry-username/registry-password"
	SourceGitHubToken  = "github-token"
	SourceDockerConfig = "DOCKER_CONFIG"
)

// GHCR is GitHub's container registry, logged in to with github-token.
const GHCR = "ghcr.io"

// Credential is the login for one registry.
type Credential struct {
	// Registry is host[:port] as image references name it (docker.io is
	// index.docker.io).
	Registry string
	Username string
	Password string
	// Source is the input the credential came from (Source* constants).
	Source string
	// Line is the line of the registries input it came from (0 for other
	// sources), for messages.
	Line int

	// config is set for Docker config entries that carry tokens.
	config *authn.AuthConfig
}

func (c Credential) authenticator() authn.Authenticator {
	if c.config != nil {
		return authn.FromConfig(*c.config)
	}
	return &authn.Basic{Username: c.Username, Password: c.Password}
}

// hint is what the user should check when the registry refuses the
// credential.
func (c Credential) hint() string {
	switch c.Source {
	case SourceRegistries:
		return fmt.Sprintf("check the registries line for %s", c.Registry)
	case SourceGitHubToken:
		return "check github-token and that the job has `permissions: packages: write`"
	case SourceDockerConfig:
		return "check the login for it in the Docker config file (DOCKER_CONFIG)"
	default:
		return "check registry-username/registry-password"
	}
}

// registriesFormat is what the registries input accepts, for its messages.
const registriesFormat = "one registry per line, host=username:password (e.g. registry.example.com=me:${{ secrets.TOKEN }})"

// ParseRegistries reads the registries input: one registry per line,
//
//	host[:port]=username:password
//
// e.g. `docker.synapse.org=me:${{ secrets.SYNAPSE_TOKEN }}`. The host is
// split at the first "=", the username at the first ":" after it (user
// names cannot hold ":"), so passwords and tokens may contain both. Blank
// lines and lines starting with # are ignored. docker.io means Docker Hub.
// Errors name the line and the host, never the password. A line whose
// username or password is empty is kept: in a fork's run the secrets
// arrive empty, so whether that is a mistake is Options.Validate's call.
func ParseRegistries(s string) ([]Credential, error) {
	var creds []Credential
	var errs []error
	seen := map[string]int{}
	for i, line := range strings.Split(s, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		host, cred, ok := strings.Cut(line, "=")
		if !ok {
			errs = append(errs, inputerr.New("registries", "", fmt.Sprintf(`line %d has no "="`, n), registriesFormat))
			continue
		}
		host = normalizeHost(host)
		user, pass, ok := strings.Cut(cred, ":")
		user, pass = strings.TrimSpace(user), strings.TrimSpace(pass)
		switch {
		case host == "":
			errs = append(errs, inputerr.New("registries", "", fmt.Sprintf(`line %d has no registry host before "="`, n), registriesFormat))
			continue
		case !validHost(host):
			errs = append(errs, inputerr.New("registries", "", fmt.Sprintf("line %d: %q is not a registry host", n, host), registriesFormat))
			continue
		case !ok:
			user, pass = strings.TrimSpace(cred), ""
		}
		if prev, dup := seen[host]; dup {
			errs = append(errs, inputerr.New("registries", "", fmt.Sprintf("line %d repeats %s (first on line %d)", n, host, prev), "one line per registry"))
			continue
		}
		seen[host] = n
		creds = append(creds, Credential{Registry: host, Username: user, Password: pass, Source: SourceRegistries, Line: n})
	}
	return creds, errors.Join(errs...)
}

// RegistriesSecrets lists the password of every line of a registries
// input, commented-out lines included, for masking before anything is
// parsed or printed.
func RegistriesSecrets(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if _, cred, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			if _, pw, ok := strings.Cut(cred, ":"); ok && strings.TrimSpace(pw) != "" {
				out = append(out, strings.TrimSpace(pw))
			}
		}
	}
	return out
}

// normalizeHost turns what users write for a registry into the host that
// image references carry.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "docker.io" || h == "registry-1.docker.io" {
		return name.DefaultRegistry
	}
	return h
}

func validHost(h string) bool {
	r, err := name.NewRegistry(h, name.StrictValidation)
	return err == nil && r.RegistryStr() == h
}

// IsLoopback reports whether a registry host is on this machine
// (localhost, 127.0.0.0/8, ::1): such registries may be used without
// credentials.
func IsLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials resolves the login for each registry from the inputs, in
// this order: a registries line for the host; for ghcr.io, github-token;
// registry-username/registry-password; the Docker config file.
type credentials struct {
	lines        map[string]Credential
	username     string
	password     string
	githubToken  string
	actor        string
	dockerConfig string
	// userPasswordHosts, when not nil, are the only hosts that get
	// registry-username/registry-password (the keychain handed to the
	// build); nil for the push itself, whose hosts are its targets.
	userPasswordHosts map[string]bool

	configLoaded bool
	config       *configfile.ConfigFile
	configErr    error
}

func newCredentials(o Options) (*credentials, error) {
	lines := o.Registries
	c := &credentials{
		lines:        map[string]Credential{},
		username:     o.Username,
		password:     o.Password,
		githubToken:  o.GitHubToken,
		actor:        o.Actor,
		dockerConfig: o.DockerConfig,
	}
	for _, l := range lines {
		c.lines[l.Registry] = l
	}
	return c, nil
}

// lookup returns the credential for registry, and false when no input
// gives one.
func (c *credentials) lookup(registry string) (Credential, bool, error) {
	if l, ok := c.lines[registry]; ok {
		return l, true, nil
	}
	if registry == GHCR && c.githubToken != "" {
		user := c.actor
		if user == "" {
			// ghcr.io checks the token, not the name; any name will do.
			user = "github-actions"
		}
		return Credential{Registry: registry, Username: user, Password: c.githubToken, Source: SourceGitHubToken}, true, nil
	}
	if c.username != "" && c.password != "" && (c.userPasswordHosts == nil || c.userPasswordHosts[registry]) {
		return Credential{Registry: registry, Username: c.username, Password: c.password, Source: SourceUserPassword}, true, nil
	}
	return c.fromDockerConfig(registry)
}

func (c *credentials) fromDockerConfig(registry string) (Credential, bool, error) {
	if c.dockerConfig == "" {
		return Credential{}, false, nil
	}
	if !c.configLoaded {
		c.configLoaded = true
		if _, err := os.Stat(filepath.Join(c.dockerConfig, config.ConfigFileName)); errors.Is(err, os.ErrNotExist) {
			return Credential{}, false, nil
		}
		c.config, c.configErr = config.Load(c.dockerConfig)
		if c.configErr != nil {
			c.configErr = fmt.Errorf("read the Docker config file in %s (DOCKER_CONFIG): %w", c.dockerConfig, c.configErr)
		}
	}
	if c.configErr != nil {
		return Credential{}, false, c.configErr
	}
	if c.config == nil {
		return Credential{}, false, nil
	}
	key := registry
	if registry == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	ac, err := c.config.GetAuthConfig(key)
	if err != nil {
		return Credential{}, false, fmt.Errorf("read the login for %s from the Docker config file in %s (DOCKER_CONFIG): %w", registry, c.dockerConfig, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return Credential{}, false, nil
	}
	return Credential{
		Registry: registry,
		Username: ac.Username,
		Password: ac.Password,
		Source:   SourceDockerConfig,
		config: &authn.AuthConfig{
			Username:      ac.Username,
			Password:      ac.Password,
			Auth:          ac.Auth,
			IdentityToken: ac.IdentityToken,
			RegistryToken: ac.RegistryToken,
		},
	}, true, nil
}

// missingCredentials names the target registries that have no credential
// and are not on this machine.
func (c *credentials) missingCredentials(registries []string) ([]string, error) {
	var missing []string
	for _, r := range registries {
		if IsLoopback(r) {
			continue
		}
		_, ok, err := c.lookup(r)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// missingHint tells the user how to give credentials for registries.
func missingHint(registries []string) string {
	for _, r := range registries {
		if r == GHCR {
			return "set github-token (with `permissions: packages: write`), registry-username/registry-password, or a registries line"
		}
	}
	return "set registry-username/registry-password or a registries line (host=username:password)"
}
