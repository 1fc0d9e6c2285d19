package app

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/docker/docker/client"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
)

// stageSet holds the configured stages of one run, built once from the
// configuration so that every stage's options are validated before
// anything runs.
type stageSet struct {
	lint *lintStage
	tags *tagsStage
	push pipeline.Stage
	// secrets are values the stages' options hold that the runner must
	// mask one by one (each password of the registries input, …).
	secrets []string
}

// newStages maps the configuration onto each stage's options and returns
// every problem at once (exit 2).
func newStages(cfg *config.Config, ev *ghactions.Context, getenv func(string) string, runner *ghactions.Runner, ts *tagsStage) (*stageSet, error) {
	set := &stageSet{lint: &lintStage{cfg: cfg, log: runner}, tags: ts}
	var errs []error

	pushOpts := registry.Options{
		Push:                 registry.PushMode(cfg.Push),
		Timeout:              cfg.Registry.Timeout,
		OverwriteReleaseTags: cfg.Registry.OverwriteReleaseTags,
		GitHubToken:          cfg.GitHubToken,
		Actor:                ev.Actor,
		Username:             cfg.Registry.Username,
		Password:             cfg.Registry.Password,
		Registries:           cfg.Registry.Registries,
		DockerConfig:         dockerConfigDir(getenv),
		ForkPR:               ev.IsFork(),
		TempDir:              getenv("RUNNER_TEMP"),
		Logf:                 runner.Infof,
	}
	if err := pushOpts.Validate(); err != nil {
		errs = append(errs, err)
	}
	set.secrets = append(set.secrets, pushOpts.Secrets()...)
	set.push = registry.NewStage(pushOpts, engineClient())

	return set, errors.Join(errs...)
}

// list returns the stages in pipeline order.
func (s *stageSet) list(cfg *config.Config) []pipeline.Stage {
	stages := []pipeline.Stage{s.lint, s.tags}
	rest := []pipeline.Stage{s.push}
	if cfg.Plan {
		for i, st := range rest {
			rest[i] = skipped{st, "input plan is true: nothing is built or pushed"}
		}
	}
	return append(stages, rest...)
}

// dockerConfigDir is DOCKER_CONFIG, or ~/.docker when it holds a config
// (local runs); on the runner HOME is not the runner's home, so only an
// explicit DOCKER_CONFIG pointing into a mounted folder counts there.
func dockerConfigDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		return ""
	}
	home := getenv("HOME")
	if home == "" {
		return ""
	}
	d := filepath.Join(home, ".docker")
	if _, err := os.Stat(filepath.Join(d, "config.json")); err != nil {
		return ""
	}
	return d
}

// engineClient returns a Docker Engine client (DOCKER_HOST honoured, API
// version negotiated). It connects on first use, so runs that never touch
// the engine do not need one.
func engineClient() *client.Client {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil
	}
	return c
}
