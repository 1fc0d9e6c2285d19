package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, ".hadolint.yaml", `
failure-threshold: warning
ignored:
  - DL3008
  - SC2086
override:
  error: [DL3001]
  info:
    - DL1001
trustedRegistries:
  - docker.io
  - "*.example.com"
label-schema:
  author: text
  url: url
strict-labels: true
disable-ignore-pragma: true
no-fail: true
no-color: true
format: json
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != path || cfg.Threshold() != SeverityWarning || !cfg.StrictLabels || !cfg.DisableIgnorePragma || !cfg.NoFail {
		t.Errorf("scalars: %+v", cfg)
	}
	if !slices.Equal(cfg.Ignored, []string{"DL3008", "SC2086"}) {
		t.Errorf("ignored: %v", cfg.Ignored)
	}
	if cfg.Override["DL3001"] != SeverityError || cfg.Override["DL1001"] != SeverityInfo {
		t.Errorf("override: %v", cfg.Override)
	}
	if !slices.Equal(cfg.TrustedRegistries, []string{"docker.io", "*.example.com"}) {
		t.Errorf("trusted registries: %v", cfg.TrustedRegistries)
	}
	if cfg.LabelSchema["url"] != "url" || len(cfg.LabelSchema) != 2 {
		t.Errorf("label schema: %v", cfg.LabelSchema)
	}
}

func TestParseConfigForms(t *testing.T) {
	tests := []struct {
		name, text string
		check      func(*Config) bool
	}{
		{"empty file", "", func(c *Config) bool { return c.Threshold() == SeverityInfo }},
		{"null document", "~\n", func(c *Config) bool { return len(c.Ignored) == 0 }},
		{"trusted registries as one string", "trusted-registries: ghcr.io\n", func(c *Config) bool { return slices.Equal(c.TrustedRegistries, []string{"ghcr.io"}) }},
		{"failure threshold none", "failure-threshold: none\n", func(c *Config) bool { return c.Threshold() == SeverityNone }},
		{"failure threshold case", "failure-threshold: Error\n", func(c *Config) bool { return c.Threshold() == SeverityError }},
		{"empty override", "override:\n", func(c *Config) bool { return len(c.Override) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("cfg.yaml", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}

// TestConfigErrors checks that each bad input is reported with the file,
// the key and the accepted values, all in one error.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "ignore: [DL3008]\n", []string{"my.yaml:1", `unknown key "ignore"`, "ignored", "failure-threshold"}},
		{"bad threshold", "failure-threshold: fatal\n", []string{"my.yaml:1: failure-threshold", `"fatal"`, "error, warning, info, style, none"}},
		{"bad override severity", "override:\n  fatal: [DL3008]\n", []string{"override", `"fatal"`, "error, warning, info and style"}},
		{"bad rule code", "ignored: [dl3008]\n", []string{"ignored", `"dl3008"`, "DL3008"}},
		{"bad label type", "label-schema:\n  a: date\n", []string{"label-schema.a", `"date"`, "rfc3339"}},
		{"bad boolean", "strict-labels: maybe\n", []string{"strict-labels", "true or false"}},
		{"not a mapping", "- a\n", []string{"my.yaml", "mapping"}},
		{"invalid YAML", "ignored: [\n", []string{"my.yaml", "not valid YAML"}},
		{"several problems at once", "failure-threshold: x\nfoo: 1\n", []string{"failure-threshold", `unknown key "foo"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("my.yaml", []byte(tt.text))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFindConfig(t *testing.T) {
	dir := t.TempDir()
	if _, ok := FindConfig(dir); ok {
		t.Fatal("found a config in an empty directory")
	}
	yml := writeFile(t, dir, ".hadolint.yml", "ignored: [DL3008]\n")
	if p, ok := FindConfig(dir); !ok || p != yml {
		t.Errorf("got %q %v, want %q", p, ok, yml)
	}
	yaml := writeFile(t, dir, ".hadolint.yaml", "ignored: [DL3008]\n")
	if p, ok := FindConfig(dir); !ok || p != yaml {
		t.Errorf(".hadolint.yaml should win: got %q", p)
	}
}

func TestTrustedRegistries(t *testing.T) {
	tests := []struct {
		ref     string
		trusted []string
		want    bool
	}{
		{"alpine", []string{"docker.io"}, true},
		{"alpine", []string{"ghcr.io"}, false},
		{"ghcr.io/a/b:1", []string{"ghcr.io"}, true},
		{"a.example.com/x", []string{"*.example.com"}, true},
		{"example.com/x", []string{"*.example.com"}, false},
		{"localhost:5000/x", []string{"localhost:5000"}, true},
		{"anything/at/all", []string{"*"}, true},
	}
	for _, tt := range tests {
		if got := registryTrusted(tt.ref, tt.trusted); got != tt.want {
			t.Errorf("registryTrusted(%q, %v) = %v", tt.ref, tt.trusted, got)
		}
	}
}

func TestParseCodeList(t *testing.T) {
	codes, err := ParseCodeList(" DL3008, DL3015\nIP001 ")
	if err != nil || !slices.Equal(codes, []string{"DL3008", "DL3015", "IP001"}) {
		t.Errorf("got %v, %v", codes, err)
	}
	if codes, err := ParseCodeList(""); err != nil || len(codes) != 0 {
		t.Errorf("empty list: %v, %v", codes, err)
	}
	if _, err := ParseCodeList("DL3008,dl3015,foo"); err == nil || !strings.Contains(err.Error(), `"dl3015"`) || !strings.Contains(err.Error(), `"foo"`) {
		t.Errorf("bad codes: %v", err)
	}
}
