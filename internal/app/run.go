package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/report"
	"github.com/org/image-pipeline/internal/tags"
	"github.com/org/image-pipeline/internal/textfmt"
)

// run parses the configuration once, runs the stages and writes every
// report, whatever happened.
func (e *environment) run(ctx context.Context, cmd string, args []string) int {
	fs := newFlagSet(e.stderr)
	if err := parseFlags(fs.FlagSet, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(e.stderr, "image-pipeline %s: %v\n", cmd, err)
		return ExitConfig
	}
	logOut := e.stderr
	if e.getenv("GITHUB_ACTIONS") == "true" {
		logOut = e.stdout // the runner reads workflow commands from stdout
	}
	runner := ghactions.NewRunner(e.getenv, logOut)
	defer runner.Close()

	// Every problem with the configuration is reported in one go: the
	// inputs, the event, then each stage's own options.
	src := fs.source(e.getenv)
	cfg, cfgErr := config.Parse(src)
	for _, s := range cfg.Secrets {
		runner.Mask(s)
	}
	if e.environ != nil {
		warnings, err := config.CheckGivenInputs(envNames(e.environ()), given(src, "image") || given(src, "images"))
		for _, w := range warnings {
			runner.Warningf("%s", w)
		}
		cfgErr = errors.Join(cfgErr, err)
	}
	levels, err := tags.ParseAnnotationLevels(e.getenv(tags.EnvAnnotationLevels))
	cfg.AnnotationLevels = levels
	cfgErr = errors.Join(cfgErr, err)
	ws, wsErr := workspace(e.getenv)
	cfg.Workspace = ws
	if cmd == "plan" {
		wsErr = nil // a plan reads the environment alone
	}
	cfgErr = errors.Join(cfgErr, wsErr)
	ev, err := loadEvent(e.getenv, cfg.Context)
	if err != nil {
		cfgErr = errors.Join(cfgErr, err)
	}
	now, err := clock(e.getenv)
	if err != nil {
		cfgErr = errors.Join(cfgErr, err)
	}
	format := *fs.format
	if format != "text" && format != "json" {
		cfgErr = errors.Join(cfgErr, fmt.Errorf("--format %q is not accepted; accepted values: text, json", format))
	}
	if ev == nil || wsErr != nil {
		// Without a workspace every path input would be reported as bad:
		// the one cause is enough.
		e.reportConfigError(runner, src, ev, cfgErr)
		return ExitConfig
	}
	ts := &tagsStage{cfg: cfg, ev: ev, getenv: e.getenv, now: now, log: runner}
	if cmd == "plan" {
		if cfgErr != nil {
			e.reportConfigError(runner, src, ev, cfgErr)
			return ExitConfig
		}
		ts.quiet = true
		return e.plan(ctx, runner, ts, format)
	}
	if cmd == "build" {
		// On a laptop: build with the cache, publish nothing.
		cfg.Push = registry.PushFalse
	}
	cfgErr = errors.Join(cfgErr, untrustedBuild(cfg, ev, runner), workspacePaths(cfg))
	set, err := newStages(cfg, ev, e.getenv, runner, ts, e.newScanner)
	defer set.close()
	set.buildOnly = cmd == "build"
	for _, s := range set.secrets {
		runner.Mask(s)
	}
	if err = errors.Join(cfgErr, err); err != nil {
		e.reportConfigError(runner, src, ev, err)
		return ExitConfig
	}
	runner.Infof("image-pipeline %s: %s", versionString(), describeEvent(ev))
	st := &pipeline.State{}
	if ev.IsFork() {
		st.Notice("This pull request comes from the fork %s: nothing is pushed or signed, and no secrets are needed; its build gets no credentials and no build secrets (base images and the build cache are read anonymously).", forkName(ev))
	}
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	if set.key != nil {
		// cosign-key decrypts while the build runs; a wrong password stops
		// the run at once, and the push waits for it (afterKey).
		go func() {
			if err := set.key.Wait(runCtx); err != nil && runCtx.Err() == nil {
				stopRun(err)
			}
		}()
	}
	res := pipeline.Run(runCtx, st, set.list(cfg), pipeline.WithObserver(&logObserver{runner: runner}))
	if err := set.key.Wait(ctx); err != nil && ctx.Err() == nil {
		// The same configuration error as a bad input found before the
		// run: nothing was pushed (the push waits for the key).
		e.reportConfigError(runner, src, ev, err)
		return ExitConfig
	}
	rep := report.New(res, st, cfg.Workspace)
	rep.Context = describeEvent(ev)
	if werr := writeReports(runner, cfg, rep); werr != nil {
		runner.Errorf("%v", werr)
		return ExitFailed
	}
	for _, s := range res.Stages {
		if s.Err != nil {
			runner.Errorf("%v", s.Err)
		}
	}
	if st.GateFailed() {
		runner.Errorf("%s", st.ClosedGates())
	}
	if res.Cancelled {
		// The runner's cancel (SIGINT, then SIGTERM): the stages still to
		// come did not run, so the run did not do what it was asked.
		runner.Errorf("the run was cancelled: the stages after the one under way did not run (see the summary); re-run the job to finish it")
		return ExitFailed
	}
	if res.Failed(st) {
		return ExitFailed
	}
	return ExitOK
}

