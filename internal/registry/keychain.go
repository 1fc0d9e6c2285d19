package registry

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// Keychain returns the push stage's logins as an authn.Keychain, so that
// the build (base images, cache refs) and the sign stage authenticate
// exactly as the push does: a registries line for the host, github-token
// for ghcr.io, registry-username/registry-password, the Docker config
// file; anonymous otherwise.
func (o Options) Keychain() (authn.Keychain, error) {
	c, err := newCredentials(o)
	if err != nil {
		return nil, err
	}
	return keychain{c}, nil
}

type keychain struct{ c *credentials }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	cred, ok, err := k.c.lookup(normalizeHost(r.RegistryStr()))
	if err != nil {
		return nil, err
	}
	if !ok {
		return authn.Anonymous, nil
	}
	return cred.authenticator(), nil
}
