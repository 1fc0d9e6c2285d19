package sign

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	rekorverify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/org/image-pipeline/internal/testenv"
)

// TestKeylessSignWithRealSigstore signs a tag release keyless, in both
// storage formats with the SBOM attestation, against the test
// environment's real Fulcio (v1.8, a github-workflow issuer) and Rekor
// (v1.5 over Trillian and MariaDB), with a token from its GitHub-shaped
// OIDC issuer asked for the way the runner is; then the cosign CLIs v2.6
// and v3.0 verify the signature and the attestation with the workflow
// identity, exact and as a regexp. The local Fulcio logs every
// certificate to the local CT log, so the SCTs are checked too.
func TestKeylessSignWithRealSigstore(t *testing.T) {
	env, requestToken := testenv.RequireSigstore(t)
	s := env.Sigstore
	const identity = "https://github.com/octo-org/hello-image/.github/workflows/release.yml@refs/tags/v1.2.3"
	for _, format := range []Format{FormatLegacy, FormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			p := pushImage(t, env, env.Registry, "1.2.3", "latest")
			st := p.state(t)
			o := Options{
				Sign: SignAuto, EventName: "push", IsTag: true, Format: format,
				FulcioURL: s.FulcioURL, RekorURL: s.RekorURL, OIDCIssuer: s.OIDCIssuer, TrustedRoot: s.TrustedRoot,
				IDTokenRequestURL: s.IDTokenRequestURL + url.Values{"repository": {"octo-org/hello-image"}, "ref": {"refs/tags/v1.2.3"}}.Encode(), IDTokenRequestToken: requestToken,
			}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			before := rekorTreeSize(t, s.RekorURL)
			stage := NewStage(o).(*Stage)
			if err := stage.Run(t.Context(), st); err != nil {
				t.Fatalf("keyless sign against the local Sigstore: %v", err)
			}
			if !st.Sign.Signed || !st.Sign.Attested {
				t.Fatalf("outcome %+v", st.Sign)
			}
			// One entry for the signature, one for the attestation.
			if got := rekorTreeSize(t, s.RekorURL) - before; got < 2 {
				t.Errorf("Rekor's log grew by %d entries, want at least 2", got)
			}
			if got := len(stage.result.LogIndexes); got != 2 {
				t.Fatalf("the result names %d log entries (%v), want 2", got, stage.result.LogIndexes)
			}
			for _, i := range stage.result.LogIndexes {
				verifyRekorEntry(t, s, i)
			}
			if format == FormatLegacy {
				checkWorkflowExtensions(t, env, st.Sign.SignatureRef)
			}
			image := p.repo + "@" + p.digest
			// The local Fulcio logs its certificates to a CT log the trusted
			// root names: the SCT is checked, no --insecure-ignore-sct.
			want := "cosign verify --certificate-identity " + identity + " --certificate-oidc-issuer " + s.OIDCIssuer + " --trusted-root " + s.TrustedRoot + " " + image
			if st.Sign.VerifyCommand != want {
				t.Errorf("verify command\n%s\nwant\n%s", st.Sign.VerifyCommand, want)
			}
			// The summary's own commands, word for word (plus
			// --allow-http-registry: the test registry is plain HTTP),
			// and the same with the identity as a regexp, as a consumer
			// pinning every tag of the workflow would write it.
			cmds := VerifyCommands(o, stage.result)
			regexpID := strings.NewReplacer(
				"--certificate-identity "+identity, `--certificate-identity-regexp ^https://github\.com/octo-org/hello-image/\.github/workflows/release\.yml@refs/tags/v`,
				"--certificate-oidc-issuer "+s.OIDCIssuer, "--certificate-oidc-issuer-regexp ^"+s.OIDCIssuer+"$")
			lines := map[string]string{
				"summary signature": cmds.Signature, "summary attestation": cmds.Attestation,
				"regexp signature": regexpID.Replace(cmds.Signature), "regexp attestation": regexpID.Replace(cmds.Attestation),
			}
			legacyEnv := []string{"SIGSTORE_ROOT_FILE=" + s.FulcioCA, "SIGSTORE_REKOR_PUBLIC_KEY=" + s.RekorPublicKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + s.CTLogPublicKey}
			for _, major := range []string{"v2", "v3"} {
				bin := cosignCLI(t, major)
				for what, line := range lines {
					words := strings.Fields(line)
					if len(words) < 3 || words[0] != "cosign" {
						t.Fatalf("%s: %q is not a cosign command", what, line)
					}
					args := append(append(slices.Clone(words[1:len(words)-1]), "--allow-http-registry"), words[len(words)-1])
					var e []string
					if major == "v2" && format == FormatLegacy && words[1] == "verify-attestation" {
						// cosign v2 reads a trusted root only for bundles
						// (docs/sign.md): the same trust by env instead.
						k := slices.Index(args, "--trusted-root")
						args = slices.Delete(args, k, k+2)
						e = legacyEnv
					}
					out, err := runCLIEnv(t, env, bin, e, args...)
					if err != nil {
						t.Errorf("cosign %s (%s) %s: %v\n%s", major, what, strings.Join(args, " "), err, lastLines(out, 6))
						continue
					}
					t.Logf("cosign %s (%s) %s: exit 0", major, what, strings.Join(args, " "))
				}
			}
		})
	}
}

