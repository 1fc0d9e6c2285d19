package sign

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/testenv"
)

// TestFetchIDToken checks the runner request (asserted by the fake
// endpoint: GET, Authorization: Bearer <request token>, audience=sigstore
// appended to a URL that already has ?api-version=2.0) and the messages
// when no token can be had.
func TestFetchIDToken(t *testing.T) {
	f := newFakeSigstore(t)
	o := f.options()
	hc := &http.Client{}
	tok, err := fetchIDToken(t.Context(), hc, o.IDTokenRequestURL, o.IDTokenRequestToken, Audience)
	if err != nil {
		t.Fatal(err)
	}
	if tok != f.idToken || !f.requestShapeOK {
		t.Fatalf("token %q (shape ok: %v), want the fake's", tok, f.requestShapeOK)
	}

	tests := []struct {
		name     string
		url, tok string
		status   int
		want     []string
		wantIs   error
	}{
		{name: "no id-token permission", want: []string{"permissions:\n  id-token: write", "pull requests from forks never get one", "cosign-key"}, wantIs: ErrNoIDToken},
		{name: "only the URL", url: o.IDTokenRequestURL, want: []string{"permissions:\n  id-token: write"}, wantIs: ErrNoIDToken},
		{name: "runner refuses", url: o.IDTokenRequestURL, tok: o.IDTokenRequestToken, status: http.StatusForbidden, want: []string{"the runner refused an OIDC token (403 Forbidden)", "permissions:\n  id-token: write"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.runnerStatus = tc.status
			f.mu.Unlock()
			t.Cleanup(func() { f.mu.Lock(); f.runnerStatus = 0; f.mu.Unlock() })
			_, err := fetchIDToken(t.Context(), hc, tc.url, tc.tok, Audience)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error does not wrap %v", tc.wantIs)
			}
			if strings.Contains(err.Error(), f.requestToken) {
				t.Error("the error holds the request token")
			}
		})
	}
}

// TestKeylessSign signs keylessly against the fake Sigstore in both
// storage formats: one token request, one certificate, the entries in the
// log, verification by the library (inside Sign) against the trusted
// root, and a verify command naming the certificate's identity.
func TestKeylessSign(t *testing.T) {
	env := testenv.RequireRegistries(t)
	tests := []struct {
		format      Format
		wantEntries []string
	}{
		{format: FormatLegacy, wantEntries: []string{"hashedrekord", "dsse"}},
		{format: FormatBundle, wantEntries: []string{"dsse", "dsse"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			t.Parallel()
			f := newFakeSigstore(t)
			p := pushImage(t, env, env.Registry, "1.2.3", "latest")
			st := p.state(t)
			o := f.options()
			o.Format = tc.format
			stage := NewStage(o)
			if r := stage.SkipReason(st); r != "" {
				t.Fatalf("skipped: %s", r)
			}
			if err := stage.Run(t.Context(), st); err != nil {
				t.Fatalf("keyless sign: %v", err)
			}
			tokens, certs, entries := f.counts()
			if tokens != 1 || certs != 1 || !slices.Equal(entries, tc.wantEntries) {
				t.Errorf("%d token requests, %d certificates, log entries %v; want 1, 1, %v", tokens, certs, entries, tc.wantEntries)
			}
			if !st.Sign.Signed || !st.Sign.Attested {
				t.Fatalf("outcome %+v", st.Sign)
			}
			want := "cosign verify --certificate-identity " + f.identity + " --certificate-oidc-issuer " + GitHubIssuer + " --trusted-root " + f.TrustedRoot + " --insecure-ignore-sct=true " + p.repo + "@" + p.digest
			if st.Sign.VerifyCommand != want {
				t.Errorf("verify command\n%s\nwant\n%s", st.Sign.VerifyCommand, want)
			}
			if tc.format == FormatLegacy {
				assertCounts(t, env, p, 1, 1)
			}
			sum := st.Sections[0].Markdown
			for _, w := range []string{"keyless", f.identity, "Verified with the cosign library", "sign is auto and this push event (a tag) is a release event"} {
				if !strings.Contains(sum, w) {
					t.Errorf("summary does not say %q:\n%s", w, sum)
				}
			}
			if strings.Contains(sum, f.idToken) || strings.Contains(sum, f.requestToken) {
				t.Error("the summary holds a token")
			}

			// A warm run: a new certificate for the same workflow identity.
			// The signature and attestation found (legacy tags or the
			// bundle referrers) are verified against that identity and
			// nothing new is logged.
			st2 := p.state(t)
			if err := NewStage(o).Run(t.Context(), st2); err != nil {
				t.Fatalf("second keyless sign: %v", err)
			}
			_, _, again := f.counts()
			if got := len(again) - len(entries); got != 0 {
				t.Errorf("the second run logged %d entries, want none", got)
			}
			if !strings.Contains(st2.Sections[0].Markdown, "was already signed") {
				t.Errorf("the second summary does not say signed before:\n%s", st2.Sections[0].Markdown)
			}
			if st2.Sign.SignatureRef == "" || st2.Sign.SignatureRef != st.Sign.SignatureRef {
				t.Errorf("the second run names the signature %q, want the first run's %q", st2.Sign.SignatureRef, st.Sign.SignatureRef)
			}
		})
	}
}

