// Package oidcissuer is the test environment's stand-in for GitHub's OIDC
// token service (token.actions.githubusercontent.com) and the runner's
// token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), for keyless
// signing against a real Fulcio (issue #17).
//
// It serves the OpenID discovery document and the JWKS Fulcio reads, and
// mints RS256 tokens with the claim set GitHub's Actions tokens have. A
// token request is shaped like the runner's: GET with
// `Authorization: bearer <request token>` and `&audience=`, answered with
// {"count":…,"value":"<jwt>"}. The claims describe the job: the request
// URL's query names them (repository, ref, sha, workflow, event_name, …),
// the defaults describe a tag release of octo-org/hello-image. Test
// controls in the query: expired=1 (exp in the past), aud=… (overrides the
// audience asked for), iss=… (another issuer).
package oidcissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"time"
)

// Issuer mints GitHub-shaped OIDC tokens.
type Issuer struct {
	url          string // the iss claim, and where discovery is served
	key          *rsa.PrivateKey
	kid          string
	requestToken string // the bearer token a token request must carry
	now          func() time.Time
}

// New returns an Issuer at url signing with key; token requests must
// carry requestToken.
func New(url string, key *rsa.PrivateKey, requestToken string) *Issuer {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	return &Issuer{url: strings.TrimRight(url, "/"), key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12]), requestToken: requestToken, now: time.Now}
}

// LoadOrCreateKey reads the PEM RSA key at path, or makes one and writes
// it there: the issuer keeps its key across restarts, so Fulcio's cached
// JWKS stays right.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s holds no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an RSA key", path)
		}
		return rk, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return k, os.Rename(tmp, path)
}

// Handler serves discovery (/.well-known/openid-configuration), the JWKS
// (/.well-known/jwks) and token requests (/token).
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /.well-known/jwks", i.jwks)
	mux.HandleFunc("GET /token", i.token)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.url + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id",
			"repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow",
			"workflow_ref", "workflow_sha", "job_workflow_ref", "job_workflow_sha", "head_ref", "base_ref", "event_name",
			"ref_type", "ref_protected", "environment", "repository_visibility", "runner_environment", "enterprise"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := i.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": i.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// token answers a request shaped like the runner's token request.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	if !ok {
		auth, ok = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if !ok || subtle.ConstantTimeCompare([]byte(auth), []byte(i.requestToken)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "bad request token"})
		return
	}
	q := r.URL.Query()
	aud := q.Get("audience")
	if v := q.Get("aud"); v != "" {
		aud = v
	}
	if aud == "" {
		aud = "https://github.com/" + param(q.Get, "repository_owner", ownerOf(param(q.Get, "repository", defaults["repository"])))
	}
	jwt, err := i.Mint(aud, q.Get)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(jwt), "value": jwt})
}

// defaults describe a tag release of octo-org/hello-image by its release
// workflow, as the test events do.
var defaults = map[string]string{
	"repository":            "octo-org/hello-image",
	"repository_id":         "123456789",
	"repository_owner_id":   "987654",
	"repository_visibility": "public",
	"ref":                   "refs/tags/v1.2.3",
	"sha":                   "3f786850e387550fdab836ed7e6dc881de23001b",
	"workflow":              "release",
	"workflow_file":         ".github/workflows/release.yml",
	"event_name":            "push",
	"actor":                 "octocat",
	"actor_id":              "583231",
	"run_id":                "4242424242",
	"run_number":            "42",
	"run_attempt":           "1",
	"runner_environment":    "github-hosted",
}

func param(get func(string) string, name, def string) string {
	if v := get(name); v != "" {
		return v
	}
	return def
}

func ownerOf(repo string) string { o, _, _ := strings.Cut(repo, "/"); return o }

// Mint signs a token for audience with GitHub's claims, each taken from
// get (a request's query) or the defaults.
func (i *Issuer) Mint(audience string, get func(string) string) (string, error) {
	p := func(name string) string { return param(get, name, defaults[name]) }
	repo, ref, sha := p("repository"), p("ref"), p("sha")
	refType := "branch"
	if strings.HasPrefix(ref, "refs/tags/") {
		refType = "tag"
	}
	workflowRef := fmt.Sprintf("%s/%s@%s", repo, p("workflow_file"), ref)
	now := i.now()
	exp := now.Add(5 * time.Minute)
	if get("expired") == "1" {
		now, exp = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
	}
	iss := i.url
	if v := get("iss"); v != "" {
		iss = v
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := map[string]any{
		"jti": fmt.Sprintf("%x", jti), "iss": iss, "aud": audience,
		"sub": fmt.Sprintf("repo:%s:ref:%s", repo, ref),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"ref": ref, "ref_type": refType, "ref_protected": "false", "sha": sha,
		"repository": repo, "repository_id": p("repository_id"), "repository_owner": ownerOf(repo),
		"repository_owner_id": p("repository_owner_id"), "repository_visibility": p("repository_visibility"),
		"run_id": p("run_id"), "run_number": p("run_number"), "run_attempt": p("run_attempt"),
		"actor": p("actor"), "actor_id": p("actor_id"), "workflow": p("workflow"),
		"workflow_ref": workflowRef, "workflow_sha": sha,
		"job_workflow_ref": workflowRef, "job_workflow_sha": sha,
		"head_ref": get("head_ref"), "base_ref": get("base_ref"), "event_name": p("event_name"),
		"runner_environment": p("runner_environment"),
	}
	return i.sign(claims)
}

func (i *Issuer) sign(claims map[string]any) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": i.kid, "x5t": i.kid})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, i.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Addr is host:port of an http URL ("http://127.0.0.1:7306" → "127.0.0.1:7306").
func Addr(url string) string {
	return strings.TrimPrefix(strings.TrimRight(url, "/"), "http://")
}
