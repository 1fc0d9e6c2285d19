package app

// The runner contract: the compiled binary run the way the GitHub runner
// runs a docker action (INPUT_* variables, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, GITHUB_EVENT_PATH with a real payload).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	flagParse()
	dir, err := os.MkdirTemp("", "image-pipeline-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "image-pipeline")
	build := exec.Command("go", "build", "-o", binary, "../..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build the binary for the runner-contract tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runnerRun is one invocation of the binary as the runner does it.
type runnerRun struct {
	workspace       string
	code            int
	stdout, stderr  string
	outputs         map[string]string
	outputFile      string
	summary         string
	reportJSONBytes []byte
}

// readEnvFile reads a fixture's KEY=VALUE runner environment.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

// runAsRunner runs the binary for an event fixture with the given inputs.
func runAsRunner(t *testing.T, fixture string, inputs, extraEnv map[string]string) runnerRun {
	t.Helper()
	return runAsRunnerWith(t, fixture, inputs, extraEnv, nil)
}

// runAsRunnerWith is runAsRunner with started called once the process
// runs (to signal it, as the runner does on cancel).
func runAsRunnerWith(t *testing.T, fixture string, inputs, extraEnv map[string]string, started func(*os.Process)) runnerRun {
	t.Helper()
	dir := t.TempDir()
	events := filepath.Join(repoRoot(t), "testdata", "events")
	env := readEnvFile(t, filepath.Join(events, fixture+".env"))
	env["GITHUB_EVENT_PATH"] = filepath.Join(events, fixture+".json")
	env["GITHUB_ACTIONS"] = "true"
	env["GITHUB_WORKSPACE"] = dir
	env["GITHUB_OUTPUT"] = filepath.Join(dir, "output")
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary")
	env["RUNNER_TEMP"] = dir
	env["HOME"] = dir
	// The system's temporary directory, to see what the run leaves in it.
	tmp := t.TempDir()
	env["TMPDIR"] = tmp
	env["PATH"] = os.Getenv("PATH")
	env["IMAGE_PIPELINE_NOW"] = "2026-03-03T12:00:00Z"
	copyDir(t, filepath.Join(repoRoot(t), "testdata", "demo"), dir)
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The runner passes every declared input, with its default when the
	// workflow does not set it (expressions already expanded).
	for _, in := range configInputs() {
		v := in.Default
		if in.Name == "github-token" {
			v = "ghs_contractTestToken0123456789"
		}
		env["INPUT_"+strings.ToUpper(in.Name)] = v
	}
	env["INPUT_REPORT-JSON"] = filepath.Join(dir, "report.json")
	// Without services, runs stop after the tag plan; the end-to-end tests
	// turn plan off and point the image at the local registry.
	env["INPUT_PLAN"] = "true"
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	cmd := exec.CommandContext(t.Context(), binary)
	cmd.Dir = dir
	for k, v := range env {
		if !strings.HasPrefix(k, "TEST_") { // the test's own settings, below
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if target, ok := extraEnv["TEST_REPORTS_SYMLINK"]; ok {
		// A repository that commits its reports directory as a symlink.
		if err := os.Symlink(target, filepath.Join(dir, "image-pipeline-reports")); err != nil {
			t.Fatal(err)
		}
	}
	if files, ok := extraEnv["TEST_FILES"]; ok {
		// name=content pairs, ;-separated: files the repository commits.
		for _, pair := range strings.Split(files, ";") {
			name, content, _ := strings.Cut(pair, "=")
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if links, ok := extraEnv["TEST_SYMLINKS"]; ok {
		// name=target pairs, ;-separated: symlinks the repository commits.
		for _, pair := range strings.Split(links, ";") {
			name, target, _ := strings.Cut(pair, "=")
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if copies, ok := extraEnv["TEST_COPY"]; ok {
		// src=dst pairs, ;-separated: directories of the project (src,
		// relative to its root) the repository commits at dst.
		for _, pair := range strings.Split(copies, ";") {
			src, dst, _ := strings.Cut(pair, "=")
			if err := os.MkdirAll(filepath.Join(dir, dst), 0o755); err != nil {
				t.Fatal(err)
			}
			copyDir(t, filepath.Join(repoRoot(t), src), filepath.Join(dir, dst))
		}
	}
	if df, ok := extraEnv["TEST_DOCKERFILE"]; ok {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The engine's build cache is not emptied while the binary builds.
	defer testenv.LockEngine(t, env["DOCKER_HOST"], false)()
	err := cmd.Start()
	if err == nil {
		if started != nil {
			started(cmd.Process)
		}
		err = cmd.Wait()
	}
	r := runnerRun{workspace: dir, stdout: stdout.String(), stderr: stderr.String(), outputFile: env["GITHUB_OUTPUT"]}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the run left %s in TMPDIR", strings.Join(names, ", "))
	}
	out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	r.outputs = parseOutputFile(t, out)
	sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	r.summary = string(sum)
	r.reportJSONBytes, _ = os.ReadFile(env["INPUT_REPORT-JSON"])
	return r
}

// parseOutputFile parses GITHUB_OUTPUT the way the runner does: name=value
// lines or name<<DELIM heredocs.
func parseOutputFile(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				t.Fatalf("GITHUB_OUTPUT: heredoc for %s is not closed by %q", name, delim)
			}
			if _, dup := out[name]; dup {
				t.Errorf("GITHUB_OUTPUT: output %s written twice", name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
			continue
		}
		if line != "" {
			t.Fatalf("GITHUB_OUTPUT: unparsable line %q", line)
		}
	}
	return out
}

// logLines are the lines of a log that start with prefix.
func logLines(log, prefix string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

// planCacheRefs reads cache_from and cache_to from the json output.
func planCacheRefs(t *testing.T, r runnerRun) (from, to []string) {
	t.Helper()
	var plan struct {
		CacheFrom []string `json:"cache_from"`
		CacheTo   []string `json:"cache_to"`
	}
	if err := json.Unmarshal([]byte(r.outputs["json"]), &plan); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.outputs["json"])
	}
	return plan.CacheFrom, plan.CacheTo
}

// ourCommands are the workflow commands the binary itself may emit.
var ourCommands = regexp.MustCompile(`^::(group::|endgroup::|add-mask::|stop-commands::|debug::|notice|warning|error|image-pipeline-[0-9a-f]+::$)`)

// assertNoInjectedCommands fails when a log line could be a workflow
// command smuggled in by untrusted text.
func assertNoInjectedCommands(t *testing.T, log string, forbidden ...string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "::") && !ourCommands.MatchString(line) {
			t.Errorf("log line looks like a workflow command: %q", line)
		}
		for _, f := range forbidden {
			if strings.HasPrefix(line, f) {
				t.Errorf("untrusted text became a workflow command: %q", line)
			}
		}
	}
}

type jsonReportDoc struct {
	Stages []struct {
		Name       string `json:"name"`
		Status     string `json:"status"`
		SkipReason string `json:"skip_reason"`
	} `json:"stages"`
	Outputs map[string]string `json:"outputs"`
}

func TestRunnerContract(t *testing.T) {
	const img = "ghcr.io/octo-org/hello-image:"
	tests := []struct {
		fixture     string
		wantSummary []string
		wantTags    []string
	}{
		{"push_main", []string{"image-pipeline succeeded", "push on branch main"},
			[]string{img + "main", img + "3f786850e387550fdab836ed7e6dc881de23001b"}},
		{"push_tag", []string{"tag v1.2.3"}, []string{img + "1.2.3", img + "1.2", img + "1", img + "latest"}},
		{"pull_request", []string{"pull\\_request #27 from feature/distroless into main"},
			[]string{img + "review-pr-27-e83c5163316f89bfbde7d9ab23ca2e25604af290-20260303120000", img + "pr-27"}},
		{"pull_request_fork", []string{"comes from the fork octo-contributor/hello-image: nothing is pushed or signed"}, nil},
		{"pull_request_target", []string{"pull\\_request\\_target #31"}, nil},
		{"release", []string{"release of tag v1.2.3"}, []string{img + "1.2.3", img + "1.2", img + "1", img + "latest"}},
		{"workflow_dispatch", []string{"workflow\\_dispatch on branch main"}, nil},
		{"schedule", []string{"schedule on branch main"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			var inputs map[string]string
			if tc.fixture == "pull_request_target" {
				// Its checkout is not the base branch's (TestPullRequestTargetRefusesTheForksCode).
				inputs = map[string]string{"allow-untrusted-build": "true"}
			}
			r := runAsRunner(t, tc.fixture, inputs, nil)
			if r.code != 0 {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if tc.wantTags != nil && r.outputs["tags"] != strings.Join(tc.wantTags, "\n") {
				t.Errorf("output tags:\n%s\nwant:\n%s", r.outputs["tags"], strings.Join(tc.wantTags, "\n"))
			}
			if !json.Valid([]byte(r.outputs["json"])) {
				t.Errorf("output json is not JSON: %q", r.outputs["json"])
			}
			if r.outputs["result"] != "success" {
				t.Errorf("output result = %q, want success (outputs %v)", r.outputs["result"], r.outputs)
			}
			for _, want := range tc.wantSummary {
				if !strings.Contains(r.summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, r.summary)
				}
			}
			var doc jsonReportDoc
			if err := json.Unmarshal(r.reportJSONBytes, &doc); err != nil {
				t.Fatalf("report-json: %v\n%s", err, r.reportJSONBytes)
			}
			if fmt.Sprint(doc.Outputs) != fmt.Sprint(r.outputs) {
				t.Errorf("report-json outputs %v differ from GITHUB_OUTPUT %v", doc.Outputs, r.outputs)
			}
			if !strings.Contains(r.stdout, "::add-mask::ghs_contractTestToken0123456789") {
				t.Errorf("the token was not masked before use")
			}
			if strings.Count(r.stdout+r.stderr+r.summary+string(r.reportJSONBytes), "ghs_contractTestToken0123456789") != 1 {
				t.Errorf("the token appears somewhere other than its add-mask command")
			}
			assertNoInjectedCommands(t, r.stdout)
		})
	}
}

func TestRunnerContractBadInput(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"push": "yes please"}, nil)
	if r.code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
	}
	var pushLines []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "push") {
			pushLines = append(pushLines, line)
		}
	}
	want := `::error::input "push": "yes please" is not accepted; accepted values: auto, true, false`
	if len(pushLines) != 1 || pushLines[0] != want {
		t.Errorf("want exactly one line naming push:\n%s\ngot:\n%s", want, strings.Join(pushLines, "\n"))
	}
	if strings.Contains(r.stdout, "::group::") {
		t.Errorf("a stage ran despite the bad configuration:\n%s", r.stdout)
	}
	// Later steps and the run's page still learn that it failed, and why.
	if len(r.outputs) != 1 || r.outputs["result"] != "failure" {
		t.Errorf("outputs %v, want only result=failure", r.outputs)
	}
	if !strings.Contains(r.summary, "configuration is invalid") || !strings.Contains(r.summary, `input "push": "yes please" is not accepted`) {
		t.Errorf("the summary does not list the bad input:\n%s", r.summary)
	}
	if r.reportJSONBytes != nil {
		t.Errorf("a JSON report was written for a run that never started")
	}
}

