package app

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/org/image-pipeline/internal/testenv"
)

// flavourDockerfile builds a different image per value of the stack
// build arg, as synapse-docker-registry's does (--build-arg stack=dev|prod).
const flavourDockerfile = `ARG BASE=127.0.0.1:5000/testenv/base:latest
FROM ${BASE} AS builder
ARG stack
RUN echo "$stack" > /stack
FROM ${BASE} AS production
COPY --from=builder /stack /stack
`

// TestEndToEndCacheChangesNoPackage (#18.2): the cache never changes what
// a user's package shows. Two flavours of one Dockerfile, built one after
// the other on main with tags dev and prod: the image's repository holds
// exactly dev and prod, each its own flavour; the cache lives beside it
// (<image>-cache), one scope per flavour, and the second flavour leaves
// the first one's cache as it was. A release workflow (tags 1.4.2 and
// latest) adds neither main nor builder-main to its package; and naming the
// image as cache-image keeps Teaching Vacancies' builder-<branch>/<branch>
// scheme in the image's repository.
func TestEndToEndCacheChangesNoPackage(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	for _, en := range engines {
		t.Run(en.Name, func(t *testing.T) {
			t.Parallel()
			image := env.UniqueRepo(t, env.Registry, "e2e-flavours")
			cacheRepo := image + "-cache"
			run := func(stack, tag string) runnerRun {
				t.Helper()
				in := e2eInputs(t, env, image)
				in["build-args"] = "BASE=" + env.BaseImage + "\nstack=" + stack
				in["tags"] = "type=raw,value=" + tag
				in["attest-sbom"] = "false"
				r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_FILES": "Dockerfile=" + flavourDockerfile})
				if r.code != 0 {
					t.Fatalf("stack=%s: exit code %d\n%s\n%s", stack, r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stdout, "cache scope: stack-"+stack+" (cache-scope auto: build-args stack="+stack+")") {
					t.Errorf("stack=%s: the plan does not give the cache scope:\n%s", stack, r.stdout)
				}
				return r
			}
			dev := run("dev", "dev")
			devCache := scopeTags(t, env, cacheRepo, "-stack-dev")
			if len(devCache) == 0 {
				t.Fatalf("no cache tag of scope stack-dev in %s: %v", cacheRepo, listTags(t, env, cacheRepo))
			}
			before := map[string]string{}
			for _, tag := range devCache {
				before[tag] = env.HeadDigest(t, cacheRepo+":"+tag)
			}
			prod := run("prod", "prod")
			if dev.outputs["digest"] == prod.outputs["digest"] {
				t.Fatalf("both flavours built %s: the test Dockerfile does not tell them apart", dev.outputs["digest"])
			}

			if got := listTags(t, env, image); !slices.Equal(got, []string{"dev", "prod"}) {
				t.Errorf("the image's repository holds %v, want exactly [dev prod]", got)
			}
			for tag, digest := range map[string]string{"dev": dev.outputs["digest"], "prod": prod.outputs["digest"]} {
				if got := env.HeadDigest(t, image+":"+tag); got != digest {
					t.Errorf("%s:%s is %s, want its own flavour %s", image, tag, got, digest)
				}
			}
			for _, tag := range listTags(t, env, cacheRepo) {
				if !strings.HasSuffix(tag, "-stack-dev") && !strings.HasSuffix(tag, "-stack-prod") {
					t.Errorf("the cache repository holds %s, which belongs to no flavour's scope", tag)
				}
			}
			if len(scopeTags(t, env, cacheRepo, "-stack-prod")) == 0 {
				t.Errorf("no cache tag of scope stack-prod in %s: %v", cacheRepo, listTags(t, env, cacheRepo))
			}
			for tag, digest := range before {
				if got := env.HeadDigest(t, cacheRepo+":"+tag); got != digest {
					t.Errorf("the prod build moved the dev flavour's cache %s from %s to %s", tag, digest, got)
				}
			}
		})
	}

	t.Run("a release's package holds its tags only", func(t *testing.T) {
		image := env.UniqueRepo(t, env.Registry, "e2e-release-tags")
		in := e2eInputs(t, env, image)
		in["tags"] = "type=raw,value=1.4.2\ntype=raw,value=latest"
		r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": env.DockerHost})
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if got := listTags(t, env, image); !slices.Equal(got, []string{"1.4.2", "latest"}) {
			t.Errorf("the image's repository holds %v, want exactly [1.4.2 latest]", got)
		}
		if got := listTags(t, env, image+"-cache"); len(got) == 0 {
			t.Errorf("no cache was written beside the image")
		}
	})

	t.Run("cache-image names the image's own repository", func(t *testing.T) {
		image := env.UniqueRepo(t, env.Registry, "e2e-tv-cache")
		in := e2eInputs(t, env, image)
		in["cache-image"] = image
		r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": env.DockerHost})
		if r.code != 0 {
			t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		got := listTags(t, env, image)
		if !slices.Contains(got, "main") || !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, "cache-main") || s == "builder-main" }) {
			t.Errorf("the image's repository holds %v, want main and the builder-main (or buildcache-main) cache tag", got)
		}
		if got := listTags(t, env, image+"-cache"); len(got) != 0 {
			t.Errorf("%s-cache holds %v, want nothing: cache-image names the image", image, got)
		}
	})
}

// listTags lists repo's tags, sorted; none when the repository does not
// exist.
func listTags(t *testing.T, env *testenv.Env, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.List(r, remote.WithTransport(env.Transport()), remote.WithContext(t.Context()))
	var te *transport.Error
	if err != nil && errors.As(err, &te) && te.StatusCode == 404 {
		return nil
	}
	if err != nil {
		t.Fatalf("list the tags of %s: %v", repo, err)
	}
	slices.Sort(got)
	return got
}

// scopeTags are repo's tags that end with suffix.
func scopeTags(t *testing.T, env *testenv.Env, repo, suffix string) []string {
	t.Helper()
	var out []string
	for _, tag := range listTags(t, env, repo) {
		if strings.HasSuffix(tag, suffix) {
			out = append(out, tag)
		}
	}
	return out
}
