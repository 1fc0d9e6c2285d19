// Package pipeline runs the stages of image-pipeline in order and records,
// for each, its status, duration and skip reason. Stages meet only at the
// typed values in State.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Stage is one step of the pipeline (lint, build, scan, push, sign).
type Stage interface {
	// Name is the short lower-case name used in logs, the summary and the
	// JSON report ("lint", "build", …).
	Name() string
	// SkipReason returns why the stage does not run for this state, or ""
	// when it runs. It is asked just before Run, after earlier stages ran.
	SkipReason(st *State) string
	// Run does the work and hands its results on through st.
	Run(ctx context.Context, st *State) error
}

// Preparer is a stage that starts work ahead of its turn: Prepare is
// called after each earlier stage ends well, with the state so far. It
// returns at once (the work runs in the background), reads st only before
// it returns, and does nothing a later skip or failure would have to undo
// — no registry write; the stage's Run uses what it prepared.
type Preparer interface {
	Prepare(ctx context.Context, st *State)
}

// Status is the outcome of one stage.
type Status string

// Stage outcomes, as written to the JSON report.
const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
)

// StageResult records what happened to one stage.
type StageResult struct {
	Name       string
	Status     Status
	Duration   time.Duration
	SkipReason string
	// Fact is the one-line key fact for the summary table ("3 warnings",
	// "sha256:… pushed with 4 tags").
	Fact string
	Err  error
}

// Result is the outcome of a whole run.
type Result struct {
	Stages []StageResult
	// Err joins the errors of failed stages; nil when every stage ran or was
	// skipped cleanly. Gate failures are not errors: see State.Gates.
	Err error
	// Cancelled is set when the run's context ended (the runner's cancel):
	// the stages after the one under way did not run.
	Cancelled bool
}

// Failed reports whether a stage failed, a gate closed or the run was
// cancelled.
func (r *Result) Failed(st *State) bool {
	return r.Err != nil || r.Cancelled || (st != nil && st.GateFailed())
}

// Logger is the job log as every stage sees it: plain lines and
// warnings, with untrusted text made safe by the implementation
// (ghactions.Runner). A stage that needs more of the log (groups, the
// build's untrusted stream, annotations) declares an interface that
// embeds this one.
type Logger interface {
	Infof(format string, a ...any)
	Warningf(format string, a ...any)
}

// Observer is told when stages start and end, for progress in the log.
type Observer interface {
	StageStarted(name string)
	StageEnded(res StageResult)
}

// Facter is implemented by stages that have a key fact for the summary.
type Facter interface {
	Fact(st *State) string
}

type options struct {
	now      func() time.Time
	observer Observer
}

// Option configures Run.
type Option func(*options)

// WithClock sets the clock used for durations (tests use a fake one).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithObserver reports stage starts and ends, e.g. as log groups.
func WithObserver(obs Observer) Option { return func(o *options) { o.observer = obs } }

// Run executes the stages in order. A stage that fails stops the stages
// after it (they are recorded as skipped with the reason); the caller
// writes every report afterwards, whatever happened.
func Run(ctx context.Context, st *State, stages []Stage, opts ...Option) *Result {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	res := &Result{}
	var failed string
	var errs []error
	for i, s := range stages {
		r := StageResult{Name: s.Name()}
		switch {
		case ctx.Err() != nil:
			r.Status, r.SkipReason = StatusSkipped, stoppedReason(ctx)
		case failed != "":
			r.Status, r.SkipReason = StatusSkipped, fmt.Sprintf("stage %s failed", failed)
		default:
			r.SkipReason = s.SkipReason(st)
			if r.SkipReason != "" {
				r.Status = StatusSkipped
			}
		}
		if r.Status == StatusSkipped {
			if o.observer != nil {
				o.observer.StageEnded(r)
			}
			res.Stages = append(res.Stages, r)
			continue
		}
		if o.observer != nil {
			o.observer.StageStarted(r.Name)
		}
		start := o.now()
		err := runStage(ctx, s, st)
		r.Duration = o.now().Sub(start)
		if err != nil {
			r.Status, r.Err = StatusFailed, fmt.Errorf("%s: %w", r.Name, err)
			errs = append(errs, r.Err)
			failed = r.Name
		} else {
			r.Status = StatusOK
			for _, later := range stages[i+1:] {
				if p, ok := later.(Preparer); ok && ctx.Err() == nil {
					p.Prepare(ctx, st)
				}
			}
		}
		if f, ok := s.(Facter); ok {
			r.Fact = f.Fact(st)
		}
		if o.observer != nil {
			o.observer.StageEnded(r)
		}
		res.Stages = append(res.Stages, r)
	}
	res.Err = errors.Join(errs...)
	res.Cancelled = ctx.Err() != nil
	return res
}

// stoppedReason is the skip reason of the stages after a cancel: the
// runner's cancel, or the cause the run was stopped with
// (context.WithCancelCause), in its first line.
func stoppedReason(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return "the run was cancelled"
	}
	msg, _, _ := strings.Cut(cause.Error(), "\n")
	return "the run was stopped: " + msg
}

// runStage turns a panic in a stage into an error so that the reports are
// still written.
func runStage(ctx context.Context, s Stage, st *State) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (please report it): %v", p)
		}
	}()
	return s.Run(ctx, st)
}
