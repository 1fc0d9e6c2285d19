package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A path input, or a config file found by name, that leaves the workspace
// through .., an absolute path or a committed symlink is a configuration
// error naming the input: nothing is read from or written outside the
// checkout, and no stage runs.
func TestRunnerContractPathsStayInTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte("ignored:\n  - DL3000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := "../elsewhere" // leaves the workspace whether it exists or not
	tests := []struct {
		name   string
		inputs map[string]string
		links  string
		input  string // the input the one error names
	}{
		{name: "lint-config with ..", inputs: map[string]string{"lint-config": rel + "/secret.yaml"}, input: "lint-config"},
		{name: "lint-config absolute", inputs: map[string]string{"lint-config": secret}, input: "lint-config"},
		{name: "lint-config through a symlink", inputs: map[string]string{"lint-config": "cfg.yaml"}, links: "cfg.yaml=" + secret, input: "lint-config"},
		{name: "default .hadolint.yaml is a symlink out", links: ".hadolint.yaml=" + secret, input: "lint-config"},
		{name: "default .hadolint.yml dangles out", links: ".hadolint.yml=" + filepath.Join(outside, "none"), input: "lint-config"},
		{name: "trivyignores, one of two", inputs: map[string]string{"trivyignores": "Dockerfile\n/etc/hostname"}, input: "trivyignores"},
		{name: "default .trivyignore is a symlink out", links: ".trivyignore=" + secret, input: "trivyignores"},
		{name: "sbom-file with ..", inputs: map[string]string{"sbom-file": rel + "/sbom.json"}, input: "sbom-file"},
		{name: "scan-json absolute", inputs: map[string]string{"scan-json": filepath.Join(outside, "scan.json")}, input: "scan-json"},
		{name: "scan-sarif below a symlinked directory", inputs: map[string]string{"scan-sarif": "out/new/scan.sarif"}, links: "out=" + outside, input: "scan-sarif"},
		{name: "reports-dir absolute", inputs: map[string]string{"reports-dir": filepath.Join(outside, "reports")}, input: "reports-dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]string{}
			if tc.links != "" {
				extra["TEST_SYMLINKS"] = tc.links
			}
			r := runAsRunner(t, "push_main", tc.inputs, extra)
			if r.code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", r.code, r.stdout)
			}
			errs := logLines(r.stdout, "::error::input ")
			if len(errs) != 1 || !strings.HasPrefix(errs[0], `::error::input "`+tc.input+`"`) || !strings.Contains(errs[0], "workspace") {
				t.Errorf("want one error naming input %s and the workspace, got:\n%s", tc.input, strings.Join(errs, "\n"))
			}
			if strings.Contains(r.stdout, "::group::") {
				t.Errorf("a stage ran:\n%s", r.stdout)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("something was written outside the workspace: %v", entries)
			}
		})
	}
}

// Symlinks that stay inside the workspace are followed as before.
func TestRunnerContractSymlinksInsideTheWorkspace(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"lint-config": "linked.yaml", "reports-dir": "reports-link/sub"}, map[string]string{
		"TEST_SYMLINKS": "linked.yaml=sub/real.yaml;reports-link=.",
		"TEST_FILES":    "sub/real.yaml={ignored: [DL3000]}",
	})
	if r.code != 0 || strings.Contains(r.stdout, "leaves the workspace") {
		t.Errorf("exit %d: a symlink inside the workspace was refused:\n%s", r.code, r.stdout)
	}
}
