package actsuite

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/org/image-pipeline/internal/testenv"
)

// outputs are the out.NAME=value lines the consume job printed.
func (r actRun) outputs() map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(r.log, "\n") {
		i := strings.Index(line, "out.")
		if i < 0 || strings.Contains(line, "echo ") {
			continue
		}
		k, v, ok := strings.Cut(line[i+len("out."):], "=")
		if ok {
			out[k] = append(out[k], strings.TrimSpace(v))
		}
	}
	return out
}

func (r actRun) output(name string) string {
	if v := r.outputs()[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// assertNoSecret fails when a secret's value reached the job log (act does
// not mask here, so only the action's own masking stands in the way), the
// summary or an output.
func assertNoSecret(t *testing.T, r actRun, secrets ...string) {
	t.Helper()
	all := r.log
	for _, s := range r.summary {
		all += s
	}
	for _, s := range secrets {
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 8 && strings.Contains(all, line) {
				t.Errorf("a secret (%d chars, starting %.4q) is in the job log or the summary", len(line), line)
			}
		}
	}
}

// assertTagsAt checks the registry's own state: every tag resolves to digest.
func assertTagsAt(t *testing.T, s *suite, tags []string, digest string) {
	t.Helper()
	if len(tags) == 0 || digest == "" {
		t.Fatalf("no tags (%q) or no digest (%q)", tags, digest)
	}
	for _, tag := range tags {
		if got := s.env.HeadDigest(t, tag); got != digest {
			t.Errorf("%s points at %q in the registry, want %s", tag, got, digest)
		}
	}
}

// signingSecrets are the repository secrets of a release workflow: a
// registry token and a cosign key pair with its password.
func signingSecrets(t *testing.T) map[string]string {
	t.Helper()
	const password = "cosign-pw-act-suite-0123"
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"REGISTRY_TOKEN":  "registry-token-0123456789",
		"COSIGN_KEY":      string(keys.PrivateBytes),
		"COSIGN_PASSWORD": password,
	}
}

func secretValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func pushPayload(t *testing.T, r *repo, fixture, ref string, c commit) string {
	t.Helper()
	return payload(t, r, fixture, func(p map[string]any) {
		// A repository without a description: the generated label must
		// not blank the Dockerfile's own.
		set(p, nil, "repository", "description")
		p["ref"], p["after"] = ref, c.sha
		set(p, c.sha, "head_commit", "id")
		set(p, c.time.Format("2006-01-02T15:04:05Z07:00"), "head_commit", "timestamp")
	})
}

func TestActPushToDefaultBranch(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "image.yml")
	head := r.commits[0]
	image := s.env.UniqueRepo(t, s.env.Registry, "act-push")
	secrets := signingSecrets(t)
	run := s.runAct(t, r, "push", pushPayload(t, r, "push_main", "refs/heads/main", head), image, secrets)
	if run.code != 0 {
		t.Fatalf("act exit %d\n%s", run.code, run.log)
	}
	digest := run.output("digest")
	if run.output("result") != "success" || run.output("pushed") != "true" || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("outputs %v\n%s", run.outputs(), run.log)
	}
	tags := run.outputs()["tag"]
	want := []string{image + ":main", image + ":" + head.sha}
	if strings.Join(tags, " ") != strings.Join(want, " ") {
		t.Errorf("tags %q, want %q", tags, want)
	}
	assertTagsAt(t, s, tags, digest)
	if run.output("image-ref") != image+"@"+digest {
		t.Errorf("image-ref %q", run.output("image-ref"))
	}
	// The default branch is a release: signed with the key from secrets.
	if run.output("signed") != "true" || s.env.HeadDigest(t, image+":sha256-"+strings.TrimPrefix(digest, "sha256:")+".sig") == "" {
		t.Errorf("not signed: %v", run.outputs())
	}
	if run.output("sbom-format") != "CycloneDX" || run.output("sbom-path") != "image-pipeline-reports/sbom.cdx.json" {
		t.Errorf("the SBOM is not in the workspace at sbom-path: %v", run.outputs())
	}
	sum := run.summary["image"]
	for _, w := range []string{"image-pipeline succeeded", "| push | ✅ ok |", "| sign | ✅ ok |", digest, "cosign verify --key"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
	// The image's created label is the commit's time, and the Dockerfile's
	// own description label is not blanked by an empty generated one.
	labels := imageLabels(t, s, image+"@"+digest)
	if labels["org.opencontainers.image.created"] != "2026-02-01T10:00:00.000Z" {
		t.Errorf("created label %q, want the commit's time", labels["org.opencontainers.image.created"])
	}
	if labels["org.opencontainers.image.description"] != "hello-image, built by the action suite" {
		t.Errorf("description label %q, want the Dockerfile's", labels["org.opencontainers.image.description"])
	}
	assertNoSecret(t, run, secretValues(secrets)...)
}

