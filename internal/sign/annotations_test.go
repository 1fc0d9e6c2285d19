package sign

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

func TestParseAnnotations(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		want    []Annotation
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"pairs", []string{"jobid=42", " team = core ", "", "url=https://x.example/?a=b"}, []Annotation{{"jobid", "42"}, {"team", "core"}, {"url", "https://x.example/?a=b"}}, ""},
		{"a drop", []string{"run="}, []Annotation{{"run", ""}}, ""},
		{"no key", []string{"=x"}, nil, `input "sign-annotations": line 1 has no key= before its value`},
		{"no equals", []string{"jobid=1", "commit"}, nil, `line 2 has no key= before its value`},
		{"space in key", []string{"job id=1"}, nil, `line 1 has the key "job id", which contains a space or a quote`},
		{"twice", []string{"a=1", "b=2", "a=3"}, nil, `line 3 sets "a" again (first on line 1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAnnotations(tc.lines)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "accepted values: key=value") {
					t.Errorf("error %q does not say what is accepted", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d: %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAnnotationsMerge(t *testing.T) {
	base := Options{Commit: "aaaa", Repository: "octo/app", Ref: "refs/tags/v1.2.3", RunURL: "https://github.com/octo/app/actions/runs/7/attempts/2"}
	defaults := map[string]string{"commit": "bbbb", "repository": "octo/app", "ref": "refs/tags/v1.2.3", "run": base.RunURL}
	tests := []struct {
		name   string
		o      func(Options) Options
		commit string
		want   map[string]string
	}{
		{"defaults, the plan's revision wins", func(o Options) Options { return o }, "bbbb", defaults},
		{"github.sha without a plan", func(o Options) Options { return o }, "", map[string]string{"commit": "aaaa", "repository": "octo/app", "ref": "refs/tags/v1.2.3", "run": base.RunURL}},
		{"added, replaced, dropped", func(o Options) Options {
			o.Annotations = []Annotation{{"jobid", "9b78fab5"}, {"ref", "v1.2.3"}, {"run", ""}}
			return o
		}, "bbbb", map[string]string{"commit": "bbbb", "repository": "octo/app", "ref": "v1.2.3", "jobid": "9b78fab5"}},
		{"a local run", func(Options) Options { return Options{} }, "", nil},
		{"everything dropped", func(o Options) Options {
			o.Annotations = []Annotation{{"commit", ""}, {"repository", ""}, {"ref", ""}, {"run", ""}}
			return o
		}, "bbbb", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.o(base).annotations(tc.commit)
			if !maps.Equal(got, tc.want) {
				t.Errorf("annotations %v, want %v", got, tc.want)
			}
		})
	}
	if got := sameSigning(defaults); len(got) != 3 || got["run"] != nil || got["commit"] != "bbbb" {
		t.Errorf("sameSigning %v: want every annotation but run", got)
	}
}

func TestRunURL(t *testing.T) {
	tests := []struct{ server, repo, id, attempt, want string }{
		{"", "octo/app", "7", "2", "https://github.com/octo/app/actions/runs/7/attempts/2"},
		{"https://ghes.example.com/", "octo/app", "7", "", "https://ghes.example.com/octo/app/actions/runs/7"},
		{"https://github.com", "octo/app", "", "1", ""},
		{"https://github.com", "", "7", "1", ""},
	}
	for _, tc := range tests {
		if got := RunURL(tc.server, tc.repo, tc.id, tc.attempt); got != tc.want {
			t.Errorf("RunURL(%q, %q, %q, %q) = %q, want %q", tc.server, tc.repo, tc.id, tc.attempt, got, tc.want)
		}
	}
}

// TestSignatureAnnotations signs with the default annotations and one
// from sign-annotations, in both storage formats, and checks them the way
// consumers do: the cosign CLIs v2.6 and v3.0 with -a filters (a wrong
// value must fail), and the payload they print. It then signs again from a
// later run (only the run annotation differs: nothing new) and from a tag
// of the same digest (the ref differs: a second signature, and either ref
// verifies).
func TestSignatureAnnotations(t *testing.T) {
	env := testenv.RequireRegistries(t)
	k := newTestKey(t, "correct horse battery staple")
	pub := writeFile(t, "cosign.pub", k.public)
	empty := writeFile(t, "empty_trusted_root.json", []byte(emptyTrustedRoot))
	const commit = "07ab34bbeb04cf0e96e7ba7b65c5a7d7baeda151"
	for _, format := range []Format{FormatLegacy, FormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			p := pushImage(t, env, env.Registry, "main")
			o := keyOptions(env, k)
			o.Format = format
			o.Commit, o.Repository, o.Ref = "ffffffffffffffffffffffffffffffffffffffff", "octo-org/synapse", "refs/heads/main"
			o.RunURL = RunURL("https://github.com", o.Repository, "4242", "1")
			o.Annotations = []Annotation{{"jobid", "9b78fab5-d364-43b3-8fb0-3f0c82a795cd"}}
			sign := func(o Options) *pipeline.State {
				t.Helper()
				st := p.state(t)
				st.Plan = &pipeline.TagPlan{Revision: commit}
				if err := NewStage(o).Run(t.Context(), st); err != nil {
					t.Fatalf("sign: %v", err)
				}
				return st
			}
			st := sign(o)
			want := map[string]string{
				"commit": commit, "repository": "octo-org/synapse", "ref": "refs/heads/main",
				"run": "https://github.com/octo-org/synapse/actions/runs/4242/attempts/1", "jobid": "9b78fab5-d364-43b3-8fb0-3f0c82a795cd",
			}
			if !strings.Contains(st.Sign.VerifyCommand, " -a commit="+commit+" ") {
				t.Errorf("the verify command does not check the commit: %s", st.Sign.VerifyCommand)
			}
			if sum := st.Sections[0].Markdown; !strings.Contains(sum, "`jobid=9b78fab5-d364-43b3-8fb0-3f0c82a795cd`") || !strings.Contains(sum, "`ref=refs/heads/main`") {
				t.Errorf("the summary does not list the annotations:\n%s", sum)
			}

			flags := []string{"--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry"}
			if format == FormatBundle {
				flags = append(flags, "--trusted-root", empty)
			}
			image := p.repo + "@" + p.digest
			verify := func(t *testing.T, major string, wantOK bool, filters ...string) string {
				t.Helper()
				args := append([]string{"verify"}, flags...)
				for _, f := range filters {
					args = append(args, "-a", f)
				}
				args = append(args, image)
				out, err := runCLI(t, env, cosignCLI(t, major), args...)
				switch {
				case wantOK && err != nil:
					t.Errorf("cosign %s %s: %v\n%s", major, strings.Join(args, " "), err, lastLines(out, 6))
				case !wantOK && err == nil:
					t.Errorf("cosign %s %s passed, want a failure", major, strings.Join(args, " "))
				default:
					t.Logf("cosign %s %s: %v", major, strings.Join(args, " "), err)
				}
				return out
			}
			for _, major := range []string{"v2", "v3"} {
				if major == "v2" && format == FormatBundle {
					// cosign v2.6 does not read a bundle's annotations: any
					// -a passes (docs/sign.md says so; v3 checks them).
					t.Run("cosign v2 ignores -a on bundles", func(t *testing.T) { verify(t, major, true, "commit=0000000000000000000000000000000000000000") })
					continue
				}
				t.Run("cosign "+major, func(t *testing.T) {
					out := verify(t, major, true, "commit="+commit, "jobid=9b78fab5-d364-43b3-8fb0-3f0c82a795cd", "ref=refs/heads/main", "repository=octo-org/synapse")
					if got := printedAnnotations(t, out); !maps.Equal(got, want) {
						t.Errorf("cosign %s prints the annotations %v, want %v", major, got, want)
					}
					verify(t, major, false, "commit=0000000000000000000000000000000000000000")
					verify(t, major, false, "jobid=another")
				})
			}

			// A later run of the same commit: only the run differs. Nothing
			// is signed again; the summary names the earlier signature's
			// annotations.
			sigBefore := signatureState(t, env, p, format)
			later := o
			later.RunURL = RunURL("https://github.com", o.Repository, "4243", "1")
			log := &testenv.Log{}
			later.Log = log
			st2 := sign(later)
			if got := signatureState(t, env, p, format); got != sigBefore {
				t.Errorf("a later run changed the signatures: %s, then %s", sigBefore, got)
			}
			if sum := st2.Sections[0].Markdown; !strings.Contains(sum, "was already signed") || !strings.Contains(sum, "runs/4242/attempts/1") {
				t.Errorf("the later run's summary does not name the earlier signature:\n%s", sum)
			}

			// The same digest released by a tag: the ref differs, so it is
			// signed again, and each ref verifies.
			tag := o
			tag.Ref = "refs/tags/v2.1.3"
			sign(tag)
			if format == FormatLegacy {
				if n := layerCount(t, env, p.repo, digestTag(p.digest, "sig")); n != 2 {
					t.Errorf("after the tag's run the .sig holds %d signatures, want 2 (main's and the tag's)", n)
				}
			}
			for _, major := range []string{"v2", "v3"} {
				if major == "v2" && format == FormatBundle {
					continue
				}
				t.Run("after the tag, cosign "+major, func(t *testing.T) {
					verify(t, major, true, "commit="+commit, "ref=refs/tags/v2.1.3")
					verify(t, major, true, "commit="+commit, "ref=refs/heads/main")
					verify(t, major, false, "ref=refs/tags/v9")
				})
			}
		})
	}
}

// signatureState is what the registry holds as p's signatures: the .sig
// manifest (legacy), or the list of referrers (bundle).
func signatureState(t *testing.T, env *testenv.Env, p pushed, format Format) string {
	t.Helper()
	if format == FormatLegacy {
		return env.HeadDigest(t, p.repo+":"+digestTag(p.digest, "sig"))
	}
	d, err := name.NewDigest(p.repo + "@" + p.digest)
	if err != nil {
		t.Fatal(err)
	}
	got, err := referrers(d, env.RemoteOptions(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return strings.Join(got, ",")
}

// printedAnnotations reads the "optional" field of the payloads cosign
// verify prints as JSON on stdout.
func printedAnnotations(t *testing.T, out string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "[") {
			continue
		}
		var payloads []struct {
			Optional map[string]any `json:"optional"`
		}
		if err := json.Unmarshal([]byte(line), &payloads); err != nil || len(payloads) == 0 {
			t.Fatalf("cosign printed %q: %v", line, err)
		}
		got := map[string]string{}
		for k, v := range payloads[0].Optional {
			s, _ := v.(string)
			got[k] = s
		}
		return got
	}
	t.Fatalf("cosign printed no payload:\n%s", out)
	return nil
}
