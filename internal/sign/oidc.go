package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ErrNoIDToken is returned (wrapped) when keyless signing is asked for but
// the runner offers no OIDC token.
var ErrNoIDToken = errors.New("the job cannot request an OIDC token")

// noIDTokenError says exactly what to add to the workflow.
func noIDTokenError() error {
	return fmt.Errorf("%w (ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): "+
		"for keyless signing add to the job (or the workflow)\n\n%s\n\n"+
		"(pull requests from forks never get one), or give a %s", ErrNoIDToken, permissionsSnippet, InputKey)
}

// fetchIDToken asks the runner for an OIDC token with the given audience,
// as actions/toolkit does: GET the request URL (which already carries
// ?api-version=2.0) with &audience=… appended and the request token as a
// bearer token; the answer is {"value": "<JWT>"}.
func fetchIDToken(ctx context.Context, hc *http.Client, requestURL, requestToken, audience string) (string, error) {
	if requestURL == "" || requestToken == "" {
		return "", noIDTokenError()
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("request an OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	req.Header.Set("Accept", "application/json; api-version=2.0")
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds no secret; the token is only in a header.
		return "", fmt.Errorf("request an OIDC token from the runner (%s): %w", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the OIDC token from the runner: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the runner refused an OIDC token (%s): check that the job has\n\n%s", resp.Status, permissionsSnippet)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("the runner's OIDC token answer has no value (HTTP %d, %d bytes)", resp.StatusCode, len(body))
	}
	return v.Value, nil
}

// tokenClaims are the claims of an OIDC token that signing needs.
type tokenClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

// parseToken reads a JWT's claims without checking its signature: Fulcio
// checks it; we only need the subject to prove possession of the key.
func parseToken(tok string) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errors.New("the OIDC token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, fmt.Errorf("the OIDC token's claims are not base64url: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("the OIDC token's claims are not JSON: %w", err)
	}
	if c.Subject == "" && c.Email == "" {
		return c, errors.New("the OIDC token has no subject")
	}
	return c, nil
}

// challenge is what Fulcio expects signed as proof of possession: the
// e-mail address for e-mail issuers, otherwise the subject.
func (c tokenClaims) challenge() string {
	if c.Email != "" {
		return c.Email
	}
	return c.Subject
}

// tokenTrouble says what in an OIDC token Fulcio is likely to refuse — it
// answers only "there was an error processing the identity token" — or ""
// when nothing stands out: an audience without audience, an expiry in the
// past, another issuer than oidc-issuer. It reads the claims without
// checking the signature (Fulcio does that) and never returns the token.
func tokenTrouble(tok, audience, issuer string, now time.Time) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "the runner's OIDC token is not a JWT"
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "the runner's OIDC token's claims cannot be read"
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "the runner's OIDC token's claims cannot be read"
	}
	var auds []string
	if err := json.Unmarshal(c.Aud, &auds); err != nil {
		var one string
		if json.Unmarshal(c.Aud, &one) == nil {
			auds = []string{one}
		}
	}
	var why []string
	if !slices.Contains(auds, audience) {
		why = append(why, fmt.Sprintf("the token's audience is %q, not %q", strings.Join(auds, ","), audience))
	}
	if c.Exp != 0 && time.Unix(c.Exp, 0).Before(now) {
		why = append(why, fmt.Sprintf("the token expired at %s (the job's clock says %s)", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if c.Iss != issuer {
		why = append(why, fmt.Sprintf("the token was issued by %s, but %s is %s (Fulcio must trust that issuer)", c.Iss, InputOIDCIssuer, issuer))
	}
	return strings.Join(why, "; ")
}
