//go:build tools

// Package tools pins the Sigstore services the keyless tests sign against
// (issue #17): Fulcio, the CT log it writes to, Rekor, and the Trillian
// logs behind both. They are
// built by scripts/tools-sigstore into the cache directory, never into the
// repository, and started by scripts/testenv on loopback ports.
package tools

import (
	_ "github.com/google/certificate-transparency-go/trillian/ctfe/ct_server"
	_ "github.com/google/trillian/cmd/createtree"
	_ "github.com/google/trillian/cmd/trillian_log_server"
	_ "github.com/google/trillian/cmd/trillian_log_signer"
	_ "github.com/sigstore/fulcio"
	_ "github.com/sigstore/rekor/cmd/rekor-server"
)
