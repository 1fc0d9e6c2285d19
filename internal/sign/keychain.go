package sign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/registry"
)

// inputKeychain resolves registry credentials from the push stage's inputs
// in the push stage's order, so that signatures go where the image went
// with the same login: a registries line for the host; for ghcr.io,
// github-token; registry-username/registry-password; the Docker config
// file (DOCKER_CONFIG); otherwise anonymous.
type inputKeychain struct {
	lines        map[string]registry.Credential
	o            registry.Options
	once         sync.Once
	dockerConfig *configfile.ConfigFile
	configErr    error
}

func newInputKeychain(o registry.Options) (*inputKeychain, error) {
	lines, err := registry.ParseRegistries(o.Registries)
	if err != nil {
		return nil, err
	}
	k := &inputKeychain{lines: map[string]registry.Credential{}, o: o}
	for _, l := range lines {
		k.lines[l.Registry] = l
	}
	return k, nil
}

// Resolve implements authn.Keychain.
func (k *inputKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	if l, ok := k.lines[host]; ok {
		return &authn.Basic{Username: l.Username, Password: l.Password}, nil
	}
	if host == registry.GHCR && k.o.GitHubToken != "" {
		user := k.o.Actor
		if user == "" {
			user = "github-actions"
		}
		return &authn.Basic{Username: user, Password: k.o.GitHubToken}, nil
	}
	if k.o.Username != "" && k.o.Password != "" {
		return &authn.Basic{Username: k.o.Username, Password: k.o.Password}, nil
	}
	return k.fromDockerConfig(host)
}

func (k *inputKeychain) fromDockerConfig(host string) (authn.Authenticator, error) {
	if k.o.DockerConfig == "" {
		return authn.Anonymous, nil
	}
	k.once.Do(func() {
		if _, err := os.Stat(filepath.Join(k.o.DockerConfig, config.ConfigFileName)); errors.Is(err, os.ErrNotExist) {
			return
		}
		k.dockerConfig, k.configErr = config.Load(k.o.DockerConfig)
	})
	if k.configErr != nil {
		return nil, fmt.Errorf("read the Docker config file in %s (DOCKER_CONFIG): %w", k.o.DockerConfig, k.configErr)
	}
	if k.dockerConfig == nil {
		return authn.Anonymous, nil
	}
	key := host
	if host == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	ac, err := k.dockerConfig.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("read the login for %s from the Docker config file in %s (DOCKER_CONFIG): %w", host, k.o.DockerConfig, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		Auth:          ac.Auth,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}), nil
}
