package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/org/image-pipeline/internal/testenv"
)

// TestFaultInjection pushes many small random images through a proxy that
// answers 429 (Retry-After: 1), 500, 503 or resets the connection on a
// share of the requests. Every push must succeed, and every tag must point
// at the pushed digest when read from the registry itself.
func TestFaultInjection(t *testing.T) {
	env := testenv.RequireRegistries(t)
	cases := []struct {
		name     string
		registry string
		pushes   int
		seed     uint64
	}{
		{name: "plain", registry: env.Registry, pushes: 70, seed: 1},
		{name: "htpasswd+TLS", registry: env.AuthRegistry, pushes: 30, seed: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Most of the time goes to Retry-After waits: run both at once.
			t.Parallel()
			faultyPushes(t, env, tc.registry, tc.pushes, tc.seed, 10)
		})
	}
}

// faultyPushes pushes n small random images (three tags each, jobs at a
// time) through a proxy that faults 10 % of the requests, and checks every
// tag on the registry itself.
func faultyPushes(t *testing.T, env *testenv.Env, registry string, n int, seed uint64, jobs int) {
	t.Helper()
	p := startProxy(t, env, registry, proxyConfig{Rate: 0.10, Seed: seed, RetryAfter: "1"})
	opts := Options{Transport: p.Transport, Retry: fastRetry, Timeout: 60 * time.Second, ClaimSettle: 100 * time.Millisecond}
	if registry == env.AuthRegistry {
		opts.Registries = logins(t, p.Host+"="+env.AuthUser+":"+env.AuthPassword)
	}
	start := time.Now()
	var faultsSeen, requests, waits atomic.Int64
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(jobs)
	for i := range n {
		repo := env.UniqueRepo(t, p.Host, fmt.Sprintf("f%d", i))
		bi, want := randomLayout(t, 2, 1024)
		tags := tagsOf(repo, fmt.Sprintf("1.0.%d", i), "1.0", "latest")
		g.Go(func() error {
			pusher, err := New(opts, nil)
			if err != nil {
				return err
			}
			res, err := pusher.Push(ctx, Request{Image: bi, Tags: tags})
			if err != nil {
				return fmt.Errorf("push %d: %w", i, err)
			}
			faultsSeen.Add(res.Stats.Faults())
			requests.Add(res.Stats.Requests)
			waits.Add(res.Stats.RetryAfterWaits)
			for _, tag := range tags {
				if got := env.HeadDigest(t, direct(tag, p.Host, registry)); got != want {
					return fmt.Errorf("push %d: %s points at %q on the registry, want %s", i, tag, got, want)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	injected := p.faults()
	total := 0
	for _, k := range injected {
		total += k
	}
	t.Logf("%d pushes × 3 tags in %s: %d requests at the proxy, %d faults injected %v; the pushers counted %d requests, %d faults retried, %d Retry-After waits",
		n, time.Since(start).Round(time.Millisecond), len(p.requests()), total, injected, requests.Load(), faultsSeen.Load(), waits.Load())
	if total == 0 {
		t.Fatal("no fault was injected")
	}
}

// TestFaultInjectionEverythingFails: with every request failing, the push
// stops within push-timeout with an error naming the registry, the request
// and the status, and no tag exists on the registry.
func TestFaultInjectionEverythingFails(t *testing.T) {
	env := testenv.RequireRegistries(t)
	isTagPut := func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "sha256:")
	}
	cases := []struct {
		name   string
		faults []string
		retry  string
		match  func(*http.Request) bool
		want   []string
		// manifest: the image is in the repository by digest after the
		// failure (the tags failed, not the image).
		manifest bool
	}{
		{name: "503", faults: []string{fault503}, want: []string{"503 Service Unavailable"}},
		{name: "429 with a long Retry-After", faults: []string{fault429}, retry: "30", want: []string{"429 Too Many Requests", "Retry-After", "push-timeout"}},
		{name: "mixed", faults: allFaults, retry: "1"},
		{
			name: "every blob upload", faults: []string{fault503},
			match: func(r *http.Request) bool { return r.Method == http.MethodPatch },
			want:  []string{"503 Service Unavailable to PATCH blob sha256:"},
		},
		{
			name: "every tag PUT", faults: []string{fault503, faultReset}, match: isTagPut, manifest: true,
			want: []string{"PUT manifest ", "no tag was written"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, env, env.Registry, proxyConfig{Rate: 1, Faults: tc.faults, Seed: 3, RetryAfter: tc.retry, Match: tc.match})
			const timeout = 3 * time.Second
			pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, Timeout: timeout}, nil)
			if err != nil {
				t.Fatal(err)
			}
			repo := env.UniqueRepo(t, p.Host, "down")
			bi, digest := randomLayout(t, 2, 1024)
			tags := tagsOf(repo, "2.0.0", "latest")
			start := time.Now()
			res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
			took := time.Since(start)
			if err == nil {
				t.Fatal("the push succeeded through a registry that always fails")
			}
			msg := err.Error()
			t.Logf("failed after %s, %d requests, %d faults: %v", took.Round(time.Millisecond), res.Stats.Requests, res.Stats.Faults(), err)
			if took > timeout+2*fastRetry.MaxDelay+500*time.Millisecond {
				t.Errorf("the push took %s, more than push-timeout %s", took, timeout)
			}
			for _, w := range append([]string{"registry " + p.Host, strings.TrimPrefix(repo, p.Host+"/")}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q: %s", w, msg)
				}
			}
			for _, tag := range tags {
				if got := env.HeadDigest(t, direct(tag, p.Host, env.Registry)); got != "" {
					t.Errorf("%s exists (%s) after a failed push", tag, got)
				}
			}
			byDigest := env.HeadDigest(t, direct(repo, p.Host, env.Registry)+"@"+digest)
			if tc.manifest != (byDigest != "") {
				t.Errorf("after the failure the manifest by digest exists: %v, want %v", byDigest != "", tc.manifest)
			}
		})
	}
}