// flatten lists the leaves of joined errors, one per problem.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// describeEvent says in one line what started the run.
func describeEvent(ev *ghactions.Context) string {
	short := ev.SHA
	if len(short) > 12 {
		short = short[:12]
	}
	switch {
	case ev.PullRequest != nil:
		return fmt.Sprintf("%s #%d from %s into %s (head %s)", ev.EventName, ev.PullRequest.Number, ev.PullRequest.HeadRef, ev.PullRequest.BaseRef, ev.PullRequest.HeadSHA)
	case ev.Tag() != "":
		return fmt.Sprintf("%s of tag %s (commit %s)", ev.EventName, ev.Tag(), short)
	case ev.Branch() != "":
		return fmt.Sprintf("%s on branch %s (commit %s)", ev.EventName, ev.Branch(), short)
	}
	return fmt.Sprintf("%s on %s (commit %s)", ev.EventName, ev.Ref, short)
}

func forkName(ev *ghactions.Context) string {
	if ev.PullRequest.HeadRepo != "" {
		return ev.PullRequest.HeadRepo
	}
	return "(deleted repository)"
}

// reportConfigError prints one ::error:: per bad input and, as for any
// other failure, sets result=failure and writes the job summary (unless
// the summary input says false), so that later steps and the run's page
// show why nothing was built.
func (e *environment) reportConfigError(runner *ghactions.Runner, src config.Source, ev *ghactions.Context, err error) {
	var problems []string
	for _, p := range flatten(err) {
		runner.Errorf("%v", p)
		problems = append(problems, p.Error())
	}
	runner.Errorf("the configuration is invalid: fix the inputs named above; nothing was built")
	if werr := runner.SetOutput("result", "failure"); werr != nil {
		runner.Errorf("cannot write output result: %v", werr)
	}
	if v, ok := src("summary"); ok {
		if on, perr := ghactions.ParseBool("summary", v); perr == nil && !on {
			return
		}
	}
	context := ""
	if ev != nil {
		context = describeEvent(ev)
	}
	if werr := runner.AppendSummary(report.ConfigErrorMarkdown(context, problems)); werr != nil {
		runner.Errorf("cannot write the job summary: %v", werr)
	}
}

// untrustedBuild refuses a pull_request_target run that would build a
// fork's code: such runs have this repository's secrets and a write token,
// and workflows often check out the pull request's head. Building the base
// branch is fine; building anything else needs allow-untrusted-build, and
// is then a fork's build (no credentials, secrets, push or signing, as
// for every fork).
func untrustedBuild(cfg *config.Config, ev *ghactions.Context, runner *ghactions.Runner) error {
	if ev.EventName != "pull_request_target" || !ev.IsFork() {
		return nil
	}
	head := readCheckout(cfg.Workspace, cfg.Workspace).sha
	if head != "" && head == ev.SHA {
		runner.Infof("pull_request_target from the fork %s: the checkout is the base branch's %s, not the fork's code", forkName(ev), textfmt.ShortSHA(head))
		return nil
	}
	what := "the fork's code (the checkout is not the base branch's " + textfmt.ShortSHA(ev.SHA) + ")"
	if head == "" {
		what = "code that may be the fork's (the checkout's commit cannot be read)"
	}
	if !cfg.AllowUntrustedBuild {
		return inputerr.New("allow-untrusted-build", "false",
			fmt.Sprintf("stops this pull_request_target run from the fork %s, which would build %s: pull_request_target runs hold this repository's secrets", forkName(ev), what),
			"false with a checkout of the base branch, or true to build it as a fork's (no credentials, no secrets, nothing pushed or signed)")
	}
	runner.Warningf("allow-untrusted-build is true: this pull_request_target run builds %s from the fork %s, as a fork's build: no credentials, no build secrets, nothing pushed or signed", what, forkName(ev))
	return nil
}

// given reports whether the workflow set an input to something.
func given(src config.Source, name string) bool {
	v, ok := src(name)
	return ok && strings.TrimSpace(v) != ""
}

// envNames are the variable names of an environ list.
func envNames(environ []string) []string {
	names := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	return names
}

