package app

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/depgraph"
	"github.com/org/image-pipeline/internal/enginesave"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/sign"
	"github.com/org/image-pipeline/internal/tags"
)

// stageSet holds the configured stages of one run, built once from the
// configuration so that every stage's options are validated before
// anything runs.
type stageSet struct {
	lint  *lintStage
	tags  *tagsStage
	build pipeline.Stage
	scan  pipeline.Stage
	deps  pipeline.Stage
	push  pipeline.Stage
	sign  pipeline.Stage
	// buildOnly is the build command: lint and build, nothing after.
	buildOnly bool
	// secrets are values the stages' options hold that the runner must
	// mask one by one (each password of the registries input, …).
	secrets []string
	// key is cosign-key, decrypted in the background while the build
	// runs (nil: no key to sign with). Nothing is pushed before it is
	// decrypted, and a wrong password stops the run (exit 2).
	key *sign.LoadedKey
	// saves keeps the engine's export of the built image for the scan and
	// the push; close removes it.
	saves *enginesave.Spool
}

// close releases what the stages kept for the run.
func (s *stageSet) close() {
	if s.saves != nil {
		_ = s.saves.Close()
	}
}

// newStages maps the configuration onto each stage's options and returns
// every problem at once (exit 2). newScanner is the scanner given by
// WithScanner (nil: the scan stage is unavailable).
func newStages(cfg *config.Config, ev *ghactions.Context, getenv func(string) string, runner *ghactions.Runner, ts *tagsStage, newScanner scan.NewScannerFunc) (*stageSet, error) {
	set := &stageSet{lint: &lintStage{cfg: cfg, log: runner}, tags: ts}
	var errs []error

	pushOpts := registry.Options{
		Push:                 cfg.Push,
		Timeout:              cfg.Registry.Timeout,
		OverwriteReleaseTags: cfg.Registry.OverwriteReleaseTags,
		GitHubToken:          cfg.GitHubToken,
		Actor:                ev.Actor,
		Username:             cfg.Registry.Username,
		Password:             cfg.Registry.Password,
		Registries:           cfg.Registry.Registries,
		DockerConfig:         dockerConfigDir(getenv),
		ForkPR:               ev.IsFork(),
		TempDir:              tempDir(getenv),
		Log:                  runner,
		TargetRegistries:     targetRegistries(cfg, ev),
	}
	set.secrets = append(set.secrets, pushOpts.Secrets()...)
	engine := engineClient()
	// The scan and the push read the built image out of the engine from one
	// export (docs/benchmarks.md); without a scan the push streams its own.
	var saver registry.Engine
	if engine != nil {
		saver = engine
		if cfg.Scan.Enabled {
			set.saves = enginesave.New(engine, tempDir(getenv), enginesave.WithLog(runner.Infof))
			saver = set.saves
		}
	}
	// New checks the push options, once; its Pusher serves the stage and
	// the question whether the build may write the cache.
	pusher, err := registry.New(pushOpts, saver)
	if err != nil {
		errs = append(errs, err)
	} else {
		set.push = registry.NewStage(pusher)
	}

	keychain, err := pushOpts.Keychain()
	if err != nil {
		keychain = nil // the push options' error is reported above
	}
	if ev.IsFork() {
		// Nothing secret reaches a fork's build: base images and cache
		// refs are read anonymously, and no login is attempted.
		keychain = registry.AnonymousKeychain()
	}
	b := cfg.Build
	var withheld string
	if ev.IsFork() {
		// A fork's code gets none of this repository's secrets, whatever
		// the inputs say.
		withheld = "the pull request comes from a fork, and a fork's code never gets this repository's secrets"
		if len(b.Secrets) > 0 {
			runner.Warningf("secrets, secret-envs and secret-files are not passed to the build of a pull request from a fork: a RUN --mount=type=secret,required=true step fails, others see no secret")
		}
		if len(b.SSH) > 0 {
			runner.Warningf("ssh agents are not forwarded to the build of a pull request from a fork: a RUN --mount=type=ssh,required=true step fails")
		}
		b.Secrets, b.SSH = nil, nil
	}
	buildOpts := build.Options{
		Workspace:     cfg.Workspace,
		Context:       cfg.Context,
		File:          cfg.File,
		Target:        b.Target,
		BuilderTarget: b.BuilderTarget,
		// Only a workflow that asked for annotations hears which were not
		// written.
		AnnotationsRequested: len(cfg.Annotations) > 0 || getenv(tags.EnvAnnotationLevels) != "",
		BuildArgs:            b.BuildArgs,
		Secrets:              b.Secrets,
		BuildContexts:        b.BuildContexts,
		SSH:                  b.SSH,
		AddHosts:             b.AddHosts,
		Network:              b.Network,
		ShmSize:              b.ShmSize,
		Platforms:            b.Platforms,
		Provenance:           provenanceOf(b.Provenance, ev),
		NoCache:              b.NoCache,
		Pull:                 b.Pull,
		Cache:                b.Cache,
		WriteCache:           mayWriteCache(cfg, ev, pusher),
		BuildkitAddress:      b.BuildkitAddress,
		BuildkitTLSCA:        b.BuildkitTLSCA,
		BuildkitTLSCert:      b.BuildkitTLSCert,
		BuildkitTLSKey:       b.BuildkitTLSKey,
		Keychain:             keychain,
		OutputDir:            filepath.Join(tempDir(getenv), "image-pipeline-build"),
		Getenv:               getenv,
		Exclude:              reportsExclude(cfg),
		SecretsWithheld:      withheld,
	}
	if err := buildOpts.Validate(); err != nil {
		errs = append(errs, err)
	}
	set.secrets = append(set.secrets, buildOpts.SecretValues()...)
	set.build = build.NewStage(buildOpts, runner, engine)

	scanOpts := scanOptions(cfg)
	scanOpts.Keychain = keychain
	scanOpts.Log = runner
	if set.saves != nil {
		// The export the scan shares with the push; a nil *Spool must not
		// become a non-nil scan.EngineSaves.
		scanOpts.EngineSaves = set.saves
	}
	if set.scan, err = scanStage(scanOpts, newScanner); err != nil {
		errs = append(errs, err)
	}

	sc := cfg.Sign
	signOpts := sign.Options{
		Sign:                sc.Mode,
		Key:                 sc.Key,
		Password:            sc.Password,
		NoTlog:              !sc.Tlog,
		NoAttestSBOM:        !sc.AttestSBOM,
		Format:              sc.Format,
		FulcioURL:           sc.FulcioURL,
		RekorURL:            sc.RekorURL,
		OIDCIssuer:          sc.OIDCIssuer,
		TrustedRoot:         sc.TrustedRoot,
		IDTokenRequestURL:   getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		IDTokenRequestToken: getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		EventName:           ev.EventName,
		IsTag:               ev.Tag() != "",
		IsDefaultBranch:     ev.IsDefaultBranch(),
		PullRequest:         ev.IsPullRequest(),
		ForkPR:              ev.IsFork(),
		Commit:              ev.SHA,
		Repository:          ev.Repository,
		Ref:                 ev.Ref,
		RunURL:              sign.RunURL(ev.ServerURL, ev.Repository, ev.RunID, ev.RunAttempt),
		Annotations:         sc.Annotations,
		Registry:            pushOpts,
		Keychain:            keychain,
		Getenv:              getenv,
		Log:                 runner,
		Mask:                runner.Mask,
	}
	var key *sign.LoadedKey
	if err := signOpts.Validate(); err != nil {
		errs = append(errs, err)
	} else if key, err = signOpts.Preflight(); err != nil {
		errs = append(errs, err)
	}
	set.secrets = append(set.secrets, signOpts.Secrets()...)
	set.key = key
	set.sign = sign.NewStage(signOpts, sign.WithLoadedKey(key))

	scope, _ := cacheScope(cfg, ev)
	set.deps = depgraph.NewStage(depgraph.Options{
		Enabled:    cfg.DependencySnapshot,
		APIURL:     ev.APIURL,
		Repository: ev.Repository,
		Token:      cfg.GitHubToken,
		ForkPR:     ev.IsFork(),
		Source: depgraph.Source{
			Image: firstImage(cfg, ev), Scope: scope,
			Workflow: ev.Workflow, Job: ev.Job, RunID: ev.RunID,
			RunURL: sign.RunURL(ev.ServerURL, ev.Repository, ev.RunID, ev.RunAttempt),
			Ref:    ev.Ref, SHA: ev.SHA,
			Dockerfile: filepath.ToSlash(filepath.Clean(cfg.File)),
			Version:    Version,
		},
		Log: runner,
	})

	return set, errors.Join(errs...)
}

