package testenv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Transport is an HTTP transport that trusts the test CA (and the system's
// roots), for AuthRegistry's TLS certificate.
func (e *Env) Transport() http.RoundTripper {
	pool, err := e.CertPool()
	if err != nil {
		return failingTransport{err}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t
}

type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// Authenticator is basic auth with AuthRegistry's credentials.
func (e *Env) Authenticator() authn.Authenticator {
	return &authn.Basic{Username: e.AuthUser, Password: e.AuthPassword}
}

// AuthKeychain gives AuthRegistry's credentials for AuthRegistry (also when
// named localhost:PORT) and anonymous access everywhere else.
func (e *Env) AuthKeychain() authn.Keychain { return keychain{e} }

type keychain struct{ e *Env }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	reg := r.RegistryStr()
	if reg == k.e.AuthRegistry || reg == localhostAlias(k.e.AuthRegistry) {
		return k.e.Authenticator(), nil
	}
	return authn.Anonymous, nil
}

func localhostAlias(hostport string) string {
	if port, ok := strings.CutPrefix(hostport, "127.0.0.1:"); ok {
		return "localhost:" + port
	}
	return ""
}

// RemoteOptions are the go-containerregistry options that reach both test
// registries: the CA-trusting transport and the keychain.
func (e *Env) RemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(e.Transport()),
		remote.WithAuthFromKeychain(e.AuthKeychain()),
	}
}

var notRepoChars = regexp.MustCompile(`[^a-z0-9]+`)

// UniqueRepo is a fresh repository in registry (host:port, e.g. e.Registry)
// for this test: registry/testenv/PREFIX-TESTNAME-RANDOM, without a tag.
func (e *Env) UniqueRepo(t testing.TB, registry, prefix string) string {
	t.Helper()
	name := notRepoChars.ReplaceAllString(strings.ToLower(t.Name()), "-")
	name = strings.Trim(name, "-")
	if len(name) > 48 {
		name = strings.Trim(name[:48], "-")
	}
	p := strings.Trim(notRepoChars.ReplaceAllString(strings.ToLower(prefix), "-"), "-")
	if p == "" {
		p = "test"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	repo := p + "-" + name + "-" + hex.EncodeToString(b[:])
	return registry + "/testenv/" + strings.ReplaceAll(repo, "--", "-")
}

// HeadDigest reads the digest ref points at straight from the test
// registry, "" when it does not exist.
func (e *Env) HeadDigest(t testing.TB, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, e.RemoteOptions(t.Context())...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("HEAD %s on the registry: %v", ref, err)
	}
	return desc.Digest.String()
}