// TestKeylessFailures: a missing permission, Fulcio refusing the token and
// Rekor failing all stop before the registry is touched.
func TestKeylessFailures(t *testing.T) {
	env := testenv.RequireRegistries(t)
	tests := []struct {
		name  string
		setup func(*fakeSigstore, *Options)
		want  []string
	}{
		{
			name: "no id-token permission",
			setup: func(_ *fakeSigstore, o *Options) {
				o.Sign, o.IDTokenRequestURL, o.IDTokenRequestToken = SignTrue, "", ""
			},
			want: []string{"permissions:\n  id-token: write"},
		},
		{
			name:  "Fulcio refuses the token",
			setup: func(f *fakeSigstore, _ *Options) { f.fulcioStatus = http.StatusUnauthorized },
			want:  []string{"the Fulcio at http://127.0.0.1", "refused the certificate request (401 Unauthorized)", "error processing the identity token"},
		},
		{
			name:  "Rekor fails",
			setup: func(f *fakeSigstore, _ *Options) { f.rekorStatus = http.StatusInternalServerError },
			want:  []string{"the transparency log at http://127.0.0.1", "did not accept the entry", "nothing was written to the registry"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSigstore(t)
			o := f.options()
			tc.setup(f, &o)
			p := pushImage(t, env, env.Registry, "1.2.3")
			st := p.state(t)
			err := NewStage(o).Run(t.Context(), st)
			if err == nil {
				t.Fatal("signing succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			t.Logf("error: %v", err)
			if st.Sign.Signed || !strings.HasPrefix(st.Sign.Reason, "signing failed: ") {
				t.Errorf("outcome %+v", st.Sign)
			}
			if sum := st.Sections[0].Markdown; !strings.Contains(sum, "The image stays pushed") || !strings.Contains(sum, "No signature or attestation was written") {
				t.Errorf("summary:\n%s", sum)
			}
			if got := env.HeadDigest(t, p.refs[0]); got != p.digest {
				t.Errorf("%s points at %q, want %s", p.refs[0], got, p.digest)
			}
			assertCounts(t, env, p, 0, 0)
			if strings.Contains(err.Error(), f.idToken) || strings.Contains(err.Error(), f.requestToken) {
				t.Error("the error holds a token")
			}
		})
	}
}

// TestKeySignWithRekor signs with a key and logs in a (fake, private)
// Rekor: entries for the signature and the attestation, their SETs
// verified against the trusted root, and a verify command without
// --insecure-ignore-tlog.
func TestKeySignWithRekor(t *testing.T) {
	env := testenv.RequireRegistries(t)
	f := newFakeSigstore(t)
	k := newTestKey(t, "correct horse battery staple")
	p := pushImage(t, env, env.AuthRegistry, "1.2.3", "latest")
	st := p.state(t)
	o := keyOptions(env, k)
	o.NoTlog, o.RekorURL, o.TrustedRoot = false, f.rekor.URL, f.TrustedRoot
	if err := NewStage(o).Run(t.Context(), st); err != nil {
		t.Fatalf("sign: %v", err)
	}
	if _, certs, entries := f.counts(); certs != 0 || !slices.Equal(entries, []string{"hashedrekord", "dsse"}) {
		t.Errorf("%d certificates, log entries %v; want 0 and [hashedrekord dsse]", certs, entries)
	}
	want := "cosign verify --key cosign.pub --trusted-root " + f.TrustedRoot + " " + p.repo + "@" + p.digest
	if st.Sign.VerifyCommand != want {
		t.Errorf("verify command\n%s\nwant\n%s", st.Sign.VerifyCommand, want)
	}
	assertCounts(t, env, p, 1, 1)

	// A warm run of the same digest and SBOM: the signature and the
	// attestation found are verified, and nothing is logged or written.
	sigBefore := env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "sig"))
	attBefore := env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "att"))
	log := &testenv.Log{}
	o.Log = log
	st2 := p.state(t)
	if err := NewStage(o).Run(t.Context(), st2); err != nil {
		t.Fatalf("second sign: %v", err)
	}
	if _, _, entries := f.counts(); len(entries) != 2 {
		t.Errorf("the second run logged %v, want nothing new", entries[2:])
	}
	if got := env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "sig")); got != sigBefore {
		t.Errorf("the signature manifest changed: %s, then %s", sigBefore, got)
	}
	if got := env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "att")); got != attBefore {
		t.Errorf("the attestation manifest changed: %s, then %s", attBefore, got)
	}
	if !st2.Sign.Signed || !st2.Sign.Attested || st2.Sign.SignatureRef != p.repo+":"+digestTag(p.digest, "sig") {
		t.Errorf("second outcome %+v", st2.Sign)
	}
	if sum := st2.Sections[0].Markdown; !strings.Contains(sum, "was already signed with the key") || !strings.Contains(log.String(), "not signed again") {
		t.Errorf("the second run does not say the digest was signed before:\n%s\n%s", sum, log.String())
	}

	// Another SBOM for the same digest (a new DB found other packages, say):
	// attested again, the old attestation of this key replaced; the
	// signature found is kept, not made again.
	st3 := p.state(t)
	st3.Scan.SBOMPath = writeFile(t, "other.cdx.json", []byte(strings.Replace(testSBOM, `"components"`, `"services": [], "components"`, 1)))
	if err := NewStage(o).Run(t.Context(), st3); err != nil {
		t.Fatalf("third sign: %v", err)
	}
	if _, _, entries := f.counts(); !slices.Equal(entries[2:], []string{"dsse"}) {
		t.Errorf("another SBOM logged %v, want [dsse] (the attestation alone)", entries[2:])
	}
	if got := env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "sig")); got != sigBefore {
		t.Errorf("the signature manifest changed with the SBOM: %s, then %s", sigBefore, got)
	}
	assertCounts(t, env, p, 1, 1)
}

func TestTokenTrouble(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok := func(claims map[string]any) string { return unsignedJWT(t, claims) }
	ok := map[string]any{"iss": GitHubIssuer, "aud": "sigstore", "exp": now.Unix() + 60}
	with := func(k string, v any) map[string]any {
		c := maps.Clone(ok)
		c[k] = v
		return c
	}
	tests := []struct {
		name, tok, want string
	}{
		{"nothing stands out", tok(ok), ""},
		{"an audience list with sigstore", tok(with("aud", []string{"x", "sigstore"})), ""},
		{"another audience", tok(with("aud", "api://AzureADTokenExchange")), `the token's audience is "api://AzureADTokenExchange", not "sigstore"`},
		{"expired", tok(with("exp", now.Unix()-5)), "the token expired at 2027-01-15T07:59:55Z"},
		{"another issuer", tok(with("iss", "https://ghes.example.com/_services/token")), "the token was issued by https://ghes.example.com/_services/token, but oidc-issuer is " + GitHubIssuer},
		{"not a JWT", "abc", "not a JWT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tokenTrouble(tc.tok, Audience, GitHubIssuer, now)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("tokenTrouble = %q, want %q", got, tc.want)
			}
		})
	}
}
