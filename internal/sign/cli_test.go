package sign

import (
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// emptyTrustedRoot is a trusted root with nothing in it: what the cosign
// CLIs need, offline, to read Sigstore bundles verified by key alone.
const emptyTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

// TestCLIsVerifyEveryMode signs in each storage format, with a key and
// keylessly (against the fake Sigstore), and runs the cosign CLIs v2.6 and
// v3.0 on the result with the flags a consumer would use offline. It is the
// evidence for the default storage format (docs/sign.md).
func TestCLIsVerifyEveryMode(t *testing.T) {
	env := testenv.RequireRegistries(t)
	k := newTestKey(t, "correct horse battery staple")
	pub := writeFile(t, "cosign.pub", k.public)
	empty := writeFile(t, "empty_trusted_root.json", []byte(emptyTrustedRoot))

	type mode struct {
		name    string
		keyless bool
		format  Format
	}
	modes := []mode{
		{"key legacy", false, FormatLegacy},
		{"key bundle", false, FormatBundle},
		{"keyless legacy", true, FormatLegacy},
		{"keyless bundle", true, FormatBundle},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			p := pushImage(t, env, env.Registry, "1.2.3")
			st := p.state(t)
			var o Options
			var flags, legacyFlags, legacyEnv []string
			if m.keyless {
				f := newFakeSigstore(t)
				o = f.options()
				identity := []string{"--certificate-identity", f.identity, "--certificate-oidc-issuer", f.issuer, "--insecure-ignore-sct=true"}
				flags = append([]string{"--trusted-root", f.TrustedRoot}, identity...)
				// cosign v2 reads a trusted root only for bundles: for the
				// legacy format it takes the CA and the Rekor key by env.
				legacyFlags, legacyEnv = identity, f.legacyTrustEnv()
			} else {
				o = keyOptions(env, k)
				flags = []string{"--key", pub, "--insecure-ignore-tlog=true"}
				if m.format == FormatBundle {
					flags = append(flags, "--trusted-root", empty)
				}
			}
			o.Format = m.format
			if err := NewStage(o).Run(t.Context(), st); err != nil {
				t.Fatalf("sign: %v", err)
			}
			flags = append(flags, "--allow-http-registry")
			image := p.repo + "@" + p.digest
			for _, major := range []string{"v2", "v3"} {
				t.Run("cosign "+major, func(t *testing.T) {
					bin := cosignCLI(t, major)
					for _, cmd := range [][]string{{"verify"}, {"verify-attestation", "--type", "cyclonedx"}} {
						f, e := flags, []string(nil)
						if major == "v2" && m.keyless && m.format == FormatLegacy && cmd[0] == "verify-attestation" {
							f, e = append(legacyFlags, "--allow-http-registry"), legacyEnv
						}
						args := append(append(cmd, f...), image)
						out, err := runCLIEnv(t, env, bin, e, args...)
						if err != nil {
							t.Errorf("cosign %s %s: %v\n%s", major, strings.Join(args, " "), err, lastLines(out, 6))
							continue
						}
						t.Logf("%scosign %s %s: exit 0", strings.Join(append(e, ""), " "), major, strings.Join(args, " "))
					}
					if m.keyless || m.format != FormatBundle {
						return
					}
					// Offline, cosign v2 cannot read a key-signed bundle without
					// a trusted root (it wants the public one from TUF); v3 can.
					args := []string{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", image}
					out, err := runCLI(t, env, bin, args...)
					switch {
					case major == "v2" && (err == nil || !strings.Contains(out, "trusted root is required when using new bundle format")):
						t.Errorf("cosign v2 %s without --trusted-root: %v, want the trusted-root error\n%s", strings.Join(args, " "), err, lastLines(out, 4))
					case major == "v3" && err != nil:
						t.Errorf("cosign v3 %s without --trusted-root: %v\n%s", strings.Join(args, " "), err, lastLines(out, 4))
					default:
						t.Logf("cosign %s %s: %v (as documented)", major, strings.Join(args, " "), err)
					}
				})
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
