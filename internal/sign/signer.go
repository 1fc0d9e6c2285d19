package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	cremote "github.com/sigstore/cosign/v3/pkg/cosign/remote"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	rekorgen "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Predicate types of the SBOM attestation, as cosign verify-attestation
// --type cyclonedx / spdxjson expects them.
const (
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	PredicateSPDX      = "https://spdx.dev/Document"
	// statementType is the in-toto Statement v1 type.
	statementType = "https://in-toto.io/Statement/v1"
)

// Signer signs and attests one pushed digest, writes the signatures next
// to it in every repository that holds it, and verifies what it wrote.
type Signer interface {
	Sign(ctx context.Context, req Request) (*Result, error)
}

// Request is what to sign.
type Request struct {
	// Digest is the pushed manifest (or index) digest, sha256:….
	Digest string
	// Repositories are the repositories (registry/name, no tag) the digest
	// was pushed to; each gets its own signature.
	Repositories []string
	// SBOMPath and SBOMFormat ("cyclonedx" or "spdx-json") are the SBOM to
	// attest; an empty path means no attestation.
	SBOMPath, SBOMFormat string
	// Annotations go into the signature's payload (cosign sign -a): the
	// simple-signing payload's "optional" field, or the in-toto subject's
	// annotations in the bundle format. cosign verify -a checks them.
	Annotations map[string]string
}

// Result is what was signed and written.
type Result struct {
	Digest  string
	Format  Format
	Keyless bool
	// PublicKeyPEM is the public key of cosign-key (key signing).
	PublicKeyPEM string
	// Identity and Issuer are the Fulcio certificate's subject alternative
	// name and OIDC issuer (keyless signing).
	Identity, Issuer string
	// NoCTLog is true when the trusted root names no CT log (a private
	// Sigstore whose Fulcio logs no certificate): there is no SCT to check,
	// and the verify commands say --insecure-ignore-sct=true.
	NoCTLog bool
	// Annotations are the signature's annotations (those of the earlier
	// signature when SignedBefore).
	Annotations map[string]string
	// Tlog is true when the signatures were logged in Rekor at RekorURL;
	// LogIndexes are their entries.
	Tlog       bool
	RekorURL   string
	LogIndexes []int64
	// Repositories has one entry per repository, in request order.
	Repositories []Written
	// PredicateType is the SBOM attestation's predicate type ("" when the
	// SBOM was not attested).
	PredicateType string
	// Verified is true once the cosign library verified every signature
	// and attestation written (or found).
	Verified bool
	// SignedBefore is true when every repository already held a valid
	// signature (and attestation of the same SBOM) by this identity:
	// nothing was signed, logged or written.
	SignedBefore bool
	// Duration is how long signing, writing and verifying took.
	Duration time.Duration
}

// Written is what one repository received.
type Written struct {
	Repository string
	// SignatureRef is where the signature is: repo:sha256-<hex>.sig
	// (legacy) or repo@sha256:<referrer manifest> (bundle).
	SignatureRef string
	// AttestationRef is where the SBOM attestation is ("" when none).
	AttestationRef string
	// Unchanged is true when this repository already held an identical
	// signature by the same key (a re-run): nothing new was written.
	Unchanged bool
	// annotations are those of the signature found (Unchanged).
	annotations map[string]string
}

// Attested reports whether an SBOM attestation was written.
func (r *Result) Attested() bool { return r.PredicateType != "" }

// WriteError is a failure after signing, while writing to a registry or
// verifying: it says what the registries already hold.
type WriteError struct {
	// Written lists the repositories that received everything.
	Written []Written
	// Partial is set when a repository received its attestation but not its
	// signature.
	Partial string
	Err     error
}

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// NewSigner returns the cosign-library Signer for the options.
// The options were validated by the app (Validate, Preflight).
func NewSigner(o Options) (Signer, error) { return newSigner(o, nil) }

