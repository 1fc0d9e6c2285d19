// Command image-pipeline lints, builds, scans, pushes and signs a container
// image in one step. It runs as a GitHub Action or locally as a CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/org/image-pipeline/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
