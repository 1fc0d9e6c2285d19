package sign

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// trust is the material that verification needs: the Fulcio CA, the Rekor
// and CT log keys. Key signing without the transparency log needs none
// (nil); the bundle format always wants some, possibly empty.
func (s *cosignSigner) trust() (root.TrustedMaterial, error) {
	needed := s.o.keyless() || !s.o.NoTlog
	switch {
	case s.o.TrustedRoot != "":
		tr, err := root.NewTrustedRootFromPath(s.o.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("%s %s is not a Sigstore trusted root: %w", InputTrustedRoot, s.o.TrustedRoot, err)
		}
		return tr, nil
	case needed && !s.o.publicSigstore() && (s.o.keyless() || s.o.rekorURL() != DefaultRekorURL):
		return nil, fmt.Errorf("%s is empty but a private Sigstore is used (%s/%s): give its trusted_root.json, without it nothing can be verified", InputTrustedRoot, InputFulcioURL, InputRekorURL)
	case needed:
		tm, err := cosign.TrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetch the public Sigstore trusted root from its TUF repository (tuf-repo-cdn.sigstore.dev): %w; nothing was signed", err)
		}
		return tm, nil
	case s.o.format() == FormatBundle:
		return &root.BaseTrustedMaterial{}, nil
	}
	return nil, nil
}

// checkOpts are the cosign library's verification options for what this
// signer wrote: the key, or the exact certificate identity and issuer.
func (s *cosignSigner) checkOpts(id *signingIdentity, tm root.TrustedMaterial, ociOpts []ociremote.Option) (*cosign.CheckOpts, error) {
	co := &cosign.CheckOpts{
		RegistryClientOpts: ociOpts,
		TrustedMaterial:    tm,
		IgnoreTlog:         s.o.NoTlog,
		NewBundleFormat:    s.o.format() == FormatBundle,
	}
	if id.cert == nil {
		v, err := signature.LoadVerifier(id.pub, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("load the verifier of %s: %w", InputKey, err)
		}
		co.SigVerifier = v
	} else {
		co.Identities = []cosign.Identity{{Subject: id.cert.identity, Issuer: id.cert.issuer}}
		// A private Sigstore may run Fulcio without a CT log: then there is
		// no SCT to check.
		co.IgnoreSCT = tm != nil && len(tm.CTLogs()) == 0
	}
	return co, nil
}

// verify checks, with the cosign library, that the registry now holds a
// valid signature (and SBOM attestation) for p's digest made by id.
func (s *cosignSigner) verify(ctx context.Context, id *signingIdentity, tm root.TrustedMaterial, p *prepared, ociOpts []ociremote.Option) error {
	co, err := s.checkOpts(id, tm, ociOpts)
	if err != nil {
		return err
	}
	if s.o.format() == FormatBundle {
		co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
		atts, _, err := cosign.VerifyImageAttestations(ctx, p.digest, co)
		if err != nil {
			return fmt.Errorf("verify the bundles written for %s: %w", p.digest, err)
		}
		want := []string{ctypes.CosignSignPredicateType}
		if p.attBundle != nil {
			want = append(want, p.predicateType)
		}
		return requirePredicates(p, atts, want)
	}

	co.ClaimVerifier = cosign.SimpleClaimVerifier
	sigs, _, err := cosign.VerifyImageSignatures(ctx, p.digest, co)
	if err != nil {
		return fmt.Errorf("verify the signature written for %s: %w", p.digest, err)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("verify the signature written for %s: no valid signature found", p.digest)
	}
	if p.att == nil {
		return nil
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, p.digest, co)
	if err != nil {
		return fmt.Errorf("verify the SBOM attestation written for %s: %w", p.digest, err)
	}
	return requirePredicates(p, atts, []string{p.predicateType})
}

// requirePredicates checks that verified attestations include each
// predicate type.
func requirePredicates(p *prepared, atts []oci.Signature, want []string) error {
	have := map[string]bool{}
	for _, a := range atts {
		if pt, err := predicateTypeOf(a); err == nil {
			have[pt] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			return fmt.Errorf("verify %s: no valid attestation of type %s found after writing it", p.digest, w)
		}
	}
	return nil
}

// predicateTypeOf reads the predicate type of a DSSE-wrapped in-toto
// statement.
func predicateTypeOf(att oci.Signature) (string, error) {
	st, err := statementOf(att)
	return st.PredicateType, err
}

// statementOf reads the in-toto statement a DSSE envelope wraps.
func statementOf(att oci.Signature) (inTotoStatement, error) {
	var st inTotoStatement
	payload, err := att.Payload()
	if err != nil {
		return st, err
	}
	var env struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return st, err
	}
	stmt, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(stmt, &st)
	return st, err
}
