package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CredentialsError means a registry refused the login (401), or the login
// works but may not push to the repository (403).
type CredentialsError struct {
	Registry   string
	Repository string
	// User is the user name sent ("" when none was).
	User string
	// Status is the HTTP status (401 or 403).
	Status int
	Hint   string
	Err    error
}

func (e *CredentialsError) Error() string {
	switch {
	case e.Status == http.StatusForbidden && e.Repository != "":
		return fmt.Sprintf("registry %s denied user %q push access to repository %s (HTTP 403): %s", e.Registry, e.User, e.Repository, e.Hint)
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("registry %s denied user %q access (HTTP 403): %s", e.Registry, e.User, e.Hint)
	case e.User == "":
		return fmt.Sprintf("registry %s requires credentials (HTTP 401) and none were given for it: %s", e.Registry, e.Hint)
	default:
		return fmt.Sprintf("registry %s refused credentials for user %q: %s", e.Registry, e.User, e.Hint)
	}
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// RequestError is a registry request that failed after its retries,
// described by registry, repository, object and HTTP status.
type RequestError struct {
	Registry   string
	Repository string
	// Object is what the request was about: "manifest 1.2.3",
	// "manifest sha256:…", "blob sha256:…" or "a blob upload".
	Object string
	Method string
	// Status is the HTTP status, 0 when the connection failed.
	Status int
	// Detail is the registry's error codes and messages, if any.
	Detail string
	Err    error
}

func (e *RequestError) Error() string {
	var b strings.Builder
	in := ""
	if e.Repository != "" {
		in = " in repository " + e.Repository
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "registry %s answered %d %s to %s %s%s", e.Registry, e.Status, http.StatusText(e.Status), e.Method, e.Object, in)
		if e.Detail != "" {
			b.WriteString(" (" + e.Detail + ")")
		}
	} else {
		fmt.Fprintf(&b, "registry %s: %s %s%s failed: %v", e.Registry, e.Method, e.Object, in, innermost(e.Err))
	}
	if isRetryStatus(e.Status) || (e.Status == 0 && isConnectionError(e.Err)) {
		b.WriteString(", still failing after the retries")
	}
	return b.String()
}

func (e *RequestError) Unwrap() error { return e.Err }

// innermost is the last error in a chain of *url.Error and similar
// wrappers, without the URL that the message already states.
func innermost(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describe turns an error from go-containerregistry into a RequestError or
// a CredentialsError naming the registry, repository, object and status.
// cred is the login used (nil for anonymous); uploads maps upload sessions
// to blobs. Errors it cannot place are returned unchanged.
func describe(err error, cred *Credential, uploads func(path string) string) error {
	if err == nil {
		return nil
	}
	// go-containerregistry joins the errors of its https and http pings:
	// keep only the one that says what happened.
	var rae *RetryAfterError
	if errors.As(err, &rae) {
		return rae
	}
	if errors.As(err, new(*RequestError)) || errors.As(err, new(*CredentialsError)) {
		return err
	}
	var method string
	var u *url.URL
	status := 0
	var te *transport.Error
	var ue *url.Error
	switch {
	case errors.As(err, &te) && te.Request != nil:
		method, u, status = te.Request.Method, te.Request.URL, te.StatusCode
	case errors.As(err, &ue):
		method = strings.ToUpper(ue.Op)
		u, _ = url.Parse(ue.URL)
	}
	if u == nil {
		return err
	}
	repo, object := placeRequest(u, uploads)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		// A token service may live on another host (auth.docker.io): name
		// the registry the login is for.
		ce := &CredentialsError{Registry: u.Host, Repository: repo, Status: status, Err: err}
		if cred != nil {
			ce.Registry, ce.User, ce.Hint = cred.Registry, cred.Username, cred.hint()
			if status == http.StatusForbidden && cred.Source == SourceGitHubToken {
				ce.Hint = "give the job `permissions: packages: write` and, for an existing package, the repository write access in its package settings"
			}
		} else {
			ce.Hint = missingHint([]string{u.Host})
		}
		return ce
	}
	re := &RequestError{Registry: u.Host, Repository: repo, Object: object, Method: method, Status: status, Err: err}
	if status == 0 && errors.Is(err, context.DeadlineExceeded) {
		re.Err = context.DeadlineExceeded
	}
	if te != nil {
		var details []string
		for _, d := range te.Errors {
			details = append(details, d.String())
		}
		re.Detail = strings.Join(details, "; ")
	}
	return re
}

// placeRequest reads the repository and the object out of a registry API
// URL: /v2/<repo>/manifests/<ref>, /v2/<repo>/blobs/<digest>,
// /v2/<repo>/blobs/uploads/<session>.
func placeRequest(u *url.URL, uploads func(string) string) (repo, object string) {
	p := strings.TrimPrefix(u.Path, "/v2/")
	if p == u.Path || p == "" {
		return "", "/v2/ (the API check)"
	}
	if r, rest, ok := strings.Cut(p, "/blobs/uploads/"); ok {
		q := u.Query()
		switch {
		case q.Get("digest") != "":
			return r, "blob " + q.Get("digest")
		case q.Get("mount") != "":
			return r, "blob " + q.Get("mount")
		case rest != "" && uploads != nil && uploads(u.Path) != "":
			return r, "blob " + uploads(u.Path)
		}
		return r, "a blob upload"
	}
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		return p[:i], "manifest " + p[i+len("/manifests/"):]
	}
	if i := strings.LastIndex(p, "/blobs/"); i >= 0 {
		return p[:i], "blob " + p[i+len("/blobs/"):]
	}
	return "", strings.TrimSuffix(p, "/")
}

// timeoutError explains that push-timeout ran out, with the last fault
// each registry answered.
func timeoutError(ctx context.Context, timeoutText string, w *wire, err error) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	stats := w.stats()
	last := w.lastFaults()
	if last != "" {
		last = "; " + last
	}
	return fmt.Errorf("the push did not finish within push-timeout %s (%d requests, %d faults retried%s): %w", timeoutText, stats.Requests, stats.Faults(), last, err)
}
