package app

import (
	"fmt"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/scan"
)

// scanOptions maps the action's scan inputs onto the scan stage's options;
// the run's keychain, log and engine export are added by newStages.
func scanOptions(cfg *config.Config) scan.Options {
	sc := cfg.Scan
	return scan.Options{
		Enabled:            sc.Enabled,
		FailOn:             sc.FailOn,
		Severities:         sc.Severities,
		IgnoreUnfixed:      sc.IgnoreUnfixed,
		IgnoreFiles:        sc.IgnoreFiles,
		PkgTypes:           sc.PkgTypes,
		SBOMFormat:         sc.SBOMFormat,
		SBOMFile:           sc.SBOMFile,
		JSONFile:           sc.JSONFile,
		SARIFFile:          sc.SARIFFile,
		DBRepositories:     sc.DBRepositories,
		JavaDBRepositories: sc.JavaDBRepositories,
		NoJavaDB:           sc.NoJavaDB,
		CacheDir:           sc.CacheDir,
		DBMaxAge:           sc.DBMaxAge,
		Workspace:          cfg.Workspace,
	}
}

// scanStage builds the stage over the scanner newScanner makes (the inputs
// were parsed by the configuration). Without newScanner (a binary built
// without the scanner, or the app's tests) the stage is a stand-in that
// says so. A disabled scan gets no scanner: its stage never runs.
func scanStage(opts scan.Options, newScanner scan.NewScannerFunc) (pipeline.Stage, error) {
	if newScanner == nil {
		return unavailable{name: "scan", reason: "this binary was built without the scanner"}, nil
	}
	if !opts.Enabled {
		return scan.NewStage(opts, nil), nil
	}
	sc, err := newScanner(opts)
	if err != nil {
		return nil, fmt.Errorf("set up the scanner: %w", err)
	}
	return scan.NewStage(opts, sc), nil
}