// newSigner signs with key when it is given (already decrypted).
func newSigner(o Options, key *LoadedKey) (Signer, error) {
	kc := o.Keychain
	if kc == nil {
		k, err := o.Registry.Keychain()
		if err != nil {
			return nil, err
		}
		kc = k
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &cosignSigner{o: o, kc: kc, hc: hc, key: key}, nil
}

type cosignSigner struct {
	o   Options
	kc  authn.Keychain
	hc  *http.Client
	key *LoadedKey // decrypted by Preflight; nil: decrypt cosign-key
}

// signingIdentity is the key that signs, and what vouches for it.
type signingIdentity struct {
	sv     signature.SignerVerifier
	pub    crypto.PublicKey
	pubPEM []byte
	cert   *certificate // keyless only
}

// signerBytes is what Rekor and the bundle carry as the signer: the
// certificate (keyless) or the public key.
func (id *signingIdentity) signerBytes() []byte {
	if id.cert != nil {
		return id.cert.leafPEM
	}
	return id.pubPEM
}

func (s *cosignSigner) logf(format string, a ...any) {
	if s.o.Log != nil {
		s.o.Log.Infof(format, a...)
	}
}

// Sign implements Signer. Everything that can fail for a key, a password,
// Fulcio, Rekor or the SBOM happens before the first registry write.
func (s *cosignSigner) Sign(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	if h, err := v1.NewHash(req.Digest); err != nil || h.Algorithm != "sha256" {
		return nil, fmt.Errorf("%q is not a sha256 image digest", req.Digest)
	}
	if len(req.Repositories) == 0 {
		return nil, errors.New("no repository to sign in")
	}
	var repos []name.Repository
	for _, r := range req.Repositories {
		repo, err := name.NewRepository(r)
		if err != nil {
			return nil, fmt.Errorf("repository %q: %w", r, err)
		}
		repos = append(repos, repo)
	}

	res := &Result{Digest: req.Digest, Format: s.o.format(), Keyless: s.o.keyless(), Tlog: !s.o.NoTlog, Annotations: req.Annotations}
	if res.Tlog {
		res.RekorURL = s.o.rekorURL()
	}

	var predicate []byte
	var err error
	if req.SBOMPath != "" {
		res.PredicateType, predicate, err = readSBOM(req.SBOMPath, req.SBOMFormat)
		if err != nil {
			return nil, err
		}
	}

	// The key (or certificate), then the trust material to verify with:
	// a wrong password, a private Sigstore without its trusted root or an
	// unreachable TUF repository all fail before anything is written.
	id, err := s.identity(ctx)
	if err != nil {
		return nil, err
	}
	trust, err := s.trust()
	if err != nil {
		return nil, err
	}
	res.PublicKeyPEM = string(id.pubPEM)
	if id.cert != nil {
		res.PublicKeyPEM = ""
		res.Identity, res.Issuer = id.cert.identity, id.cert.issuer
		// As checkOpts: a trusted root without CT logs has no SCT to check.
		res.NoCTLog = trust != nil && len(trust.CTLogs()) == 0
	}

	how := "with " + InputKey
	if id.cert != nil {
		how = "keylessly as " + id.cert.identity
	}
	where := "1 repository"
	if len(repos) > 1 {
		where = fmt.Sprintf("%d repositories", len(repos))
	}
	s.logf("sign: signing %s in %s %s (%s format)", req.Digest, where, how, res.Format)
	if len(req.Annotations) > 0 {
		s.logf("sign: annotations %s", annotationList(req.Annotations, func(s string) string { return s }))
	}

	var rekor *rekorgen.Rekor
	if res.Tlog {
		rekor, err = rekorclient.GetRekorClient(s.o.rekorURL(), rekorclient.WithUserAgent("image-pipeline"), rekorclient.WithRetryCount(3))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", InputRekorURL, s.o.rekorURL(), err)
		}
	}

	ropts := s.remoteOptions(ctx)
	ociOpts := []ociremote.Option{ociremote.WithRemoteOptions(ropts...)}

	// A digest this identity signed (and attested the same SBOM for)
	// before — a warm run of an unchanged commit, a re-run — is not signed
	// or logged again.
	var before []Written
	var unsigned []name.Repository
	sigKept := map[string]bool{} // signed before, the SBOM attestation to make again
	for _, repo := range repos {
		w, sigOK, all := s.signedBefore(ctx, id, trust, repo.Digest(req.Digest), req.Annotations, res.PredicateType, predicate, ropts, ociOpts)
		if all {
			before = append(before, w)
			continue
		}
		sigKept[repo.Name()] = sigOK
		unsigned = append(unsigned, repo)
	}
	if len(before) > 0 {
		what := "a signature"
		if predicate != nil {
			what = "a signature and an attestation of this SBOM"
		}
		s.logf("sign: %s already carries %s by this identity in %s: not signed again there", req.Digest, what, joinRepos(before))
	}

	// Sign everything (and log it in Rekor) before writing anything.
	preps := make([]*prepared, 0, len(unsigned))
	for _, repo := range unsigned {
		p, err := s.prepare(ctx, id, rekor, repo.Digest(req.Digest), req.Annotations, res.PredicateType, predicate, sigKept[repo.Name()])
		if err != nil {
			return nil, err
		}
		res.LogIndexes = append(res.LogIndexes, p.logIndexes...)
		preps = append(preps, p)
	}
	if res.Tlog && len(preps) > 0 {
		s.logf("sign: logged in %s: entries %s", res.RekorURL, joinInts(res.LogIndexes))
	}

	written := map[string]Written{}
	for _, w := range before {
		written[w.Repository] = w
	}
	res.Repositories = append(res.Repositories, before...)
	for _, p := range preps {
		w, err := s.write(id, p, ropts, ociOpts)
		if err != nil {
			we := &WriteError{Written: res.Repositories, Err: err}
			var pe *partialError
			if errors.As(err, &pe) {
				we.Partial = p.digest.Repository.Name()
			}
			return res, we
		}
		written[w.Repository] = w
		res.Repositories = append(res.Repositories, w)
		s.logf("sign: wrote %s", w.SignatureRef)
	}
	res.Repositories = res.Repositories[:0]
	for _, repo := range repos {
		res.Repositories = append(res.Repositories, written[repo.Name()])
	}
	res.SignedBefore = len(preps) == 0
	if res.SignedBefore && len(res.Repositories) > 0 {
		res.Annotations = res.Repositories[0].annotations
	}

	for _, p := range preps {
		if err := s.verify(ctx, id, trust, p, ociOpts); err != nil {
			return res, &WriteError{Written: res.Repositories, Err: err}
		}
	}
	res.Verified = true
	res.Duration = time.Since(start)
	s.logf("sign: verified with the cosign library in %s", res.Duration.Round(time.Millisecond))
	return res, nil
}