// list returns the stages in pipeline order.
func (s *stageSet) list(cfg *config.Config) []pipeline.Stage {
	stages := []pipeline.Stage{s.lint, s.tags}
	var push pipeline.Stage = s.push
	if s.key != nil {
		push = afterKey{s.push, s.key}
	}
	rest := []pipeline.Stage{s.build, s.scan, push, s.sign}
	if cfg.DependencySnapshot {
		// After the scan, before the push: it never fails, and it runs
		// whether or not the scan gate closed. Off, it is not listed.
		rest = slices.Insert(rest, 2, s.deps)
	}
	switch {
	case cfg.Plan:
		for i, st := range rest {
			rest[i] = skipped{st, "input plan is true: nothing is built or pushed"}
		}
	case s.buildOnly:
		for i, st := range rest[1:] {
			rest[i+1] = skipped{st, "image-pipeline build runs lint and build only"}
		}
	}
	return append(stages, rest...)
}

// afterKey runs a stage once cosign-key is decrypted: the push, so that
// a release whose signing would fail is never pushed.
type afterKey struct {
	pipeline.Stage
	key *sign.LoadedKey
}

func (a afterKey) Run(ctx context.Context, st *pipeline.State) error {
	if err := a.key.Wait(ctx); err != nil {
		return err
	}
	return a.Stage.Run(ctx, st)
}

