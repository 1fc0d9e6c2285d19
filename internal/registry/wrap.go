package registry

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushImage is an image as the push sends it. Each layer's body carries
// its digest, so that the wire can tell which blob an upload session is
// for (go-containerregistry's upload URLs do not say) and an error names
// it. With from set, each layer is offered for a cross-repository mount
// from that repository of the same registry: the registry links the blob
// instead of receiving it again, and when it does not have it there the
// upload goes on as usual at no extra cost.
type pushImage struct {
	v1.Image
	from name.Reference // nil: no mount
	// mounts name, for layers the registry already held, the repository
	// each is mounted from instead.
	mounts map[v1.Hash]name.Reference
}

func (p *pushImage) Layers() ([]v1.Layer, error) {
	ls, err := p.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = p.wrap(l)
	}
	return out, nil
}

func (p *pushImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := p.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return p.wrap(l), nil
}

// ConfigLayer labels the config blob's upload too: go-containerregistry
// uploads it like a layer (partial.ConfigLayer), and an error on it must
// name its digest as well.
func (p *pushImage) ConfigLayer() (v1.Layer, error) {
	l, err := partial.ConfigLayer(p.Image)
	if err != nil {
		return nil, err
	}
	return &labelledLayer{Layer: l}, nil
}

func (p *pushImage) wrap(l v1.Layer) v1.Layer {
	var out v1.Layer = &labelledLayer{Layer: l}
	from := p.from
	if d, err := l.Digest(); err == nil && p.mounts[d] != nil {
		from = p.mounts[d]
	}
	if from != nil {
		out = &remote.MountableLayer{Layer: out, Reference: from}
	}
	return out
}

// labelledLayer hands out bodies that know their blob's digest.
type labelledLayer struct{ v1.Layer }

func (l *labelledLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	d, err := l.Digest()
	if err != nil {
		return rc, nil // a streaming layer: no label, same body
	}
	return &blobBody{ReadCloser: rc, digest: d.String()}, nil
}

// blobBody is a layer's upload body, labelled with its digest.
type blobBody struct {
	io.ReadCloser
	digest string
}

// pushIndex does the same for every image of an index.
type pushIndex struct {
	idx  v1.ImageIndex
	from name.Reference
}

func (p *pushIndex) MediaType() (types.MediaType, error)       { return p.idx.MediaType() }
func (p *pushIndex) Digest() (v1.Hash, error)                  { return p.idx.Digest() }
func (p *pushIndex) Size() (int64, error)                      { return p.idx.Size() }
func (p *pushIndex) IndexManifest() (*v1.IndexManifest, error) { return p.idx.IndexManifest() }
func (p *pushIndex) RawManifest() ([]byte, error)              { return p.idx.RawManifest() }

func (p *pushIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := p.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return &pushImage{Image: img, from: p.from}, nil
}

func (p *pushIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := p.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &pushIndex{idx: idx, from: p.from}, nil
}

// Layer hands on non-image children (e.g. artifacts) unchanged.
func (p *pushIndex) Layer(h v1.Hash) (v1.Layer, error) {
	if wl, ok := p.idx.(interface {
		Layer(v1.Hash) (v1.Layer, error)
	}); ok {
		return wl.Layer(h)
	}
	return nil, fmt.Errorf("blob %s is not a child of this index", h)
}
