package app

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("Dockerfile.bad", "FROM debian\nWORKDIR relative\nRUN cd /tmp && make\n")
	clean := write("Dockerfile.clean", "FROM docker.io/library/debian:12@sha256:0000000000000000000000000000000000000000000000000000000000000000\nUSER 65534\n")
	badConfig := write("bad.yaml", "failure-threshold: sometimes\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout, stderr string)
	}{
		{"json findings and threshold reached", []string{"--format", "json", bad}, 1, func(t *testing.T, stdout, _ string) {
			var got []struct {
				File     string `json:"file"`
				Line     int    `json:"line"`
				Code     string `json:"code"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, stdout)
			}
			codes := map[string]int{}
			for _, f := range got {
				codes[f.Code] = f.Line
			}
			if codes["DL3000"] != 2 || codes["DL3003"] != 3 || codes["DL3006"] != 1 {
				t.Errorf("findings %+v", got)
			}
		}},
		{"flags after the file", []string{bad, "--failure-threshold", "error"}, 1, nil},
		{"threshold none", []string{"--failure-threshold", "none", bad}, 0, nil},
		{"clean file gives an empty JSON list", []string{"--format", "json", clean}, 0, func(t *testing.T, stdout, _ string) {
			if strings.TrimSpace(stdout) != "[]" {
				t.Errorf("stdout %q, want []", stdout)
			}
		}},
		{"sarif", []string{"--format", "sarif", bad}, 1, func(t *testing.T, stdout, _ string) {
			if !strings.Contains(stdout, `"version": "2.1.0"`) && !strings.Contains(stdout, `"version":"2.1.0"`) {
				t.Errorf("not SARIF 2.1.0:\n%s", stdout)
			}
		}},
		{"missing file names the path", []string{filepath.Join(dir, "nope")}, 2, func(t *testing.T, _, stderr string) {
			if !strings.Contains(stderr, filepath.Join(dir, "nope")) {
				t.Errorf("stderr %q lacks the path", stderr)
			}
		}},
		{"bad config names the path", []string{"--config", badConfig, bad}, 2, func(t *testing.T, _, stderr string) {
			if !strings.Contains(stderr, badConfig) {
				t.Errorf("stderr %q lacks the config path", stderr)
			}
		}},
		{"bad format", []string{"--format", "xml", bad}, 2, nil},
		{"no file", nil, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), append([]string{"lint"}, tc.args...), func(string) string { return "" }, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if tc.check != nil {
				tc.check(t, stdout.String(), stderr.String())
			}
		})
	}
}

func TestBoolFlagsTakeASeparateValue(t *testing.T) {
	fs := newFlagSet(io.Discard)
	if err := parseFlags(fs.FlagSet, []string{"--no-cache", "false", "--pull", "--summary", "False", "--image", "x/y"}); err != nil {
		t.Fatal(err)
	}
	if v := fs.inputs["no-cache"].value; v != "false" {
		t.Errorf("no-cache = %q", v)
	}
	if v := fs.inputs["pull"].value; v != "true" {
		t.Errorf("pull = %q", v)
	}
	if v := fs.inputs["summary"].value; v != "False" {
		t.Errorf("summary = %q", v)
	}
	if v := fs.inputs["image"].value; v != "x/y" {
		t.Errorf("image = %q", v)
	}
}
