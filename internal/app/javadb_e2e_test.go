package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// jarDockerfile ships the fixture JAR files of internal/scan/testdata/jars:
// one that carries its pom.properties, one the Java DB knows by SHA-1, one
// it knows by artifact id.
const jarDockerfile = `FROM scratch
COPY lib/ /app/lib/
`

var fixtureJavaDBOnce struct {
	sync.Once
	ref string
	err error
}

// fixtureJavaDB pushes the fixture Java DB to the plain test registry once
// per test binary, with the project's push-fixture-db (the Java DB is an
// SQLite file: building it here would link SQLite into the app's tests).
func fixtureJavaDB(t *testing.T, env *testenv.Env) string {
	t.Helper()
	fixtureJavaDBOnce.Do(func() {
		ref := env.Registry + "/testenv/e2e-trivy-java-db:1"
		cmd := exec.CommandContext(t.Context(), "go", "run", "./internal/scan/fixturedb/cmd/push-fixture-db",
			"-jars", "internal/scan/testdata/jars", "-java-ref", ref)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			fixtureJavaDBOnce.err = err
			t.Logf("%s", out)
			return
		}
		fixtureJavaDBOnce.ref = ref
	})
	if fixtureJavaDBOnce.err != nil {
		t.Fatalf("fixture Java DB: %v", fixtureJavaDBOnce.err)
	}
	return fixtureJavaDBOnce.ref
}

// TestEndToEndJavaArchives (#18.7): an image of JAR files, run as the
// runner runs the action. With the Java DB (trivy-java-db-repository) the
// JARs' advisories are found — a critical one closes the gate, nothing is
// pushed — and the report, the SBOM and the summary show them; with none
// they are not analysed, the summary says so, and the image is pushed.
func TestEndToEndJavaArchives(t *testing.T) {
	env := testenv.Require(t)
	javaDB := fixtureJavaDB(t, env)
	files := map[string]string{"DOCKER_HOST": env.DockerHost, "TEST_DOCKERFILE": jarDockerfile, "TEST_COPY": "internal/scan/testdata/jars=lib"}

	t.Run("with the Java DB", func(t *testing.T) {
		image := env.UniqueRepo(t, env.Registry, "e2e-jars")
		in := e2eInputs(t, env, image)
		in["trivy-java-db-repository"] = "127.0.0.1:1/unreachable/trivy-java-db:1\n" + javaDB
		r := runAsRunner(t, "push_main", in, files)
		if r.code == 0 {
			t.Fatalf("exit 0, want the critical JAR finding to close the gate\n%s", r.stdout)
		}
		if r.outputs["pushed"] == "true" || r.outputs["scan-passed"] != "false" {
			t.Errorf("outputs %v: want scan-passed false and nothing pushed", r.outputs)
		}
		if d := env.HeadDigest(t, image+":main"); d != "" {
			t.Errorf("%s:main pushed (%s) although the gate closed", image, d)
		}
		report, err := os.ReadFile(filepath.Join(r.workspace, "image-pipeline-reports", "scan.json"))
		if err != nil {
			t.Fatal(err)
		}
		sbom, err := os.ReadFile(filepath.Join(r.workspace, r.outputs["sbom-path"]))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"CVE-2099-1001"`, `"CVE-2099-1002"`, `"CVE-2099-1003"`, `"PkgName": "com.example:widgets"`, `"PkgPath": "app/lib/widgets.jar"`} {
			if !strings.Contains(string(report), want) {
				t.Errorf("scan.json lacks %s", want)
			}
		}
		for _, want := range []string{"pkg:maven/org.example/greeter@1.2.3", "pkg:maven/com.example/widgets@2.0.0", "pkg:maven/io.example/gadget@1.0.0"} {
			if !strings.Contains(string(sbom), want) {
				t.Errorf("the SBOM lacks %s", want)
			}
		}
		for _, want := range []string{"CVE-2099-1002", "com.example:widgets", "Java archives looked up in the Java DB of "} {
			if !strings.Contains(r.summary, want) {
				t.Errorf("the summary lacks %q:\n%s", want, r.summary)
			}
		}
		for _, want := range []string{"scan: Java DB not available from 127.0.0.1:1/unreachable/trivy-java-db:1", "scan: downloading the Java DB from " + javaDB} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("the log lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("none", func(t *testing.T) {
		image := env.UniqueRepo(t, env.Registry, "e2e-jars-off")
		in := e2eInputs(t, env, image)
		in["trivy-java-db-repository"] = "none"
		r := runAsRunner(t, "push_main", in, files)
		if r.code != 0 || r.outputs["pushed"] != "true" || r.outputs["scan-passed"] != "true" {
			t.Fatalf("exit %d, outputs %v: want the image pushed\n%s", r.code, r.outputs, r.stdout)
		}
		if got := env.HeadDigest(t, image+":main"); got != r.outputs["digest"] {
			t.Errorf("%s:main is %q, want %s", image, got, r.outputs["digest"])
		}
		if !strings.Contains(r.summary, "are not analysed: trivy-java-db-repository is none") || strings.Contains(r.summary, "CVE-2099-100") {
			t.Errorf("the summary should say the JARs were not analysed and list none of their advisories:\n%s", r.summary)
		}
		if strings.Contains(r.stdout, "Java DB") {
			t.Errorf("the Java DB was asked for:\n%s", r.stdout)
		}
	})

	t.Run("bad value", func(t *testing.T) {
		in := e2eInputs(t, env, env.UniqueRepo(t, env.Registry, "e2e-jars-bad"))
		in["trivy-java-db-repository"] = "Not A Ref"
		r := runAsRunner(t, "push_main", in, files)
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, `input "trivy-java-db-repository": "Not A Ref" is not an OCI reference`) {
			t.Errorf("exit %d: want the input named\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}
