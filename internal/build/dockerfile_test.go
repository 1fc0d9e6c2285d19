package build

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	bkclient "github.com/moby/buildkit/client"
)

const twoStage = `# syntax check only
ARG BASE
FROM ${BASE} AS Builder
WORKDIR /src
RUN make \
    all
FROM ${BASE} AS production
COPY --from=builder /src/out /out
FROM production AS debug
RUN echo debug
`

func readTestDockerfile(t *testing.T, text string) *dockerfileInfo {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, p, text)
	df, err := readDockerfile(p, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return df
}

func TestTargets(t *testing.T) {
	df := readTestDockerfile(t, twoStage)
	tests := []struct {
		target, builderTarget string
		final, builder, err   string
	}{
		{final: "", builder: "builder"},
		{target: "production", final: "production", builder: "builder"},
		{target: "Builder", final: "builder", builder: ""}, // the builder is the final image
		{builderTarget: "none", builder: ""},
		{builderTarget: "production", target: "debug", final: "debug", builder: "production"},
		{target: "nope", err: `input "target": "nope" is not a stage of the Dockerfile Dockerfile; accepted values: builder, production, debug`},
		{builderTarget: "nope", err: `input "builder-target": "nope" is not a stage of the Dockerfile Dockerfile; accepted values: builder, production, debug, or none`},
	}
	for _, tc := range tests {
		final, builder, err := df.targets(Options{Target: tc.target, BuilderTarget: tc.builderTarget})
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("targets(%q, %q) err = %v, want %q", tc.target, tc.builderTarget, err, tc.err)
			}
			continue
		}
		if err != nil || final != tc.final || builder != tc.builder {
			t.Errorf("targets(%q, %q) = %q, %q, %v; want %q, %q", tc.target, tc.builderTarget, final, builder, err, tc.final, tc.builder)
		}
	}
	single := readTestDockerfile(t, "FROM scratch\nCOPY a /a\n")
	if _, b, _ := single.targets(Options{}); b != "" {
		t.Errorf("builder %q for a Dockerfile without a builder stage", b)
	}
}

func TestStepPlace(t *testing.T) {
	df := readTestDockerfile(t, twoStage)
	tests := []struct {
		step      string
		line, end int
	}{
		{`[builder 3/3] RUN make     all`, 5, 6},
		{`[builder 1/3] FROM docker.io/library/busybox`, 3, 3},
		{`[production 2/2] COPY --from=builder /src/out /out`, 8, 8},
		{`[stage-2 2/2] RUN echo debug`, 10, 10},
		{`[linux/arm64 debug 2/2] RUN echo debug`, 10, 10},
		{`[builder 2/3] WORKDIR /elsewhere`, 4, 4}, // by number when the text differs
		{`[internal] load build context`, 0, 0},
		{`[unknown 2/2] RUN x`, 0, 0},
	}
	for _, tc := range tests {
		line, end, _ := df.stepPlace(tc.step)
		if line != tc.line || end != tc.end {
			t.Errorf("stepPlace(%q) = %d-%d, want %d-%d", tc.step, line, end, tc.line, tc.end)
		}
	}
}

func TestNewBuildError(t *testing.T) {
	df := readTestDockerfile(t, twoStage)
	tr := newTracker()
	failing := digest.FromString("run make")
	tr.update("final", &bkclient.SolveStatus{
		Vertexes: []*bkclient.Vertex{{Digest: failing, Name: "[builder 3/3] RUN make     all", Error: "exit code: 2"}},
		Logs:     []*bkclient.VertexLog{{Vertex: failing, Data: []byte("cc -c a.c\na.c:1: error\npartial")}},
	})
	src := &errdefs.Source{Info: &pb.SourceInfo{Filename: "Dockerfile"}, Ranges: []*pb.Range{{Start: &pb.Position{Line: 5}, End: &pb.Position{Line: 6}}}}
	withSource := src.WrapError(errdefs.WrapVertex(errors.New("process \"/bin/sh -c make all\" did not complete successfully: exit code: 2"), failing))
	tests := []struct {
		name      string
		err       error
		line, end int
		step      string
	}{
		{name: "source ranges (BuildKit v0.9+)", err: withSource, line: 5, end: 6, step: "[builder 3/3] RUN make     all"},
		{name: "step number (Docker 20.10)", err: errors.New("executor failed running [/bin/sh -c make all]: exit code: 2"), line: 5, end: 6, step: "[builder 3/3] RUN make     all"},
		{name: "line in the message", err: errors.New("failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 7: unknown instruction: RUNN"), line: 7, end: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var trk *tracker
			if tc.step != "" {
				trk = tr
			}
			be := newBuildError(tc.err, "", "Dockerfile", df, trk)
			if be.Line != tc.line || be.EndLine != tc.end || be.Step != tc.step {
				t.Errorf("place %d-%d step %q, want %d-%d %q", be.Line, be.EndLine, be.Step, tc.line, tc.end, tc.step)
			}
			if strings.Contains(be.Reason, "failed to solve") {
				t.Errorf("reason keeps the wrapping: %q", be.Reason)
			}
			if !errors.Is(be, tc.err) {
				t.Error("BuildError does not wrap the solve error")
			}
			if tc.step != "" && strings.Join(be.Logs, "|") != "cc -c a.c|a.c:1: error|partial" {
				t.Errorf("logs %q", be.Logs)
			}
		})
	}
	if h := hintFor("failed to authorize: 401 Unauthorized"); !strings.Contains(h, "registry-username") {
		t.Errorf("hint for a 401: %q", h)
	}
}

