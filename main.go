// Command image-pipeline lints, builds, scans, pushes and signs a container
// image in one step. It runs as a GitHub Action or locally as a CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/org/image-pipeline/internal/app"
	"github.com/org/image-pipeline/internal/scan/trivy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The scanner is linked here, not in internal/app, so that the app's
	// tests stay free of Trivy.
	code := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, app.WithEnviron(os.Environ), app.WithScanner(trivy.New))
	stop()
	// Trivy leaves <TMPDIR>/trivy-<pid> behind; the runs are over.
	_ = trivy.RemoveTempDir()
	os.Exit(code)
}
