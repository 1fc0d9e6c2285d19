// Package builtimage opens an image the build left in an OCI image layout,
// the one way for every stage that reads it: the scan (which needs one
// image of this machine's platform) and the push (which sends the image or
// the whole index). A layout may hold more than the final image — a
// buildkitd layout holds the builder stage's image too — so the entry is
// the one whose digest the build reported.
//
// It imports no Trivy: the scan's Trivy package and the registry package
// both use it.
package builtimage

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Layout opens the built image of the OCI layout dir: the entry of digest,
// or, when digest is "", the layout's only entry. Exactly one of img and
// idx is set: idx when the entry is an image index (a multi-platform
// build).
func Layout(dir, digest string) (img v1.Image, idx v1.ImageIndex, err error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open the OCI layout %s: %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("read the OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("read index.json of the OCI layout %s: %w", dir, err)
	}
	var desc *v1.Descriptor
	for i, d := range m.Manifests {
		if digest == "" && len(m.Manifests) == 1 || d.Digest.String() == digest {
			desc = &m.Manifests[i]
			break
		}
	}
	switch {
	case desc == nil && digest != "":
		return nil, nil, fmt.Errorf("the OCI layout %s does not hold the built image %s", dir, digest)
	case desc == nil:
		return nil, nil, fmt.Errorf("the OCI layout %s holds %d manifests and the build did not say which one was built", dir, len(m.Manifests))
	case desc.MediaType.IsIndex():
		idx, err := top.ImageIndex(desc.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("read the image index %s from the OCI layout %s: %w", desc.Digest, dir, err)
		}
		return nil, idx, nil
	}
	img, err = top.Image(desc.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("read the image %s from the OCI layout %s: %w", desc.Digest, dir, err)
	}
	return img, nil, nil
}

// ForPlatform picks the image of idx for os/arch, looking into nested
// indexes; attestation manifests (platform unknown/unknown) and other
// non-images are skipped. Without one for os/arch it is the first image.
func ForPlatform(idx v1.ImageIndex, os, arch string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var first *v1.Descriptor
	for i := range m.Manifests {
		d := &m.Manifests[i]
		if !d.MediaType.IsImage() && !d.MediaType.IsIndex() || d.Platform != nil && d.Platform.OS == "unknown" {
			continue
		}
		if d.Platform != nil && (d.Platform.OS != os || d.Platform.Architecture != arch) {
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
			return ForPlatform(child, os, arch)
		}
		return idx.Image(d.Digest)
	}
	if first != nil {
		return idx.Image(first.Digest)
	}
	return nil, fmt.Errorf("index.json lists no image")
}
