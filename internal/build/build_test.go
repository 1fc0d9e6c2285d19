package build_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/pipeline"
)

// TestBuildArgsLabelsAndSecret builds the two-stage Dockerfile with a build
// arg, the plan's labels plus an explicit one, and a secret used by a RUN,
// then reads the image back: the labels and the arg are in the config, the
// secret was mounted (its length was written) and its value is in no layer,
// no config field, no history entry and not in the log.
func TestBuildArgsLabelsAndSecret(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "ladder")
		if err := os.WriteFile(filepath.Join(o.Workspace, "app.txt"), []byte(nonce(t)), 0o644); err != nil {
			t.Fatal(err)
		}
		token := "tok-" + nonce(t) + "-never-in-the-image"
		o.Secrets = []ibuild.Secret{{ID: "token", Value: token}}
		o.BuildArgs = append(o.BuildArgs, ibuild.BuildArg{Name: "VERSION", Value: "1.2.3"})
		// The labels input reaches the build merged into the plan's labels
		// by the tag engine (its lines win there).
		plan := &pipeline.TagPlan{Labels: []string{"org.opencontainers.image.source=https://github.com/org/app", "org.opencontainers.image.title=explicit-title", "org.example.extra=yes"}}

		res, log := d.mustBuild(t, o, plan)
		final := res.Outcome.Final()
		if final == nil {
			t.Fatalf("no final image in %+v", res.Outcome)
		}
		if final.Target != "" {
			t.Errorf("final target = %q, want the last stage", final.Target)
		}
		if res.Outcome.Driver != d.name || res.Outcome.ImageID == "" {
			t.Errorf("outcome driver %q image id %q", res.Outcome.Driver, res.Outcome.ImageID)
		}
		img := d.image(t, *final)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"org.opencontainers.image.source": "https://github.com/org/app",
			"org.opencontainers.image.title":  "explicit-title",
			"org.example.extra":               "yes",
			"org.example.version":             "1.2.3", // the build arg, through a LABEL
			"org.example.stage":               "production",
		}
		for k, v := range want {
			if got := cf.Config.Labels[k]; got != v {
				t.Errorf("label %s = %q, want %q", k, got, v)
			}
		}
		files, layers, config := imageFiles(t, img)
		if got, want := string(files["app/one"]), "one 1.2.3\n"; got != want {
			t.Errorf("/app/one = %q, want %q (the build arg VERSION)", got, want)
		}
		if got, want := strings.TrimSpace(string(files["app/token-length"])), strconv.Itoa(len(token)); got != want {
			t.Errorf("/app/token-length = %q, want %q: the secret was not mounted", got, want)
		}
		for i, l := range layers {
			if bytes.Contains(l, []byte(token)) {
				t.Errorf("layer %d contains the secret", i)
			}
		}
		if bytes.Contains(config, []byte(token)) {
			t.Errorf("the image config (history, env, labels) contains the secret")
		}
		assertHistoryClean(t, cf, token)
		if final.OCILayout != "" {
			if hits := blobsContain(t, final.OCILayout, []byte(token)); len(hits) > 0 {
				t.Errorf("OCI layout blobs contain the secret: %v", hits)
			}
		}
		if strings.Contains(log, token) {
			t.Errorf("the build log contains the secret")
		}
		t.Logf("%s: %d steps, %d cached, %d run, %s", d.name, res.Steps.Total, res.Steps.Cached, res.Steps.Executed, res.Duration)
	})
}

func assertHistoryClean(t *testing.T, cf *v1.ConfigFile, secret string) {
	t.Helper()
	if len(cf.History) == 0 {
		t.Error("the image has no history to check")
	}
	for _, h := range cf.History {
		if strings.Contains(h.CreatedBy, secret) || strings.Contains(h.Comment, secret) {
			t.Errorf("history entry %q contains the secret", h.CreatedBy)
		}
	}
	b, _ := json.Marshal(cf)
	if bytes.Contains(b, []byte(secret)) {
		t.Error("the parsed config contains the secret")
	}
}

// TestBuildErrorsPointAtTheDockerfileLine checks that a syntax error and a
// failing RUN come back as a *BuildError naming the Dockerfile line (and,
// for the RUN, the step and its last log lines).
func TestBuildErrorsPointAtTheDockerfileLine(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		tests := []struct {
			dir      string
			line     int
			reason   string
			step     string
			logLine  string
			noTarget bool
		}{
			{dir: "syntax", line: 3, reason: "unknown instruction"},
			{dir: "failrun", line: 4, reason: "exit code: 3", step: "RUN echo \"compiling widget.c\"", logLine: "widget.c:3: error: expected ';'"},
		}
		for _, tc := range tests {
			t.Run(tc.dir, func(t *testing.T) {
				o := d.options(t, tc.dir)
				_, log, err := d.build(t, o, nil)
				var be *ibuild.BuildError
				if !errors.As(err, &be) {
					t.Fatalf("err = %v (%T), want a *BuildError\n%s", err, err, log)
				}
				t.Logf("error: %v", err)
				if be.Line != tc.line || be.File != "Dockerfile" {
					t.Errorf("place = %s:%d, want Dockerfile:%d", be.File, be.Line, tc.line)
				}
				if !strings.Contains(be.Reason, tc.reason) || !strings.Contains(err.Error(), "Dockerfile:"+strconv.Itoa(tc.line)) {
					t.Errorf("error %q does not say %q at Dockerfile:%d", err, tc.reason, tc.line)
				}
				if tc.step != "" && !strings.Contains(be.Step, tc.step) {
					t.Errorf("step = %q, want it to contain %q", be.Step, tc.step)
				}
				if tc.logLine != "" && !strings.Contains(strings.Join(be.Logs, "\n"), tc.logLine) {
					t.Errorf("last log lines %q do not contain %q", be.Logs, tc.logLine)
				}
			})
		}
	})
}
