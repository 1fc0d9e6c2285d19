//go:build bench

package app

// The pipeline bench (scripts/bench-pipeline): image-pipeline run as the
// runner runs it, against the recipe our users glue together today —
// `buildx build` (docker driver) of the builder and the production stage
// with four --cache-from refs, inline cache and --push; `trivy image` twice
// (SARIF, then CycloneDX) sharing a cache dir; `cosign sign --key`. Same
// app, same engine, same registry, same fixture DB, same key; the two sides
// alternate (A B A B …) so that the machine's noise falls on both.

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/org/image-pipeline/internal/testenv"
)

// benchApp is the app both sides build: a builder stage with a dependency
// step (sizeMB of incompressible data in `layers` files) and a compile step
// over src/, and a FROM scratch production stage copying each dependency
// file (one layer each) and the binary.
type benchApp struct {
	sizeMB, layers, tags int
}

func (a benchApp) String() string {
	return fmt.Sprintf("%d MB, %d layers, %d tags", a.sizeMB, a.layers+1, a.tags)
}

func (a benchApp) dockerfile() string {
	var b strings.Builder
	per := max(1, a.sizeMB*1024/a.layers)
	fmt.Fprintf(&b, "ARG BASE\nFROM $BASE AS builder\n")
	fmt.Fprintf(&b, "RUN mkdir /deps && for i in $(seq 1 %d); do dd if=/dev/urandom of=/deps/part$i bs=1024 count=%d 2>/dev/null; done\n", a.layers, per)
	fmt.Fprintf(&b, "COPY src/ /src/\nRUN sha256sum /src/* > /app && cat /src/* >> /app\n")
	fmt.Fprintf(&b, "FROM scratch AS production\n")
	for i := 1; i <= a.layers; i++ {
		fmt.Fprintf(&b, "COPY --from=builder /deps/part%d /deps/part%d\n", i, i)
	}
	fmt.Fprintf(&b, "COPY --from=builder /app /app\nENTRYPOINT [\"/app\"]\n")
	return b.String()
}

// benchRun is one timed run of one side.
type benchRun struct {
	repo, branch, sha string
	workspace         string
}

type benchTiming struct {
	total, solve time.Duration
	stages       map[string]time.Duration // image-pipeline's own stage timings
}

type benchSide interface {
	name() string
	run(t *testing.T, r benchRun) benchTiming
}

// benchEnv is what both sides share on one engine.
type benchEnv struct {
	env     *testenv.Env
	engine  testenv.Engine
	app     benchApp
	dbRef   string
	keyFile string
	keyPEM  string
	work    string
}

const benchKeyPassword = "bench-pw"

// ---------------------------------------------------------------- recipe

type recipeSide struct {
	*benchEnv
	buildx, trivy, cosign string
	cacheDir              string
}

func (recipeSide) name() string { return "recipe" }

func (s recipeSide) run(t *testing.T, r benchRun) benchTiming {
	t.Helper()
	start := time.Now()
	cacheFrom := func(args []string) []string {
		for _, ref := range []string{"builder-" + r.branch, "builder-main", r.branch, "main"} {
			args = append(args, "--cache-from", "type=registry,ref="+r.repo+":"+ref)
		}
		return args
	}
	var solve time.Duration
	// build-push-action, builder stage: the cache image of the branch.
	args := cacheFrom([]string{"build", "--progress=rawjson", "--build-arg", "BASE=" + s.env.BaseImage,
		"--target", "builder", "--cache-to", "type=inline", "--push", "-t", r.repo + ":builder-" + r.branch})
	solve += s.buildx1(t, append(args, r.workspace))
	// build-push-action, production stage: the tags.
	meta := filepath.Join(r.workspace, "metadata.json")
	args = cacheFrom([]string{"build", "--progress=rawjson", "--build-arg", "BASE=" + s.env.BaseImage,
		"--target", "production", "--cache-to", "type=inline", "--push", "--metadata-file", meta})
	for _, tag := range benchTags(s.app, r) {
		args = append(args, "-t", r.repo+":"+tag)
	}
	solve += s.buildx1(t, append(args, r.workspace))
	var md struct {
		Digest string `json:"containerimage.digest"`
	}
	data, err := os.ReadFile(meta)
	if err == nil {
		err = json.Unmarshal(data, &md)
	}
	if err != nil || !strings.HasPrefix(md.Digest, "sha256:") {
		t.Fatalf("recipe: no digest in buildx's metadata file: %v %s", err, data)
	}
	ref := r.repo + ":" + benchTags(s.app, r)[0]
	// trivy-action twice: SARIF for code scanning, then the SBOM.
	common := []string{"image", "--quiet", "--skip-version-check", "--disable-telemetry", "--cache-dir", s.cacheDir,
		"--db-repository", s.dbRef, "--docker-host", s.engine.Host}
	s.exec(t, nil, s.trivy, slices.Concat(common, []string{"--scanners", "vuln", "--format", "sarif", "--output", filepath.Join(r.workspace, "trivy.sarif"), ref})...)
	s.exec(t, nil, s.trivy, slices.Concat(common, []string{"--format", "cyclonedx", "--output", filepath.Join(r.workspace, "sbom.cdx.json"), ref})...)
	// cosign-installer + `cosign sign --key`.
	s.exec(t, []string{"COSIGN_PASSWORD=" + benchKeyPassword}, s.cosign, "sign", "--yes", "--key", s.keyFile, "--tlog-upload=false", r.repo+"@"+md.Digest)
	return benchTiming{total: time.Since(start), solve: solve}
}

