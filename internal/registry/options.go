// Package registry is the push stage: it pushes the built image once by
// digest to every repository the tag plan names, points every computed tag
// at that digest with one manifest PUT each, reads every tag back, and pushes
// the builder/cache images to their cache refs. It uses go-containerregistry
// for the registry protocol, with its own authentication rules, bounded
// retries and error messages.
package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
)

// PushMode is the value of the push input.
type PushMode string

// Push modes.
const (
	// PushAuto pushes unless the event is a pull request from a fork or a
	// target registry has no credentials.
	PushAuto PushMode = "auto"
	// PushTrue always pushes (except for a pull request from a fork) and
	// fails when a target registry has no credentials.
	PushTrue PushMode = "true"
	// PushFalse never pushes.
	PushFalse PushMode = "false"
)

// Defaults of the inputs and of the retry policy.
const (
	DefaultTimeout      = 10 * time.Minute
	DefaultAttempts     = 8
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 15 * time.Second
	DefaultJobs         = 4
)

// Options is what the push stage needs from the action's inputs and the
// event. The app maps inputs onto it; Validate reports every bad value.
type Options struct {
	// Push is the push input: "auto" (default when empty), "true" or "false".
	Push PushMode
	// Timeout is the push-timeout input (ParseTimeout); 0 means
	// DefaultTimeout. It bounds the whole push, retries included.
	Timeout time.Duration
	// OverwriteReleaseTags is the overwrite-release-tags input: allow moving
	// an existing full semver tag (1.2.3) to a different digest.
	OverwriteReleaseTags bool

	// GitHubToken is the github-token input, used for ghcr.io.
	GitHubToken string
	// Actor is github.actor, the user name that goes with GitHubToken.
	Actor string
	// Username and Password are the registry-username and
	// registry-password inputs, used for every target registry that has no
	// line in Registries (and for ghcr.io when GitHubToken is empty).
	Username, Password string
	// Registries is the registries input, parsed (ParseRegistries): one
	// login per registry.
	Registries []Credential
	// DockerConfig is a directory holding a Docker config.json (the
	// DOCKER_CONFIG variable); its credentials are used for registries no
	// input covers. Empty: no config file is read.
	DockerConfig string

	// ForkPR is true for a pull request from another repository: nothing
	// is pushed, whatever Push says.
	ForkPR bool

	// Transport is the HTTP transport to the registries; nil means
	// go-containerregistry's default. Tests pass one that trusts their CA.
	Transport http.RoundTripper
	// Retry tunes the retries; zero fields take the defaults.
	Retry RetryPolicy
	// TargetRegistries are the hosts of image and cache-image: the only
	// hosts the Keychain offers registry-username/registry-password to.
	TargetRegistries []string
	// ClaimSettle is how long the push waits after writing release tags
	// before reading them back, so that a concurrent release of the same
	// version shows (default 1s).
	ClaimSettle time.Duration
	// TagGrace is how long the tag writes get to finish when the run is
	// cancelled while they are under way (default DefaultTagGrace).
	TagGrace time.Duration
	// Jobs is how many blobs or tags are sent at once (default 4).
	Jobs int
	// noStreaming sends layers only once they are complete (benchmarks
	// compare it with the uploads that start while they are compressed).
	noStreaming bool
	// TempDir is where images streamed out of the Docker Engine are
	// compressed before upload ("" means the system's temporary directory;
	// on the runner, RUNNER_TEMP is a good choice).
	TempDir string
	// Log, when set, gets progress lines for the job log (retries,
	// Retry-After waits, moved release tags). It never gets a secret.
	Log pipeline.Logger
}

// RetryPolicy is the exponential backoff used on 429, 5xx and broken
// connections. Every wait is cut short by the push timeout.
type RetryPolicy struct {
	// Attempts is how many times one request (or one blob upload) is tried.
	Attempts int
	// InitialDelay is the first wait; each wait doubles, plus up to 50 %
	// random jitter, up to MaxDelay. A Retry-After header is honoured when
	// it asks for longer.
	InitialDelay time.Duration
	MaxDelay     time.Duration
}

func (o Options) tagGrace() time.Duration {
	if o.TagGrace > 0 {
		return o.TagGrace
	}
	return DefaultTagGrace
}

func (o Options) claimSettle() time.Duration {
	if o.ClaimSettle > 0 {
		return o.ClaimSettle
	}
	return time.Second
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.InitialDelay <= 0 {
		r.InitialDelay = DefaultInitialDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.InitialDelay {
		r.MaxDelay = r.InitialDelay
	}
	return r
}

// Validate checks every input the push stage reads and joins one error per
// problem, each naming the input and its accepted values. Secrets never
// appear in the messages.
func (o Options) Validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, inputerr.New("push-timeout", o.Timeout.String(), "is not positive", timeoutAccepted))
	}
	// A fork's run gets empty secrets and uses no credentials at all (no
	// login is attempted): a login whose secret half arrived empty is not
	// a mistake there.
	if !o.ForkPR {
		if (o.Username == "") != (o.Password == "") {
			if o.Username == "" {
				errs = append(errs, inputerr.New("registry-username", "", `is empty but "registry-password" is set`, "both set or both empty"))
			} else {
				errs = append(errs, inputerr.New("registry-password", "", `is empty but "registry-username" is set`, "both set or both empty"))
			}
		}
		for _, c := range o.Registries {
			if c.Username == "" || c.Password == "" {
				errs = append(errs, inputerr.New("registries", "", fmt.Sprintf(`line %d (%s) needs both a username and a password after "="`, c.Line, c.Registry), registriesFormat))
			}
		}
	}
	if o.Jobs < 0 {
		errs = append(errs, fmt.Errorf("push jobs: %d is negative; accepted values: 0 (default %d) or more", o.Jobs, DefaultJobs))
	}
	return errors.Join(errs...)
}

// Secrets returns every secret value the options hold (tokens, passwords,
// and each password of the registries input), so the runner can mask each
// one separately.
func (o Options) Secrets() []string {
	var s []string
	add := func(v string) {
		if v != "" {
			s = append(s, v)
		}
	}
	add(o.GitHubToken)
	add(o.Password)
	for _, c := range o.Registries {
		add(c.Password)
	}
	return s
}

const timeoutAccepted = "a positive duration such as 10m, 90s or 1h, or a number of seconds"

// ParseTimeout reads the push-timeout input: a Go duration ("10m",
// "1m30s") or a whole number of seconds; empty is DefaultTimeout.
func ParseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			return 0, inputerr.New("push-timeout", s, "is not a duration", timeoutAccepted)
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 {
		return 0, inputerr.New("push-timeout", s, "is not positive", timeoutAccepted)
	}
	return d, nil
}

// mode is the push mode; any value but true and false (parsed by the
// configuration) is auto.
func (o Options) mode() PushMode {
	switch o.Push {
	case PushTrue, PushFalse:
		return o.Push
	}
	return PushAuto
}

func (o Options) jobs() int {
	if o.Jobs <= 0 {
		return DefaultJobs
	}
	return o.Jobs
}

// compile-time check that the stage satisfies the pipeline's interfaces.
var (
	_ pipeline.Stage  = (*Stage)(nil)
	_ pipeline.Facter = (*Stage)(nil)
)
