package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeStage struct {
	name string
	skip string
	err  error
	fact string
	ran  *[]string
	pan  bool
}

func (f fakeStage) Name() string             { return f.name }
func (f fakeStage) SkipReason(*State) string { return f.skip }
func (f fakeStage) Fact(*State) string       { return f.fact }
func (f fakeStage) Run(context.Context, *State) error {
	*f.ran = append(*f.ran, f.name)
	if f.pan {
		panic("boom")
	}
	return f.err
}

type recorder struct{ started, ended []string }

func (r *recorder) StageStarted(name string) { r.started = append(r.started, name) }
func (r *recorder) StageEnded(res StageResult) {
	r.ended = append(r.ended, res.Name+":"+string(res.Status))
}

func fakeClock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(250 * time.Millisecond); return t }
}

func TestRun(t *testing.T) {
	errBoom := errors.New("registry said no")
	tests := []struct {
		name       string
		stages     func(ran *[]string) []Stage
		wantRan    []string
		wantStatus []Status
		wantSkip   []string
		wantErr    string
	}{
		{
			name: "all ok",
			stages: func(ran *[]string) []Stage {
				return []Stage{fakeStage{name: "lint", ran: ran, fact: "clean"}, fakeStage{name: "build", ran: ran}}
			},
			wantRan:    []string{"lint", "build"},
			wantStatus: []Status{StatusOK, StatusOK},
			wantSkip:   []string{"", ""},
		},
		{
			name: "skip reason recorded and later stages still run",
			stages: func(ran *[]string) []Stage {
				return []Stage{fakeStage{name: "lint", skip: "input lint is false", ran: ran}, fakeStage{name: "build", ran: ran}}
			},
			wantRan:    []string{"build"},
			wantStatus: []Status{StatusSkipped, StatusOK},
			wantSkip:   []string{"input lint is false", ""},
		},
		{
			name: "failure stops later stages and is wrapped with the stage name",
			stages: func(ran *[]string) []Stage {
				return []Stage{fakeStage{name: "build", err: errBoom, ran: ran}, fakeStage{name: "push", ran: ran}}
			},
			wantRan:    []string{"build"},
			wantStatus: []Status{StatusFailed, StatusSkipped},
			wantSkip:   []string{"", "stage build failed"},
			wantErr:    "build: registry said no",
		},
		{
			name: "panic becomes an error",
			stages: func(ran *[]string) []Stage {
				return []Stage{fakeStage{name: "scan", pan: true, ran: ran}}
			},
			wantRan:    []string{"scan"},
			wantStatus: []Status{StatusFailed},
			wantSkip:   []string{""},
			wantErr:    "scan: internal error (please report it): boom",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			rec := &recorder{}
			res := Run(t.Context(), &State{}, tc.stages(&ran), WithClock(fakeClock()), WithObserver(rec))
			if strings.Join(ran, ",") != strings.Join(tc.wantRan, ",") {
				t.Errorf("ran %v, want %v", ran, tc.wantRan)
			}
			if len(res.Stages) != len(tc.wantStatus) {
				t.Fatalf("got %d results, want %d", len(res.Stages), len(tc.wantStatus))
			}
			for i, r := range res.Stages {
				if r.Status != tc.wantStatus[i] || r.SkipReason != tc.wantSkip[i] {
					t.Errorf("stage %s: status %q skip %q, want %q %q", r.Name, r.Status, r.SkipReason, tc.wantStatus[i], tc.wantSkip[i])
				}
				if r.Status != StatusSkipped && r.Duration != 250*time.Millisecond {
					t.Errorf("stage %s: duration %v, want 250ms", r.Name, r.Duration)
				}
			}
			if len(rec.ended) != len(tc.wantStatus) {
				t.Errorf("observer saw %v ends", rec.ended)
			}
			if tc.wantErr == "" && res.Err != nil {
				t.Errorf("unexpected error %v", res.Err)
			}
			if tc.wantErr != "" && (res.Err == nil || res.Err.Error() != tc.wantErr) {
				t.Errorf("error %v, want %q", res.Err, tc.wantErr)
			}
			if tc.wantErr != "" && tc.name != "panic becomes an error" && !errors.Is(res.Err, errBoom) {
				t.Errorf("error does not wrap the stage error")
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var ran []string
	res := Run(ctx, &State{}, []Stage{fakeStage{name: "build", ran: &ran}})
	if len(ran) != 0 || res.Stages[0].Status != StatusSkipped || res.Stages[0].SkipReason != "the run was cancelled" {
		t.Fatalf("cancelled run: ran %v, result %+v", ran, res.Stages[0])
	}
	if !res.Cancelled || !res.Failed(&State{}) {
		t.Errorf("a cancelled run is not failed: %+v", res)
	}
}

// A cancel during a stage that still ends well (the push finishing its
// tags) fails the run: the stages after it did not run.
func TestRunCancelledDuringAStage(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var ran []string
	push := cancelling{fakeStage{name: "push", ran: &ran}, cancel}
	res := Run(ctx, &State{}, []Stage{push, fakeStage{name: "sign", ran: &ran}})
	if len(ran) != 1 || res.Stages[0].Status != StatusOK || res.Stages[1].SkipReason != "the run was cancelled" {
		t.Fatalf("ran %v, stages %+v", ran, res.Stages)
	}
	if res.Err != nil || !res.Cancelled || !res.Failed(&State{}) {
		t.Errorf("want a cancelled, failed run without a stage error: %+v", res)
	}
}

// A run stopped with a cause (the app's wrong cosign-password) names the
// cause in the skip reasons, also after a stage that failed because of the
// stop.
func TestRunStoppedWithACause(t *testing.T) {
	ctx, stop := context.WithCancelCause(t.Context())
	var ran []string
	build := stopping{fakeStage{name: "build", ran: &ran}, func() { stop(errors.New("input \"cosign-key\" cannot be decrypted\nmore")) }}
	res := Run(ctx, &State{}, []Stage{build, fakeStage{name: "push", ran: &ran}})
	if len(ran) != 1 || res.Stages[0].Status != StatusFailed {
		t.Fatalf("ran %v, stages %+v", ran, res.Stages)
	}
	if got, want := res.Stages[1].SkipReason, `the run was stopped: input "cosign-key" cannot be decrypted`; got != want {
		t.Errorf("skip reason %q, want %q", got, want)
	}
	if !res.Cancelled {
		t.Errorf("a stopped run is not marked cancelled: %+v", res)
	}
}

// stopping stops the run while it runs, and fails as a stage whose work
// was cancelled does.
type stopping struct {
	fakeStage
	stop func()
}

func (s stopping) Run(ctx context.Context, st *State) error {
	_ = s.fakeStage.Run(ctx, st)
	s.stop()
	return ctx.Err()
}

type cancelling struct {
	fakeStage
	cancel context.CancelFunc
}

func (c cancelling) Run(ctx context.Context, st *State) error {
	c.cancel()
	return c.fakeStage.Run(ctx, st)
}

func TestGates(t *testing.T) {
	st := &State{}
	st.AddGate(Gate{Name: "lint", Passed: true})
	if st.GateFailed() {
		t.Fatal("open gate reported as failed")
	}
	st.AddGate(Gate{Name: "scan", Passed: false, Reason: "1 critical vulnerability"})
	if !st.GateFailed() {
		t.Fatal("closed gate not reported")
	}
	if got, want := st.ClosedGates(), "scan gate failed (1 critical vulnerability)"; got != want {
		t.Errorf("ClosedGates() = %q, want %q", got, want)
	}
	res := &Result{}
	if !res.Failed(st) {
		t.Error("Result.Failed ignores closed gates")
	}
}

// preparing records the Prepare calls it gets, with what the state held.
type preparing struct {
	fakeStage
	calls *[]string
}

func (p preparing) Prepare(_ context.Context, st *State) {
	*p.calls = append(*p.calls, fmt.Sprintf("after %d stages", len(*p.fakeStage.ran)))
}

// A later stage that prepares is told after each earlier stage that ended
// well, not after a failure, and not once it has run.
func TestRunCallsPreparers(t *testing.T) {
	var ran, calls []string
	push := preparing{fakeStage{name: "push", ran: &ran}, &calls}
	res := Run(t.Context(), &State{}, []Stage{fakeStage{name: "build", ran: &ran}, fakeStage{name: "scan", ran: &ran}, push, fakeStage{name: "sign", ran: &ran}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if want := []string{"after 1 stages", "after 2 stages"}; !slices.Equal(calls, want) {
		t.Errorf("Prepare calls %v, want %v", calls, want)
	}
	ran, calls = nil, nil
	Run(t.Context(), &State{}, []Stage{fakeStage{name: "build", ran: &ran}, fakeStage{name: "scan", ran: &ran, err: errors.New("boom")}, push})
	if want := []string{"after 1 stages"}; !slices.Equal(calls, want) {
		t.Errorf("Prepare calls after a failure %v, want %v", calls, want)
	}
}

func TestSaveKey(t *testing.T) {
	for _, tc := range []struct {
		img  BuiltImage
		want string
	}{
		{BuiltImage{EngineImageID: "sha256:abc", EngineRef: "app:sha-1"}, "sha256:abc"},
		{BuiltImage{EngineRef: "app:sha-1"}, "app:sha-1"},
		{BuiltImage{OCILayout: "/tmp/layout", Digest: "sha256:def"}, ""},
		{BuiltImage{}, ""},
	} {
		if got := tc.img.SaveKey(); got != tc.want {
			t.Errorf("%+v.SaveKey() = %q, want %q", tc.img, got, tc.want)
		}
	}
}