// signedBefore reports whether d already carries a signature by id that
// the cosign library verifies, with the annotations of this run but the
// run's own (sameSigning), and, when predicate is given, an attestation
// by id of that very predicate (the SBOM is reproducible, so an unchanged
// image has the same one). In the bundle format the referrers' bundles
// are verified and their statements read.
//
// sigOK alone (the SBOM changed) means only the attestation is made again
// (legacy; the bundle format makes both again).
func (s *cosignSigner) signedBefore(ctx context.Context, id *signingIdentity, tm root.TrustedMaterial, d name.Digest, annotations map[string]string, predicateType string, predicate []byte, ropts []remote.Option, ociOpts []ociremote.Option) (w Written, sigOK, all bool) {
	w = Written{Repository: d.Repository.Name(), Unchanged: true}
	if s.o.format() == FormatBundle {
		return s.bundleSignedBefore(ctx, id, tm, d, annotations, predicateType, predicate, ropts, ociOpts)
	}
	co, err := s.checkOpts(id, tm, ociOpts)
	if err != nil {
		return w, false, false
	}
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	co.Annotations = sameSigning(annotations)
	sigs, _, err := cosign.VerifyImageSignatures(ctx, d, co)
	if err != nil || len(sigs) == 0 {
		return w, false, false
	}
	co.Annotations = nil
	w.annotations = payloadAnnotations(sigs[0])
	sigTag, err := ociremote.SignatureTag(d, ociOpts...)
	if err != nil {
		return w, false, false
	}
	w.SignatureRef = sigTag.String()
	if predicate == nil {
		return w, true, true
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, d, co)
	if err != nil || !slices.ContainsFunc(atts, func(a oci.Signature) bool { return samePredicate(a, predicateType, predicate) }) {
		return w, true, false
	}
	attTag, err := ociremote.AttestationTag(d, ociOpts...)
	if err != nil {
		return w, true, false
	}
	w.AttestationRef = attTag.String()
	return w, true, true
}

