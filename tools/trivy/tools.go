//go:build tools

// Package tools pins the Trivy CLI that the scan tests and scripts/bench-scan
// run side by side with the embedded scanner. It is built by
// scripts/tools-trivy into the cache directory, never into the repository.
package tools

import _ "github.com/aquasecurity/trivy/cmd/trivy"