func TestTrackerCounts(t *testing.T) {
	tr := newTracker()
	now := time.Now()
	v := func(name string, cached bool) *bkclient.Vertex {
		return &bkclient.Vertex{Digest: digest.FromString(name), Name: name, Cached: cached, Started: &now, Completed: &now}
	}
	started := &bkclient.Vertex{Digest: digest.FromString("[internal] load build context"), Name: "[internal] load build context", Started: &now}
	tr.update("builder", &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		started,
		v("[builder 1/3] FROM base", true),
		v("[builder 2/3] RUN a", true),
		v("[builder 3/3] RUN b", false),
	}})
	// The final solve reports the builder's steps too (counted once; a
	// step that ran in one solve ran in the build) and its own.
	tr.update("final", &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		v("[builder 1/3] FROM base", true),
		v("[builder 2/3] RUN a", true),
		v("[builder 3/3] RUN b", true),
		v("[stage-1 2/2] COPY --from=builder / /", false),
		v("exporting to image", false),
	}})
	// FROM is neither a hit nor a miss.
	if got, want := tr.counts(""), (StepCounts{Cached: 1, Executed: 2, Total: 3}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got, want := tr.counts("final"), (StepCounts{Cached: 2, Executed: 1, Total: 3}); got != want {
		t.Errorf("final counts = %+v, want %+v", got, want)
	}
	if got, want := tr.counts("builder"), (StepCounts{Cached: 1, Executed: 1, Total: 2}); got != want {
		t.Errorf("builder counts = %+v, want %+v", got, want)
	}
	if got := tr.executedSteps(); !slices.Equal(got, []string{"[builder 3/3] RUN b", "[stage-1 2/2] COPY --from=builder / /"}) {
		t.Errorf("executed %q", got)
	}

	// A step loaded lazily from a remote cache is reported cached, then
	// completed again without the flag: it did not run.
	lazy := newTracker()
	step := v("[production 3/3] RUN sleep 1", true)
	again := *step
	again.Cached = false
	lazy.update("final", &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{step}})
	lazy.update("final", &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{&again}})
	if got, want := lazy.counts(""), (StepCounts{Cached: 1, Total: 1}); got != want {
		t.Errorf("lazy counts = %+v, want %+v", got, want)
	}
}

func TestTrackerKeepsTheLastLines(t *testing.T) {
	tr := newTracker()
	d := digest.FromString("x")
	tr.update("final", &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{{Digest: d, Name: "[1/1] RUN x", Error: "boom"}}})
	for i := range 50 {
		tr.update("final", &bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: d, Data: []byte(strings.Repeat("y", i%3) + "line " + strconv.Itoa(i) + "\r\n")}}})
	}
	tr.update("final", &bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: d, Data: []byte(strings.Repeat("z", 3*maxLogLine))}}})
	name, logs, ok := tr.failedStep("")
	if !ok || name != "[1/1] RUN x" || len(logs) != keptLogLines {
		t.Fatalf("failedStep = %q, %d lines, %v", name, len(logs), ok)
	}
	if !strings.HasSuffix(logs[len(logs)-2], "line 49") || len(logs[len(logs)-1]) > maxLogLine+len("…") {
		t.Errorf("last lines %q … (%d bytes)", logs[len(logs)-2], len(logs[len(logs)-1]))
	}
}
