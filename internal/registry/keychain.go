package registry

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// Keychain returns the push stage's logins as an authn.Keychain for the
// build (base images, cache refs) and the sign stage. Each login goes
// only to its own host: a registries line to its host, github-token to
// ghcr.io, a Docker config entry to its host, and
// registry-username/registry-password only to TargetRegistries (the hosts
// of image and cache-image; the app always sets them). Every other host — a Dockerfile's
// `FROM evil.example/x` — is asked anonymously.
func (o Options) Keychain() (authn.Keychain, error) {
	c, err := newCredentials(o)
	if err != nil {
		return nil, err
	}
	// Without TargetRegistries (a library caller that pushes with this
	// keychain, as the signer's tests do) the login is not scoped.
	if len(o.TargetRegistries) > 0 {
		c.userPasswordHosts = map[string]bool{}
		for _, h := range o.TargetRegistries {
			c.userPasswordHosts[normalizeHost(h)] = true
		}
	}
	return keychain{c}, nil
}

// AnonymousKeychain answers every host anonymously: the build of a fork's
// pull request gets no login at all.
func AnonymousKeychain() authn.Keychain { return anonymous{} }

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

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