func (a afterKey) Prepare(ctx context.Context, st *pipeline.State) {
	if p, ok := a.Stage.(pipeline.Preparer); ok {
		p.Prepare(ctx, st)
	}
}

func (a afterKey) Fact(st *pipeline.State) string {
	if f, ok := a.Stage.(pipeline.Facter); ok {
		return f.Fact(st)
	}
	return ""
}

// unavailable stands in for a stage this binary lacks.
type unavailable struct{ name, reason string }

func (u unavailable) Name() string                               { return u.name }
func (u unavailable) SkipReason(*pipeline.State) string          { return u.reason }
func (u unavailable) Run(context.Context, *pipeline.State) error { return nil }

// mayWriteCache says whether the build may write cache refs: only when
// this run may push (not push: false, not a fork, not a plan) and, for
// push: auto, when the cache image's registry has a login or is local.
func mayWriteCache(cfg *config.Config, ev *ghactions.Context, p *registry.Pusher) bool {
	if cfg.Push == registry.PushFalse || ev.IsFork() || cfg.Plan {
		return false
	}
	if cfg.Push == registry.PushTrue {
		return true
	}
	if p == nil {
		return false // the push options' error is reported
	}
	missing, err := p.MissingCredentials([]string{cacheImage(cfg, ev) + ":cache"})
	return err == nil && len(missing) == 0
}

// targetRegistries are the hosts the run pushes to (image, or the default
// ghcr.io, and cache-image): the only hosts that get
// registry-username/registry-password in the build.
func targetRegistries(cfg *config.Config, ev *ghactions.Context) []string {
	var hosts []string
	add := func(ref string) {
		if r, err := name.NewRepository(ref); err == nil && !slices.Contains(hosts, r.RegistryStr()) {
			hosts = append(hosts, r.RegistryStr())
		}
	}
	for _, im := range cfg.Images {
		if im.Enable {
			add(im.Ref())
		}
	}
	if len(hosts) == 0 {
		add("ghcr.io/" + strings.ToLower(ev.Repository))
	}
	add(cacheImage(cfg, ev))
	return hosts
}

// firstImage is the first enabled image, else the default
// ghcr.io/<owner>/<repo>.
func firstImage(cfg *config.Config, ev *ghactions.Context) string {
	for _, im := range cfg.Images {
		if im.Enable {
			return im.Ref()
		}
	}
	return "ghcr.io/" + strings.ToLower(ev.Repository)
}

// cacheImage is the repository holding the cache tags: cache-image, else
// beside the first enabled image (else the default
// ghcr.io/<owner>/<repo>), as the tag plan decides.
func cacheImage(cfg *config.Config, ev *ghactions.Context) string {
	if cfg.CacheImage != "" {
		return strings.ToLower(cfg.CacheImage)
	}
	return tags.DefaultCacheImage(firstImage(cfg, ev))
}

// reportsExclude leaves the reports directory out of the build context
// when it lies inside it.
func reportsExclude(cfg *config.Config) []string {
	ctxDir := cfg.Context
	if !filepath.IsAbs(ctxDir) {
		ctxDir = filepath.Join(cfg.Workspace, ctxDir)
	}
	rel, err := filepath.Rel(ctxDir, filepath.Dir(cfg.ReportPath("x")))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil
	}
	return []string{filepath.ToSlash(rel)}
}

// tempDir is RUNNER_TEMP when it is a directory here, else the system's.
// A docker action inherits the runner's RUNNER_TEMP
// (/home/runner/work/_temp) without that folder being mounted into its
// container, so the variable alone proves nothing.
func tempDir(getenv func(string) string) string {
	if d := getenv("RUNNER_TEMP"); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return os.TempDir()
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

// provenanceOf is what the provenance attestation names: the run that
// built the image, and the repository and commit it built.
func provenanceOf(mode string, ev *ghactions.Context) build.Provenance {
	p := build.Provenance{Mode: mode, Revision: ev.SHA}
	if ev.Repository != "" {
		server := strings.TrimSuffix(cmp.Or(ev.ServerURL, "https://github.com"), "/")
		p.Source = server + "/" + ev.Repository
		if ev.RunID != "" {
			p.BuilderID = p.Source + "/actions/runs/" + ev.RunID
			if ev.RunAttempt != "" {
				p.BuilderID += "/attempts/" + ev.RunAttempt
			}
		}
	}
	return p
}