// bundleSignedBefore is signedBefore for the bundle format: among d's
// referrers, a Sigstore bundle by id that the cosign library verifies
// whose cosign sign statement carries this run's annotations (all but
// run), and, when predicate is given, one whose statement is that very
// predicate. The written refs are the referrers of those predicate types.
func (s *cosignSigner) bundleSignedBefore(ctx context.Context, id *signingIdentity, tm root.TrustedMaterial, d name.Digest, annotations map[string]string, predicateType string, predicate []byte, ropts []remote.Option, ociOpts []ociremote.Option) (w Written, sigOK, all bool) {
	w = Written{Repository: d.Repository.Name(), Unchanged: true}
	co, err := s.checkOpts(id, tm, ociOpts)
	if err != nil {
		return w, false, false
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, d, co)
	if err != nil {
		return w, false, false
	}
	want := sameSigning(annotations)
	attOK := predicate == nil
	for _, a := range atts {
		st, err := statementOf(a)
		if err != nil {
			continue
		}
		switch {
		case st.PredicateType == ctypes.CosignSignPredicateType && !sigOK && len(st.Subject) > 0 && carries(st.Subject[0].Annotations, want):
			sigOK = true
			w.annotations = st.Subject[0].Annotations
		case predicate != nil && samePredicate(a, predicateType, predicate):
			attOK = true
		}
	}
	if !sigOK || !attOK {
		return w, false, false
	}
	// Name what was found: the referrers of the two predicate types.
	digests, err := referrers(d, ropts)
	if err != nil {
		return w, false, false
	}
	for _, dg := range digests {
		ref := d.Repository.Digest(dg)
		desc, err := remote.Get(ref, ropts...)
		if err != nil {
			continue
		}
		var m struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(desc.Manifest, &m) != nil {
			continue
		}
		switch pt := m.Annotations[ociremote.BundlePredicateType]; {
		case pt == ctypes.CosignSignPredicateType && w.SignatureRef == "":
			w.SignatureRef = ref.String()
		case predicate != nil && pt == predicateType && w.AttestationRef == "":
			w.AttestationRef = ref.String()
		}
	}
	if w.SignatureRef == "" {
		return w, false, false
	}
	return w, true, true
}

// carries reports whether have holds every wanted annotation.
func carries(have map[string]string, want map[string]any) bool {
	for k, v := range want {
		if s, _ := v.(string); have[k] != s {
			return false
		}
	}
	return true
}

// payloadAnnotations are the string annotations of a simple-signing
// payload's "optional" field.
func payloadAnnotations(sig oci.Signature) map[string]string {
	p, err := sig.Payload()
	if err != nil {
		return nil
	}
	var sci sigpayload.SimpleContainerImage
	if json.Unmarshal(p, &sci) != nil || len(sci.Optional) == 0 {
		return nil
	}
	a := map[string]string{}
	for k, v := range sci.Optional {
		if s, ok := v.(string); ok {
			a[k] = s
		}
	}
	return a
}

// samePredicate reports whether att's in-toto statement has predicateType
// and predicate (compared as compact JSON).
func samePredicate(att oci.Signature, predicateType string, predicate []byte) bool {
	st, err := statementOf(att)
	if err != nil || st.PredicateType != predicateType {
		return false
	}
	var a, b bytes.Buffer
	return json.Compact(&a, st.Predicate) == nil && json.Compact(&b, predicate) == nil && bytes.Equal(a.Bytes(), b.Bytes())
}

func joinRepos(ws []Written) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Repository
	}
	return strings.Join(names, ", ")
}

// identity loads cosign-key, or gets a Fulcio certificate for a fresh key.
func (s *cosignSigner) identity(ctx context.Context) (_ *signingIdentity, err error) {
	if !s.o.keyless() {
		var sv signature.SignerVerifier
		if s.key != nil {
			if err := s.key.Wait(ctx); err != nil {
				return nil, err
			}
			sv = s.key.sv
		} else if sv, err = loadKey(s.o); err != nil {
			return nil, err
		}
		pubPEM, pub, err := publicKeyPEM(sv)
		if err != nil {
			return nil, err
		}
		return &signingIdentity{sv: sv, pub: pub, pubPEM: pubPEM}, nil
	}
	tok, err := fetchIDToken(ctx, s.hc, s.o.IDTokenRequestURL, s.o.IDTokenRequestToken, Audience)
	if err != nil {
		return nil, err
	}
	if s.o.Mask != nil {
		s.o.Mask(tok)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the ephemeral signing key: %w", err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("load the ephemeral signing key: %w", err)
	}
	cert, err := requestCertificate(ctx, s.hc, s.o.fulcioURL(), tok, sv)
	if err != nil {
		if why := tokenTrouble(tok, Audience, s.o.oidcIssuer(), time.Now()); why != "" {
			return nil, fmt.Errorf("%w: likely because %s", err, why)
		}
		return nil, err
	}
	if cert.issuer != "" && cert.issuer != s.o.oidcIssuer() {
		return nil, fmt.Errorf("the certificate from Fulcio names the issuer %s but %s is %s: set %s to the issuer of the token", cert.issuer, InputOIDCIssuer, s.o.oidcIssuer(), InputOIDCIssuer)
	}
	s.logf("sign: Fulcio certified %s (issuer %s)", cert.identity, cert.issuer)
	pubPEM, pub, err := publicKeyPEM(sv)
	if err != nil {
		return nil, err
	}
	return &signingIdentity{sv: sv, pub: pub, pubPEM: pubPEM, cert: cert}, nil
}