func TestActSameRepositoryPullRequest(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "image.yml")
	r.git(t, "checkout", "-q", "-b", "feature/distroless")
	writeFile(t, r.dir+"/app.sh", []byte("#!/bin/sh\necho hello from the feature branch\n"))
	head := r.commit(t, "feature", "2026-02-02T11:22:33Z")
	ev := payload(t, r, "pull_request", func(p map[string]any) {
		p["number"] = 27
		set(p, 27, "pull_request", "number")
		set(p, head.sha, "pull_request", "head", "sha")
	})
	image := s.env.UniqueRepo(t, s.env.Registry, "act-pr")
	secrets := signingSecrets(t)
	run := s.runAct(t, r, "pull_request", ev, image, secrets)
	if run.code != 0 {
		t.Fatalf("act exit %d\n%s", run.code, run.log)
	}
	// The review tag carries the head commit's own time, read from the
	// checkout without a git binary.
	review := fmt.Sprintf("%s:review-pr-27-%s-20260202112233", image, head.sha)
	tags := run.outputs()["tag"]
	if strings.Join(tags, " ") != review+" "+image+":pr-27" {
		t.Errorf("tags %q, want the review tag %s and pr-27", tags, review)
	}
	assertTagsAt(t, s, tags, run.output("digest"))
	if run.output("signed") != "false" {
		t.Errorf("a pull request was signed: %v", run.outputs())
	}
	assertNoSecret(t, run, secretValues(secrets)...)
}

func TestActForkPullRequestGetsEmptySecrets(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "image.yml")
	ev := payload(t, r, "pull_request_fork", func(p map[string]any) {
		set(p, r.commits[0].sha, "pull_request", "head", "sha")
	})
	image := s.env.UniqueRepo(t, s.env.Registry, "act-fork")
	// A fork's run gets no secrets: the workflow's ${{ secrets.* }} are "".
	run := s.runAct(t, r, "pull_request", ev, image, nil)
	if run.code != 0 {
		t.Fatalf("act exit %d, want 0 for a fork\n%s", run.code, run.log)
	}
	if run.output("result") != "success" || run.output("pushed") != "false" || run.output("signed") != "false" {
		t.Errorf("outputs %v", run.outputs())
	}
	sum := run.summary["image"]
	for _, w := range []string{"comes from the fork", "nothing is pushed or signed", "| scan | ✅ ok |"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
	if d := s.env.HeadDigest(t, image+":pr-31"); d != "" {
		t.Errorf("a fork's image was pushed: %s", d)
	}
}

