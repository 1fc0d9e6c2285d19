// Package app wires configuration, the pipeline stages and the report sinks.
package app

import (
	"context"
	"fmt"
	"io"
)

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "image-pipeline: not implemented yet")
	return 2
}
