// Command trusted-root writes the Sigstore trusted_root.json of the test
// environment's own Fulcio and Rekor (scripts/testenv-sigstore), which
// verifiers take through sigstore-trusted-root (ours) or --trusted-root
// (cosign):
//
//	trusted-root -fulcio-url URL -fulcio-ca CA.pem -rekor-url URL -rekor-key KEY.pub [-ct-url URL -ct-key KEY.pub] -since RFC3339 -o trusted_root.json
//
// With -ct-url the CT log Fulcio writes to is in it too, so verifiers
// check the certificates' SCTs; no timestamp authority.
package main

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func main() {
	fulcioURL := flag.String("fulcio-url", "", "Fulcio's URL")
	caPath := flag.String("fulcio-ca", "", "Fulcio's CA certificate (PEM)")
	rekorURL := flag.String("rekor-url", "", "Rekor's URL")
	keyPath := flag.String("rekor-key", "", "Rekor's public key (PEM)")
	ctURL := flag.String("ct-url", "", "the CT log's URL (empty: none)")
	ctKey := flag.String("ct-key", "", "the CT log's public key (PEM)")
	since := flag.String("since", "", "start of the keys' validity (RFC 3339)")
	out := flag.String("o", "trusted_root.json", "where to write it")
	flag.Parse()
	if err := run(*fulcioURL, *caPath, *rekorURL, *keyPath, *ctURL, *ctKey, *since, *out); err != nil {
		fmt.Fprintf(os.Stderr, "trusted-root: %v\n", err)
		os.Exit(1)
	}
}

func run(fulcioURL, caPath, rekorURL, keyPath, ctURL, ctKeyPath, since, out string) error {
	start, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return fmt.Errorf("-since: %w", err)
	}
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(caPEM)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("%s holds no certificate: %v", caPath, err)
	}
	rekor, err := transparencyLog(rekorURL, keyPath, start)
	if err != nil {
		return err
	}
	var ctlogs map[string]*root.TransparencyLog
	if ctURL != "" {
		ct, err := transparencyLog(ctURL, ctKeyPath, start)
		if err != nil {
			return err
		}
		ctlogs = map[string]*root.TransparencyLog{fmt.Sprintf("%x", ct.ID): ct}
	}
	ca := &root.FulcioCertificateAuthority{Root: certs[len(certs)-1], Intermediates: certs[:len(certs)-1], ValidityPeriodStart: start, URI: fulcioURL}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{ca}, ctlogs, nil,
		map[string]*root.TransparencyLog{fmt.Sprintf("%x", rekor.ID): rekor})
	if err != nil {
		return err
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// transparencyLog is a log (Rekor, or a CT log) at url with the PEM public
// key at keyPath; its id is the SHA-256 of the key, as both define it.
func transparencyLog(url, keyPath string, start time.Time) (*root.TransparencyLog, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	return &root.TransparencyLog{BaseURL: url, ID: id[:], ValidityPeriodStart: start, HashFunc: crypto.SHA256, PublicKey: pub, SignatureHashFunc: crypto.SHA256}, nil
}
