package build_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/testenv"
)

// TestInlineCacheBuildsKeepTheDaemonUp builds a builder and a final stage
// with inline cache, 50 times in a row, on the Docker Engine: on Docker
// 20.10 (embedded BuildKit v0.8) two inline-cache exports at once crashed
// dockerd with "concurrent map writes" (remotecache/v1 LinkFrom), taking
// every other build and container with it. The engine must answer after
// every build, as the same process.
func TestInlineCacheBuildsKeepTheDaemonUp(t *testing.T) {
	d := newDriver(t, testenv.EngineDocker20)
	lock := daemonLock(testenv.EngineDocker20)
	lock.RLock()
	t.Cleanup(lock.RUnlock)
	o := d.options(t, "ladder")
	if err := os.WriteFile(filepath.Join(o.Workspace, "app.txt"), []byte(nonce(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Secrets = []ibuild.Secret{{ID: "token", Value: nonce(t)}}
	o.WriteCache = true
	repo := d.env.UniqueRepo(t, d.env.Registry, "stress")
	info, err := d.engine.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pidBefore := daemonPID(t, d.env)
	start := time.Now()
	const rounds = 50
	for i := range rounds {
		res, log := d.mustBuild(t, o, branchPlan(repo, "main", true))
		if len(res.Solves) != 2 || res.Cache.Mode != ibuild.CacheInline {
			t.Fatalf("round %d: %d solves, cache %q; want builder and final with inline cache\n%s", i, len(res.Solves), res.Cache.Mode, log)
		}
		if _, err := d.engine.Ping(t.Context()); err != nil {
			t.Fatalf("round %d: the engine stopped answering after an inline-cache build: %v", i, err)
		}
	}
	if pid := daemonPID(t, d.env); pidBefore != "" && pid != pidBefore {
		t.Errorf("dockerd was restarted during the builds (pid %s, then %s)", pidBefore, pid)
	}
	t.Logf("%d builder + final builds with inline cache on Docker %s in %s; the daemon stayed up", rounds, info.ServerVersion, time.Since(start).Round(time.Millisecond))
}

// daemonPID is dockerd's pid as scripts/testenv recorded it, "" when the
// engine was not started by it.
func daemonPID(t *testing.T, env *testenv.Env) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.StateDir, "pids", "dockerd.pid"))
	if err != nil {
		return ""
	}
	return string(b)
}
