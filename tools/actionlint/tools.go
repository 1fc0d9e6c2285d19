//go:build tools

// Package tools pins actionlint, which make test runs over every workflow
// in the repository (.github/workflows, examples, the action suite's
// workflows). The Makefile builds it into the cache directory.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
