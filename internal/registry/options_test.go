package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/image-pipeline/internal/testenv/wanterr"
)

// logins parses a registries input for a test.
func logins(t testing.TB, lines string) []Credential {
	t.Helper()
	creds, err := ParseRegistries(lines)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// mustLogins is logins for tables outside a test function.
func mustLogins(lines string) []Credential {
	creds, err := ParseRegistries(lines)
	if err != nil {
		panic(err)
	}
	return creds
}

// Every bad registries line is reported, by line and host, never with its
// password: the syntax by ParseRegistries (config, once), the missing
// halves by Validate (which lets a fork's emptied secrets through).
func TestRegistriesLines(t *testing.T) {
	creds, perr := ParseRegistries("no-equals-SECRET\n=u:SECRET\nhost.example.com=u\nother.example.com=:SECRET\nbad host=u:SECRET\nok.example.com=u:SECRET\nok.example.com=v:SECRET")
	verr := Options{Registries: creds}.Validate()
	err := errors.Join(perr, verr)
	wanterr.Check(t, err,
		`input "registries": line 1 has no "="`,
		`line 2 has no registry host`,
		`line 3 (host.example.com) needs both a username and a password`,
		`line 4 (other.example.com) needs both a username and a password`,
		`line 5: "bad host" is not a registry host`,
		`line 7 repeats ok.example.com (first on line 6)`,
	)
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("a password is in the message: %v", err)
	}
	if (Options{Registries: creds, ForkPR: true}).Validate() != nil {
		t.Error("a fork's run refused emptied registries secrets")
	}
}

