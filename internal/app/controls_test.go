package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// assertNoControlBytes fails when a control byte other than a line end
// reaches the text (a job log, a summary).
func assertNoControlBytes(t *testing.T, what, text string) {
	t.Helper()
	for i := 0; i < len(text); i++ {
		if c := text[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			t.Errorf("%s: control byte %#x at %d: %q", what, c, i, text[max(0, i-40):min(len(text), i+40)])
			return
		}
	}
}

// A Dockerfile's control bytes (NUL, ESC sequences that clear the screen,
// set the title or hide text) are shown escaped in lint annotations, in
// the summary and in the lint command's output.
func TestRunnerContractControlBytesFromTheDockerfile(t *testing.T) {
	df := "FROM docker.io/library/debian:12\nWORKDIR rel\x1b[8mhidden\x00\nMAINTAINER x\x1b]0;pwned\x07\n"
	r := runAsRunner(t, "push_main", map[string]string{"lint-failure-threshold": "error"}, map[string]string{"TEST_DOCKERFILE": df})
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1 (the lint gate)\n%s", r.code, r.stdout)
	}
	assertNoControlBytes(t, "log", r.stdout)
	assertNoControlBytes(t, "summary", r.summary)
	if !strings.Contains(r.stdout, `::error file=Dockerfile,line=2,`) || !strings.Contains(r.stdout, `rel\x1b[8mhidden\x00`) {
		t.Errorf("the annotation on line 2 does not show the escaped bytes:\n%s", r.stdout)
	}
	if !strings.Contains(r.summary, `\x1b`) {
		t.Errorf("the summary does not show the escaped bytes:\n%s", r.summary)
	}

	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	code := Main(t.Context(), []string{"lint", filepath.Join(dir, "Dockerfile")}, func(string) string { return "" }, &stdout, &stderr)
	if code != ExitFailed {
		t.Errorf("lint exit %d, want %d", code, ExitFailed)
	}
	assertNoControlBytes(t, "lint output", stdout.String())
	if !strings.Contains(stdout.String(), `\x1b[8m`) {
		t.Errorf("lint output does not show the escaped ESC:\n%s", stdout.String())
	}
}

// A failing RUN step that prints control bytes: the build's log lines and
// the error line quoting its output reach the job log escaped.
func TestEndToEndControlBytesFromTheBuild(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-controls")
	df := "ARG BASE\nFROM $BASE\nRUN printf 'before \\033[2J\\033]0;pwned\\007 \\000after \\033[1A\\n'; exit 3\n"
	r := runAsRunner(t, "push_main", e2eInputs(t, env, image), map[string]string{"DOCKER_HOST": env.DockerHost, "TEST_DOCKERFILE": df})
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1 (the build fails)\n%s", r.code, r.stdout)
	}
	assertNoControlBytes(t, "log", r.stdout)
	assertNoControlBytes(t, "summary", r.summary)
	if !strings.Contains(r.stdout, `before \x1b[2J\x1b]0;pwned\x07 \x00after`) {
		t.Errorf("the RUN step's output is not in the log, escaped:\n%s", r.stdout)
	}
	assertNoInjectedCommands(t, r.stdout)
}
