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

// tokenClaims are the claims of an OIDC token that signing needs, and
// those that explain a refusal.
type tokenClaims struct {
	Issuer        string    `json:"iss"`
	Subject       string    `json:"sub"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Audience      audiences `json:"aud"`
	Expiry        int64     `json:"exp"`
}

// audiences is the aud claim: one string or a list of them. Any other
// shape reads as none.
type audiences []string

func (a *audiences) UnmarshalJSON(b []byte) error {
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*a = list
		return nil
	}
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audiences{one}
	}
	return nil
}

// decodeToken reads a JWT's claims without checking its signature
// (Fulcio checks it).
func decodeToken(tok string) (tokenClaims, error) {
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
	return c, nil
}

// parseToken reads a JWT's claims: we only need the subject to prove
// possession of the key.
func parseToken(tok string) (tokenClaims, error) {
	c, err := decodeToken(tok)
	if err != nil {
		return c, err
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
	c, err := decodeToken(tok)
	if err != nil {
		return err.Error()
	}
	var why []string
	if !slices.Contains(c.Audience, audience) {
		why = append(why, fmt.Sprintf("the token's audience is %q, not %q", strings.Join(c.Audience, ","), audience))
	}
	if c.Expiry != 0 && time.Unix(c.Expiry, 0).Before(now) {
		why = append(why, fmt.Sprintf("the token expired at %s (the job's clock says %s)", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if c.Issuer != issuer {
		why = append(why, fmt.Sprintf("the token was issued by %s, but %s is %s (Fulcio must trust that issuer)", c.Issuer, InputOIDCIssuer, issuer))
	}
	return strings.Join(why, "; ")
}