func TestRunnerContractEveryBadInputIsOneError(t *testing.T) {
	// Parsed by the configuration (push, no-cache, fail-on, trivy-db-max-age,
	// fulcio-url) and checked by the stages' options against the file
	// system (file, cosign-key) or each other (push-timeout is fine,
	// registry-username without its password is not): every one is
	// reported once, in one go, before anything runs.
	r := runAsRunner(t, "push_main", map[string]string{
		"push": "yes please", "no-cache": "maybe", "fail-on": "severe", "trivy-db-max-age": "a week", "fulcio-url": "fulcio", "provenance": "full",
		"file": "nope/Dockerfile", "cosign-key": "awskms://alias/x", "registry-username": "me",
	}, nil)
	if r.code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "::group::") {
		t.Errorf("a stage ran despite the bad configuration:\n%s", r.stdout)
	}
	for _, input := range []string{"push", "no-cache", "fail-on", "trivy-db-max-age", "fulcio-url", "provenance", "file", "cosign-key", "registry-password"} {
		n := strings.Count(r.stdout, "::error::input \""+input+"\"")
		if n != 1 {
			t.Errorf("%d ::error:: lines name %s, want 1:\n%s", n, input, r.stdout)
		}
		if !strings.Contains(r.summary, "input \""+input+"\"") {
			t.Errorf("the summary does not name %s:\n%s", input, r.summary)
		}
	}
	if r.outputs["result"] != "failure" {
		t.Errorf("result %q, want failure", r.outputs["result"])
	}
}

