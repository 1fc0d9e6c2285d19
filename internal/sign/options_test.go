package sign

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/pipeline"

	"github.com/org/image-pipeline/internal/testenv/wanterr"
)

func TestValidate(t *testing.T) {
	k := newTestKey(t, "pw")
	keyFile := writeFile(t, "cosign.key", k.private)
	trusted := writeFile(t, "trusted_root.json", []byte("{}"))
	tests := []struct {
		name string
		o    Options
		want []string // substrings, one per expected error; nil: valid
	}{
		{name: "zero value is valid (auto, keyless, public Sigstore)"},
		{name: "key PEM", o: Options{Key: string(k.private), Password: "pw"}},
		{name: "key file", o: Options{Key: keyFile, Password: "pw", NoTlog: true}},
		{name: "key env", o: Options{Key: "env://COSIGN_KEY", Format: FormatBundle}},
		{name: "private Sigstore with trusted root", o: Options{FulcioURL: "https://fulcio.internal", RekorURL: "https://rekor.internal", TrustedRoot: trusted}},
		{name: "sign false ignores keyless tlog", o: Options{Sign: SignFalse, NoTlog: true}},
		// Forks' runs get empty secrets: `cosign-key: ${{ secrets.K }}`
		// arrives as "" and must not stop a run that signs nothing.
		{name: "fork with emptied key and tlog false", o: Options{Sign: SignTrue, NoTlog: true, PullRequest: true, ForkPR: true}},
		{name: "fork with emptied key and a password", o: Options{Password: "pw", PullRequest: true, ForkPR: true}},
		{name: "pull request with sign auto ignores keyless tlog", o: Options{NoTlog: true, PullRequest: true}},
		{
			name: "every problem at once",
			o:    Options{Key: "awskms://alias/x", TrustedRoot: "/nonexistent/root.json"},
			want: []string{
				`input "cosign-key" is a key reference of the form awskms://, which is not supported; accepted values: the PEM of a cosign private key`,
				`input "sigstore-trusted-root": "/nonexistent/root.json" cannot be read; accepted values: the path of a Sigstore trusted_root.json`,
			},
		},
		{name: "password without key", o: Options{Password: "pw", IsTag: true}, want: []string{`input "cosign-password" is set but "cosign-key" is empty`}},
		{name: "keyless without tlog", o: Options{NoTlog: true, IsTag: true}, want: []string{`input "cosign-tlog": "false" has no "cosign-key": keyless signing needs the transparency log`}},
		{name: "keyless without tlog with sign true", o: Options{Sign: SignTrue, NoTlog: true, PullRequest: true}, want: []string{`input "cosign-tlog": "false" has no "cosign-key"`}},
		{name: "missing key file", o: Options{Key: "/nonexistent/cosign.key"}, want: []string{`input "cosign-key" names the key file /nonexistent/cosign.key, which cannot be read`}},
		{name: "pasted key without armour is not echoed", o: Options{Key: strings.Repeat("QUJD", 100)}, want: []string{`input "cosign-key" is neither a PEM key nor a file path`}},
		{name: "env without variable", o: Options{Key: "env://"}, want: []string{`input "cosign-key": "env://" names no variable`}},
		{name: "private Sigstore without trusted root", o: Options{FulcioURL: "https://fulcio.internal", IsDefaultBranch: true}, want: []string{`input "sigstore-trusted-root" is empty, but "fulcio-url"/"rekor-url" name a private Sigstore`}},
		{name: "unreadable trusted root", o: Options{TrustedRoot: "/nonexistent/root.json"}, want: []string{`input "sigstore-trusted-root": "/nonexistent/root.json" cannot be read`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			wanterr.Check(t, err, tc.want...)
			if err == nil {
				return
			}
			if strings.Contains(err.Error(), "QUJDQUJD") || strings.Contains(err.Error(), "pw\"") {
				t.Errorf("error holds a secret:\n%v", err)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	k := newTestKey(t, "pw")
	env := map[string]string{"COSIGN_KEY": string(k.private)}
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{name: "nothing", o: Options{}},
		{name: "PEM and password", o: Options{Key: string(k.private), Password: "pw"}, want: []string{strings.TrimSpace(string(k.private)), "pw"}},
		{name: "file path is not a secret", o: Options{Key: "/keys/cosign.key", Password: "pw"}, want: []string{"pw"}},
		{name: "env key and request token", o: Options{Key: "env://COSIGN_KEY", IDTokenRequestToken: "rt", Getenv: func(k string) string { return env[k] }}, want: []string{string(k.private), "rt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.Secrets(); !slices.Equal(got, tc.want) {
				t.Errorf("Secrets() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	k := newTestKey(t, "pw")
	file := writeFile(t, "cosign.key", k.private)
	env := map[string]string{"COSIGN_KEY": string(k.private), "EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		o       Options
		want    string // substring of the error; "" for success
		wantErr error
	}{
		{name: "PEM", o: Options{Key: string(k.private), Password: "pw"}},
		{name: "file", o: Options{Key: file, Password: "pw"}},
		{name: "env", o: Options{Key: "env://COSIGN_KEY", Password: "pw", Getenv: getenv}},
		{name: "wrong password", o: Options{Key: file, Password: "nope"}, want: "cosign-key (the file " + file + ") cannot be decrypted with cosign-password: the password is wrong", wantErr: ErrWrongPassword},
		{name: "empty env", o: Options{Key: "env://EMPTY", Getenv: getenv}, want: "cosign-key is env://EMPTY but $EMPTY is empty"},
		{name: "public key given", o: Options{Key: string(k.public)}, want: `is a "PUBLIC KEY" PEM block, not an encrypted cosign key`},
		{name: "missing file", o: Options{Key: "/nonexistent"}, want: "read the cosign-key file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := loadKey(tc.o)
			if tc.want == "" {
				if err != nil || sv == nil {
					t.Fatalf("loadKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadKey error %v, want %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") || (tc.o.Password != "" && strings.Contains(err.Error(), tc.o.Password+" ")) {
				t.Errorf("error %q is not one line or holds the password", err)
			}
		})
	}
}

func TestSkipReason(t *testing.T) {
	pushedState := func() *pipeline.State {
		return &pipeline.State{Push: &pipeline.PushOutcome{Pushed: true, Digest: "sha256:" + strings.Repeat("a", 64), ImageRef: "r.example/app@sha256:" + strings.Repeat("a", 64)}}
	}
	token := Options{IDTokenRequestURL: "https://runner/token?api-version=2.0", IDTokenRequestToken: "rt"}
	with := func(o Options, f func(*Options)) Options { f(&o); return o }
	tests := []struct {
		name string
		o    Options
		st   *pipeline.State
		want string // substring; "" runs
	}{
		{name: "false", o: Options{Sign: SignFalse, IsTag: true}, st: pushedState(), want: ReasonSignFalse},
		{name: "fork", o: Options{Sign: SignTrue, ForkPR: true, PullRequest: true, Key: "k"}, st: pushedState(), want: ReasonFork},
		{name: "nothing pushed", o: Options{Sign: SignTrue, Key: "k"}, st: &pipeline.State{}, want: ReasonNotPushed},
		{name: "push skipped", o: Options{Sign: SignTrue, Key: "k"}, st: &pipeline.State{Push: &pipeline.PushOutcome{Reason: "push is false"}}, want: ReasonNotPushed},
		{name: "auto on a pull request", o: with(token, func(o *Options) { o.EventName, o.PullRequest = "pull_request", true }), st: pushedState(), want: "sign is auto and this pull_request event (a pull request) is not a release event"},
		{name: "auto on a feature branch", o: with(token, func(o *Options) { o.EventName = "push" }), st: pushedState(), want: "(not the default branch) is not a release event"},
		{name: "auto on a tag without key or token", o: Options{EventName: "push", IsTag: true}, st: pushedState(), want: "add `permissions: id-token: write`"},
		{name: "auto on a tag with a token", o: with(token, func(o *Options) { o.EventName, o.IsTag = "push", true }), st: pushedState()},
		{name: "auto on the default branch with a key", o: Options{EventName: "push", IsDefaultBranch: true, Key: "k"}, st: pushedState()},
		{name: "true on a feature branch", o: Options{Sign: SignTrue, EventName: "push", Key: "k"}, st: pushedState()},
		{name: "true without key or token still runs (and fails saying why)", o: Options{Sign: SignTrue, EventName: "push"}, st: pushedState()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewStage(tc.o).SkipReason(tc.st)
			if tc.want == "" {
				if got != "" {
					t.Fatalf("skipped: %q", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("SkipReason = %q, want %q", got, tc.want)
			}
			if tc.st.Sign == nil || tc.st.Sign.Signed || tc.st.Sign.Reason != got {
				t.Errorf("st.Sign = %+v, want the reason recorded", tc.st.Sign)
			}
		})
	}
}

func TestVerifyCommands(t *testing.T) {
	digest := "sha256:" + strings.Repeat("b", 64)
	written := []Written{{Repository: "ghcr.io/org/app"}}
	tests := []struct {
		name     string
		o        Options
		res      Result
		sig, att string
	}{
		{
			name: "key offline",
			res:  Result{Digest: digest, Repositories: written, PredicateType: PredicateCycloneDX},
			sig:  "cosign verify --key cosign.pub --insecure-ignore-tlog=true ghcr.io/org/app@" + digest,
			att:  "cosign verify-attestation --type cyclonedx --key cosign.pub --insecure-ignore-tlog=true ghcr.io/org/app@" + digest,
		},
		{
			name: "key with public Rekor",
			res:  Result{Digest: digest, Repositories: written, Tlog: true, RekorURL: DefaultRekorURL},
			sig:  "cosign verify --key cosign.pub ghcr.io/org/app@" + digest,
		},
		{
			name: "keyless GitHub",
			res: Result{
				Digest: digest, Repositories: written, Keyless: true, Tlog: true, RekorURL: DefaultRekorURL, PredicateType: PredicateSPDX,
				Identity: "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3", Issuer: GitHubIssuer,
			},
			sig: "cosign verify --certificate-identity https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3 --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/org/app@" + digest,
			att: "cosign verify-attestation --type spdxjson --certificate-identity https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3 --certificate-oidc-issuer https://token.actions.githubusercontent.com ghcr.io/org/app@" + digest,
		},
		{
			name: "keyless private Sigstore",
			o:    Options{TrustedRoot: "sigstore/trusted root.json"},
			res:  Result{Digest: digest, Repositories: written, Keyless: true, Tlog: true, RekorURL: "https://rekor.internal", Identity: "ci@example.com", Issuer: "https://dex.internal"},
			sig:  "cosign verify --certificate-identity ci@example.com --certificate-oidc-issuer https://dex.internal --trusted-root 'sigstore/trusted root.json' ghcr.io/org/app@" + digest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := VerifyCommands(tc.o, &tc.res)
			if got.Signature != tc.sig || got.Attestation != tc.att {
				t.Errorf("VerifyCommands =\n%q\n%q\nwant\n%q\n%q", got.Signature, got.Attestation, tc.sig, tc.att)
			}
		})
	}
}

// Preflight finds, before anything is pushed, what would otherwise fail
// only after the push and leave a release unsigned. All of it is found
// before Preflight returns, except a wrong password: the key's decryption
// runs in the background, and its Wait says so.
func TestPreflight(t *testing.T) {
	k := newTestKey(t, "pw")
	notRoot := writeFile(t, "trusted_root.json", []byte("{}"))
	tests := []struct {
		name string
		o    Options
		want string // "" : no problem
		// later: the problem is found by the key's Wait, not by Preflight.
		later bool
	}{
		{name: "key and password", o: Options{Key: string(k.private), Password: "pw", IsTag: true}},
		{name: "wrong password", o: Options{Key: string(k.private), Password: "nope", IsTag: true}, want: "cannot be decrypted with cosign-password", later: true},
		{name: "damaged key", o: Options{Key: "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----", Password: "pw", IsTag: true}, want: "is damaged"},
		{name: "garbage key", o: Options{Key: "-----BEGIN NOTHING-----\nabc\n-----END NOTHING-----", IsTag: true}, want: `input "cosign-key"`},
		{name: "keyless sign true without a token", o: Options{Sign: SignTrue, IsTag: true}, want: "permissions: id-token: write"},
		{name: "keyless with a token", o: Options{Sign: SignTrue, IsTag: true, IDTokenRequestURL: "https://t", IDTokenRequestToken: "x"}},
		{name: "unparsable trusted root", o: Options{Key: string(k.private), Password: "pw", IsTag: true, TrustedRoot: notRoot}, want: "is not a Sigstore trusted_root.json"},
		{name: "wrong password, but a fork signs nothing", o: Options{Key: string(k.private), Password: "nope", PullRequest: true, ForkPR: true}},
		{name: "wrong password, but sign false", o: Options{Sign: SignFalse, Key: string(k.private), Password: "nope", IsTag: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := tc.o.Preflight()
			if tc.later && err != nil {
				t.Fatalf("Preflight() = %v, want the problem from Wait", err)
			}
			if err == nil {
				if werr := key.Wait(t.Context()); werr != nil && !tc.later {
					t.Errorf("Wait() = %v, want nil", werr)
				} else {
					err = werr
				}
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Preflight() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Preflight() = %v, want one saying %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "PRIVATE KEY")) {
				t.Errorf("the error holds a secret: %v", err)
			}
		})
	}
}