// buildx1 runs one buildx build and returns its solve time: from the first
// vertex's start to the last completion of a vertex that is not the push.
func (s recipeSide) buildx1(t *testing.T, args []string) time.Duration {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), s.buildx, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.engine.Host, "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("buildx %s: %v\n%s%s", strings.Join(args, " "), err, out, tail(stderr.String(), 4000))
	}
	var first, last time.Time
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var st struct {
			Vertexes []struct {
				Name      string     `json:"name"`
				Started   *time.Time `json:"started"`
				Completed *time.Time `json:"completed"`
			} `json:"vertexes"`
		}
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			if strings.HasPrefix(v.Name, "pushing ") {
				continue
			}
			if v.Started != nil && (first.IsZero() || v.Started.Before(first)) {
				first = *v.Started
			}
			if v.Completed != nil && v.Completed.After(last) {
				last = *v.Completed
			}
		}
	}
	if first.IsZero() || last.Before(first) {
		t.Fatalf("buildx %s: no vertex timings in its rawjson progress", strings.Join(args, " "))
	}
	return last.Sub(first)
}

func (s recipeSide) exec(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(string(out), 4000))
	}
}

// ---------------------------------------------------------------- image-pipeline

type pipelineSide struct {
	*benchEnv
	cacheDir string
}

func (pipelineSide) name() string { return "image-pipeline" }

