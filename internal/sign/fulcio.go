package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	fulciocert "github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// certificate is what Fulcio issued: the leaf, and the chain up to (and
// including) its root, PEM-encoded as cosign stores them.
type certificate struct {
	leaf     *x509.Certificate
	leafPEM  []byte
	chainPEM []byte
	// identity and issuer are the certificate's subject alternative name
	// and OIDC issuer extension: what consumers pin in cosign verify.
	identity, issuer string
}

// The Fulcio v2 REST API (POST /api/v2/signingCert).
type fulcioRequest struct {
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

type fulcioChain struct {
	Chain struct {
		Certificates []string `json:"certificates"`
	} `json:"chain"`
}

type fulcioResponse struct {
	Embedded fulcioChain `json:"signedCertificateEmbeddedSct"`
	Detached struct {
		fulcioChain
		SCT string `json:"signedCertificateTimestamp"`
	} `json:"signedCertificateDetachedSct"`
}

// requestCertificate asks Fulcio for a short-lived certificate binding the
// key of sv to the identity in the OIDC token. Fulcio's 5xx and 429 are
// retried a few times.
func requestCertificate(ctx context.Context, hc *http.Client, fulcioURL, idToken string, sv signature.SignerVerifier) (*certificate, error) {
	claims, err := parseToken(idToken)
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("read the ephemeral public key: %w", err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("encode the ephemeral public key: %w", err)
	}
	proof, err := sv.SignMessage(strings.NewReader(claims.challenge()))
	if err != nil {
		return nil, fmt.Errorf("sign the proof of possession for Fulcio: %w", err)
	}
	var fr fulcioRequest
	fr.PublicKeyRequest.PublicKey.Algorithm = "ECDSA"
	fr.PublicKeyRequest.PublicKey.Content = string(pubPEM)
	fr.PublicKeyRequest.ProofOfPossession = base64.StdEncoding.EncodeToString(proof)
	body, err := json.Marshal(fr)
	if err != nil {
		return nil, err
	}

	endpoint := fulcioURL + "/api/v2/signingCert"
	var resp *http.Response
	var respBody []byte
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("fulcio-url %s: %w", fulcioURL, err)
		}
		req.Header.Set("Authorization", "Bearer "+idToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err = hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("the Fulcio at %s (%s) does not answer: %w", fulcioURL, InputFulcioURL, err)
		}
		respBody, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read Fulcio's answer: %w", err)
		}
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retry || attempt == 2 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(1<<attempt) * time.Second):
		}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("the Fulcio at %s refused the certificate request (%s): %s", fulcioURL, resp.Status, excerpt(respBody, idToken))
	}
	var out fulcioResponse
	if err := json.Unmarshal(respBody, &out); err != nil {
		return nil, fmt.Errorf("the Fulcio at %s answered something that is not a v2 certificate response: %w", fulcioURL, err)
	}
	pems := out.Embedded.Chain.Certificates
	if len(pems) == 0 {
		pems = out.Detached.Chain.Certificates
	}
	if len(pems) == 0 {
		return nil, fmt.Errorf("the Fulcio at %s returned no certificate", fulcioURL)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(strings.Join(pems, "\n")))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("the Fulcio at %s returned a certificate that cannot be parsed: %w", fulcioURL, errors.Join(err, errors.New("no PEM certificate")))
	}
	leafPEM, err := cryptoutils.MarshalCertificateToPEM(certs[0])
	if err != nil {
		return nil, err
	}
	var chainPEM []byte
	if len(certs) > 1 {
		if chainPEM, err = cryptoutils.MarshalCertificatesToPEM(certs[1:]); err != nil {
			return nil, err
		}
	}
	c := &certificate{leaf: certs[0], leafPEM: leafPEM, chainPEM: chainPEM}
	if err := cryptoutils.EqualKeys(pub, certs[0].PublicKey); err != nil {
		return nil, fmt.Errorf("the Fulcio at %s returned a certificate for another key", fulcioURL)
	}
	c.identity, c.issuer = certIdentity(certs[0])
	return c, nil
}

// excerpt is the start of a service's error body, on one line, with the
// token (should a service echo it) removed.
func excerpt(b []byte, secret string) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "***")
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = "(no body)"
	}
	return s
}

// certIdentity reads the identity (subject alternative name) and the OIDC
// issuer that Fulcio wrote into a certificate.
func certIdentity(cert *x509.Certificate) (identity, issuer string) {
	sum, err := fulciocert.SummarizeCertificate(cert)
	if err != nil {
		return "", ""
	}
	return sum.SubjectAlternativeName, sum.Issuer
}
