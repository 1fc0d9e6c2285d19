package oidcissuer

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestIssuer(t *testing.T) (*httptest.Server, *Issuer) {
	t.Helper()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	iss := New(srv.URL, key, "request-token")
	srv.Config.Handler = iss.Handler()
	return srv, iss
}

func getJSON(t *testing.T, url, bearer string, v any) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// verify checks a token against the issuer's JWKS, as Fulcio does, and
// returns its claims.
func verify(t *testing.T, base, jwt string) map[string]any {
	t.Helper()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, base+"/.well-known/openid-configuration", "", &disc)
	if disc.Issuer != base {
		t.Fatalf("discovery issuer %q, want %q", disc.Issuer, base)
	}
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	getJSON(t, disc.JWKSURI, "", &set)
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(set.Keys) != 1 {
		t.Fatalf("token has %d parts, JWKS %d keys", len(parts), len(set.Keys))
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("the token does not verify with the JWKS: %v", err)
	}
	var claims map[string]any
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(c, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestTokenRequest(t *testing.T) {
	srv, _ := newTestIssuer(t)
	cases := []struct {
		name   string
		query  string
		bearer string
		status int
		check  func(t *testing.T, c map[string]any)
	}{
		{name: "no request token", query: "audience=sigstore", status: http.StatusUnauthorized},
		{name: "wrong request token", query: "audience=sigstore", bearer: "nope", status: http.StatusUnauthorized},
		{name: "a tag release by default", query: "audience=sigstore", bearer: "request-token", status: http.StatusOK, check: func(t *testing.T, c map[string]any) {
			want := map[string]any{
				"aud": "sigstore", "iss": srv.URL, "sub": "repo:octo-org/hello-image:ref:refs/tags/v1.2.3", "ref_type": "tag",
				"job_workflow_ref": "octo-org/hello-image/.github/workflows/release.yml@refs/tags/v1.2.3",
				"repository_owner": "octo-org", "event_name": "push", "runner_environment": "github-hosted",
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if exp := int64(c["exp"].(float64)); exp <= time.Now().Unix() {
				t.Errorf("exp %d is not in the future", exp)
			}
		}},
		{name: "the job's claims from the query", query: "audience=sigstore&repository=org/app&ref=refs/heads/main&sha=abc&workflow_file=.github/workflows/ci.yml", bearer: "request-token", status: http.StatusOK, check: func(t *testing.T, c map[string]any) {
			if c["sub"] != "repo:org/app:ref:refs/heads/main" || c["ref_type"] != "branch" || c["workflow_sha"] != "abc" || c["job_workflow_ref"] != "org/app/.github/workflows/ci.yml@refs/heads/main" {
				t.Errorf("claims %v", c)
			}
		}},
		{name: "expired", query: "audience=sigstore&expired=1", bearer: "request-token", status: http.StatusOK, check: func(t *testing.T, c map[string]any) {
			if exp := int64(c["exp"].(float64)); exp > time.Now().Unix() {
				t.Errorf("exp %d is not in the past", exp)
			}
		}},
		{name: "another audience", query: "audience=sigstore&aud=other", bearer: "request-token", status: http.StatusOK, check: func(t *testing.T, c map[string]any) {
			if c["aud"] != "other" {
				t.Errorf("aud %v", c["aud"])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body struct {
				Value string `json:"value"`
			}
			if got := getJSON(t, srv.URL+"/token?"+tc.query, tc.bearer, &body); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if tc.check != nil {
				tc.check(t, verify(t, srv.URL, body.Value))
			}
		})
	}
}

// The key survives a restart: Fulcio keeps the JWKS it fetched.
func TestLoadOrCreateKeyKeepsTheKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key.pem")
	a, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Error("the key read back is not the key written")
	}
}
