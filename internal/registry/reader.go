package registry

import (
	"context"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ReadRetry is how a reader outside the push (the scan's DB downloads)
// retries: RetryPolicy, plus the longest Retry-After it honours.
type ReadRetry struct {
	RetryPolicy
	// MaxRetryAfter is the longest Retry-After waited for; a registry that
	// asks for more is given up at once. 0: as long as ctx allows.
	MaxRetryAfter time.Duration
}

// RetryingReader returns go-containerregistry options that read with the
// push's rules for faults: 429, 5xx and broken connections are retried
// with exponential backoff and jitter, a Retry-After is honoured (no
// request to that registry before it), and a wait longer than
// MaxRetryAfter or past ctx's deadline fails at once with a
// *RetryAfterError. logf gets a line for each Retry-After.
func RetryingReader(ctx context.Context, inner http.RoundTripper, r ReadRetry, logf func(string, ...any)) []remote.Option {
	w := newWire(inner, logf)
	w.maxWait = r.MaxRetryAfter
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(w),
		remote.WithRetryBackoff(r.backoff()),
		remote.WithRetryPredicate(retryable(ctx)),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithUserAgent("image-pipeline"),
	}
}
