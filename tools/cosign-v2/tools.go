//go:build tools

// Package tools pins the cosign v2 CLI that the sign tests run against
// the signatures and attestations image-pipeline writes. It is built by
// scripts/tools-cosign into the cache directory, never into the repository.
package tools

import _ "github.com/sigstore/cosign/v2/cmd/cosign"
