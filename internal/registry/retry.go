package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// How the retries are layered. go-containerregistry already retries at two
// levels that never nest: each whole blob upload or manifest PUT is retried
// from the start (existence check, new upload session, fresh body), and
// every other request (pings, token fetches, HEADs) is retried in its
// transport. We give both levels our predicate (429, 5xx, broken
// connections; never once the push timeout has passed) and our exponential
// backoff with jitter, and put a wire transport underneath that
//
//   - honours Retry-After: after a 429 or 503 that carries one, no request
//     goes to that registry before the time it asked for (and if that is
//     past the push timeout we stop at once instead of sleeping into it);
//   - counts requests and faults for the summary and the tests;
//   - remembers which blob each upload session is for (the layer bodies
//     carry their digest, see wrap.go), so that an error on a PATCH or the
//     PUT that commits it can name the blob.

// Stats counts what the wire saw during one push.
type Stats struct {
	Requests         int64
	Throttled        int64 // 429 answers
	ServerErrors     int64 // 5xx answers
	ConnectionErrors int64 // resets, EOFs, broken pipes
	RetryAfterWaits  int64 // requests delayed to honour Retry-After
}

// Faults is every answer or failure that is retried.
func (s Stats) Faults() int64 { return s.Throttled + s.ServerErrors + s.ConnectionErrors }

// wire is the bottom transport of one push.
type wire struct {
	inner http.RoundTripper
	logf  func(format string, args ...any)
	// maxWait, when set, is the longest Retry-After honoured: a registry
	// asking for more is given up at once (RetryAfterError), so that the
	// caller can try another.
	maxWait time.Duration

	requests, throttled, serverErrors, connErrors, waits atomic.Int64

	mu        sync.Mutex
	notBefore map[string]time.Time // registry host → earliest next request
	uploads   map[string]string    // upload session path → blob digest
	lastFault map[string]string    // registry host → the last fault, described
}

