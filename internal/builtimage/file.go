package builtimage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// File is a save archive kept in a file (the run's spool of an engine
// image), read once: its documents are in memory and its layers are
// sections of the file, opened when a layer is read.
type File struct {
	name string
	save *Save[section]
}

// section is where a layer entry is in the file.
type section struct {
	name      string // its path in the archive
	off, size int64
	kind      Kind
}

// OpenFile reads the table of contents of the save archive in file name,
// skipping over the layers' bytes.
func OpenFile(name string) (*File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadSave(f, func(e Entry) (section, error) {
		return section{name: e.Name, off: e.Offset, size: e.Size, kind: e.Kind}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the saved image %s: %w", name, err)
	}
	return &File{name: name, save: s}, nil
}

// Blob is the document of the save named h, checked against h.
func (f *File) Blob(h v1.Hash) ([]byte, bool) { return f.save.Blob(h) }

// Image is the image the save holds, checked against the engine's image
// id wantID (Save.Image). Its layers read the file: uncompressed ones (a
// classic store's) are what go-containerregistry calls uncompressed layers,
// known by the config's diff ids; compressed ones (the containerd store's)
// are known by their blobs' digests.
func (f *File) Image(wantID string) (v1.Image, error) {
	si, err := f.save.Image(wantID)
	if err != nil {
		return nil, err
	}
	core := &fileImage{config: si.Config, byDiffID: map[v1.Hash]*fileLayer{}, byDigest: map[v1.Hash]*fileLayer{}}
	layers := make([]*fileLayer, len(si.Layers))
	compressed := true
	for i, sec := range si.Layers {
		l := &fileLayer{file: f, sec: sec, diffID: si.ConfigFile.RootFS.DiffIDs[i]}
		layers[i] = l
		core.byDiffID[l.diffID] = l
		if !sec.kind.Compressed() {
			compressed = false
		}
	}
	if !compressed {
		return partial.UncompressedToImage(uncompressedCore{core})
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(si.Config)), Digest: si.ConfigDigest},
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		mt, _ := l.MediaType()
		core.byDigest[d] = l
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: l.sec.size, Digest: d})
	}
	if core.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(compressedCore{core})
}

type fileImage struct {
	config   []byte
	manifest []byte
	byDiffID map[v1.Hash]*fileLayer
	byDigest map[v1.Hash]*fileLayer
}

func (i *fileImage) RawConfigFile() ([]byte, error) { return i.config, nil }
func (i *fileImage) MediaType() (types.MediaType, error) {
	return types.DockerManifestSchema2, nil
}

// uncompressedCore is an image of uncompressed layers: go-containerregistry
// compresses them only if asked for a digest, which the scan never is.
type uncompressedCore struct{ *fileImage }

func (i uncompressedCore) LayerByDiffID(h v1.Hash) (partial.UncompressedLayer, error) {
	if l, ok := i.byDiffID[h]; ok {
		return uncompressedLayer{l}, nil
	}
	return nil, fmt.Errorf("%s is not a diff id of this image", h)
}

type compressedCore struct{ *fileImage }

func (i compressedCore) RawManifest() ([]byte, error) { return i.manifest, nil }
func (i compressedCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.byDigest[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("blob %s is not a layer of this image", h)
}

// fileLayer is a layer entry of the file.
type fileLayer struct {
	file   *File
	sec    section
	diffID v1.Hash // as the config lists it

	once   sync.Once
	digest v1.Hash
	err    error
}

func (l *fileLayer) open() (io.ReadCloser, error) {
	f, err := os.Open(l.file.name)
	if err != nil {
		return nil, fmt.Errorf("open the saved image %s: %w", l.file.name, err)
	}
	return readCloser{Reader: io.NewSectionReader(f, l.sec.off, l.sec.size), close: f.Close}, nil
}

// Digest is the compressed layer's: its blob's name in an OCI-layout save,
// else the hash of its bytes.
func (l *fileLayer) Digest() (v1.Hash, error) {
	l.once.Do(func() {
		if hexPart, ok := strings.CutPrefix(l.sec.name, "blobs/sha256/"); ok {
			if h, err := v1.NewHash("sha256:" + hexPart); err == nil {
				l.digest = h
				return
			}
		}
		rc, err := l.open()
		if err != nil {
			l.err = err
			return
		}
		defer rc.Close()
		l.digest, _, l.err = v1.SHA256(bufio.NewReaderSize(rc, 1<<20))
	})
	return l.digest, l.err
}

func (l *fileLayer) Size() (int64, error) { return l.sec.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	switch l.sec.kind {
	case Zstd:
		return types.OCILayerZStd, nil
	case Gzip:
		return types.DockerLayer, nil
	}
	return types.DockerUncompressedLayer, nil
}
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return l.open() }

// uncompressedLayer serves a layer of an image with an uncompressed layer
// among its layers: a compressed one is inflated.
type uncompressedLayer struct{ *fileLayer }

func (l uncompressedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// MediaType is the one go-containerregistry gives the layer once it has
// compressed it, as for a tarball's uncompressed layers.
func (l uncompressedLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l uncompressedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil || !l.sec.kind.Compressed() {
		return rc, err
	}
	br := bufio.NewReaderSize(rc, 1<<16)
	var zr io.ReadCloser
	if l.sec.kind == Gzip {
		zr, err = gzip.NewReader(br)
	} else {
		var d *zstd.Decoder
		if d, err = zstd.NewReader(br); err == nil {
			zr = d.IOReadCloser()
		}
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	return readCloser{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
