package app

// End-to-end runs of the compiled binary as the runner runs it, against the
// real test services: Docker Engine, the local registries.

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/image-pipeline/internal/testenv"
)

func e2eInputs(env *testenv.Env, image string) map[string]string {
	return map[string]string{
		"plan":       "false",
		"image":      image,
		"build-args": "BASE=" + env.BaseImage,
	}
}

func TestEndToEndPushToBranch(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e")
	r := runAsRunner(t, "push_main", e2eInputs(env, image), map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["pushed"] != "true" || !strings.HasPrefix(r.outputs["digest"], "sha256:") {
		t.Fatalf("outputs %v", r.outputs)
	}
	if want := image + "@" + r.outputs["digest"]; r.outputs["image-ref"] != want {
		t.Errorf("image-ref %q, want %q", r.outputs["image-ref"], want)
	}
	tags := strings.Split(r.outputs["tags"], "\n")
	if len(tags) != 2 || tags[0] != image+":main" {
		t.Fatalf("tags %q", tags)
	}
	// Every tag, read from the registry itself, is the pushed digest.
	for _, tag := range tags {
		ref, err := name.ParseReference(tag)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref, remote.WithContext(t.Context()), remote.WithTransport(env.Transport()))
		if err != nil {
			t.Fatalf("HEAD %s: %v", tag, err)
		}
		if desc.Digest.String() != r.outputs["digest"] {
			t.Errorf("%s points at %s, want %s", tag, desc.Digest, r.outputs["digest"])
		}
	}
	// The branch cache ladder: builder-main was pushed for the next build.
	ref, _ := name.ParseReference(image + ":builder-main")
	if _, err := remote.Head(ref, remote.WithContext(t.Context()), remote.WithTransport(env.Transport())); err != nil {
		t.Errorf("builder-main cache image not pushed: %v", err)
	}
	for _, want := range []string{"| build | ✅ ok |", "| push | ✅ ok |", r.outputs["digest"]} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
	assertNoInjectedCommands(t, r.stdout)
}

func TestEndToEndForkPullRequestPushesNothing(t *testing.T) {
	env := testenv.Require(t)
	image := env.UniqueRepo(t, env.Registry, "e2e-fork")
	r := runAsRunner(t, "pull_request_fork", e2eInputs(env, image), map[string]string{"DOCKER_HOST": env.DockerHost})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["pushed"] != "false" {
		t.Errorf("pushed = %q, want false", r.outputs["pushed"])
	}
	if !strings.Contains(r.summary, "| build | ✅ ok |") || !strings.Contains(r.summary, "fork") {
		t.Errorf("summary must show the build and say why nothing was pushed:\n%s", r.summary)
	}
	repo, _ := name.NewRepository(image)
	tags, err := remote.List(repo, remote.WithContext(t.Context()), remote.WithTransport(env.Transport()))
	var terr *transport.Error
	if err == nil && len(tags) > 0 {
		t.Errorf("a fork pull request pushed tags: %v", tags)
	} else if err != nil && !(asTransportError(err, &terr) && terr.StatusCode == 404) {
		t.Errorf("listing %s: %v", image, err)
	}
}
