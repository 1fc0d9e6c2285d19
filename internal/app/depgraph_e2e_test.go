package app

import (
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
	"github.com/org/image-pipeline/internal/testenv/ghapi"
)

// vulnerableDockerfile ships minimist 1.2.8, a LOW finding in the fixture
// DB, as node_modules.
const vulnerableDockerfile = `ARG BASE=127.0.0.1:5000/testenv/base:latest
FROM ${BASE}
COPY vendor/ /app/node_modules/
`

const minimistPackageJSON = `{"name": "minimist", "version": "1.2.8", "license": "MIT"}`

// TestEndToEndDependencySnapshot (#18.4): dependency-snapshot posts the
// scan's packages to the dependency graph — also when the scan gate fails,
// which trivy-action does not (aquasecurity/trivy-action#232) — in a body
// that GitHub's published schema accepts, with a correlator naming the
// image. Without contents: write GitHub answers 403: a warning naming the
// permission, and the run goes on to push.
func TestEndToEndDependencySnapshot(t *testing.T) {
	env := testenv.Require(t)
	const token = "ghs_contractTestToken0123456789" // runAsRunner's github-token
	files := "Dockerfile=" + vulnerableDockerfile + ";vendor/minimist/package.json=" + minimistPackageJSON

	t.Run("submitted although the gate fails", func(t *testing.T) {
		api := ghapi.New(t, "octo-org/hello-image", token)
		image := env.UniqueRepo(t, env.Registry, "e2e-depgraph")
		in := e2eInputs(t, env, image)
		in["dependency-snapshot"] = "true"
		in["fail-on"] = "low"
		r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": env.DockerHost, "GITHUB_API_URL": api.URL, "TEST_FILES": files})
		if r.code == 0 {
			t.Fatalf("exit 0, want the scan gate to fail the run\n%s", r.stdout)
		}
		if r.outputs["pushed"] == "true" || r.outputs["scan-passed"] != "false" {
			t.Errorf("outputs %v: want scan-passed false and nothing pushed", r.outputs)
		}
		subs := api.Submissions()
		if len(subs) != 1 {
			t.Fatalf("%d submissions, want 1\n%s", len(subs), r.stdout)
		}
		sub := subs[0]
		if sub.Invalid != "" || sub.Token != token {
			t.Fatalf("the submission is not what GitHub takes: %s", sub.Invalid)
		}
		body := string(sub.Body)
		for _, want := range []string{`"package_url":"pkg:npm/minimist@1.2.8"`, `"correlator":"image_image_` + image + `"`, `"ref":"refs/heads/main"`, `"source_location":"Dockerfile"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the snapshot lacks %s:\n%s", want, body)
			}
		}
		if !strings.Contains(r.summary, "although the scan gate closed") || !strings.Contains(r.summary, "| dependencies | ✅ ok |") {
			t.Errorf("the summary does not report the submission:\n%s", r.summary)
		}
		if strings.Contains(strings.ReplaceAll(r.stdout, "::add-mask::"+token, ""), token) {
			t.Error("the token reached the log")
		}
	})

	t.Run("refused without contents: write", func(t *testing.T) {
		api := ghapi.New(t, "octo-org/hello-image", token)
		api.SetMode(ghapi.Forbid)
		image := env.UniqueRepo(t, env.Registry, "e2e-depgraph-403")
		in := e2eInputs(t, env, image)
		in["dependency-snapshot"] = "true"
		in["fail-on"] = "none"
		r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": env.DockerHost, "GITHUB_API_URL": api.URL, "TEST_FILES": files})
		if r.code != 0 || r.outputs["pushed"] != "true" {
			t.Fatalf("exit %d, outputs %v: a refusal must not stop the run\n%s", r.code, r.outputs, r.stdout)
		}
		if n := len(api.Submissions()); n != 1 {
			t.Errorf("%d submissions, want 1", n)
		}
		if !strings.Contains(r.stdout, "::warning") || !strings.Contains(r.stdout, "permissions: contents: write") {
			t.Errorf("no warning naming the permission:\n%s", r.stdout)
		}
		if !strings.Contains(r.summary, "**not** submitted") {
			t.Errorf("the summary does not say it was not submitted:\n%s", r.summary)
		}
	})
}
