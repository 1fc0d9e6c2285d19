package scan

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/pipeline"
)

// FromConfig maps the action's scan inputs onto the stage's options,
// validates them, and returns the stage. The app reaches it through the
// hook main.go sets (app.ScanStage), so that only binaries link Trivy.
// saves, when not nil, exports engine images once for the scan and the push.
func FromConfig(cfg *config.Config, log Logger, keychain authn.Keychain, saves EngineSaves) (pipeline.Stage, error) {
	sc := cfg.Scan
	opts := Options{
		Enabled:        sc.Enabled,
		FailOn:         sc.FailOn,
		Severities:     sc.Severities,
		IgnoreUnfixed:  sc.IgnoreUnfixed,
		IgnoreFiles:    sc.IgnoreFiles,
		PkgTypes:       sc.PkgTypes,
		SBOMFormat:     sc.SBOMFormat,
		SBOMFile:       sc.SBOMFile,
		JSONFile:       sc.JSONFile,
		SARIFFile:      sc.SARIFFile,
		DBRepositories: sc.DBRepositories,
		CacheDir:       sc.CacheDir,
		DBMaxAge:       sc.DBMaxAge,
		Workspace:      cfg.Workspace,
		Keychain:       keychain,
		EngineSaves:    saves,
		Log:            log,
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return NewStage(opts), nil
}
