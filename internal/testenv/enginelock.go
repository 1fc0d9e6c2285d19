package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// DefaultDockerHost is the engine a client without DOCKER_HOST talks to.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// LockEngine takes a lock on the Docker Engine at host, across the test
// processes of this machine (flock on a file under the temp dir), and
// returns its release: shared for a build (or a run of the binary) on it,
// exclusive to empty its build cache. Docker 20.10 crashes when its build
// cache is pruned while a build pulls (a nil ref in
// cacheManager.GetByBlob, seen beside the suite), and any engine would
// lose a build's cache under it. Take it for one operation, never around
// another lock on the same engine.
func LockEngine(t testing.TB, host string, exclusive bool) (release func()) {
	t.Helper()
	if host == "" {
		host = DefaultDockerHost
	}
	dir := filepath.Join(os.TempDir(), "image-pipeline-engine-locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("engine lock: %v", err)
	}
	name := strings.NewReplacer("/", "_", ":", "_").Replace(host) + ".lock"
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("engine lock: %v", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		_ = f.Close()
		t.Fatalf("engine lock on %s: %v", host, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}
