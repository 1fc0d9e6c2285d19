package trivy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/metadata"

	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// throttle is a fault proxy in front of the test registry: it answers the
// first n requests (every request with n < 0) as ghcr.io answers a
// rate-limited pull: 429 TOOMANYREQUESTS with Retry-After, or a bare 503.
type throttle struct {
	*httptest.Server
	mu         sync.Mutex
	n, seen    int
	status     int
	retryAfter string
}

func newThrottle(t *testing.T, env *testenv.Env, n, status int, retryAfter string) *throttle {
	t.Helper()
	target, err := url.Parse("http://" + env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	p := &throttle{n: n, status: status, retryAfter: retryAfter}
	proxy := httputil.NewSingleHostReverseProxy(target)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen++
		fault := r.URL.Path != "/v2/" && (p.n < 0 || p.seen <= p.n)
		p.mu.Unlock()
		if !fault {
			proxy.ServeHTTP(w, r)
			return
		}
		if p.retryAfter != "" {
			w.Header().Set("Retry-After", p.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(p.status)
		if p.status == http.StatusTooManyRequests {
			fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 1s, allowed: 44000/minute"}]}`)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// repo is the fixture DB's repository behind the proxy.
func (p *throttle) repo(direct string) string {
	_, path, _ := strings.Cut(direct, "/")
	return strings.TrimPrefix(p.URL, "http://") + "/" + path
}

// TestDBRateLimits (#18.8): the DB survives registry rate limits. A
// throttled repository is retried, honouring Retry-After; one that stays
// throttled, or asks to wait too long, gives way to the next repository;
// when every repository is throttled a cached DB younger than
// trivy-db-max-age is used with a warning. Each path through the fault
// proxy, with the real download code.
func TestDBRateLimits(t *testing.T) {
	env := testenv.RequireRegistries(t)
	layoutDir, _ := testImages(t)
	direct := fixtureDBRepo(t)
	now := time.Now()
	fresh := &metadata.Metadata{Version: 2, UpdatedAt: now.Add(-30 * time.Hour), NextUpdate: now.Add(-6 * time.Hour), DownloadedAt: now.Add(-30 * time.Hour)}
	tests := []struct {
		name       string
		faults     int
		status     int
		retryAfter string
		second     bool // the direct repository is listed second
		cached     *metadata.Metadata
		wantProxy  bool // downloaded through the proxy
		wantStale  bool
		minTime    time.Duration
		maxTime    time.Duration
		wantLog    []string
	}{
		{name: "throttled twice, then served: Retry-After honoured", faults: 2, status: http.StatusTooManyRequests, retryAfter: "1",
			wantProxy: true, minTime: time.Second, wantLog: []string{"asks to wait 1s before the next request (Retry-After)"}},
		{name: "503 twice, then served: backoff", faults: 2, status: http.StatusServiceUnavailable,
			wantProxy: true},
		{name: "throttled every time: the next repository", faults: -1, status: http.StatusTooManyRequests, retryAfter: "1", second: true,
			wantLog: []string{"vulnerability DB not available from ", "429 Too Many Requests", "scan: downloading the vulnerability DB from " + direct}},
		{name: "Retry-After longer than 30 s: the next repository at once", faults: -1, status: http.StatusTooManyRequests, retryAfter: "3600", second: true,
			maxTime: 20 * time.Second, wantLog: []string{"asked to wait 1h0m0s (Retry-After), longer than the 30s this download waits"}},
		{name: "every repository throttled: the cached DB, with a warning", faults: -1, status: http.StatusTooManyRequests, retryAfter: "1", cached: fresh,
			wantStale: true, wantLog: []string{"warning: scan: using the cached vulnerability DB", "because it could not be refreshed", "429 Too Many Requests"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newThrottle(t, env, tc.faults, tc.status, tc.retryAfter)
			log := &testenv.Log{}
			opts := testOptions(t, log)
			opts.CacheDir = t.TempDir()
			opts.DBRepositories = []string{p.repo(direct)}
			if tc.second {
				opts.DBRepositories = append(opts.DBRepositories, direct)
			}
			// The default policy with shorter backoff: Retry-After still rules.
			opts.DBRetry = registry.ReadRetry{RetryPolicy: registry.RetryPolicy{Attempts: 4, InitialDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond}, MaxRetryAfter: scan.DefaultDBRetry.MaxRetryAfter}
			if tc.cached != nil {
				if err := buildFixtureDB(filepath.Join(opts.CacheDir, "db"), *tc.cached); err != nil {
					t.Fatal(err)
				}
			}
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			a, err := sc.Scan(t.Context(), scan.Target{OCILayout: layoutDir})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Scan: %v\nlog:\n%s", err, log)
			}
			want := direct
			switch {
			case tc.wantProxy:
				want = p.repo(direct)
			case tc.wantStale:
				want = ""
			}
			if a.DB.Repository != want || a.DB.Stale != tc.wantStale {
				t.Errorf("DB %+v, want repository %q, stale %v\nlog:\n%s", a.DB, want, tc.wantStale, log)
			}
			checkLog(t, log.String(), tc.wantLog, nil)
			if tc.minTime > 0 && took < tc.minTime {
				t.Errorf("took %s: the Retry-After waits (%s) were not honoured", took, tc.minTime)
			}
			if tc.maxTime > 0 && took > tc.maxTime {
				t.Errorf("took %s: waited for a Retry-After it should have given up on", took)
			}
			t.Logf("%d requests to the proxy, %s", p.seen, took.Round(10*time.Millisecond))
		})
	}
}
