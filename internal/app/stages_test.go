package app

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/sign"
)

// fixtureContext loads one of testdata/events as the runner would give it.
func fixtureContext(t *testing.T, fixture string) *ghactions.Context {
	t.Helper()
	events := filepath.Join(repoRoot(t), "testdata", "events")
	env := readEnvFile(t, filepath.Join(events, fixture+".env"))
	env["GITHUB_EVENT_PATH"] = filepath.Join(events, fixture+".json")
	ev, err := ghactions.LoadContext(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func parseInputs(t *testing.T, inputs map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(func(name string) (string, bool) {
		v, ok := inputs[name]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workspace = t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "testdata", "demo"), cfg.Workspace)
	return cfg
}

// The scan inputs reach the scan stage's options as parsed.
func TestScanOptions(t *testing.T) {
	cfg := parseInputs(t, map[string]string{
		"fail-on": "high", "severity": "CRITICAL,HIGH", "ignore-unfixed": "true", "trivyignores": "a\nb",
		"pkg-types": "os", "sbom-format": "spdx-json", "trivy-db-repository": "r.example/db:2",
		"trivy-cache-dir": "/cache", "trivy-db-max-age": "12h", "reports-dir": "out",
	})
	o := scanOptions(cfg)
	if !o.Enabled || o.FailOn != "HIGH" || !slices.Equal(o.Severities, []string{"CRITICAL", "HIGH"}) || !o.IgnoreUnfixed ||
		!slices.Equal(o.IgnoreFiles, []string{"a", "b"}) || !slices.Equal(o.PkgTypes, []string{"os"}) || o.SBOMFormat != "spdx-json" ||
		!slices.Equal(o.DBRepositories, []string{"r.example/db:2"}) || o.CacheDir != "/cache" || o.DBMaxAge != 12*time.Hour || o.Workspace != cfg.Workspace {
		t.Errorf("scan options %+v", o)
	}
	for _, f := range []string{o.SBOMFile, o.JSONFile, o.SARIFFile} {
		if !strings.HasPrefix(f, "out/") {
			t.Errorf("report file %q is not in reports-dir out/", f)
		}
	}
}

// Who may write the build cache: only a run that may push to the cache's
// registry; never a fork, a plan, or push: false.
func TestMayWriteCache(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		inputs  map[string]string
		want    bool
	}{
		{name: "push with the token for ghcr.io", fixture: "push_main", inputs: map[string]string{"github-token": "ghs_x"}, want: true},
		{name: "push without credentials for the cache's registry", fixture: "push_main", inputs: map[string]string{"image": "registry.example.com/team/app"}},
		{name: "push: true", fixture: "push_main", inputs: map[string]string{"push": "true", "image": "registry.example.com/team/app"}, want: true},
		{name: "push: false", fixture: "push_main", inputs: map[string]string{"push": "false", "github-token": "ghs_x"}},
		{name: "plan", fixture: "push_main", inputs: map[string]string{"plan": "true", "github-token": "ghs_x"}},
		{name: "a fork, even with push: true", fixture: "pull_request_fork", inputs: map[string]string{"push": "true", "github-token": "ghs_x"}},
		{name: "a same-repository pull request", fixture: "pull_request", inputs: map[string]string{"github-token": "ghs_x"}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseInputs(t, tc.inputs)
			ev := fixtureContext(t, tc.fixture)
			p, err := registry.New(registry.Options{Push: cfg.Push, GitHubToken: cfg.GitHubToken, ForkPR: ev.IsFork(), TargetRegistries: targetRegistries(cfg, ev)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := mayWriteCache(cfg, ev, p); got != tc.want {
				t.Errorf("mayWriteCache = %v, want %v", got, tc.want)
			}
		})
	}
}

// newStages gives the scan stage the injected scanner, a stand-in without
// one, and validates the scan inputs either way.
func TestNewStagesScanner(t *testing.T) {
	ev := fixtureContext(t, "push_main")
	var log bytes.Buffer
	runner := ghactions.NewRunner(func(string) string { return "" }, &log)
	made := 0
	fake := func(scan.Options) (scan.Scanner, error) { made++; return nil, errors.New("not used") }

	cfg := parseInputs(t, map[string]string{"scan": "false"})
	set, err := newStages(cfg, ev, func(string) string { return "" }, runner, &tagsStage{cfg: cfg, ev: ev}, fake)
	if err != nil {
		t.Fatalf("newStages: %v", err)
	}
	set.close()
	if made != 0 {
		t.Errorf("a disabled scan made a scanner")
	}
	cfg = parseInputs(t, nil)
	set, err = newStages(cfg, ev, func(string) string { return "" }, runner, &tagsStage{cfg: cfg, ev: ev}, nil)
	if err != nil {
		t.Fatalf("newStages without a scanner: %v", err)
	}
	set.close()
	if u, ok := set.scan.(unavailable); !ok || !strings.Contains(u.reason, "without the scanner") {
		t.Errorf("scan stage without a scanner: %#v", set.scan)
	}
	_, err = newStages(cfg, ev, func(string) string { return "" }, runner, &tagsStage{cfg: cfg, ev: ev}, fake)
	if err == nil || !strings.Contains(err.Error(), "set up the scanner") || made != 1 {
		t.Errorf("the scanner's error is not a configuration error: %v (made %d)", err, made)
	}
}

// The enum inputs are checked once, by config, against the values
// inputs.go declares; the stages take them as typed values. This keeps
// the two lists equal.
func TestEnumInputsMatchTheStages(t *testing.T) {
	lower := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ToLower(s)
		}
		return out
	}
	for name, want := range map[string][]string{
		"cache":            build.CacheModes,
		"push":             {string(registry.PushAuto), string(registry.PushTrue), string(registry.PushFalse)},
		"sign":             {string(sign.SignAuto), string(sign.SignTrue), string(sign.SignFalse)},
		"signature-format": {string(sign.FormatLegacy), string(sign.FormatBundle)},
		"sbom-format":      {string(scan.FormatCycloneDX), string(scan.FormatSPDXJSON)},
		"fail-on":          append(lower(scan.Severities), strings.ToLower(string(scan.FailOnNone))),
	} {
		in, ok := config.Lookup(name)
		if !ok {
			t.Fatalf("no input %s", name)
		}
		if !slices.Equal(in.Values, want) {
			t.Errorf("input %s declares %q, its stage accepts %q", name, in.Values, want)
		}
	}
}