// TestRetryAfterIsHonoured checks, against a local server, that after a 429
// or 503 carrying Retry-After (in seconds or as a date) the next request
// waits that long, and that a 5xx is retried with backoff.
func TestRetryAfterIsHonoured(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter func() string
		minGap     time.Duration
	}{
		{name: "429 seconds", status: http.StatusTooManyRequests, retryAfter: func() string { return "1" }, minGap: 900 * time.Millisecond},
		{name: "503 date", status: http.StatusServiceUnavailable, retryAfter: func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, minGap: 900 * time.Millisecond},
		{name: "500 no header", status: http.StatusInternalServerError, retryAfter: func() string { return "" }, minGap: fastRetry.InitialDelay},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var times []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				times = append(times, time.Now())
				n := len(times)
				mu.Unlock()
				if n == 1 {
					if v := tc.retryAfter(); v != "" {
						w.Header().Set("Retry-After", v)
					}
					w.WriteHeader(tc.status)
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			t.Cleanup(srv.Close)
			w := newWire(nil, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			rt := retryTransportForTest(ctx, w)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(times) != 2 {
				t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, len(times))
			}
			if gap := times[1].Sub(times[0]); gap < tc.minGap {
				t.Errorf("the retry came %s after the fault, want at least %s", gap, tc.minGap)
			}
			if s := w.stats(); s.Faults() != 1 {
				t.Errorf("stats = %+v, want 1 fault", s)
			}
		})
	}
}

func TestRetryAfterBeyondTimeoutFailsAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	w := newWire(nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/org/app/manifests/1.0.0", nil)
	resp, err := retryTransportForTest(ctx, w).RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	var rae *RetryAfterError
	if !errors.As(err, &rae) {
		t.Fatalf("err = %v, want a RetryAfterError", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("waited %s before giving up", time.Since(start))
	}
	for _, want := range []string{"429 Too Many Requests to GET manifest 1.0.0 in repository org/app", "1h0m0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestPushOutlastsMoreFaultsThanAttempts: a registry that refuses more
// requests in a row than one request's retry count (here the first 25 PUTs
// of the tag, against 10 attempts) is outlasted: the push is bounded by
// push-timeout, not by the attempt count, and every tag verifies.
func TestPushOutlastsMoreFaultsThanAttempts(t *testing.T) {
	env := testenv.RequireRegistries(t)
	isTagPut := func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "sha256:")
	}
	p := startProxy(t, env, env.Registry, proxyConfig{Rate: 1, MaxFaults: 25, Faults: []string{fault503, faultReset}, Seed: 7, Match: isTagPut})
	pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry, Timeout: 60 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := env.UniqueRepo(t, p.Host, "outlast")
	bi, want := randomLayout(t, 1, 512)
	tags := tagsOf(repo, "2.0.0")
	res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: tags})
	if err != nil {
		t.Fatalf("push gave up: %v", err)
	}
	if res.Stats.Faults() < 25 {
		t.Errorf("%d faults seen, want the 25 injected", res.Stats.Faults())
	}
	for _, tag := range tags {
		if got := env.HeadDigest(t, direct(tag, p.Host, env.Registry)); got != want {
			t.Errorf("%s points at %q, want %s", tag, got, want)
		}
	}
}
