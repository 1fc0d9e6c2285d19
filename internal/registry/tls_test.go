package registry

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A registry whose certificate this machine does not trust is not a
// transient fault: the push fails at once, naming the registry and the
// certificate problem, instead of retrying until push-timeout.
func TestUntrustedCertificateFailsAtOnce(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	// registry.test is not loopback, so it is spoken to over TLS only; it
	// is dialled at the test server.
	dial := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dial.DialContext(ctx, network, u.Host)
	}}
	host := "registry.test:" + u.Port()
	bi, _ := randomLayout(t, 1, 128)
	pusher, err := New(Options{Transport: tr, Retry: RetryPolicy{Attempts: 5, InitialDelay: 200 * time.Millisecond, MaxDelay: time.Second}, Timeout: 30 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = pusher.Push(t.Context(), Request{Image: bi, Tags: []string{host + "/team/app:main"}})
	took := time.Since(start)
	t.Logf("%v (after %s)", err, took.Round(time.Millisecond))
	if err == nil {
		t.Fatal("pushed to a registry with an untrusted certificate")
	}
	for _, want := range []string{host, "certificate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "still failing after the retries") {
		t.Errorf("a certificate problem is reported as a transient fault: %v", err)
	}
	if took > 3*time.Second {
		t.Errorf("took %s: a certificate problem was retried", took)
	}
}
