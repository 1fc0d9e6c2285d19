package testenv

import (
	"testing"

	"github.com/docker/docker/client"
)

// Engine is one Docker Engine of the test environment, with a pinged
// client closed when the test ends.
type Engine struct {
	// Name labels subtests: docker20 (Debian's 20.10, classic store),
	// docker29 (Docker 29, containerd image store) and docker29-classic
	// (Docker 29 with the classic store).
	Name string
	// Host is its address, for DOCKER_HOST.
	Host string
	// ContainerdStore is true for the engine that keeps images in
	// containerd's content store (multi-platform images, attestations,
	// registry cache export on the docker driver).
	ContainerdStore bool
	Client          *client.Client
}

// Engine names.
const (
	EngineDocker20        = "docker20"
	EngineDocker29        = "docker29"
	EngineDocker29Classic = "docker29-classic"
)

// Engines lists the engines scripts/testenv runs, in a fixed order,
// without contacting them.
func (e *Env) Engines() []Engine {
	return []Engine{
		{Name: EngineDocker20, Host: e.DockerHost},
		{Name: EngineDocker29, Host: e.Docker29Host, ContainerdStore: true},
		{Name: EngineDocker29Classic, Host: e.Docker29ClassicHost},
	}
}

// RequireEngines returns the test environment and every Docker Engine it
// runs, each pinged. A missing engine skips the test, or fails it under
// IMAGE_PIPELINE_REQUIRE_SERVICES=1 (make test).
func RequireEngines(t testing.TB) (*Env, []Engine) {
	t.Helper()
	e := load(t)
	engines := e.Engines()
	for i := range engines {
		engines[i].Client = requireEngineAt(t, engines[i].Name, engines[i].Host)
	}
	return e, engines
}

// RequireEngineNamed returns one engine of RequireEngines by name.
func RequireEngineNamed(t testing.TB, name string) (*Env, Engine) {
	t.Helper()
	e := load(t)
	for _, en := range e.Engines() {
		if en.Name == name {
			en.Client = requireEngineAt(t, en.Name, en.Host)
			return e, en
		}
	}
	t.Fatalf("testenv: no engine named %q", name)
	return nil, Engine{}
}

func requireEngineAt(t testing.TB, name, host string) *client.Client {
	t.Helper()
	if host == "" {
		unavailable(t, errMissingEngine(name))
	}
	if err := engineCheckAt(host).run(t.Context()); err != nil {
		unavailable(t, err)
	}
	c, err := newEngineClient(host)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type errMissingEngine string

func (n errMissingEngine) Error() string {
	return "the env file names no address for the " + string(n) + " engine (scripts/testenv up starts it)"
}
