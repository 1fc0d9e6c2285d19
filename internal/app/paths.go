package app

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/lint"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/wsfile"
)

// workspacePaths refuses every path input that leaves the workspace, for
// reads and writes alike, through `..`, an absolute path or a symlink the
// repository commits; and the config files found by name
// (.hadolint.yaml, .trivyignore) when they are symlinks out of it. A
// pull request controls the checkout, so none of these may make the action
// read or write a file of the runner's. context and file are checked by
// the build's options (they are its inputs); report-json and
// trivy-cache-dir are documented as paths anywhere.
func workspacePaths(cfg *config.Config) error {
	var errs []error
	check := func(input, value, accepted string) {
		if value == "" {
			return
		}
		if err := wsfile.Check(cfg.Workspace, resolveIn(cfg.Workspace, value)); errors.Is(err, wsfile.ErrOutside) {
			errs = append(errs, &config.InputError{
				Input:    input,
				Value:    value,
				Problem:  "leaves the workspace (through .., an absolute path or a symlink; " + resolvedTo(err) + ")",
				Accepted: accepted,
			})
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	byName := func(input string, names []string) {
		for _, name := range names {
			p := filepath.Join(cfg.Workspace, name)
			if _, err := os.Lstat(p); err != nil {
				continue
			}
			if err := wsfile.Check(cfg.Workspace, p); err != nil {
				errs = append(errs, &config.InputError{
					Input:   input,
					Problem: "is not set, and the workspace's " + name + " is a symlink out of the workspace (" + resolvedTo(err) + "): it is not read; remove it, or name a file inside the workspace with this input",
				})
			}
		}
	}
	const file, dir = "a file path inside the workspace", "a directory inside the workspace"
	check("reports-dir", cfg.ReportsDir, dir)
	if cfg.Lint.Enabled {
		check("lint-config", cfg.Lint.ConfigFile, file)
		if cfg.Lint.ConfigFile == "" {
			byName("lint-config", lint.ConfigFileNames)
		}
	}
	if cfg.Scan.Enabled {
		for _, f := range cfg.Scan.IgnoreFiles {
			check("trivyignores", f, "file paths inside the workspace")
		}
		if len(cfg.Scan.IgnoreFiles) == 0 {
			byName("trivyignores", scan.DefaultIgnoreFiles)
		}
		// The report files default to reports-dir, checked above: one
		// error for that directory is enough.
		reports := resolveIn(cfg.Workspace, cfg.ReportsDir)
		for input, p := range map[string]string{"sbom-file": cfg.Scan.SBOMFile, "scan-json": cfg.Scan.JSONFile, "scan-sarif": cfg.Scan.SARIFFile} {
			if filepath.Dir(resolveIn(cfg.Workspace, p)) != reports {
				check(input, p, file)
			}
		}
	}
	return errors.Join(errs...)
}

// resolveIn resolves a workspace-relative path.
func resolveIn(workspace, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(workspace, p)
}

// resolvedTo is where a path that leaves the workspace leads.
func resolvedTo(err error) string {
	if oe, ok := errors.AsType[*wsfile.OutsideError](err); ok {
		return oe.Where()
	}
	return err.Error()
}
