package scan

import (
	"context"
	"fmt"
	"strings"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Target is the image to scan: in the Docker Engine's store or in an OCI
// image layout on disk, before it is pushed.
type Target struct {
	// EngineImageID (read) and EngineRef (named in the reports) identify
	// the image in the engine.
	EngineRef     string
	EngineImageID string
	// OCILayout is the path of an OCI image layout directory, and Digest
	// the manifest (or index) in it that was built: a layout may hold the
	// builder stage's image too.
	OCILayout, Digest string
	// Platforms are those the image was built for; of several, the scan
	// reads the runner's (or the first) and says so.
	Platforms []string
}

// TargetOf is the scan target for a built image.
func TargetOf(img *pipeline.BuiltImage) Target {
	return Target{EngineRef: img.EngineRef, EngineImageID: img.EngineImageID, OCILayout: img.OCILayout, Digest: img.Digest, Platforms: img.Platforms}
}

// Name is how reports name the target.
func (t Target) Name() string {
	switch {
	case t.OCILayout != "":
		return t.OCILayout
	case t.EngineRef != "":
		return t.EngineRef
	default:
		return t.EngineImageID
	}
}

// Empty reports whether the target names no image at all.
func (t Target) Empty() bool { return t.EngineRef == "" && t.EngineImageID == "" && t.OCILayout == "" }

// PlatformNote is the summary's note when the image has several platforms
// and the scan read only scanned (its config's "os/arch"); "" otherwise.
func (t Target) PlatformNote(scanned string) string {
	if len(t.Platforms) < 2 {
		return ""
	}
	return fmt.Sprintf("The image has %d platforms (%s); the scan and the SBOM cover %s only.", len(t.Platforms), strings.Join(t.Platforms, ", "), scanned)
}

// EngineKey is the name the scan saves an engine image by: the push's
// (pipeline.BuiltImage.SaveKey), so that both read the same save.
func (t Target) EngineKey() string {
	return pipeline.BuiltImage{EngineImageID: t.EngineImageID, EngineRef: t.EngineRef}.SaveKey()
}

// EngineSaves hands out one `docker save` of an image per run;
// enginesave.Spool is one.
type EngineSaves interface {
	File(ctx context.Context, ref string) (string, error)
}