// TestKeylessFailuresWithRealSigstore: what the real services refuse
// fails with a one-line cause, the image stays pushed, and nothing is
// written beside it.
func TestKeylessFailuresWithRealSigstore(t *testing.T) {
	env, requestToken := testenv.RequireSigstore(t)
	s := env.Sigstore
	claims := url.Values{"repository": {"octo-org/hello-image"}, "ref": {"refs/tags/v1.2.3"}}
	with := func(k, v string) string {
		q := url.Values{}
		for key, vs := range claims {
			q[key] = vs
		}
		q.Set(k, v)
		return s.IDTokenRequestURL + q.Encode()
	}
	tests := []struct {
		name  string
		setup func(o *Options)
		want  []string
	}{
		{
			name:  "the token is for another audience",
			setup: func(o *Options) { o.IDTokenRequestURL = with("aud", "not-sigstore") },
			want:  []string{"the Fulcio at " + s.FulcioURL, "refused the certificate request", `likely because the token's audience is "not-sigstore", not "sigstore"`},
		},
		{
			name:  "the token has expired",
			setup: func(o *Options) { o.IDTokenRequestURL = with("expired", "1") },
			want:  []string{"the Fulcio at " + s.FulcioURL, "refused the certificate request", "likely because the token expired at"},
		},
		{
			name:  "the token is from an issuer Fulcio does not trust",
			setup: func(o *Options) { o.IDTokenRequestURL = with("iss", "https://token.example.com") },
			want:  []string{"the Fulcio at " + s.FulcioURL, "refused the certificate request", "likely because the token was issued by https://token.example.com, but oidc-issuer is " + s.OIDCIssuer},
		},
		{
			name:  "the token request is refused",
			setup: func(o *Options) { o.IDTokenRequestToken = "not-the-request-token" },
			want:  []string{"401"},
		},
		{
			name:  "Rekor does not answer",
			setup: func(o *Options) { o.RekorURL = "http://127.0.0.1:9" },
			want:  []string{"the transparency log at http://127.0.0.1:9", "nothing was written to the registry"},
		},
		{
			name:  "no id-token permission",
			setup: func(o *Options) { o.Sign, o.IDTokenRequestURL, o.IDTokenRequestToken = SignTrue, "", "" },
			want:  []string{"permissions:\n  id-token: write"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pushImage(t, env, env.Registry, "1.2.3")
			st := p.state(t)
			o := Options{
				Sign: SignAuto, EventName: "push", IsTag: true,
				FulcioURL: s.FulcioURL, RekorURL: s.RekorURL, OIDCIssuer: s.OIDCIssuer, TrustedRoot: s.TrustedRoot,
				IDTokenRequestURL: s.IDTokenRequestURL + claims.Encode(), IDTokenRequestToken: requestToken,
			}
			tc.setup(&o)
			err := NewStage(o).Run(t.Context(), st)
			if err == nil {
				t.Fatal("signing succeeded")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), requestToken) {
				t.Error("the error holds the request token")
			}
			if st.Sign.Signed {
				t.Errorf("outcome %+v", st.Sign)
			}
			if got := env.HeadDigest(t, p.refs[0]); got != p.digest {
				t.Errorf("%s points at %q, want %s", p.refs[0], got, p.digest)
			}
			assertCounts(t, env, p, 0, 0)
		})
	}
}

