package trivy

import (
	"context"
	"fmt"
	"reflect"
	"runtime"

	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/docker/docker/client"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/org/image-pipeline/internal/builtimage"
	"github.com/org/image-pipeline/internal/enginesave"
	"github.com/org/image-pipeline/internal/scan"
)

// openImage gives Trivy the image: from the engine it is read from one
// `docker save` (kept by the EngineSaves the push stage shares, so the
// engine exports it once per run), or not exported at all when store holds
// its config and the layer cache every layer's analysis (engineImage); an
// OCI layout is read in place. exported tells, after the analysis, whether
// the engine exported the image.
func openImage(ctx context.Context, t scan.Target, s scan.Settings, store blobStore) (img ftypes.Image, exported func() bool, cleanup func(), err error) {
	switch {
	case t.OCILayout != "":
		img, err := layoutImage(t.OCILayout, t.Digest)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("read the built image to scan: %w", err)
		}
		return img, func() bool { return false }, func() {}, nil
	case t.EngineRef != "" || t.EngineImageID != "":
		return engineImage(ctx, t, s, store)
	default:
		return nil, nil, nil, fmt.Errorf("the build left no image to scan (neither an engine image nor an OCI layout)")
	}
}

// engineSaves is the shared scan.EngineSaves, or one of the scan's own over a
// client for DockerHost.
func engineSaves(s scan.Settings) (scan.EngineSaves, func(), error) {
	if s.EngineSaves != nil {
		return s.EngineSaves, func() {}, nil
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if s.DockerHost != "" {
		opts = append(opts, client.WithHost(s.DockerHost))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the Docker Engine: %w", err)
	}
	sp := enginesave.New(c, "", enginesave.WithLog(func(format string, a ...any) { s.Log.Infof("scan: "+format, a...) }))
	return sp, func() { _ = sp.Close(); _ = c.Close() }, nil
}

// layoutImage opens the image of an OCI layout: the entry of digest
// (builtimage.Layout), else the index's entries, and of an index the one for
// this machine's platform (else the first).
func layoutImage(dir, digest string) (scanImage, error) {
	var img v1.Image
	if digest == "" {
		p, err := layout.FromPath(dir)
		if err != nil {
			return scanImage{}, fmt.Errorf("open the OCI layout %s: %w", dir, err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return scanImage{}, fmt.Errorf("read the OCI layout %s: %w", dir, err)
		}
		if img, err = pickImage(idx); err != nil {
			return scanImage{}, fmt.Errorf("the OCI layout %s: %w", dir, err)
		}
		return scanImage{Image: img, name: dir}, nil
	}
	img, idx, err := builtimage.Layout(dir, digest)
	if err != nil {
		return scanImage{}, err
	}
	if idx != nil {
		if img, err = pickImage(idx); err != nil {
			return scanImage{}, fmt.Errorf("the image index %s in the OCI layout %s: %w", digest, dir, err)
		}
	}
	return scanImage{Image: img, name: dir}, nil
}

// pickImage is the image of idx the scan reads: this machine's platform,
// else the first image (builtimage.ForPlatform).
func pickImage(idx v1.ImageIndex) (v1.Image, error) {
	return builtimage.ForPlatform(idx, runtime.GOOS, runtime.GOARCH)
}

// scanImage adds what Trivy asks of an image besides v1.Image. An image
// from an OCI layout has no repository tags, like Trivy's own OCI layout
// input; one saved out of the engine has the tag the build gave it. Neither
// has a repository digest: a built image has none until it is pushed.
type scanImage struct {
	v1.Image
	name     string
	repoTags []string
}

func (i scanImage) Name() string { return i.name }
func (i scanImage) ID() (string, error) {
	h, err := i.ConfigName()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
func (i scanImage) RepoTags() []string  { return i.repoTags }
func (scanImage) RepoDigests() []string { return nil }

// LayerByDiffID inflates ahead of the analysis the compressed layers (an
// OCI layout's, or those Docker 25+ with the containerd image store saves);
// the classic store saves layers uncompressed, and those are read as they are.
func (i scanImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	layer, err := i.Image.LayerByDiffID(h)
	if err != nil || !compressedLayer(layer) {
		return layer, err
	}
	return &fastLayer{Layer: layer}, nil
}

// compressedLayer tells the layers go-containerregistry holds compressed
// the way Trivy does: the others embed an UncompressedLayer.
func compressedLayer(l v1.Layer) bool {
	t := reflect.TypeOf(l)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return false
	}
	_, uncompressed := t.Elem().FieldByName("UncompressedLayer")
	return !uncompressed
}