func newWire(inner http.RoundTripper, logf func(string, ...any)) *wire {
	if inner == nil {
		inner = remote.DefaultTransport
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &wire{inner: inner, logf: logf, notBefore: map[string]time.Time{}, uploads: map[string]string{}, lastFault: map[string]string{}}
}

func (w *wire) stats() Stats {
	return Stats{
		Requests:         w.requests.Load(),
		Throttled:        w.throttled.Load(),
		ServerErrors:     w.serverErrors.Load(),
		ConnectionErrors: w.connErrors.Load(),
		RetryAfterWaits:  w.waits.Load(),
	}
}

// RetryAfterError means a registry asked us to wait past the push timeout.
type RetryAfterError struct {
	Registry string
	// Answer is the answer that asked for the wait ("429 Too Many Requests
	// to HEAD manifest 1.2.3 in repository org/app").
	Answer string
	Wait   time.Duration
	Left   time.Duration
	// Limit is set when Left is the longest wait the reader honours
	// (RetryingReader's MaxRetryAfter), not what is left of a timeout.
	Limit bool
}

func (e *RetryAfterError) Error() string {
	if e.Limit {
		return fmt.Sprintf("registry %s answered %s and asked to wait %s (Retry-After), longer than the %s this download waits",
			e.Registry, e.Answer, roundDuration(e.Wait), roundDuration(e.Left))
	}
	return fmt.Sprintf("registry %s answered %s and asked to wait %s (Retry-After), but only %s of push-timeout is left: retry later or raise push-timeout",
		e.Registry, e.Answer, roundDuration(e.Wait), roundDuration(e.Left))
}

// roundDuration keeps durations readable: whole seconds from 10s on.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// fault records the last fault seen from a registry, described.
func (w *wire) fault(req *http.Request, what string) {
	repo, object := placeRequest(req.URL, w.blobOfUpload)
	d := fmt.Sprintf("%s to %s %s", what, req.Method, object)
	if repo != "" {
		d += " in repository " + repo
	}
	w.mu.Lock()
	w.lastFault[req.URL.Host] = d
	w.mu.Unlock()
	w.logf("registry %s answered %s (retried while push-timeout allows)", req.URL.Host, d)
}

// lastFaults describes the last fault of each registry.
func (w *wire) lastFaults() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for host, d := range w.lastFault {
		parts = append(parts, fmt.Sprintf("registry %s last answered %s", host, d))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	host := req.URL.Host
	if err := w.honourRetryAfter(ctx, host); err != nil {
		return nil, err
	}
	if bb, ok := req.Body.(*blobBody); ok {
		w.mu.Lock()
		w.uploads[req.URL.Path] = bb.digest
		w.mu.Unlock()
	}
	w.requests.Add(1)
	resp, err := w.inner.RoundTrip(req)
	if err != nil {
		if ctx.Err() == nil && isConnectionError(err) {
			w.connErrors.Add(1)
			w.fault(req, "a broken connection ("+innermost(err).Error()+")")
		}
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		w.throttled.Add(1)
		w.fault(req, resp.Status)
	case resp.StatusCode >= 500:
		w.serverErrors.Add(1)
		w.fault(req, resp.Status)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && d > 0 {
			w.mu.Lock()
			if until := time.Now().Add(d); until.After(w.notBefore[host]) {
				w.notBefore[host] = until
			}
			w.mu.Unlock()
			w.logf("registry %s asks to wait %s before the next request (Retry-After)", host, d)
		}
	}
	if req.Method == http.MethodPost && resp.StatusCode == http.StatusAccepted && strings.HasSuffix(req.URL.Path, "/blobs/uploads/") {
		if digest := req.URL.Query().Get("mount"); digest != "" {
			if loc, err := req.URL.Parse(resp.Header.Get("Location")); err == nil {
				w.mu.Lock()
				w.uploads[loc.Path] = digest
				w.mu.Unlock()
			}
		}
	}
	return resp, nil
}

// honourRetryAfter waits until host may be asked again.
func (w *wire) honourRetryAfter(ctx context.Context, host string) error {
	w.mu.Lock()
	until, answer := w.notBefore[host], w.lastFault[host]
	w.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && until.After(deadline) {
		return &RetryAfterError{Registry: host, Answer: answer, Wait: wait, Left: time.Until(deadline)}
	}
	if w.maxWait > 0 && wait > w.maxWait {
		return &RetryAfterError{Registry: host, Answer: answer, Wait: wait, Left: w.maxWait, Limit: true}
	}
	w.waits.Add(1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// blobOfUpload returns the blob an upload session URL path is for.
func (w *wire) blobOfUpload(path string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.uploads[path]
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > math.MaxInt32 {
			n = math.MaxInt32
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// retryStatusCodes are the answers that are worth another try.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

func isRetryStatus(code int) bool {
	for _, c := range retryStatusCodes {
		if c == code {
			return true
		}
	}
	return false
}

// isConnectionError reports a broken connection (reset, EOF, broken pipe,
// closed) or a network timeout: the request may well work on a new
// connection.
func isConnectionError(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "connection reset") {
		return true
	}
	return false
}

// retryable is the predicate for both retry levels: it never retries once
// ctx (the push timeout) is done.
func retryable(ctx context.Context) func(error) bool {
	return func(err error) bool {
		if err == nil || ctx.Err() != nil {
			return false
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		var rae *RetryAfterError
		if errors.As(err, &rae) {
			return false
		}
		var te *transport.Error
		if errors.As(err, &te) {
			if isRetryStatus(te.StatusCode) {
				return true
			}
			for _, d := range te.Errors {
				if d.Code == transport.TooManyRequestsErrorCode || d.Code == transport.UnavailableErrorCode {
					return true
				}
			}
			return false
		}
		return isConnectionError(err)
	}
}

// backoff turns the policy into go-containerregistry's backoff. Its Cap
// would end the retries early, so the growth factor is lowered instead
// when doubling would pass MaxDelay: the last wait is then MaxDelay.
func (r RetryPolicy) backoff() remote.Backoff {
	r = r.withDefaults()
	factor := 2.0
	if r.Attempts > 2 {
		last := float64(r.InitialDelay) * math.Pow(2, float64(r.Attempts-2))
		if last > float64(r.MaxDelay) {
			factor = math.Pow(float64(r.MaxDelay)/float64(r.InitialDelay), 1/float64(r.Attempts-2))
		}
	}
	return remote.Backoff{Duration: r.InitialDelay, Factor: factor, Jitter: 0.5, Steps: r.Attempts}
}