// writeReports writes the outputs, the job summary and the JSON report.
// Every sink is attempted; their errors are joined.
func writeReports(runner *ghactions.Runner, cfg *config.Config, rep *report.Result) error {
	var errs []error
	for _, o := range rep.Outputs {
		if err := runner.SetOutput(o.Name, o.Value); err != nil {
			errs = append(errs, fmt.Errorf("cannot write output %s: %w", o.Name, err))
		}
	}
	if cfg.Summary {
		if err := runner.AppendSummary(rep.Markdown()); err != nil {
			errs = append(errs, fmt.Errorf("cannot write the job summary: %w", err))
		}
	}
	if cfg.ReportJSON != "" {
		if err := rep.WriteJSONFile(cfg.ReportJSON); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// workspace is GITHUB_WORKSPACE, or the current directory. A workspace
// that is not there is the job's problem, not an input's: on the runner
// it means no checkout ran before this step.
func workspace(getenv func(string) string) (string, error) {
	if ws := getenv("GITHUB_WORKSPACE"); ws != "" {
		if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
			return ws, fmt.Errorf("the workspace %s (GITHUB_WORKSPACE) is not a directory: check out the repository (actions/checkout) in an earlier step", ws)
		}
		return ws, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return ".", nil
	}
	return wd, nil
}

// skipped wraps a stage that must not run, with the reason.
type skipped struct {
	pipeline.Stage
	reason string
}

func (s skipped) SkipReason(*pipeline.State) string { return s.reason }

// plan runs the tag engine alone and prints its plan on stdout.
func (e *environment) plan(ctx context.Context, runner *ghactions.Runner, ts *tagsStage, format string) int {
	st := &pipeline.State{}
	res := pipeline.Run(ctx, st, []pipeline.Stage{ts})
	if res.Err != nil {
		runner.Errorf("%v", res.Err)
		return ExitFailed
	}
	if format == "json" {
		fmt.Fprintln(e.stdout, st.Plan.JSON)
	} else {
		fmt.Fprint(e.stdout, ghactions.EscapeControls(ts.plan.Text()))
	}
	return ExitOK
}

// logObserver shows stage progress in the log, one group per stage.
type logObserver struct {
	runner *ghactions.Runner
	end    func()
}

func (o *logObserver) StageStarted(name string) {
	o.end = o.runner.Group("image-pipeline: " + name)
}

func (o *logObserver) StageEnded(r pipeline.StageResult) {
	if o.end != nil {
		o.end()
		o.end = nil
	}
	switch r.Status {
	case pipeline.StatusSkipped:
		o.runner.Infof("%s skipped: %s", r.Name, r.SkipReason)
	case pipeline.StatusOK:
		msg := fmt.Sprintf("%s ok in %s", r.Name, report.FormatDuration(r.Duration))
		if r.Fact != "" {
			msg += ": " + r.Fact
		}
		o.runner.Infof("%s", msg)
	case pipeline.StatusFailed:
		o.runner.Infof("%s failed after %s", r.Name, report.FormatDuration(r.Duration))
	}
}

// loadEvent reads the event from GITHUB_* variables, or, outside Actions
// when none is set, from the git checkout holding the build context as a
// push of its current branch.
func loadEvent(getenv func(string) string, contextDir string) (*ghactions.Context, error) {
	if getenv("GITHUB_EVENT_NAME") != "" {
		ev, err := ghactions.LoadContext(getenv)
		if err != nil {
			return nil, fmt.Errorf("cannot read the GitHub event: %w", err)
		}
		return ev, nil
	}
	local, defaultBranch := gitEventEnv(contextDir)
	ev, err := ghactions.LoadContext(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return local[k]
	})
	if err != nil {
		return nil, err
	}
	if ev.DefaultBranch == "" {
		ev.DefaultBranch = defaultBranch
	}
	return ev, nil
}

// gitEventEnv describes the checkout as GITHUB_* variables of a push event,
// and gives its default branch (no GITHUB_* variable carries that).
// Outside a git checkout it describes a push of "main" with no SHA.
func gitEventEnv(dir string) (env map[string]string, defaultBranch string) {
	info := readCheckout(dir, "")
	branch := info.branch
	if branch == "" {
		branch = "main"
	}
	def := info.defaultBranch
	if def == "" {
		def = "main"
	}
	return map[string]string{
		"GITHUB_EVENT_NAME": "push",
		"GITHUB_REF":        "refs/heads/" + branch,
		"GITHUB_SHA":        info.sha,
		"GITHUB_REPOSITORY": "local/" + repoName(info.root),
		"GITHUB_ACTOR":      "local",
		"GITHUB_WORKSPACE":  info.root,
	}, def
}
