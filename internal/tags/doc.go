// Package tags computes image tags, the version, OCI labels and build-cache
// references from a GitHub event context and docker/metadata-action style
// rules.
//
// The package is pure: it does no I/O, reads no environment variables and
// never looks at the clock. Everything comes in through Input (the app fills
// it from the runner's environment and event payload) and everything goes
// out through Plan. The one outside table it consults is the IANA time
// zone database, through time.LoadLocation, for {{date tz='...'}}; a copy
// is embedded (time/tzdata) so results do not depend on the image.
//
// Rule syntax is docker/metadata-action's `tags`, `flavor` and `images`
// inputs, so users can paste those blocks unchanged. Our extensions
// (type=review, {{pr}}, {{short_sha N}}, ...) and the default rule set are
// documented in docs/tags.md.
package tags
