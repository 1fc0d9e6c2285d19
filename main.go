// Command image-pipeline lints, builds, scans, pushes and signs a container
// image in one step. It runs as a GitHub Action or locally as a CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/org/image-pipeline/internal/app"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/enginesave"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/scan"
)

func main() {
	// The scanner is linked here, not in internal/app, so that the app's
	// tests stay free of Trivy.
	app.ScanStage = func(cfg *config.Config, log *ghactions.Runner, kc authn.Keychain, saves *enginesave.Spool) (pipeline.Stage, error) {
		var es scan.EngineSaves // a nil *Spool must stay a nil interface
		if saves != nil {
			es = saves
		}
		return scan.FromConfig(cfg, log, kc, es)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, app.WithEnviron(os.Environ))
	stop()
	os.Exit(code)
}
