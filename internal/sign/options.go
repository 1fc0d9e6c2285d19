// Package sign is the sign stage: it signs the pushed image digest once
// (not once per tag) with cosign — with a key, or keyless with the GitHub
// Actions OIDC token, Fulcio and Rekor — attests the scan stage's SBOM as an
// in-toto predicate on the same digest, verifies what it wrote with the
// cosign library, and tells consumers the exact command that verifies it.
package sign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
)

// Mode is the value of the sign input.
type Mode string

// Sign modes.
const (
	// SignAuto signs on release events (tag pushes, default-branch pushes)
	// when a key or an OIDC token is available; never for a fork's pull
	// request.
	SignAuto Mode = "auto"
	// SignTrue signs whenever something was pushed, and fails when there is
	// neither a key nor an OIDC token.
	SignTrue Mode = "true"
	// SignFalse never signs.
	SignFalse Mode = "false"
)

// Format is the value of the signature-format input: where signatures and
// attestations are stored.
type Format string

// Storage formats.
const (
	// FormatLegacy stores cosign's simple-signing signature under the tag
	// sha256-<hex>.sig and the attestations under sha256-<hex>.att, as every
	// cosign since 1.x (and Kyverno, policy-controller, Ratify) reads them.
	FormatLegacy Format = "legacy"
	// FormatBundle stores Sigstore bundles (v0.3) as OCI 1.1 referrers of
	// the digest (with the sha256-<hex> referrers tag where the registry has
	// no referrers API, as on ghcr.io).
	FormatBundle Format = "bundle"
)

// DefaultFormat is the storage format when the input is empty: see
// docs/sign.md for why.
const DefaultFormat = FormatLegacy

// Public Sigstore endpoints, used when the inputs are empty.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
	// GitHubIssuer is the issuer of GitHub Actions OIDC tokens.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	// Audience is the audience Fulcio expects in the token.
	Audience = "sigstore"
)

// Input names, as the messages name them.
const (
	InputSign          = "sign"
	InputKey           = "cosign-key"
	InputPassword      = "cosign-password"
	InputTlog          = "cosign-tlog"
	InputAttestSBOM    = "attest-sbom"
	InputFormat        = "signature-format"
	InputFulcioURL     = "fulcio-url"
	InputRekorURL      = "rekor-url"
	InputOIDCIssuer    = "oidc-issuer"
	InputTrustedRoot   = "sigstore-trusted-root"
	permissionsSnippet = "permissions:\n  id-token: write"
)

// Options is what the sign stage needs from the action's inputs and the
// event. The configuration parses the inputs; the app maps them onto it
// and calls Validate and Preflight once.
type Options struct {
	// Sign is the sign input: "auto" (default when empty), "true", "false";
	// any other value is treated as auto.
	Sign Mode
	// Key is the cosign-key input: the PEM of a cosign private key
	// (cosign generate-key-pair), a path to one, or env://VAR naming an
	// environment variable that holds it. Empty: keyless signing.
	Key string
	// Password is the cosign-password input, the key's password.
	Password string
	// NoTlog is the cosign-tlog input inverted (cosign-tlog: false): do not
	// upload to the Rekor transparency log. Only for key signing; the
	// signature is then verified with the key alone, fully offline.
	NoTlog bool
	// NoAttestSBOM is the attest-sbom input inverted (attest-sbom: false):
	// sign only, do not attest the scan stage's SBOM.
	NoAttestSBOM bool
	// Format is the signature-format input: "legacy" (default; also for
	// any value but "bundle") or "bundle".
	Format Format

	// FulcioURL, RekorURL and OIDCIssuer are the fulcio-url, rekor-url and
	// oidc-issuer inputs, for a private Sigstore; empty means the public
	// instance (and the GitHub Actions issuer).
	FulcioURL, RekorURL, OIDCIssuer string
	// TrustedRoot is the sigstore-trusted-root input: the path of a
	// Sigstore trusted_root.json with the Fulcio CA, Rekor key and CT log
	// key of a private Sigstore, used to verify after signing (and by
	// consumers: cosign verify --trusted-root). Empty: the public
	// instance's trusted root, from its TUF repository.
	TrustedRoot string

	// IDTokenRequestURL and IDTokenRequestToken are the runner's
	// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN,
	// present only with `permissions: id-token: write`.
	IDTokenRequestURL, IDTokenRequestToken string

	// Event facts. EventName is github.event_name; IsTag is true when the
	// ref is a tag (refs/tags/…); IsDefaultBranch when it is the default
	// branch; PullRequest for every pull_request* event; ForkPR for a pull
	// request from another repository.
	EventName                           string
	IsTag, IsDefaultBranch, PullRequest bool
	ForkPR                              bool

	// Commit (github.sha; the tag plan's revision wins when there is one),
	// Repository (owner/name), Ref (github.ref) and RunURL (the run's
	// attempt, RunURL) are the signature's default annotations.
	Commit, Repository, Ref, RunURL string
	// Annotations is the sign-annotations input, parsed: added to the
	// defaults, replacing one of the same key, or dropping it when empty.
	Annotations []Annotation

	// Registry holds the push stage's options: the signatures are written
	// with the same credentials (registries, github-token,
	// registry-username/registry-password, DOCKER_CONFIG, through
	// registry.Options.Keychain) and the same transport.
	Registry registry.Options
	// Keychain, when set, replaces Registry.Keychain() (the app may pass
	// the keychain it already made for the build stage).
	Keychain authn.Keychain

	// Getenv reads env://VAR keys; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient talks to the OIDC token endpoint, Fulcio and Rekor; nil
	// means a client with a 60 s timeout.
	HTTPClient *http.Client
	// Log, when set, gets progress lines for the job log. It never gets a
	// secret.
	Log pipeline.Logger
	// Mask, when set, hides a secret from the job log before it is used:
	// the OIDC token keyless signing gets from the runner.
	Mask func(secret string)
}

