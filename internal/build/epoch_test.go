package build_test

import (
	"cmp"
	"os"
	"path/filepath"
	"testing"
	"time"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// TestSourceDateEpochRebuildsTheSameImage is a re-run on a fresh runner:
// the same commit built again with an empty local cache, from the cache
// refs in the registry. With the plan's SOURCE_DATE_EPOCH the image's
// config carries that time instead of the build's, so the rebuild is the
// same image (same digest) wherever the cache serves every step: Docker
// 29's containerd store and buildkitd (registry cache). Docker 29's classic
// store stamps the time too, but reruns steps from inline cache
// (moby/buildkit#5242); Docker 20.10's BuildKit (before v0.11) reads no
// SOURCE_DATE_EPOCH.
func TestSourceDateEpochRebuildsTheSameImage(t *testing.T) {
	epoch := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	forEachDriver(t, true, func(t *testing.T, d *driver) {
		o := epochOptions(t, d, reproducibleDockerfile)
		o.WriteCache = true
		repo := d.env.UniqueRepo(t, d.env.Registry, "epoch")
		plan := branchPlan(repo, "main", true)
		plan.SourceDateEpoch, plan.SourceDateEpochFrom = epoch, "the commit's time"

		d.prune(t)
		first, _ := d.mustBuild(t, o, plan)
		d.pushCacheRefs(t, first)
		cf, err := d.image(t, *first.Outcome.Final()).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		stamped := cf.Created.Time.Equal(epoch)
		if want := d.backend != testenv.EngineDocker20; stamped != want {
			t.Errorf("%s: the config's created time is %s; stamped with SOURCE_DATE_EPOCH %s: %v, want %v", d.backend, cf.Created.Time, epoch, stamped, want)
		}
		if got, want := first.SourceDateEpoch != "", d.backend != testenv.EngineDocker20; got != want {
			t.Errorf("%s: the build ran with SOURCE_DATE_EPOCH %q", d.backend, first.SourceDateEpoch)
		}

		d.prune(t, first)
		second, _ := d.mustBuild(t, o, plan)
		a, b := first.Outcome.Final(), second.Outcome.Final()
		ida, idb := cmp.Or(a.Digest, a.ConfigDigest, a.EngineImageID), cmp.Or(b.Digest, b.ConfigDigest, b.EngineImageID)
		t.Logf("%s: first %s, rebuilt %s (%d of %d steps cached)", d.backend, ida, idb, second.Steps.Cached, second.Steps.Total)
		switch d.backend {
		case testenv.EngineDocker29, backendRemote:
			if ida != idb {
				t.Errorf("%s: the rebuild from the registry's cache is %s, not the same image %s", d.backend, idb, ida)
			}
		}
	})
}

// epochOptions are build options over the ladder's workspace with a fresh
// app.txt and the Dockerfile df.
func epochOptions(t *testing.T, d *driver, df string) ibuild.Options {
	t.Helper()
	o := d.options(t, "ladder")
	for name, content := range map[string]string{"app.txt": nonce(t), "Dockerfile": df} {
		if err := os.WriteFile(filepath.Join(o.Workspace, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// reproducibleDockerfile is the ladder's shape without secrets or sleeps.
const reproducibleDockerfile = `ARG BASE
FROM ${BASE} AS builder
WORKDIR /src
COPY app.txt ./
RUN cat app.txt > /src/two && date +%s%N > /src/built-at

FROM ${BASE} AS production
COPY --from=builder /src /app
CMD ["cat", "/app/two"]
`

// TestSourceDateEpochColdBuildsAgree: two builds of the same sources with
// no cache at all — two fresh runners — give the same image where the
// exporter clamps the layers' file times to SOURCE_DATE_EPOCH
// (rewrite-timestamp: buildkitd), although every step runs again and
// writes its files now. The Docker Engines' exporters cannot (the classic
// store's has no such option, the containerd store's unpacks, which
// BuildKit refuses with it), and Docker 20.10's BuildKit reads no
// SOURCE_DATE_EPOCH: there the two differ as the file times do.
func TestSourceDateEpochColdBuildsAgree(t *testing.T) {
	epoch := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	forEachDriver(t, true, func(t *testing.T, d *driver) {
		o := epochOptions(t, d, "ARG BASE\nFROM ${BASE} AS builder\nWORKDIR /src\nCOPY app.txt ./\nRUN cat app.txt > /src/two && mkdir -p /src/d && echo x > /src/d/x\n\nFROM ${BASE} AS production\nCOPY --from=builder /src /app\nRUN echo done > /app/done\n")
		repo := d.env.UniqueRepo(t, d.env.Registry, "epoch-cold")
		plan := &pipeline.TagPlan{Tags: []string{repo + ":main"}, SourceDateEpoch: epoch, SourceDateEpochFrom: "the commit's time"}
		var ids []string
		for range 2 {
			d.prune(t)
			res, _ := d.mustBuild(t, o, plan)
			f := res.Outcome.Final()
			ids = append(ids, cmp.Or(f.Digest, f.ConfigDigest, f.EngineImageID))
			if res.Steps.Cached > 0 && res.Steps.Executed == 0 {
				t.Fatalf("%s: nothing ran: the prune left a cache", d.backend)
			}
			d.removeAfter(t, res)
		}
		same := ids[0] == ids[1]
		t.Logf("%s: two cold builds: %s, %s (the same: %v)", d.backend, ids[0], ids[1], same)
		// Elsewhere they differ only when the builds' file times do: two
		// builds within one second can agree on the classic store (its
		// layers keep whole seconds), so only the agreement is asserted.
		if d.backend == backendRemote && !same {
			t.Errorf("%s: two cold builds of the same sources are different images, want the same (rewrite-timestamp)", d.backend)
		}
	})
}
