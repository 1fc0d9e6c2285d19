package registry

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/testenv"
)

// Fault kinds the proxy injects.
const (
	fault429   = "429"   // 429 with Retry-After, before the registry sees the request
	fault500   = "500"   // the registry handles the request, the client gets 500
	fault503   = "503"   // 503 before the registry sees the request
	faultReset = "reset" // the connection is reset (TCP RST) before any answer
)

var allFaults = []string{fault429, fault500, fault503, faultReset}

// proxyConfig configures a test proxy.
type proxyConfig struct {
	// Rate is the share of requests that get a fault, 0 to 1.
	Rate float64
	// MaxFaults bounds the faults injected (0: no bound).
	MaxFaults int
	// Faults are the kinds injected, chosen at random (default: all).
	Faults []string
	// Seed makes the fault sequence repeatable.
	Seed uint64
	// RetryAfter is the Retry-After value sent with 429s ("" for none).
	RetryAfter string
	// Match, when set, limits the faults to the requests it accepts.
	Match func(*http.Request) bool
}

// recorded is one request the proxy saw.
type recorded struct {
	Method, Path, Query string
	Status              int    // what the client got (0 for a reset)
	Fault               string // "" when the registry answered
	// Start is when the request arrived; Length its Content-Length (-1
	// for a body of unknown length: a streamed upload).
	Start  time.Time
	Length int64
}

// proxy is a loopback reverse proxy in front of a real test registry that
// records every request and injects faults at a configurable rate.
type proxy struct {
	// Host is the proxy's host:port; image references use it as registry.
	Host string
	// Transport reaches the proxy (it trusts the proxy's certificate).
	Transport http.RoundTripper

	cfg      proxyConfig
	upstream *httputil.ReverseProxy

	mu       sync.Mutex
	rng      *rand.Rand
	log      []recorded
	injected map[string]int
}

// startProxy puts a proxy in front of registry (env.Registry: plain HTTP,
// env.AuthRegistry: TLS, and then the proxy speaks TLS too).
func startProxy(t testing.TB, env *testenv.Env, registry string, cfg proxyConfig) *proxy {
	t.Helper()
	useTLS := registry == env.AuthRegistry
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	target := &url.URL{Scheme: scheme, Host: registry}
	if len(cfg.Faults) == 0 {
		cfg.Faults = allFaults
	}
	p := &proxy{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), injected: map[string]int{}}
	p.upstream = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// The registry builds upload Locations from Host: keep ours.
			r.Out.Host = r.In.Host
		},
		Transport:     env.Transport(),
		FlushInterval: -1,
	}
	srv := httptest.NewUnstartedServer(p)
	// go-containerregistry pings https and http at once: the loser's
	// handshake errors are expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		srv.StartTLS()
		pool, err := env.CertPool()
		if err != nil {
			t.Fatal(err)
		}
		pool = pool.Clone()
		pool.AddCert(srv.Certificate())
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		p.Transport = tr
	} else {
		srv.Start()
		p.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	t.Cleanup(srv.Close)
	p.Host = srv.Listener.Addr().String()
	return p
}

func (p *proxy) decide(r *http.Request) string {
	if p.cfg.Match != nil && !p.cfg.Match(r) {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Rate <= 0 || (p.cfg.MaxFaults > 0 && p.total() >= p.cfg.MaxFaults) {
		return ""
	}
	if p.rng.Float64() >= p.cfg.Rate {
		return ""
	}
	f := p.cfg.Faults[p.rng.IntN(len(p.cfg.Faults))]
	p.injected[f]++
	return f
}

func (p *proxy) total() int {
	n := 0
	for _, c := range p.injected {
		n += c
	}
	return n
}

func (p *proxy) record(r *http.Request, start time.Time, status int, fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, Fault: fault, Start: start, Length: r.ContentLength})
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	switch f := p.decide(r); f {
	case fault429:
		if p.cfg.RetryAfter != "" {
			w.Header().Set("Retry-After", p.cfg.RetryAfter)
		}
		writeRegistryError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "injected: slow down")
		p.record(r, start, http.StatusTooManyRequests, f)
	case fault503:
		writeRegistryError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "injected: unavailable")
		p.record(r, start, http.StatusServiceUnavailable, f)
	case fault500:
		// The registry does the work; the answer is lost.
		rec := httptest.NewRecorder()
		p.upstream.ServeHTTP(rec, r)
		writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", "injected: internal error")
		p.record(r, start, http.StatusInternalServerError, f)
	case faultReset:
		p.record(r, start, 0, f)
		reset(w)
	default:
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		p.upstream.ServeHTTP(sw, r)
		p.record(r, start, sw.status, "")
	}
}

func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

// reset closes the client's connection with a TCP RST.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("proxy: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// requests returns a copy of the log.
func (p *proxy) requests() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.log...)
}

// faults returns the injected faults by kind.
func (p *proxy) faults() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

// count counts the recorded requests matching method and a path suffix
// (and answered by the registry, not by an injected fault).
func (p *proxy) count(method, pathContains string) int {
	n := 0
	for _, r := range p.requests() {
		if r.Fault == "" && r.Method == method && strings.Contains(r.Path, pathContains) {
			n++
		}
	}
	return n
}

func (p *proxy) dump() string {
	var b bytes.Buffer
	for _, r := range p.requests() {
		fmt.Fprintf(&b, "%s %s?%s → %d %s\n", r.Method, r.Path, r.Query, r.Status, r.Fault)
	}
	return b.String()
}
