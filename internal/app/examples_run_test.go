package app

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"gopkg.in/yaml.v3"

	"github.com/org/image-pipeline/internal/testenv"
	"github.com/org/image-pipeline/internal/testenv/ghapi"
)

// exampleStep reads the `with:` of the org/image-pipeline step of an
// example workflow.
func exampleStep(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	for _, j := range wf.Jobs {
		for _, st := range j.Steps {
			if strings.HasPrefix(st.Uses, "org/image-pipeline@") {
				return st.With
			}
		}
	}
	t.Fatalf("examples/%s has no org/image-pipeline step", file)
	return nil
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand does what the runner does to the inputs: it replaces each
// ${{ expression }} by its value; an expression the test does not know
// fails, so that every example stays runnable here.
func expand(t *testing.T, with map[string]string, values map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range with {
		out[k] = expression.ReplaceAllStringFunc(v, func(m string) string {
			e := expression.FindStringSubmatch(m)[1]
			val, ok := values[e]
			if !ok {
				t.Fatalf("input %s: the test knows no value for ${{ %s }}", k, e)
			}
			return val
		})
	}
	return out
}

// TestSeedWorkflowsAsOneStep (#18, done when): the one-step YAML of each
// real workflow of the seeds, as the examples show it, run by the binary
// the way the runner runs it — its `with:` expanded as the runner would,
// the image pointed at the local registry and the scan at the fixture DB —
// and checked in the registry.
func TestSeedWorkflowsAsOneStep(t *testing.T) {
	env := testenv.Require(t)
	sigEnv, _ := testenv.RequireSigstore(t)
	sig := sigEnv.Sigstore
	_, engines := testenv.RequireEngines(t)
	host := ""
	for _, en := range engines {
		if en.Name == "docker29-classic" {
			host = en.Host
		}
	}
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("seed-pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		name, file, fixture string
		matrix              map[string]string
		files               string
		wantTags            []string
		check               func(t *testing.T, r runnerRun, image string)
	}
	runs := []run{
		{name: "Synapse: a release tag, signed with commit and jobid", file: "synapse-signed-releases.yml", fixture: "push_tag", matrix: map[string]string{"app": "synapse"},
			wantTags: []string{"v1.2.3", "v1.x.x"}, check: func(t *testing.T, r runnerRun, image string) {
				opt := signaturePayloadOptional(t, env, image+"@"+r.outputs["digest"])
				if opt["commit"] != "3f786850e387550fdab836ed7e6dc881de23001b" || opt["jobid"] != "13650001002" {
					t.Errorf("the signature's annotations are %v, want the commit and jobid", opt)
				}
			}},
		{name: "Synapse: a branch build is dev_build, unsigned", file: "synapse-signed-releases.yml", fixture: "push_main", matrix: map[string]string{"app": "aha"},
			wantTags: []string{"dev_build"}, check: func(t *testing.T, r runnerRun, image string) {
				if r.outputs["signed"] != "false" {
					t.Errorf("a branch build was signed: %v", r.outputs)
				}
			}},
		{name: "synapse-docker-registry: the dev flavour", file: "build-arg-flavours.yml", fixture: "push_main", matrix: map[string]string{"stack": "dev"},
			files: "Dockerfile=" + flavourDockerfile, wantTags: []string{"dev", "main-dev", "sha-3f786850e387550fdab836ed7e6dc881de23001b-dev"}},
		// The login inputs as pasted; the registry is the plain one (the
		// binary cannot be given the TLS registry's test CA here).
		{name: "Synapse Docker Registry: a private registry with a token", file: "private-registry.yml", fixture: "push_main",
			wantTags: []string{"3f786850e387550fdab836ed7e6dc881de23001b", "main"}, check: func(t *testing.T, r runnerRun, image string) {
				if r.outputs["signed"] != "true" {
					t.Errorf("the main-branch build was not signed with the key: %v", r.outputs)
				}
			}},
		{name: "Teaching Vacancies: a pull request's review tag and its branch cache", file: "teaching-vacancies.yml", fixture: "pull_request",
			check: func(t *testing.T, r runnerRun, image string) {
				got := listTags(t, env, image)
				if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "review-pr-27-") }) ||
					!slices.Contains(got, "builder-feature-distroless") || !slices.Contains(got, "feature-distroless") {
					t.Errorf("the image's repository holds %v, want review-pr-27-…, builder-feature-distroless and feature-distroless", got)
				}
			}},
		{name: "Teaching Vacancies: main, with the full SHA", file: "teaching-vacancies.yml", fixture: "push_main",
			wantTags: []string{"3f786850e387550fdab836ed7e6dc881de23001b", "builder-main", "main"}},
		{name: "TRE: the Dockerfile's version, the SBOM, the dependency graph", file: "tre-dockerfile-version.yml", fixture: "push_main",
			files: "Dockerfile=" + treDockerfile, wantTags: []string{"2.4.1", "latest"}},
	}
	for _, rn := range runs {
		t.Run(rn.name, func(t *testing.T) {
			fixtureEnv := readEnvFile(t, filepath.Join(repoRoot(t), "testdata", "events", rn.fixture+".env"))
			values := map[string]string{
				"github.repository":                   fixtureEnv["GITHUB_REPOSITORY"],
				"github.run_id":                       fixtureEnv["GITHUB_RUN_ID"],
				"github.ref_type == 'tag'":            map[bool]string{true: "true", false: "false"}[fixtureEnv["GITHUB_REF_TYPE"] == "tag"],
				"github.event_name != 'pull_request'": map[bool]string{true: "true", false: "false"}[fixtureEnv["GITHUB_EVENT_NAME"] != "pull_request"],
				"secrets.COSIGN_KEY":                  string(keys.PrivateBytes),
				"secrets.COSIGN_PASSWORD":             "seed-pw",
				"vars.REGISTRY_USER":                  env.AuthUser,
				"secrets.REGISTRY_TOKEN":              env.AuthPassword,
			}
			for k, v := range rn.matrix {
				values["matrix."+k] = v
			}
			in := expand(t, exampleStep(t, rn.file), values)
			// What differs here: the registry, the base image and the DB.
			image := env.UniqueRepo(t, env.Registry, "seed")
			orig := in["image"]
			in["image"] = image
			if in["cache-image"] != "" && in["cache-image"] == orig {
				in["cache-image"] = image
			}
			base := e2eInputs(t, env, image)
			in["plan"], in["trivy-db-repository"], in["trivy-cache-dir"] = "false", base["trivy-db-repository"], base["trivy-cache-dir"]
			in["build-args"] = strings.TrimSpace(in["build-args"] + "\n" + base["build-args"])
			if in["cosign-key"] != "" {
				// Rekor is the local Sigstore's, not the public one.
				in["rekor-url"], in["sigstore-trusted-root"] = sig.RekorURL, sig.TrustedRoot
			}
			extra := map[string]string{"DOCKER_HOST": host}
			if rn.files != "" {
				extra["TEST_FILES"] = rn.files
			}
			var api *ghapi.Server
			if in["dependency-snapshot"] == "true" {
				api = ghapi.New(t, fixtureEnv["GITHUB_REPOSITORY"], "ghs_contractTestToken0123456789")
				extra["GITHUB_API_URL"] = api.URL
			}
			r := runAsRunner(t, rn.fixture, in, extra)
			if r.code != 0 || r.outputs["pushed"] != "true" {
				t.Fatalf("exit %d, outputs %v\n%s", r.code, r.outputs, r.stdout)
			}
			if rn.wantTags != nil {
				// The signatures' own tags (sha256-….sig/.att) aside.
				got := slices.DeleteFunc(listTags(t, env, image), func(s string) bool {
					return strings.HasPrefix(s, "sha256-") && (strings.HasSuffix(s, ".sig") || strings.HasSuffix(s, ".att"))
				})
				if !slices.Equal(got, rn.wantTags) {
					t.Errorf("the image's repository holds %v, want %v", got, rn.wantTags)
				}
			}
			if api != nil {
				if subs := api.Submissions(); len(subs) != 1 || subs[0].Invalid != "" {
					t.Errorf("dependency submissions: %+v", subs)
				}
			}
			if rn.check != nil {
				rn.check(t, r, image)
			}
		})
	}
}
