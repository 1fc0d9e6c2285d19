//go:build bench

package app

import (
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"

	"github.com/org/image-pipeline/internal/testenv"
)

// Run alone, never beside other tests: it empties docker20's build cache,
// and Docker 20.10 crashes when its cache is pruned while another build
// pulls (a nil ref in cacheManager.GetByBlob, seen once beside the suite):
//
//	go test -tags bench -count=20 -run TestEndToEndNewBranchReusesMainsInlineCache ./internal/app
//
// TestEndToEndNewBranchReusesMainsInlineCache: on Docker 20.10's classic
// store (BuildKit v0.8, inline cache) a pull request built with an empty
// local cache reuses the builder stage's steps from the builder cache
// image main's run pushed. The builder's solve reads only the builder
// images: given main's final image too, whose inline cache names the
// builder's steps without their layers, BuildKit v0.8 took that record and
// ran the step after FROM again on about half of the new branches, and on
// every one while the base layers were re-gzipped.
func TestEndToEndNewBranchReusesMainsInlineCache(t *testing.T) {
	env := testenv.Require(t)
	en := engineNamed(t, "docker20")
	image := env.UniqueRepo(t, env.Registry, "e2e-newbranch")
	df, in := builderStageApp(t, env, image)
	main := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_DOCKERFILE": df})
	if main.code != 0 {
		t.Fatalf("main: exit code %d\n%s", main.code, main.stdout)
	}

	// The pull request's runner has no local cache; one file changed.
	release := testenv.LockEngine(t, en.Host, true)
	_, err := en.Client.BuildCachePrune(t.Context(), build.CachePruneOptions{All: true})
	release()
	if err != nil {
		t.Fatal(err)
	}
	pr := runAsRunner(t, "pull_request", in, map[string]string{"DOCKER_HOST": en.Host, "TEST_DOCKERFILE": df + "LABEL org.example.changed=yes\n"})
	if pr.code != 0 {
		t.Fatalf("pull request: exit code %d\n%s", pr.code, pr.stdout)
	}
	// The builder stage is solved first: the first time the BuildKit log
	// shows the step after FROM, it must come from the cache.
	m := regexp.MustCompile(`(?m)^#(\d+) \[builder 2/4\] RUN mkdir`).FindStringSubmatch(pr.stdout)
	if m == nil {
		t.Fatalf("the BuildKit log does not show the builder's RUN step:\n%s", pr.stdout)
	}
	rest := pr.stdout[strings.Index(pr.stdout, m[0]):]
	if next := regexp.MustCompile(`(?m)^#` + m[1] + ` (CACHED|DONE|ERROR)`).FindString(rest); next != "#"+m[1]+" CACHED" {
		t.Errorf("the builder's RUN step ran again on the pull request (%q): main's inline cache was not reused\n%s", next, pr.stdout)
	}
}