func TestRunnerContractNoSummaryWhenTurnedOff(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"push": "yes please", "summary": "false"}, nil)
	if r.code != 2 || r.summary != "" || r.outputs["result"] != "failure" {
		t.Errorf("exit %d, summary %q, outputs %v; want 2, no summary, result=failure", r.code, r.summary, r.outputs)
	}
}

func TestRunnerContractMissingWorkspace(t *testing.T) {
	r := runAsRunner(t, "push_main", nil, map[string]string{"GITHUB_WORKSPACE": "/nonexistent/workspace"})
	if r.code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "::error::the workspace /nonexistent/workspace (GITHUB_WORKSPACE) is not a directory: check out the repository (actions/checkout)") {
		t.Errorf("no error about the workspace:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, `input "context"`) || strings.Contains(r.stdout, `input "file"`) {
		t.Errorf("a missing workspace is blamed on an input:\n%s", r.stdout)
	}
}

func TestRunnerContractImagesIsImage(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"images": "registry.example.com/team/app"}, nil)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.outputs["tags"], "registry.example.com/team/app:main") || strings.Contains(r.outputs["tags"], "ghcr.io") {
		t.Errorf("images was not used as image: tags %q", r.outputs["tags"])
	}
	r = runAsRunner(t, "push_main", map[string]string{"images": "registry.example.com/team/app", "image": "ghcr.io/a/b"}, nil)
	if r.code != 2 || !strings.Contains(r.stdout, `::error::input "images" and "image" are both set`) {
		t.Errorf("both image and images: exit %d\n%s", r.code, r.stdout)
	}
}

