package sign

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/pipeline"
)

// fakeSigner records the request and answers with a canned result.
type fakeSigner struct {
	got Request
	res *Result
	err error
}

func (f *fakeSigner) Sign(_ context.Context, req Request) (*Result, error) {
	f.got = req
	return f.res, f.err
}

// TestStageWithFakeSigner covers what the stage makes of the signer's
// answer: the request (one repository however many tags), the outcome,
// the fact and the summary, on success and on each kind of failure.
func TestStageWithFakeSigner(t *testing.T) {
	digest := "sha256:" + strings.Repeat("c", 64)
	repo := "registry.example.com/org/app"
	ok := &Result{
		Digest: digest, Format: FormatLegacy, PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		Repositories:  []Written{{Repository: repo, SignatureRef: repo + ":sha256-" + strings.Repeat("c", 64) + ".sig", AttestationRef: repo + ":sha256-" + strings.Repeat("c", 64) + ".att"}},
		PredicateType: PredicateCycloneDX, Verified: true,
	}
	tests := []struct {
		name        string
		res         *Result
		err         error
		noAttest    bool
		wantSigned  bool
		wantFact    string
		wantSummary []string
	}{
		{
			name: "signed", res: ok, wantSigned: true,
			wantFact:    "sha256:cccccccccccc… signed (key, legacy) + SBOM attested",
			wantSummary: []string{"Signed `" + digest + "` once", "Why: sign is true", "cosign verify --key cosign.pub --insecure-ignore-tlog=true " + repo + "@" + digest, "-----BEGIN PUBLIC KEY-----"},
		},
		{
			name: "attest-sbom false", res: &Result{Digest: digest, Format: FormatLegacy, Repositories: ok.Repositories[:1], Verified: true}, noAttest: true, wantSigned: true,
			wantFact:    "sha256:cccccccccccc… signed (key, legacy)",
			wantSummary: []string{"The SBOM was not attested: attest-sbom is false."},
		},
		{
			name: "failed before writing", err: errors.New("the password is wrong"),
			wantSummary: []string{"Signing failed: the password is wrong", "The image stays pushed at `" + digest + "`", "No signature or attestation was written."},
		},
		{
			name: "attestation written, signature not", res: &Result{Digest: digest},
			err:         &WriteError{Partial: repo, Err: errors.New("write the signature: 500")},
			wantSummary: []string{"`" + repo + "` holds the SBOM attestation but no signature."},
		},
		{
			name: "written but not verified", res: &Result{Digest: digest, Repositories: ok.Repositories},
			err:         &WriteError{Written: ok.Repositories, Err: errors.New("verify: no valid signature")},
			wantSummary: []string{"holds its signature", "What was written could not be verified."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeSigner{res: tc.res, err: tc.err}
			o := Options{Sign: SignTrue, Key: "unused", NoTlog: true, NoAttestSBOM: tc.noAttest}
			stage := NewStage(o, WithSigner(fs))
			st := &pipeline.State{
				Push: &pipeline.PushOutcome{Pushed: true, Digest: digest, ImageRef: repo + "@" + digest,
					Refs: []string{repo + ":1.2.3", repo + ":1.2", repo + ":1", repo + ":latest"}},
				Scan: &pipeline.ScanOutcome{SBOMPath: "/tmp/sbom.json", SBOMFormat: "cyclonedx"},
			}
			err := stage.Run(t.Context(), st)
			if (err != nil) != (tc.err != nil) {
				t.Fatalf("Run error %v, want %v", err, tc.err)
			}
			if !slices.Equal(fs.got.Repositories, []string{repo}) || fs.got.Digest != digest {
				t.Errorf("request %+v: want the digest once, in one repository", fs.got)
			}
			if wantSBOM := !tc.noAttest; (fs.got.SBOMPath != "") != wantSBOM {
				t.Errorf("request SBOM %q, want attested: %v", fs.got.SBOMPath, wantSBOM)
			}
			if st.Sign.Signed != tc.wantSigned {
				t.Errorf("signed %v, want %v", st.Sign.Signed, tc.wantSigned)
			}
			if got := stage.(pipeline.Facter).Fact(st); got != tc.wantFact {
				t.Errorf("fact %q, want %q", got, tc.wantFact)
			}
			sum := st.Sections[0].Markdown
			for _, w := range tc.wantSummary {
				if !strings.Contains(sum, w) {
					t.Errorf("summary does not hold %q:\n%s", w, sum)
				}
			}
		})
	}
}
