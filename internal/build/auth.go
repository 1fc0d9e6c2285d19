package build

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/session/auth"
	"google.golang.org/grpc"
)

// sessionAuth answers BuildKit's credential requests (base images, cache
// refs, registry cache export) from a keychain, through the build session.
//
// Only Credentials is implemented: the other methods answer Unimplemented,
// so BuildKit fetches registry tokens itself with these credentials, over
// its own TLS configuration (the daemon already trusts the registries it is
// configured for; this process may not reach them at all).
type sessionAuth struct {
	auth.UnimplementedAuthServer
	keychain authn.Keychain
}

func newSessionAuth(kc authn.Keychain) *sessionAuth {
	if kc == nil {
		kc = anonymousKeychain{}
	}
	return &sessionAuth{keychain: kc}
}

// Register implements session.Attachable.
func (a *sessionAuth) Register(server *grpc.Server) {
	auth.RegisterAuthServer(server, a)
}

// Credentials implements auth.AuthServer. Errors never contain a secret.
func (a *sessionAuth) Credentials(ctx context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	host := req.GetHost()
	// BuildKit asks for Docker Hub under the host it pulls from.
	if host == "registry-1.docker.io" {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host, name.WeakValidation)
	if err != nil {
		return &auth.CredentialsResponse{}, nil
	}
	authenticator, err := a.keychain.Resolve(reg)
	if err != nil {
		return nil, fmt.Errorf("look up the credentials for %s: %w", host, err)
	}
	cfg, err := authn.Authorization(ctx, authenticator)
	if err != nil {
		return nil, fmt.Errorf("read the credentials for %s: %w", host, err)
	}
	if cfg.IdentityToken != "" {
		return &auth.CredentialsResponse{Secret: cfg.IdentityToken}, nil
	}
	return &auth.CredentialsResponse{Username: cfg.Username, Secret: cfg.Password}, nil
}

type anonymousKeychain struct{}

func (anonymousKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.Anonymous, nil
}

// DockerConfigKeychain returns a keychain reading the config.json (and its
// credential helpers) in dir, the way `docker login` wrote it.
func DockerConfigKeychain(dir string) (authn.Keychain, error) {
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("read the Docker config in %s: %w", dir, err)
	}
	return configKeychain{cf}, nil
}

type configKeychain struct{ cf *configfile.ConfigFile }

func (k configKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	if key == name.DefaultRegistry {
		key = "https://index.docker.io/v1/"
	}
	ac, err := k.cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("read the credentials for %s from the Docker config: %w", r.RegistryStr(), err)
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}), nil
}