func TestRunnerContractUndeclaredInputs(t *testing.T) {
	// The runner passes every with: key, declared or not, and only warns.
	r := runAsRunner(t, "push_main", nil, map[string]string{"INPUT_TAG": "type=sha", "INPUT_BUILD-ARG": "A=1"})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	for _, want := range []string{
		`::warning::input "tag" is not an input of image-pipeline and is ignored; did you mean "tags"?`,
		`::warning::input "build-arg" is not an input of image-pipeline and is ignored; did you mean "build-args"?`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing warning %s:\n%s", want, r.stdout)
		}
	}
	// An image under another name never sends the image to the default.
	for _, name := range []string{"IMAGE-NAME", "IMAGE_NAME", "REPOSITORY"} {
		t.Run(name, func(t *testing.T) {
			r := runAsRunner(t, "push_main", nil, map[string]string{"INPUT_" + name: "registry.example.com/team/app"})
			if r.code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
			}
			if !strings.Contains(r.stdout, `::error::input "`+strings.ToLower(name)+`" is not an input of image-pipeline (did you mean`) {
				t.Errorf("no error naming the input:\n%s", r.stdout)
			}
			if strings.Contains(r.outputs["tags"], "ghcr.io") {
				t.Errorf("tags computed for the default image: %q", r.outputs["tags"])
			}
		})
	}
}

func TestRunnerContractUntrustedBranchIsEscaped(t *testing.T) {
	r := runAsRunner(t, "push_main", nil, map[string]string{
		"GITHUB_REF":      "refs/heads/feature/::error::x",
		"GITHUB_REF_NAME": "feature/::error::x",
	})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "feature/::error::x") && !strings.Contains(r.stdout, "feature/%3A%3Aerror%3A%3Ax") {
		t.Fatalf("the branch name is not in the log at all:\n%s", r.stdout)
	}
	assertNoInjectedCommands(t, r.stdout, "::error::x")

	r = runAsRunner(t, "push_untrusted", nil, nil)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	assertNoInjectedCommands(t, r.stdout, "::error", "##[error]")
}

