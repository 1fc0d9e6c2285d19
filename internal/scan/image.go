package scan

import (
	"context"
	"fmt"
	"runtime"

	"github.com/aquasecurity/trivy/pkg/fanal/image"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Target is the image to scan: in the Docker Engine's store or in an OCI
// image layout on disk, before it is pushed.
type Target struct {
	// EngineRef (preferred) or EngineImageID name the image in the engine.
	EngineRef     string
	EngineImageID string
	// OCILayout is the path of an OCI image layout directory.
	OCILayout string
}

// TargetOf is the scan target for a built image.
func TargetOf(img *pipeline.BuiltImage) Target {
	return Target{EngineRef: img.EngineRef, EngineImageID: img.EngineImageID, OCILayout: img.OCILayout}
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

func (t Target) empty() bool { return t.OCILayout == "" && t.EngineRef == "" && t.EngineImageID == "" }

// openImage gives Trivy the image: from the engine it is exported the way
// `trivy image --image-src docker` does; an OCI layout is read in place.
func openImage(ctx context.Context, t Target, s settings) (ftypes.Image, func(), error) {
	switch {
	case t.OCILayout != "":
		img, err := layoutImage(t.OCILayout)
		if err != nil {
			return nil, nil, fmt.Errorf("read the built image from the OCI layout %s: %w", t.OCILayout, err)
		}
		return img, func() {}, nil
	case t.EngineRef != "" || t.EngineImageID != "":
		ref := t.EngineRef
		if ref == "" {
			ref = t.EngineImageID
		}
		s.log.Infof("scan: exporting %s from the Docker Engine", ref)
		img, cleanup, err := image.NewContainerImage(ctx, ref, ftypes.ImageOptions{
			ImageSources:  ftypes.ImageSources{ftypes.DockerImageSource},
			DockerOptions: ftypes.DockerOptions{Host: s.DockerHost},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read the built image %s from the Docker Engine: %w", ref, err)
		}
		return img, cleanup, nil
	default:
		return nil, nil, fmt.Errorf("the build left no image to scan (neither an engine image nor an OCI layout)")
	}
}

// layoutImage opens the image of an OCI layout: the only one, or in a
// multi-platform index the one for this machine's platform (else the first).
func layoutImage(dir string) (ftypes.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	img, err := pickImage(idx)
	if err != nil {
		return nil, err
	}
	return layoutImg{Image: img, name: dir}, nil
}

func pickImage(idx v1.ImageIndex) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var first *v1.Descriptor
	for i := range m.Manifests {
		d := &m.Manifests[i]
		if !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
			continue
		}
		if d.Platform != nil && (d.Platform.OS != runtime.GOOS || d.Platform.Architecture != runtime.GOARCH) {
			if first == nil && d.MediaType.IsImage() {
				first = d
			}
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			return pickImage(child)
		}
		return idx.Image(d.Digest)
	}
	if first != nil {
		return idx.Image(first.Digest)
	}
	return nil, fmt.Errorf("index.json lists no image")
}

// layoutImg adds what Trivy asks of an image besides v1.Image; like Trivy's
// own OCI layout input it has no repository tags or digests.
type layoutImg struct {
	v1.Image
	name string
}

func (l layoutImg) Name() string { return l.name }
func (l layoutImg) ID() (string, error) {
	h, err := l.ConfigName()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
func (layoutImg) RepoTags() []string    { return nil }
func (layoutImg) RepoDigests() []string { return nil }
