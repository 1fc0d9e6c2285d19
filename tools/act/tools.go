//go:build tools

// Package tools pins nektos/act, the runner implementation the action
// suite (internal/actsuite) runs our action through. scripts/tools-act
// builds it into the cache directory, never into the repository.
package tools

import _ "github.com/nektos/act"