// plan works from the environment alone: no Docker, no registry.
func TestPlanCommandFromEnvAlone(t *testing.T) {
	events := filepath.Join(repoRoot(t), "testdata", "events")
	env := readEnvFile(t, filepath.Join(events, "release.env"))
	env["GITHUB_EVENT_PATH"] = filepath.Join(events, "release.json")
	env["IMAGE_PIPELINE_NOW"] = "2026-03-03T12:00:00Z"
	env["INPUT_IMAGE"] = "ghcr.io/Octo-Org/Hello-Image\nregistry.example.com/octo/hello"
	env["DOCKER_HOST"] = "unix:///nonexistent.sock"
	cmd := exec.CommandContext(t.Context(), binary, "plan", "--format", "json")
	for k, v := range env {
		if !strings.HasPrefix(k, "TEST_") { // the test's own settings, below
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr.String())
	}
	var plan struct {
		Version string   `json:"version"`
		Tags    []string `json:"tags"`
		// metadata-action's shape: labels an object, annotations with
		// their level.
		Labels      map[string]string `json:"labels"`
		Annotations []string          `json:"annotations"`
		CacheFrom   []string          `json:"cache_from"`
		CacheTo     []string          `json:"cache_to"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("plan output is not JSON: %v\n%s", err, out)
	}
	if plan.Version != "1.2.3" || len(plan.Tags) != 8 || plan.Tags[0] != "ghcr.io/octo-org/hello-image:1.2.3" || plan.Tags[7] != "registry.example.com/octo/hello:latest" {
		t.Errorf("plan: %+v", plan)
	}
	if !slices.Contains(plan.Annotations, "manifest:org.opencontainers.image.source=https://github.com/octo-org/hello-image") {
		t.Errorf("annotations lack the source annotation at manifest level: %v", plan.Annotations)
	}
	if plan.Labels["org.opencontainers.image.source"] != "https://github.com/octo-org/hello-image" {
		t.Errorf("labels lack the source label: %v", plan.Labels)
	}
	if plan.CacheFrom == nil || plan.CacheTo == nil {
		t.Errorf("cache_from/cache_to must be lists, even when empty: %s", out)
	}
}

func TestRunnerContractBadTagInputs(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{
		"tags":              "type=semver,pattern={{version}}\ntype=bogus",
		"flavor":            "latest=sometimes",
		"push-timeout":      "soon",
		"registry-username": "someone",
	}, nil)
	if r.code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
	}
	errs := logLines(r.stdout, "::error::")
	want := []string{"tags", "flavor", "push-timeout", "registry-password"}
	if len(errs) != len(want)+1 {
		t.Errorf("want one line per bad input and a closing line; got:\n%s", strings.Join(errs, "\n"))
	}
	for i, name := range want {
		if i < len(errs) && !strings.Contains(errs[i], name) {
			t.Errorf("line %d should name %s: %s", i, name, errs[i])
		}
	}
	if !strings.Contains(r.stdout, "semver") {
		t.Errorf("the tags error does not list the accepted rule types")
	}
	if len(r.outputs) != 1 || r.outputs["result"] != "failure" {
		t.Errorf("outputs %v, want only result=failure", r.outputs)
	}
}

// copyDir copies the files of src (one level) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A lint gate fails the run only after every report is written, and each
// finding is an annotation on the Dockerfile's line.
func TestRunnerContractLintGate(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"lint-failure-threshold": "warning"}, map[string]string{
		"TEST_DOCKERFILE": "FROM docker.io/library/debian:12\nWORKDIR relative/dir\nRUN cd /tmp && echo hi\n",
	})
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", r.code, r.stdout)
	}
	for _, want := range []string{
		"::error file=Dockerfile,line=2,",
		"::warning file=Dockerfile,line=3,",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("log lacks annotation %q:\n%s", want, r.stdout)
		}
	}
	if r.outputs["lint-errors"] != "1" || r.outputs["result"] != "failure" || r.outputs["lint-sarif"] != "image-pipeline-reports/lint.sarif" {
		t.Errorf("outputs %v", r.outputs)
	}
	if _, err := os.Stat(filepath.Join(r.workspace, r.outputs["lint-sarif"])); err != nil {
		t.Errorf("SARIF file not written: %v", err)
	}
	if !strings.Contains(r.summary, "❌ **lint gate**: findings at or above warning") || !strings.Contains(r.summary, "DL3000") {
		t.Errorf("summary lacks the closed gate or the finding:\n%s", r.summary)
	}
	if !strings.Contains(r.stdout, "::error::lint gate failed") {
		t.Errorf("no final error line for the closed gate:\n%s", r.stdout)
	}
}

// A committed `image-pipeline-reports -> /somewhere` symlink: the lint
// SARIF report is not written through it, and nothing appears outside the
// workspace.
func TestRunnerContractReportsDoNotFollowSymlinksOut(t *testing.T) {
	outside := t.TempDir()
	r := runAsRunner(t, "push_main", nil, map[string]string{"TEST_REPORTS_SYMLINK": outside})
	if r.code == 0 {
		t.Fatalf("exit 0 although the reports directory leaves the workspace\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "leaves the workspace") {
		t.Errorf("the error does not say the reports directory leaves the workspace:\n%s", r.stdout)
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("files were written outside the workspace: %v", entries)
	}
}