func (o Options) mode() Mode {
	switch o.Sign {
	case SignTrue, SignFalse:
		return o.Sign
	}
	return SignAuto
}

func (o Options) format() Format {
	if o.Format == FormatBundle {
		return FormatBundle
	}
	return DefaultFormat
}

func (o Options) fulcioURL() string {
	if o.FulcioURL == "" {
		return DefaultFulcioURL
	}
	return strings.TrimSuffix(o.FulcioURL, "/")
}

func (o Options) rekorURL() string {
	if o.RekorURL == "" {
		return DefaultRekorURL
	}
	return strings.TrimSuffix(o.RekorURL, "/")
}

func (o Options) oidcIssuer() string {
	if o.OIDCIssuer == "" {
		return GitHubIssuer
	}
	return o.OIDCIssuer
}

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// hasIDToken reports whether the runner can hand out an OIDC token.
func (o Options) hasIDToken() bool {
	return o.IDTokenRequestURL != "" && o.IDTokenRequestToken != ""
}

// mightSign reports whether this event can sign at all: not with sign
// false, never for a fork, and with sign auto only on release events.
func (o Options) mightSign() bool {
	switch {
	case o.mode() == SignFalse, o.ForkPR:
		return false
	case o.mode() == SignAuto:
		return o.releaseEvent()
	}
	return true
}

// keyless reports whether signing uses Fulcio instead of a key.
func (o Options) keyless() bool { return strings.TrimSpace(o.Key) == "" }

// publicSigstore reports whether the public Sigstore instance is used.
func (o Options) publicSigstore() bool {
	return o.fulcioURL() == DefaultFulcioURL && o.rekorURL() == DefaultRekorURL
}

// Validate checks what the configuration could not: the key file (the
// file system) and the inputs that only matter together, when this event
// signs (the event). The enums and URLs were parsed by the configuration.
// It joins one *inputerr.Error per problem; secrets never appear in them.
func (o Options) Validate() error {
	var errs []error
	if err := validateKeyRef(o.Key); err != nil {
		errs = append(errs, err)
	}
	// Forks (and Dependabot) get empty secrets, so a workflow that passes
	// a key from secrets arrives here without one: what is wrong with the
	// key and its companions only matters when this event would sign.
	mightSign := o.mightSign()
	if o.keyless() && o.Password != "" && mightSign {
		errs = append(errs, inputerr.New(InputPassword, "", fmt.Sprintf("is set but %q is empty", InputKey), "a password together with a cosign-key, or no password"))
	}
	if o.keyless() && o.NoTlog && mightSign {
		errs = append(errs, inputerr.New(InputTlog, "false", fmt.Sprintf("has no %q: keyless signing needs the transparency log (the certificate is valid for 10 minutes, Rekor proves the signature was made in them)", InputKey), "cosign-tlog true, or a cosign-key"))
	}
	if o.TrustedRoot != "" {
		if _, err := os.Stat(o.TrustedRoot); err != nil {
			errs = append(errs, inputerr.New(InputTrustedRoot, o.TrustedRoot, "cannot be read", "the path of a Sigstore trusted_root.json (empty for the public Sigstore)"))
		}
	} else if !o.publicSigstore() && o.keyless() && mightSign {
		errs = append(errs, inputerr.New(InputTrustedRoot, "", fmt.Sprintf("is empty, but %q/%q name a private Sigstore: the signature cannot be verified without its Fulcio CA and Rekor key", InputFulcioURL, InputRekorURL), "the path of the instance's trusted_root.json"))
	}
	return errors.Join(errs...)
}

