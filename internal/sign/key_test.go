package sign

import (
	"errors"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/report"
	"github.com/org/image-pipeline/internal/testenv"
)

// TestKeySignOnTestRegistries signs an image pushed under four tags on the
// plain and on the auth+TLS registry, offline (no transparency log), and
// checks: one signature and one SBOM attestation for the digest, still one
// each after a second run, verified by the library (inside Sign) and by
// the cosign CLIs v2.6 and v3.0.
func TestKeySignOnTestRegistries(t *testing.T) {
	env := testenv.RequireRegistries(t)
	k := newTestKey(t, "correct horse battery staple")
	pub := writeFile(t, "cosign.pub", k.public)

	tests := []struct {
		name     string
		registry string
		cliFlags []string
	}{
		{name: "plain", registry: env.Registry, cliFlags: []string{"--allow-http-registry"}},
		{name: "auth+TLS", registry: env.AuthRegistry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pushImage(t, env, tc.registry, "1.2.3", "1.2", "1", "latest")
			st := p.state(t)
			o := keyOptions(env, k)
			log := &testenv.Log{}
			o.Log = log
			stage := NewStage(o)
			if reason := stage.SkipReason(st); reason != "" {
				t.Fatalf("skipped: %s", reason)
			}
			if err := stage.Run(t.Context(), st); err != nil {
				t.Fatalf("sign: %v", err)
			}
			wantRef := p.repo + ":" + digestTag(p.digest, "sig")
			if !st.Sign.Signed || !st.Sign.Attested || st.Sign.SignatureRef != wantRef {
				t.Fatalf("outcome %+v, want signed, attested, signature-ref %s", st.Sign, wantRef)
			}
			if got := report.StateOutputs(st, ""); got["signed"] != "true" || got["signature-ref"] != wantRef {
				t.Errorf("outputs %v", got)
			}
			if !strings.Contains(st.Sign.VerifyCommand, "cosign verify --key cosign.pub --insecure-ignore-tlog=true "+p.repo+"@"+p.digest) {
				t.Errorf("verify command %q", st.Sign.VerifyCommand)
			}
			assertCounts(t, env, p, 1, 1)
			sum := st.Sections[0].Markdown
			for _, w := range []string{strings.TrimSpace(string(k.public)), "cosign verify-attestation --type cyclonedx --key cosign.pub --insecure-ignore-tlog=true " + p.repo + "@" + p.digest, "sign is true"} {
				if !strings.Contains(sum, w) {
					t.Errorf("summary does not hold %q:\n%s", w, sum)
				}
			}
			if strings.Contains(sum, k.password) || strings.Contains(sum, "PRIVATE KEY") {
				t.Errorf("summary holds a secret:\n%s", sum)
			}
			if l := log.String(); !strings.Contains(l, "sign: verified with the cosign library") || strings.Contains(l, k.password) {
				t.Errorf("log:\n%s", l)
			}

			// A re-run (same key, same digest) keeps one of each.
			st2 := p.state(t)
			if err := NewStage(keyOptions(env, k)).Run(t.Context(), st2); err != nil {
				t.Fatalf("second sign: %v", err)
			}
			assertCounts(t, env, p, 1, 1)
			if !strings.Contains(st2.Sections[0].Markdown, "already there, unchanged") || !strings.Contains(st2.Sections[0].Markdown, "was already signed") {
				t.Errorf("the second summary does not say the signature was already there:\n%s", st2.Sections[0].Markdown)
			}

			image := p.repo + "@" + p.digest
			for _, major := range []string{"v2", "v3"} {
				t.Run("cosign "+major, func(t *testing.T) {
					bin := cosignCLI(t, major)
					verify := append([]string{"verify", "--key", pub, "--insecure-ignore-tlog=true"}, tc.cliFlags...)
					attest := append([]string{"verify-attestation", "--type", "cyclonedx", "--key", pub, "--insecure-ignore-tlog=true"}, tc.cliFlags...)
					for _, args := range [][]string{verify, attest} {
						args = append(args, image)
						out, err := runCLI(t, env, bin, args...)
						if err != nil {
							t.Errorf("cosign %s %s: %v\n%s", major, strings.Join(args, " "), err, out)
							continue
						}
						t.Logf("cosign %s %s: exit 0", major, strings.Join(args, " "))
					}
				})
			}
		})
	}
}

// assertCounts checks how many signatures and attestations the digest has.
func assertCounts(t *testing.T, env *testenv.Env, p pushed, sigs, atts int) {
	t.Helper()
	if got := layerCount(t, env, p.repo, digestTag(p.digest, "sig")); got != sigs {
		t.Errorf("%d signatures for %s, want %d", got, p.digest, sigs)
	}
	if got := layerCount(t, env, p.repo, digestTag(p.digest, "att")); got != atts {
		t.Errorf("%d attestations for %s, want %d", got, p.digest, atts)
	}
}

// TestWrongPassword: the image stays pushed, nothing is written, the error
// is one line naming the inputs, and the summary says what failed.
func TestWrongPassword(t *testing.T) {
	env := testenv.RequireRegistries(t)
	k := newTestKey(t, "correct horse battery staple")
	p := pushImage(t, env, env.AuthRegistry, "1.2.3", "latest")
	st := p.state(t)
	o := keyOptions(env, k)
	o.Password = "Tr0ub4dor&3"
	err := NewStage(o).Run(t.Context(), st)
	if err == nil {
		t.Fatal("signing with a wrong password succeeded")
	}
	if !errors.Is(err, ErrWrongPassword) {
		t.Errorf("error %v does not wrap ErrWrongPassword", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, InputKey) || !strings.Contains(msg, InputPassword) || strings.Contains(msg, o.Password) {
		t.Errorf("error %q: want one line naming %s and %s, without the password", msg, InputKey, InputPassword)
	}
	t.Logf("error: %v", err)
	if st.Sign == nil || st.Sign.Signed || !strings.Contains(st.Sign.Reason, "password") {
		t.Errorf("outcome %+v", st.Sign)
	}
	if len(st.Sections) != 1 || !strings.Contains(st.Sections[0].Markdown, "The image stays pushed at `"+p.digest+"`") {
		t.Errorf("summary %+v", st.Sections)
	}
	// The image is there, no signature, no attestation.
	for _, ref := range p.refs {
		if got := env.HeadDigest(t, ref); got != p.digest {
			t.Errorf("%s points at %q after the failure, want %s", ref, got, p.digest)
		}
	}
	assertCounts(t, env, p, 0, 0)
}

// TestSignTwoRepositories: the digest pushed to two repositories under
// several tags each gets one signature and one attestation per repository.
func TestSignTwoRepositories(t *testing.T) {
	env := testenv.RequireRegistries(t)
	k := newTestKey(t, "correct horse battery staple")
	a := pushImage(t, env, env.Registry, "1.2.3", "latest")
	b := copyImage(t, env, a, env.AuthRegistry, "1.2.3", "1.2", "latest")
	st := a.state(t)
	st.Push.Refs = append(st.Push.Refs, b.refs...)
	stage := NewStage(keyOptions(env, k))
	if err := stage.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, env, a, 1, 1)
	assertCounts(t, env, b, 1, 1)
	if f := stage.(pipeline.Facter).Fact(st); !strings.Contains(f, "signed (key, legacy) + SBOM attested") {
		t.Errorf("fact %q", f)
	}
}