func (s pipelineSide) run(t *testing.T, r benchRun) benchTiming {
	t.Helper()
	events := filepath.Join(repoRoot(t), "testdata", "events")
	env := readEnvFile(t, filepath.Join(events, "push_main.env"))
	payload, err := os.ReadFile(filepath.Join(events, "push_main.json"))
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.ReplaceAll(payload, []byte(`"refs/heads/main"`), []byte(strconv.Quote("refs/heads/"+r.branch)))
	payload = bytes.ReplaceAll(payload, []byte(env["GITHUB_SHA"]), []byte(r.sha))
	run := filepath.Join(r.workspace, "..", filepath.Base(r.workspace)+"-runner")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_EVENT_PATH"] = filepath.Join(run, "event.json")
	if err := os.WriteFile(env["GITHUB_EVENT_PATH"], payload, 0o644); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_REF"], env["GITHUB_REF_NAME"], env["GITHUB_SHA"] = "refs/heads/"+r.branch, r.branch, r.sha
	env["GITHUB_ACTIONS"] = "true"
	env["GITHUB_WORKSPACE"] = r.workspace
	env["GITHUB_OUTPUT"] = filepath.Join(run, "output")
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(run, "summary")
	env["RUNNER_TEMP"] = run
	env["HOME"] = run
	env["PATH"] = os.Getenv("PATH")
	env["DOCKER_HOST"] = s.engine.Host
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(run, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range configInputs() {
		env["INPUT_"+strings.ToUpper(in.Name)] = in.Default
	}
	var rules []string
	for _, tag := range benchTags(s.app, r) {
		rules = append(rules, "type=raw,value="+tag)
	}
	for k, v := range map[string]string{
		"plan": "false", "image": r.repo, "build-args": "BASE=" + s.env.BaseImage,
		"tags": strings.Join(rules, "\n"), "target": "production", "builder-target": "builder",
		"trivy-db-repository": s.dbRef, "trivy-cache-dir": s.cacheDir,
		"sign": "true", "cosign-key": s.keyPEM, "cosign-password": benchKeyPassword, "cosign-tlog": "false", "attest-sbom": "false",
		"report-json": filepath.Join(run, "report.json"), "github-token": "",
	} {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	cmd := exec.CommandContext(t.Context(), binary)
	cmd.Dir = r.workspace
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	total := time.Since(start)
	if err != nil {
		t.Fatalf("image-pipeline: %v\n%s", err, tail(string(out), 6000))
	}
	if dir := os.Getenv("IMAGE_PIPELINE_BENCH_LOGS"); dir != "" {
		f, err := os.CreateTemp(dir, "image-pipeline-"+r.branch+"-*.log")
		if err == nil {
			_, _ = f.Write(out)
			_ = f.Close()
		}
	}
	data, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	outputs := parseOutputFile(t, data)
	if outputs["pushed"] != "true" || outputs["signed"] != "true" || len(strings.Fields(outputs["tags"])) != len(benchTags(s.app, r)) {
		t.Fatalf("image-pipeline: outputs %v\n%s", outputs, tail(string(out), 6000))
	}
	var rep jsonReport
	data, err = os.ReadFile(env["INPUT_REPORT-JSON"])
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	if err != nil {
		t.Fatalf("image-pipeline: report JSON: %v", err)
	}
	bt := benchTiming{total: total, stages: map[string]time.Duration{}}
	for _, st := range rep.Stages {
		bt.stages[st.Name] = time.Duration(st.DurationMS) * time.Millisecond
	}
	bt.solve = bt.stages["build"]
	return bt
}

type jsonReport struct {
	Stages []struct {
		Name       string `json:"name"`
		DurationMS int64  `json:"duration_ms"`
	} `json:"stages"`
}

// benchTags are the tags a run pushes: the commit, the branch, and extra
// tags up to app.tags.
func benchTags(a benchApp, r benchRun) []string {
	tags := []string{"sha-" + r.sha[:12], r.branch}
	for i := len(tags); i < a.tags; i++ {
		tags = append(tags, fmt.Sprintf("extra-%d", i))
	}
	return tags[:max(1, min(len(tags), a.tags))]
}

// ---------------------------------------------------------------- cases

// prune empties the engine's build cache and removes the bench's images, so
// the next build starts from nothing local (the base image stays).
func (b *benchEnv) prune(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	imgs, err := b.engine.Client.ImageList(ctx, dockerimage.ListOptions{All: true})
	if err != nil {
		t.Fatalf("list images: %v", err)
	}
	for _, img := range imgs {
		keep := false
		for _, tag := range img.RepoTags {
			keep = keep || strings.HasPrefix(tag, b.env.BaseImage[:strings.LastIndex(b.env.BaseImage, ":")])
		}
		if !keep {
			_, _ = b.engine.Client.ImageRemove(ctx, img.ID, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
		}
	}
	release := testenv.LockEngine(t, b.engine.Host, true)
	_, err = b.engine.Client.BuildCachePrune(ctx, build.CachePruneOptions{All: true})
	release()
	if err != nil {
		t.Fatalf("prune the build cache: %v", err)
	}
}

// writeSource writes the app's sources; version changes one file.
func writeSource(t *testing.T, dir string, a benchApp, version string) {
	t.Helper()
	files := map[string]string{
		"Dockerfile":    a.dockerfile(),
		"src/main.c":    "int main(void) { return 0; } /* " + version + " */\n",
		"src/util.c":    "int util(void) { return 1; }\n",
		".dockerignore": "*.json\n*.sarif\nimage-pipeline-reports\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type benchCase struct {
	name string
	// setup prepares side s before the timed runs (untimed), after one
	// prune for both sides: the second side's setup reuses the first's
	// local cache, so both registries hold the same layers.
	setup func(t *testing.T, b *benchEnv, s benchSide, repo string)
	// prepare readies rep i (untimed) and returns the run to time.
	prepare func(t *testing.T, b *benchEnv, s benchSide, repo string, i int) benchRun
}

var benchCases = []benchCase{
	{
		name: "cold (empty registry)",
		prepare: func(t *testing.T, b *benchEnv, s benchSide, repo string, i int) benchRun {
			b.prune(t)
			r := b.newRun(t, fmt.Sprintf("%s-%d", repo, i), "main", "v1")
			return r
		},
	},
	{
		name: "warm, nothing changed",
		setup: func(t *testing.T, b *benchEnv, s benchSide, repo string) {
			s.run(t, b.newRun(t, repo, "main", "v1"))
		},
		prepare: func(t *testing.T, b *benchEnv, s benchSide, repo string, i int) benchRun {
			return b.newRun(t, repo, "main", "v1")
		},
	},
	{
		name: "new branch (local cache pruned, one source file changed)",
		setup: func(t *testing.T, b *benchEnv, s benchSide, repo string) {
			s.run(t, b.newRun(t, repo, "main", "v1"))
		},
		prepare: func(t *testing.T, b *benchEnv, s benchSide, repo string, i int) benchRun {
			b.prune(t)
			return b.newRun(t, repo, fmt.Sprintf("feature-%d", i), fmt.Sprintf("v2-%s-%d", s.name(), i))
		},
	},
}

// newRun writes a workspace for one run: the same sources give the same
// commit SHA.
func (b *benchEnv) newRun(t *testing.T, repo, branch, version string) benchRun {
	t.Helper()
	ws, err := os.MkdirTemp(b.work, "ws-")
	if err != nil {
		t.Fatal(err)
	}
	writeSource(t, ws, b.app, version)
	sum := sha1.Sum([]byte(version))
	return benchRun{repo: repo, branch: branch, sha: hex.EncodeToString(sum[:]), workspace: ws}
}

type benchResult struct {
	engine, caseName string
	app              benchApp
	times            map[string][]benchTiming // by side
}

// compare runs each side `pairs` times, alternating, in one case.
func compare(t *testing.T, b *benchEnv, c benchCase, sides []benchSide, pairs int) benchResult {
	t.Helper()
	res := benchResult{engine: b.engine.Name, caseName: c.name, app: b.app, times: map[string][]benchTiming{}}
	repos := map[string]string{}
	if c.setup != nil {
		b.prune(t)
	}
	for _, s := range sides {
		repos[s.name()] = b.env.UniqueRepo(t, b.env.Registry, "bench-"+strings.ReplaceAll(s.name(), "image-", ""))
		if c.setup != nil {
			c.setup(t, b, s, repos[s.name()])
		}
	}
	for i := range pairs {
		for _, s := range sides {
			r := c.prepare(t, b, s, repos[s.name()], i)
			tm := s.run(t, r)
			res.times[s.name()] = append(res.times[s.name()], tm)
			t.Logf("%s | %s | %s | %s | pair %d: %s total, %s solve %v", b.engine.Name, b.app, c.name, s.name(), i+1, secs(tm.total), secs(tm.solve), stageLine(tm.stages))
		}
	}
	return res
}

func stageLine(m map[string]time.Duration) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, n := range []string{"lint", "tags", "build", "scan", "push", "sign"} {
		if d, ok := m[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, d.Seconds()))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func medianOf(ts []benchTiming, f func(benchTiming) time.Duration) time.Duration {
	ds := make([]time.Duration, len(ts))
	for i, tm := range ts {
		ds[i] = f(tm)
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	if len(ds)%2 == 0 {
		return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return ds[len(ds)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func totalOf(tm benchTiming) time.Duration    { return tm.total }
func overheadOf(tm benchTiming) time.Duration { return tm.total - tm.solve }

// TestBenchPipeline is scripts/bench-pipeline. IMAGE_PIPELINE_BENCH_ROUNDS
// pairs per case (default 5), IMAGE_PIPELINE_BENCH_ENGINES (default: every
// Docker Engine), IMAGE_PIPELINE_BENCH_GROWTH=0 to leave out the growth
// series, IMAGE_PIPELINE_BENCH_GROWTH_ROUNDS pairs per growth point
// (default 3), IMAGE_PIPELINE_BENCH_CASES=text to run only the cases whose
// name holds text ("warm", "new branch"), IMAGE_PIPELINE_BENCH_LOGS=dir
// to keep each image-pipeline run's log there; the markdown tables go to
// IMAGE_PIPELINE_BENCH_OUT.
func TestBenchPipeline(t *testing.T) {
	env, engines := testenv.RequireEngines(t)
	pairs := envInt(t, "IMAGE_PIPELINE_BENCH_ROUNDS", 5)
	growthPairs := envInt(t, "IMAGE_PIPELINE_BENCH_GROWTH_ROUNDS", 3)
	if want := os.Getenv("IMAGE_PIPELINE_BENCH_ENGINES"); want != "" {
		engines = slices.DeleteFunc(engines, func(e testenv.Engine) bool { return !slices.Contains(strings.Split(want, ","), e.Name) })
	}
	tool := func(script string, args ...string) string {
		out, err := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "scripts", script)}, args...)...).Output()
		if err != nil {
			t.Fatalf("scripts/%s: %v", script, err)
		}
		return strings.TrimSpace(string(out))
	}
	buildx, trivy, cosignBin := tool("tools-buildx"), tool("tools-trivy"), tool("tools-cosign", "v2")
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(benchKeyPassword), nil })
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	keyFile := filepath.Join(work, "cosign.key")
	if err := os.WriteFile(keyFile, keys.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	dbRef := fixtureDB(t, env)

	var out strings.Builder
	table := func(results []benchResult, withOverhead bool) {
		if withOverhead {
			fmt.Fprintf(&out, "| engine | case | recipe | image-pipeline | ratio | recipe beyond the solve | image-pipeline beyond the solve | ratio |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
		} else {
			fmt.Fprintf(&out, "| engine | case | app | recipe | image-pipeline | ratio |\n|---|---|---|---:|---:|---:|\n")
		}
		for _, r := range results {
			a, b := medianOf(r.times["recipe"], totalOf), medianOf(r.times["image-pipeline"], totalOf)
			if withOverhead {
				oa, ob := medianOf(r.times["recipe"], overheadOf), medianOf(r.times["image-pipeline"], overheadOf)
				fmt.Fprintf(&out, "| %s | %s | %s | %s | %.2f | %s | %s | %.2f |\n", r.engine, r.caseName, secs(a), secs(b), b.Seconds()/a.Seconds(), secs(oa), secs(ob), ob.Seconds()/oa.Seconds())
			} else {
				fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %.2f |\n", r.engine, r.caseName, r.app, secs(a), secs(b), b.Seconds()/a.Seconds())
			}
		}
		out.WriteString("\n")
	}
	stages := func(results []benchResult) {
		fmt.Fprintf(&out, "image-pipeline's stages (medians, seconds):\n\n| engine | case | lint | build | scan | push | sign |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, r := range results {
			fmt.Fprintf(&out, "| %s | %s |", r.engine, r.caseName)
			for _, n := range []string{"lint", "build", "scan", "push", "sign"} {
				fmt.Fprintf(&out, " %.2f |", medianOf(r.times["image-pipeline"], func(tm benchTiming) time.Duration { return tm.stages[n] }).Seconds())
			}
			out.WriteString("\n")
		}
		out.WriteString("\n")
	}

	newBench := func(en testenv.Engine, app benchApp) (*benchEnv, []benchSide) {
		b := &benchEnv{env: env, engine: en, app: app, dbRef: dbRef, keyFile: keyFile, keyPEM: string(keys.PrivateBytes), work: work}
		recipe := recipeSide{benchEnv: b, buildx: buildx, trivy: trivy, cosign: cosignBin, cacheDir: filepath.Join(work, "trivy-cache-recipe")}
		ours := pipelineSide{benchEnv: b, cacheDir: filepath.Join(work, "trivy-cache-ours-"+en.Name)}
		return b, []benchSide{recipe, ours}
	}

	main := benchApp{sizeMB: 40, layers: 1, tags: 2}
	var results []benchResult
	for _, en := range engines {
		b, sides := newBench(en, main)
		// Warm the DB caches of both sides: no timed run downloads the DB.
		b.prune(t)
		for _, s := range sides {
			s.run(t, b.newRun(t, b.env.UniqueRepo(t, b.env.Registry, "bench-warmup"), "main", "warmup"))
		}
		for _, c := range benchCases {
			if want := os.Getenv("IMAGE_PIPELINE_BENCH_CASES"); want != "" && !strings.Contains(c.name, want) {
				continue
			}
			results = append(results, compare(t, b, c, sides, pairs))
		}
	}
	fmt.Fprintf(&out, "App: %s; %d pairs per case, alternating; medians.\n\n", main, pairs)
	table(results, true)
	stages(results)

	if os.Getenv("IMAGE_PIPELINE_BENCH_GROWTH") != "0" {
		en := engines[0]
		for _, e := range engines {
			if e.Name == testenv.EngineDocker29Classic {
				en = e
			}
		}
		points := []benchApp{
			{sizeMB: 10, layers: 1, tags: 2}, {sizeMB: 100, layers: 1, tags: 2}, {sizeMB: 1000, layers: 1, tags: 2},
			{sizeMB: 40, layers: 10, tags: 2}, {sizeMB: 40, layers: 50, tags: 2},
			{sizeMB: 40, layers: 1, tags: 1}, {sizeMB: 40, layers: 1, tags: 5}, {sizeMB: 40, layers: 1, tags: 20},
		}
		var growth []benchResult
		for _, app := range points {
			b, sides := newBench(en, app)
			for _, c := range benchCases[:2] {
				growth = append(growth, compare(t, b, c, sides, growthPairs))
			}
		}
		slices.SortStableFunc(growth, func(x, y benchResult) int { return cmp.Compare(x.caseName, y.caseName) })
		fmt.Fprintf(&out, "Growth on %s (%d pairs per point, alternating; medians):\n\n", en.Name, growthPairs)
		table(growth, false)
	}
	t.Logf("\n%s", out.String())
	if path := os.Getenv("IMAGE_PIPELINE_BENCH_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