// Preflight checks, before anything is built, what signing will need and
// what only shows when reading files or secrets: the key decrypts with the
// password, the trusted root parses, and keyless signing with sign: true
// has an OIDC token to ask for. Otherwise the image would be pushed and
// the release left unsigned. Nothing is checked when this event does not
// sign (a fork, sign: false, sign: auto off a release). Call it after
// Validate passed.
//
// Everything but the key's decryption is checked before it returns. The
// decryption (cosign's scrypt key derivation, 0.1–0.2 s) starts in the
// background, so that it overlaps the build: the returned key's Wait says
// whether the password was right, and the caller waits for it before
// anything is pushed (and stops the run when it fails). The key is then
// the one the stage signs with (WithLoadedKey): the derivation runs once
// per run.
func (o Options) Preflight() (*LoadedKey, error) {
	if !o.mightSign() {
		return nil, nil
	}
	var errs []error
	var key *LoadedKey
	if !o.keyless() {
		k, err := readKey(o)
		if err != nil {
			errs = append(errs, keyInputError(err))
		} else {
			key = decryptInBackground(k, o.Password)
		}
	} else if o.mode() == SignTrue && !o.hasIDToken() {
		errs = append(errs, inputerr.New(InputSign, "true", fmt.Sprintf("with no %q needs an OIDC token, and the job has none (no ACTIONS_ID_TOKEN_REQUEST_URL)", InputKey), "`permissions: id-token: write` on the job for keyless signing, or a cosign-key"))
	}
	if o.TrustedRoot != "" {
		if _, err := root.NewTrustedRootFromPath(o.TrustedRoot); err != nil {
			errs = append(errs, inputerr.New(InputTrustedRoot, o.TrustedRoot, fmt.Sprintf("is not a Sigstore trusted_root.json (%v)", err), "the path of the instance's trusted_root.json"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return key, nil
}

func keyInputError(err error) error {
	return inputerr.New(InputKey, "", err.Error(), "a cosign key and its cosign-password (checked before anything is pushed, so that no release is pushed unsigned)")
}

// LoadedKey is cosign-key as Preflight decrypts it, in the background.
type LoadedKey struct {
	done chan struct{}
	sv   signature.SignerVerifier
	err  error // an input error naming cosign-key
}

func decryptInBackground(k encryptedKey, password string) *LoadedKey {
	l := &LoadedKey{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if l.sv, l.err = k.decrypt(password); l.err != nil {
			l.err = keyInputError(l.err)
		}
	}()
	return l
}

// Wait blocks until the key is decrypted and returns why it could not be
// (an input error naming cosign-key and cosign-password), or ctx's error
// if ctx ends first. A nil key has nothing to wait for.
func (k *LoadedKey) Wait(ctx context.Context) error {
	if k == nil {
		return nil
	}
	select {
	case <-k.done:
		return k.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// validateKeyRef checks the form of cosign-key without reading a secret
// into a message.
func validateKeyRef(key string) error {
	key = strings.TrimSpace(key)
	const accepted = "the PEM of a cosign private key (cosign generate-key-pair), the path of one, env://VARIABLE, or empty for keyless signing"
	switch {
	case key == "", strings.Contains(key, "-----BEGIN"):
		return nil
	case strings.HasPrefix(key, "env://"):
		if strings.TrimPrefix(key, "env://") == "" {
			return inputerr.New(InputKey, "env://", "names no variable", accepted)
		}
		return nil
	case strings.Contains(key, "://"):
		scheme, _, _ := strings.Cut(key, "://")
		return inputerr.New(InputKey, "", fmt.Sprintf("is a key reference of the form %s://, which is not supported", scheme), accepted)
	}
	if !looksLikePath(key) {
		// Never echo it: it may be a key pasted without its PEM armour.
		return inputerr.New(InputKey, "", "is neither a PEM key nor a file path", accepted)
	}
	if _, err := os.Stat(key); err != nil {
		return inputerr.New(InputKey, "", fmt.Sprintf("names the key file %s, which cannot be read (%v)", key, errors.Unwrap(err)), accepted)
	}
	return nil
}

// looksLikePath tells a file path from pasted key material.
func looksLikePath(s string) bool {
	return len(s) < 256 && !strings.ContainsAny(s, "\n\r")
}

// Secrets returns every secret value the options hold (the key's PEM, its
// password, the token that requests OIDC tokens), so the runner can mask
// each one. Registry credentials are masked through registry.Options.
func (o Options) Secrets() []string {
	var s []string
	add := func(v string) {
		if strings.TrimSpace(v) != "" {
			s = append(s, v)
		}
	}
	key := strings.TrimSpace(o.Key)
	switch {
	case strings.Contains(key, "-----BEGIN"):
		add(key)
	case strings.HasPrefix(key, "env://"):
		add(o.getenv(strings.TrimPrefix(key, "env://")))
	}
	add(o.Password)
	add(o.IDTokenRequestToken)
	return s
}