// checkWorkflowExtensions reads the certificate of the legacy signature
// at sigRef and checks that Fulcio wrote the GitHub workflow extensions
// the issuer's claims give, as for token.actions.githubusercontent.com,
// and embedded an SCT.
func checkWorkflowExtensions(t *testing.T, env *testenv.Env, sigRef string) {
	t.Helper()
	ref, err := name.ParseReference(sigRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, env.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatalf("read the signature %s: %v", sigRef, err)
	}
	m, err := img.Manifest()
	if err != nil || len(m.Layers) == 0 {
		t.Fatalf("the signature %s has no layer: %v", sigRef, err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(m.Layers[0].Annotations["dev.sigstore.cosign/certificate"]))
	if err != nil || len(certs) == 0 {
		t.Fatalf("the signature carries no certificate: %v", err)
	}
	got := map[string]string{}
	for _, e := range certs[0].Extensions {
		got[e.Id.String()] = string(e.Value)
	}
	want := map[string]string{ // Fulcio's OID arc 1.3.6.1.4.1.57264.1
		"1.3.6.1.4.1.57264.1.8":  env.Sigstore.OIDCIssuer, // issuer (v2)
		"1.3.6.1.4.1.57264.1.12": "https://github.com/octo-org/hello-image",
		"1.3.6.1.4.1.57264.1.13": "3f786850e387550fdab836ed7e6dc881de23001b", // source repository digest
		"1.3.6.1.4.1.57264.1.14": "refs/tags/v1.2.3",
		"1.3.6.1.4.1.57264.1.20": "push",
		"1.3.6.1.4.1.57264.1.21": "https://github.com/octo-org/hello-image/actions/runs/4242424242/attempts/1", // run invocation URI
	}
	for oid, v := range want {
		if !strings.Contains(got[oid], v) {
			t.Errorf("certificate extension %s = %q, want %q", oid, got[oid], v)
		}
	}
	if _, ok := got["1.3.6.1.4.1.11129.2.4.2"]; !ok {
		t.Error("the certificate has no embedded SCT")
	}
}

// verifyRekorEntry reads entry i from Rekor's API and checks its inclusion
// proof against the signed checkpoint, and its SET, with Rekor's key.
func verifyRekorEntry(t *testing.T, s testenv.Sigstore, i int64) {
	t.Helper()
	rc, err := rekorclient.GetRekorClient(s.RekorURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Entries.GetLogEntryByIndex(entries.NewGetLogEntryByIndexParamsWithContext(t.Context()).WithLogIndex(i))
	if err != nil {
		t.Fatalf("Rekor has no entry %d: %v", i, err)
	}
	keyPEM, err := os.ReadFile(s.RekorPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for uuid, e := range resp.Payload {
		if e.Verification == nil || e.Verification.InclusionProof == nil {
			t.Fatalf("entry %d (%s) has no inclusion proof", i, uuid)
		}
		if err := rekorverify.VerifyLogEntry(t.Context(), &e, verifier); err != nil {
			t.Errorf("entry %d (%s): its inclusion proof or SET does not verify: %v", i, uuid, err)
			continue
		}
		t.Logf("Rekor entry %d (%s): inclusion proof in a tree of %d verified", i, uuid, *e.Verification.InclusionProof.TreeSize)
	}
}

func rekorTreeSize(t *testing.T, rekorURL string) int64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, rekorURL+"/api/v1/log", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		TreeSize int64 `json:"treeSize"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("read Rekor's log info: %v", err)
	}
	return info.TreeSize
}