func TestParseTimeoutMessages(t *testing.T) {
	for in, want := range map[string]time.Duration{"": DefaultTimeout, "90s": 90 * time.Second, "10m": 10 * time.Minute, "120": 2 * time.Minute} {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	wanterr.Check(t, func() error { _, err := ParseTimeout("soon"); return err }(), `input "push-timeout": "soon" is not a duration; accepted values:`)
	wanterr.Check(t, func() error { _, err := ParseTimeout("-1m"); return err }(), `input "push-timeout": "-1m" is not positive`)
	wanterr.Check(t, func() error { _, err := ParseTimeout("0"); return err }(), `input "push-timeout": "0" is not positive`)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want []string // substrings, one per joined error
	}{
		{name: "defaults", opts: Options{}},
		{name: "everything set", opts: Options{Push: PushTrue, Timeout: 90 * time.Second, Username: "u", Password: "p", Registries: logins(t, "a.example.com=u:p\n# c\n\nb.example.com:5000=u:p")}},
		{name: "negative timeout", opts: Options{Timeout: -time.Minute}, want: []string{`input "push-timeout": "-1m0s" is not positive`}},
		{name: "username without password", opts: Options{Username: "u"}, want: []string{`input "registry-password" is empty but "registry-username" is set`}},
		{name: "password without username", opts: Options{Password: "SECRET"}, want: []string{`input "registry-username" is empty but "registry-password" is set`}},
		// A fork's run gets empty secrets and logs in nowhere.
		{name: "fork with an emptied password", opts: Options{Username: "u", ForkPR: true}},
		{name: "fork with emptied registries secrets", opts: Options{Registries: logins(t, "docker.example.com=:"), ForkPR: true}},
		{name: "a registries line without a password", opts: Options{Registries: logins(t, "a.example.com=u:p\nhost.example.com=u")},
			want: []string{`input "registries": line 2 (host.example.com) needs both a username and a password`}},
		{
			name: "several problems joined",
			opts: Options{Timeout: -1, Username: "u"},
			want: []string{`input "push-timeout"`, `input "registry-password"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			wanterr.Check(t, err, tc.want...)
			if err == nil {
				return
			}
			msg := err.Error()
			if strings.Contains(msg, "SECRET") {
				t.Errorf("a secret is in the message: %s", msg)
			}
			if _, err := New(tc.opts, nil); err == nil {
				t.Error("New accepted options that Validate rejects")
			}
		})
	}
}

func TestParseRegistries(t *testing.T) {
	cases := []struct {
		in   string
		want []Credential
	}{
		{in: "", want: nil},
		{
			in:   "docker.synapse.org=me:tok:en=",
			want: []Credential{{Registry: "docker.synapse.org", Username: "me", Password: "tok:en=", Source: SourceRegistries}},
		},
		{
			in: "  # logins\n\nhttps://Docker.io/ = me : p@ss \n127.0.0.1:5443=ci-user:pw\r\n",
			want: []Credential{
				{Registry: "index.docker.io", Username: "me", Password: "p@ss", Source: SourceRegistries},
				{Registry: "127.0.0.1:5443", Username: "ci-user", Password: "pw", Source: SourceRegistries},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRegistries(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, func(a, b Credential) bool {
				return a.Registry == b.Registry && a.Username == b.Username && a.Password == b.Password && a.Source == b.Source
			}) {
				t.Errorf("ParseRegistries(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseTimeout(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", DefaultTimeout, true},
		{"10m", 10 * time.Minute, true},
		{"1m30s", 90 * time.Second, true},
		{"45", 45 * time.Second, true},
		{"0", 0, false},
		{"-5s", 0, false},
		{"ten", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimeout(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseTimeout(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	lines := "a.example.com=u:one\n# b.example.com=u:commented\nc.example.com=u:two:parts"
	o := Options{GitHubToken: "ghs_x", Password: "pw", Registries: logins(t, lines)}
	got := append(o.Secrets(), RegistriesSecrets(lines)...)
	for _, s := range []string{"ghs_x", "pw", "one", "two:parts", "commented"} {
		if !slices.Contains(got, s) {
			t.Errorf("Secrets() = %q lacks %q", got, s)
		}
	}
}

func TestCredentialLookup(t *testing.T) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("cfg-user:cfg-pass"))
	config := fmt.Sprintf(`{"auths":{"registry.example.com":{"auth":%q},"https://index.docker.io/v1/":{"auth":%q}}}`, auth, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		opts     Options
		registry string
		user     string // "" for none found
		source   string
	}{
		{name: "registries line wins", opts: Options{Registries: logins(t, "ghcr.io=line-user:p"), GitHubToken: "t", Username: "u", Password: "p"}, registry: "ghcr.io", user: "line-user", source: SourceRegistries},
		{name: "ghcr.io takes github-token with the actor", opts: Options{GitHubToken: "t", Actor: "octocat", Username: "u", Password: "p"}, registry: "ghcr.io", user: "octocat", source: SourceGitHubToken},
		{name: "ghcr.io without github-token takes username/password", opts: Options{Username: "u", Password: "p"}, registry: "ghcr.io", user: "u", source: SourceUserPassword},
		{name: "other registries take username/password", opts: Options{GitHubToken: "t", Username: "syn", Password: "p"}, registry: "docker.synapse.org", user: "syn", source: SourceUserPassword},
		{name: "docker config", opts: Options{DockerConfig: dir}, registry: "registry.example.com", user: "cfg-user", source: SourceDockerConfig},
		{name: "docker config for Docker Hub", opts: Options{DockerConfig: dir}, registry: "index.docker.io", user: "cfg-user", source: SourceDockerConfig},
		{name: "docker config without that registry", opts: Options{DockerConfig: dir}, registry: "other.example.com"},
		{name: "missing docker config directory", opts: Options{DockerConfig: filepath.Join(dir, "nope")}, registry: "registry.example.com"},
		{name: "nothing", opts: Options{}, registry: "registry.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newCredentials(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := c.lookup(tc.registry)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.user != "") || got.Username != tc.user || got.Source != tc.source {
				t.Errorf("lookup(%s) = %+v, %v; want user %q from %q", tc.registry, got, ok, tc.user, tc.source)
			}
		})
	}
}

func TestBadDockerConfigIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := newCredentials(Options{DockerConfig: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.lookup("registry.example.com"); err == nil || !strings.Contains(err.Error(), "DOCKER_CONFIG") {
		t.Fatalf("lookup with a broken config.json: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for reg, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "localhost": true, "[::1]:5000": true, "127.1.2.3": true,
		"ghcr.io": false, "10.0.0.1:5000": false, "registry.local:5000": false, "localhost.example.com": false,
	} {
		if got := IsLoopback(reg); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", reg, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{"-1", 0, false},
		{"Wed, 01 Jan 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Wed, 01 Jan 2025 11:00:00 GMT", 0, true},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffStaysUnderMaxDelay(t *testing.T) {
	cases := []RetryPolicy{
		{},
		{Attempts: 3, InitialDelay: time.Second, MaxDelay: time.Minute},
		{Attempts: 10, InitialDelay: 5 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
	}
	for _, rp := range cases {
		t.Run(fmt.Sprintf("%+v", rp), func(t *testing.T) {
			b := rp.backoff()
			d := rp.withDefaults()
			if b.Steps != d.Attempts {
				t.Errorf("steps = %d, want %d", b.Steps, d.Attempts)
			}
			last := time.Duration(float64(b.Duration) * pow(b.Factor, b.Steps-2))
			if last > d.MaxDelay+time.Millisecond || b.Factor > 2 || b.Factor < 1 {
				t.Errorf("last wait %s (factor %.2f) passes MaxDelay %s", last, b.Factor, d.MaxDelay)
			}
		})
	}
}

func pow(f float64, n int) float64 {
	r := 1.0
	for range n {
		r *= f
	}
	return r
}

func TestDescribe(t *testing.T) {
	req := func(method, u string) *http.Request {
		r, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cred := &Credential{Registry: "r.example.com", Username: "bob", Password: "SECRET", Source: SourceUserPassword}
	uploads := func(p string) string {
		if p == "/v2/org/app/blobs/uploads/abc" {
			return "sha256:feed"
		}
		return ""
	}
	cases := []struct {
		name string
		err  error
		cred *Credential
		want string
	}{
		{
			name: "401 with a login",
			err:  &transport.Error{StatusCode: 401, Request: req("HEAD", "https://r.example.com/v2/org/app/manifests/1.0.0")},
			cred: cred,
			want: `registry r.example.com refused credentials for user "bob": check registry-username/registry-password`,
		},
		{
			name: "403 with github-token",
			err:  &transport.Error{StatusCode: 403, Request: req("POST", "https://ghcr.io/v2/org/app/blobs/uploads/")},
			cred: &Credential{Registry: "ghcr.io", Username: "octocat", Source: SourceGitHubToken},
			want: `registry ghcr.io denied user "octocat" push access to repository org/app (HTTP 403): give the job ` + "`permissions: packages: write`",
		},
		{
			name: "503 on a manifest",
			err:  &transport.Error{StatusCode: 503, Request: req("PUT", "https://r.example.com/v2/org/app/manifests/latest"), Errors: []transport.Diagnostic{{Code: "UNAVAILABLE", Message: "try later"}}},
			cred: cred,
			want: "registry r.example.com answered 503 Service Unavailable to PUT manifest latest in repository org/app (UNAVAILABLE: try later), still failing after the retries",
		},
		{
			name: "400 on a blob commit",
			err:  &transport.Error{StatusCode: 400, Request: req("PUT", "https://r.example.com/v2/org/app/blobs/uploads/abc?digest=sha256%3Abeef"), Errors: []transport.Diagnostic{{Code: "DIGEST_INVALID", Message: "digest did not match"}}},
			want: "registry r.example.com answered 400 Bad Request to PUT blob sha256:beef in repository org/app (DIGEST_INVALID: digest did not match)",
		},
		{
			name: "reset during a PATCH names the blob of the session",
			err:  &url.Error{Op: "Patch", URL: "https://r.example.com/v2/org/app/blobs/uploads/abc?_state=x", Err: syscall.ECONNRESET},
			want: "registry r.example.com: PATCH blob sha256:feed in repository org/app failed: connection reset by peer, still failing after the retries",
		},
		{
			name: "other errors pass through",
			err:  errors.New("disk full"),
			want: "disk full",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(tc.err, tc.cred, uploads)
			if got.Error() != tc.want && !strings.HasPrefix(got.Error(), tc.want) {
				t.Errorf("describe() = %q\nwant          %q", got, tc.want)
			}
			if strings.Contains(got.Error(), "SECRET") {
				t.Errorf("the password is in the error: %v", got)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("describe() does not wrap the original error")
			}
		})
	}
}

func TestGroupTags(t *testing.T) {
	targets, err := groupTags([]string{"r.example.com/org/a:1", "r.example.com/org/b:1", "r.example.com/org/a:2", "r.example.com/org/a:1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || len(targets[0].tags) != 2 || len(targets[1].tags) != 1 {
		t.Fatalf("targets = %+v", targets)
	}
	_, err = groupTags([]string{"r.example.com/org/App:1", "r.example.com/org/a"})
	if err == nil || !strings.Contains(err.Error(), `"r.example.com/org/App:1" is not a full image reference with a tag (registry/repository:tag) (repository names must be lower case`) || !strings.Contains(err.Error(), `"r.example.com/org/a"`) {
		t.Fatalf("err = %v", err)
	}
}