// prepared is what one repository will receive, signed and logged.
type prepared struct {
	digest name.Digest
	// legacy
	sig, att oci.Signature
	// bundle
	sigBundle, attBundle []byte
	predicateType        string
	logIndexes           []int64
}

// sigKept (the legacy format) leaves out the signature: the digest holds a
// valid one by id, only the attestation is new.
func (s *cosignSigner) prepare(ctx context.Context, id *signingIdentity, rekor *rekorgen.Rekor, d name.Digest, annotations map[string]string, predicateType string, predicate []byte, sigKept bool) (*prepared, error) {
	p := &prepared{digest: d, predicateType: predicateType}
	if s.o.format() == FormatBundle {
		stmt, err := statement(d, ctypes.CosignSignPredicateType, nil, annotations)
		if err != nil {
			return nil, err
		}
		if p.sigBundle, err = s.bundle(ctx, id, rekor, stmt, p); err != nil {
			return nil, fmt.Errorf("sign %s: %w", d, err)
		}
		if predicate != nil {
			stmt, err := statement(d, predicateType, predicate, nil)
			if err != nil {
				return nil, err
			}
			if p.attBundle, err = s.bundle(ctx, id, rekor, stmt, p); err != nil {
				return nil, fmt.Errorf("attest the SBOM of %s: %w", d, err)
			}
		}
		return p, nil
	}

	if !sigKept {
		payload, err := (&sigpayload.Cosign{Image: d, Annotations: optional(annotations)}).MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("make the signature payload for %s: %w", d, err)
		}
		raw, err := id.sv.SignMessage(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", d, err)
		}
		opts := id.staticOptions()
		if rekor != nil {
			h := sha256.New()
			h.Write(payload)
			entry, err := cosign.TLogUpload(ctx, rekor, raw, h, id.signerBytes())
			if err != nil {
				return nil, rekorError(s.o.rekorURL(), err)
			}
			p.logIndexes = append(p.logIndexes, *entry.LogIndex)
			opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
		}
		if p.sig, err = static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), opts...); err != nil {
			return nil, err
		}
	}

	if predicate == nil {
		return p, nil
	}
	stmt, err := statement(d, predicateType, predicate, nil)
	if err != nil {
		return nil, err
	}
	envelope, err := dsse.WrapSigner(id.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(stmt))
	if err != nil {
		return nil, fmt.Errorf("attest the SBOM of %s: %w", d, err)
	}
	opts := append(id.staticOptions(),
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	if rekor != nil {
		entry, err := cosign.TLogUploadDSSEEnvelope(ctx, rekor, envelope, id.signerBytes())
		if err != nil {
			return nil, rekorError(s.o.rekorURL(), err)
		}
		p.logIndexes = append(p.logIndexes, *entry.LogIndex)
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	if p.att, err = static.NewAttestation(envelope, opts...); err != nil {
		return nil, err
	}
	return p, nil
}

func (id *signingIdentity) staticOptions() []static.Option {
	if id.cert == nil {
		return nil
	}
	return []static.Option{static.WithCertChain(id.cert.leafPEM, id.cert.chainPEM)}
}

// bundle signs an in-toto statement as a DSSE envelope, logs it in Rekor
// and packs both into a Sigstore bundle v0.3.
func (s *cosignSigner) bundle(ctx context.Context, id *signingIdentity, rekor *rekorgen.Rekor, stmt []byte, p *prepared) ([]byte, error) {
	envelope, err := dsse.WrapSigner(id.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(stmt))
	if err != nil {
		return nil, err
	}
	var entry *models.LogEntryAnon
	if rekor != nil {
		entry, err = cosign.TLogUploadDSSEEnvelope(ctx, rekor, envelope, id.signerBytes())
		if err != nil {
			return nil, rekorError(s.o.rekorURL(), err)
		}
		p.logIndexes = append(p.logIndexes, *entry.LogIndex)
	}
	b, err := cbundle.MakeNewBundle(id.pub, entry, stmt, envelope, id.signerBytes(), nil)
	if err != nil {
		return nil, fmt.Errorf("make the Sigstore bundle: %w", err)
	}
	return b, nil
}

// rekorError turns a Rekor client error into a sentence.
func rekorError(rekorURL string, err error) error {
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Errorf("the transparency log at %s (%s) did not accept the entry: %s; nothing was written to the registry", rekorURL, InputRekorURL, msg)
}

// inTotoStatement is an in-toto Statement v1 about one image digest.
type inTotoStatement struct {
	Type          string          `json:"_type"`
	Subject       []inTotoSubject `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

type inTotoSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
	// Annotations are the signature's annotations (cosign sign -a in the
	// bundle format): cosign verify -a reads them here.
	Annotations map[string]string `json:"annotations,omitempty"`
}

func statement(d name.Digest, predicateType string, predicate []byte, annotations map[string]string) ([]byte, error) {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	st := inTotoStatement{
		Type:          statementType,
		Subject:       []inTotoSubject{{Name: d.Repository.Name(), Digest: map[string]string{alg: hex}, Annotations: annotations}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	if predicate == nil {
		st.Predicate = json.RawMessage("{}")
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("make the in-toto statement for %s: %w", d, err)
	}
	return b, nil
}

// readSBOM reads the scan stage's SBOM as a predicate.
func readSBOM(path, format string) (string, []byte, error) {
	var predicateType string
	switch format {
	case "cyclonedx", "":
		predicateType = PredicateCycloneDX
	case "spdx-json", "spdxjson":
		predicateType = PredicateSPDX
	default:
		return "", nil, fmt.Errorf("the SBOM %s is in format %q; accepted: cyclonedx, spdx-json", path, format)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read the SBOM to attest: %w", err)
	}
	if !json.Valid(b) {
		return "", nil, fmt.Errorf("the SBOM %s is not JSON: cannot attest it as a %s predicate", path, format)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return "", nil, fmt.Errorf("the SBOM %s: %w", path, err)
	}
	return predicateType, compact.Bytes(), nil
}

func (s *cosignSigner) remoteOptions(ctx context.Context) []remote.Option {
	t := s.o.Registry.Transport
	if t == nil {
		t = remote.DefaultTransport
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(t),
		remote.WithAuthFromKeychain(s.kc),
		remote.WithUserAgent("image-pipeline"),
	}
}

// partialError marks a repository that got its attestation but not its
// signature.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// write puts one repository's attestation, then its signature, next to
// the digest: a signed image always has its SBOM attestation.
func (s *cosignSigner) write(id *signingIdentity, p *prepared, ropts []remote.Option, ociOpts []ociremote.Option) (Written, error) {
	w := Written{Repository: p.digest.Repository.Name()}
	if s.o.format() == FormatBundle {
		if p.attBundle != nil {
			ref, err := writeBundle(p.digest, p.attBundle, p.predicateType, ropts, ociOpts)
			if err != nil {
				return w, fmt.Errorf("write the SBOM attestation to %s: %w", w.Repository, err)
			}
			w.AttestationRef = ref
		}
		ref, err := writeBundle(p.digest, p.sigBundle, ctypes.CosignSignPredicateType, ropts, ociOpts)
		if err != nil {
			err = fmt.Errorf("write the signature to %s: %w", w.Repository, err)
			if p.attBundle != nil {
				return w, &partialError{err}
			}
			return w, err
		}
		w.SignatureRef = ref
		return w, nil
	}

	se, err := ociremote.SignedEntity(p.digest, ociOpts...)
	if err != nil {
		return w, fmt.Errorf("read %s from the registry: %w", p.digest, err)
	}
	sigTag, err := ociremote.SignatureTag(p.digest, ociOpts...)
	if err != nil {
		return w, err
	}
	w.SignatureRef = sigTag.String()

	if p.att != nil {
		attTag, err := ociremote.AttestationTag(p.digest, ociOpts...)
		if err != nil {
			return w, err
		}
		withAtt, err := mutate.AttachAttestationToEntity(se, p.att,
			mutate.WithReplaceOp(&replaceOwnAttestation{predicateType: p.predicateType, verifier: id.sv}))
		if err != nil {
			return w, fmt.Errorf("add the SBOM attestation to those of %s: %w", p.digest, err)
		}
		if err := ociremote.WriteAttestations(p.digest.Repository, withAtt, ociOpts...); err != nil {
			return w, fmt.Errorf("write the SBOM attestation %s: %w", attTag, err)
		}
		w.AttestationRef = attTag.String()
		se = withAtt
	}

	if p.sig == nil { // signed before: the attestation alone was new
		w.Unchanged = true
		return w, nil
	}
	existing, err := se.Signatures()
	if err != nil {
		return w, fmt.Errorf("read the signatures of %s: %w", p.digest, err)
	}
	// The same key signing the same digest again (a re-run) finds its own
	// signature: keep one.
	if dup, err := cremote.NewDupeDetector(id.sv).Find(existing, p.sig); err == nil && dup != nil {
		w.Unchanged = true
		return w, nil
	}
	withSig, err := mutate.AttachSignatureToEntity(se, p.sig)
	if err != nil {
		return w, fmt.Errorf("add the signature to those of %s: %w", p.digest, err)
	}
	if err := ociremote.WriteSignatures(p.digest.Repository, withSig, ociOpts...); err != nil {
		err = fmt.Errorf("write the signature %s: %w", sigTag, err)
		if p.att != nil {
			return w, &partialError{err}
		}
		return w, err
	}
	return w, nil
}

// writeBundle writes a bundle as a referrer of d and returns the
// referrer's reference.
func writeBundle(d name.Digest, b []byte, predicateType string, ropts []remote.Option, ociOpts []ociremote.Option) (string, error) {
	before, err := referrers(d, ropts)
	if err != nil {
		return "", fmt.Errorf("list the referrers of %s: %w", d, err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, predicateType, ociOpts...); err != nil {
		return "", err
	}
	after, err := referrers(d, ropts)
	if err != nil {
		return "", fmt.Errorf("list the referrers of %s after writing: %w", d, err)
	}
	for _, dg := range after {
		if slices.Contains(before, dg) {
			continue
		}
		// Registries without the referrers API (distribution 2.8, ghcr.io)
		// keep a sha256-<hex> index whose entries carry no annotations:
		// read the manifest itself.
		ref := d.Repository.Digest(dg)
		desc, err := remote.Get(ref, ropts...)
		if err != nil {
			return "", fmt.Errorf("read the referrer %s: %w", ref, err)
		}
		var m struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(desc.Manifest, &m) == nil && m.Annotations[ociremote.BundlePredicateType] == predicateType {
			return ref.String(), nil
		}
	}
	return "", fmt.Errorf("the registry does not list the bundle written for %s among its referrers", d)
}

// referrers lists the digests of d's referrers, through the referrers API
// or the sha256-<hex> tag where there is none.
func referrers(d name.Digest, ropts []remote.Option) ([]string, error) {
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m.Manifests))
	for _, desc := range m.Manifests {
		out = append(out, desc.Digest.String())
	}
	return out, nil
}

// replaceOwnAttestation drops the attestations of the same predicate type
// that this key made before (a re-run of the same digest), and keeps every
// other attestation.
type replaceOwnAttestation struct {
	predicateType string
	verifier      signature.Verifier
}

func (r *replaceOwnAttestation) Replace(existing oci.Signatures, att oci.Signature) (oci.Signatures, error) {
	sigs, err := existing.Get()
	if err != nil {
		return nil, err
	}
	kept := make([]oci.Signature, 0, len(sigs)+1)
	for _, s := range sigs {
		if !r.ownSamePredicate(s) {
			kept = append(kept, s)
		}
	}
	kept = append(kept, att)
	return keptSignatures{Signatures: existing, list: kept}, nil
}

func (r *replaceOwnAttestation) ownSamePredicate(s oci.Signature) bool {
	ann, err := s.Annotations()
	if err != nil || ann["predicateType"] != r.predicateType {
		return false
	}
	payload, err := s.Payload()
	if err != nil {
		return false
	}
	return dsse.WrapVerifier(r.verifier).VerifySignature(bytes.NewReader(payload), nil) == nil
}

type keptSignatures struct {
	oci.Signatures
	list []oci.Signature
}

func (k keptSignatures) Get() ([]oci.Signature, error) { return slices.Clone(k.list), nil }