// TestActReleaseAndRerun releases v1.2.3, then presses "Re-run jobs"
// twice: once on the same machine (the build cache makes the same image)
// and once after the builder cache is pruned (a fresh runner: the image
// differs in its layers' timestamps). Every run succeeds and the release
// tags keep pointing at the first run's digest.
func TestActReleaseAndRerun(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "image.yml")
	head := r.commits[0]
	r.git(t, "tag", "v1.2.3")
	ev := pushPayload(t, r, "push_tag", "refs/tags/v1.2.3", head)
	image := s.env.UniqueRepo(t, s.env.Registry, "act-release")
	secrets := signingSecrets(t)
	var released string
	for i, rerun := range []string{"first run", "re-run", "re-run on a fresh builder"} {
		if i == 2 {
			release := testenv.LockEngine(t, s.env.DockerHost, true)
			out, err := exec.CommandContext(t.Context(), "docker", "-H", s.env.DockerHost, "builder", "prune", "-af").CombinedOutput()
			release()
			if err != nil {
				t.Fatalf("docker builder prune: %v\n%s", err, out)
			}
		}
		run := s.runAct(t, r, "push", ev, image, secrets)
		if run.code != 0 {
			t.Fatalf("%s: act exit %d\n%s", rerun, run.code, run.log)
		}
		digest := run.output("digest")
		if i == 0 {
			released = digest
			// The signature carries the commit, the tag and the run, and
			// sign-annotations' line with the expression the runner expanded.
			sigs := signatureAnnotations(t, s, image+"@"+digest)
			if len(sigs) != 1 {
				t.Fatalf("%d signatures, want 1", len(sigs))
			}
			a := sigs[0]
			jobid, _ := a["jobid"].(string)
			run, _ := a["run"].(string)
			if a["commit"] != head.sha || a["ref"] != "refs/tags/v1.2.3" || jobid == "" || strings.Contains(jobid, "${{") || !strings.Contains(run, "/actions/runs/"+jobid+"/attempts/") {
				t.Errorf("the signature's annotations are %v; want commit %s, ref refs/tags/v1.2.3, and jobid the run's id", a, head.sha)
			}
			t.Logf("the signature's annotations: %v", a)
		}
		if digest != released {
			t.Errorf("%s: digest %s, want the released %s", rerun, digest, released)
		}
		tags := run.outputs()["tag"]
		want := []string{image + ":1.2.3", image + ":1.2", image + ":1", image + ":latest"}
		if strings.Join(tags, " ") != strings.Join(want, " ") {
			t.Errorf("%s: tags %q, want %q", rerun, tags, want)
		}
		assertTagsAt(t, s, want, released)
		if run.output("signed") != "true" {
			t.Errorf("%s: not signed: %v", rerun, run.outputs())
		}
		assertNoSecret(t, run, secretValues(secrets)...)
		t.Logf("%s: %s in %s", rerun, digest, run.took)
		// On a fresh builder the image is rebuilt with other bytes: the
		// release is recognised and kept, and the summary says so.
		if i == 2 && !strings.Contains(run.summary["image"], "Re-run of the release of commit") {
			t.Errorf("%s: the summary does not say the released image was kept:\n%s", rerun, run.summary["image"])
		}
	}
	t.Logf("after %d runs the digest carries %d signatures", 3, len(signatureAnnotations(t, s, image+"@"+released)))
}

func TestActScanGateFails(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "gate.yml")
	image := s.env.UniqueRepo(t, s.env.Registry, "act-gate")
	run := s.runAct(t, r, "push", pushPayload(t, r, "push_main", "refs/heads/main", r.commits[0]), image, nil)
	if run.code == 0 {
		t.Fatalf("act exit 0, want the job to fail on the scan gate\n%s", run.log)
	}
	if run.output("result") != "failure" || run.output("pushed") != "false" {
		t.Errorf("outputs %v", run.outputs())
	}
	sum := run.summary["image"]
	for _, w := range []string{"image-pipeline failed", "**scan gate**", "CVE-2099-0001"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
	if d := s.env.HeadDigest(t, image+":main"); d != "" {
		t.Errorf("pushed although the gate closed: %s", d)
	}
}

func TestActBadInputs(t *testing.T) {
	s := setup(t)
	r := newRepo(t, "badinput.yml")
	image := s.env.UniqueRepo(t, s.env.Registry, "act-bad")
	run := s.runAct(t, r, "push", pushPayload(t, r, "push_main", "refs/heads/main", r.commits[0]), image, nil)
	if run.code == 0 {
		t.Fatalf("act exit 0, want the job to fail\n%s", run.log)
	}
	for _, input := range []string{"push", "no-cache", "fail-on"} {
		if n := strings.Count(run.log, `::error::input "`+input+`"`); n != 1 {
			t.Errorf("%d ::error:: lines name %s, want 1\n%s", n, input, run.log)
		}
		if !strings.Contains(run.summary["image"], `input "`+input+`"`) {
			t.Errorf("the summary does not list %s:\n%s", input, run.summary["image"])
		}
	}
	if !strings.Contains(run.log, `input "tag" is not an input of image-pipeline`) {
		t.Errorf("no warning for the undeclared input tag\n%s", run.log)
	}
	if run.output("result") != "failure" {
		t.Errorf("result %q, want failure", run.output("result"))
	}
	if !strings.Contains(run.log, "exit with `FAILURE`: 2") {
		t.Errorf("the action did not exit 2\n%s", run.log)
	}
}
