package build_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/testenv"
)

// recordingEngine refuses every hijack and records what was asked.
type recordingEngine struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingEngine) DialHijack(_ context.Context, url, proto string, _ map[string][]string) (net.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, url+" "+proto)
	return nil, errors.New("engine refused")
}

func TestNewEngineClientDialsGRPCOverTheEngineAPI(t *testing.T) {
	engine := &recordingEngine{}
	c, err := build.NewEngineClient(t.Context(), engine)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(ctx); err == nil {
		t.Fatal("ListWorkers through an engine that refuses the hijack succeeded")
	}
	engine.mu.Lock()
	defer engine.mu.Unlock()
	if len(engine.calls) == 0 || engine.calls[0] != "/grpc h2c" {
		t.Fatalf("hijacks = %q, want /grpc with h2c", engine.calls)
	}
}

func TestDialArgumentErrors(t *testing.T) {
	if _, err := build.NewEngineClient(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "no Docker Engine client") {
		t.Errorf("nil engine: err = %v", err)
	}
	if _, err := build.NewRemoteClient(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("empty address: err = %v", err)
	}
	if _, err := build.NewRemoteClient(t.Context(), "/run/buildkit/buildkitd.sock"); err == nil || !strings.Contains(err.Error(), "unix://") {
		t.Errorf("address without scheme: err = %v", err)
	}
}

func TestNewEngineClientListsTheEngineWorkers(t *testing.T) {
	_, docker := testenv.RequireEngine(t)
	c, err := build.NewEngineClient(t.Context(), docker)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	workers, err := c.ListWorkers(t.Context())
	if err != nil {
		t.Fatalf("list the engine's BuildKit workers: %v", err)
	}
	if len(workers) == 0 {
		t.Fatal("the engine's BuildKit has no worker")
	}
	t.Logf("engine worker %s %v", workers[0].ID, workers[0].Platforms)
}

func TestNewRemoteClientReachesBuildkitd(t *testing.T) {
	env, _ := testenv.RequireBuildkitd(t)
	c, err := build.NewRemoteClient(t.Context(), env.BuildkitHost)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatalf("ask buildkitd at %s for its version: %v", env.BuildkitHost, err)
	}
	t.Logf("buildkitd %s %s", info.BuildkitVersion.Package, info.BuildkitVersion.Version)
}
