package registry

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/org/image-pipeline/internal/builtimage"
	"github.com/org/image-pipeline/internal/pipeline"
)

// Engine is the part of the Docker Engine API the push stage uses, for
// images that live in the engine's classic image store.
type Engine interface {
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
}

// artifact is one image or index ready to push: its manifest is final, so
// its digest is known before anything is sent.
type artifact struct {
	img      v1.Image      // set for an image
	idx      v1.ImageIndex // set for an index
	manifest rawManifest
	cleanup  func()
	// up uploaded the layers compressed for it while they were written.
	up *uploader
	// mounts are the layers the registry already held, by digest, with
	// the repository to mount each from.
	mounts map[v1.Hash]name.Reference
}

// mountsFrom names the repositories the known layers are in.
func (a *artifact) mountsFrom() string {
	var repos []string
	for _, ref := range a.mounts {
		if r := ref.Context().Name(); !slices.Contains(repos, r) {
			repos = append(repos, r)
		}
	}
	slices.Sort(repos)
	return strings.Join(repos, ", ")
}

func (a *artifact) digest() v1.Hash { return a.manifest.digest }

// taggable is what pusher.Push sends: the image or index, its layers (and
// its children's) labelled with their digests for error messages, and
// offered for mounting from the repository from when that is set.
func (a *artifact) taggable(from string) remote.Taggable {
	var ref name.Reference
	if from != "" {
		if r, err := name.ParseReference(from); err == nil {
			ref = r
		}
	}
	if a.img != nil {
		return &pushImage{Image: a.img, from: ref, mounts: a.mounts}
	}
	return &pushIndex{idx: a.idx, from: ref}
}

// rawManifest is a manifest as bytes: what a tag PUT sends.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
	digest    v1.Hash
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
func (m rawManifest) Digest() (v1.Hash, error)            { return m.digest, nil }
func (m rawManifest) Size() (int64, error)                { return int64(len(m.raw)), nil }

func newArtifact(img v1.Image, idx v1.ImageIndex) (*artifact, error) {
	var m interface {
		RawManifest() ([]byte, error)
		MediaType() (types.MediaType, error)
	} = img
	if img == nil {
		m = idx
	}
	raw, err := m.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("read the image manifest: %w", err)
	}
	mt, err := m.MediaType()
	if err != nil {
		return nil, fmt.Errorf("read the image manifest's media type: %w", err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &artifact{img: img, idx: idx, manifest: rawManifest{raw: raw, mediaType: mt, digest: d}, cleanup: func() {}}, nil
}

// openBuilt returns the built image as an artifact, from its OCI layout or
// out of the Docker Engine.
//
// known are layers the registry already holds, by diff id: an engine
// layer among them is not compressed again (nil: none).
//
// up, when not nil, uploads the engine image's layers it compresses while
// they are being written (streamup.go); it is stopped when the save fails.
// An OCI layout's blobs are files already: up is not used for one.
func openBuilt(ctx context.Context, bi pipeline.BuiltImage, eng Engine, tempDir string, known knownLayers, up *uploader) (*artifact, error) {
	switch {
	case bi.OCILayout != "":
		return openLayout(bi)
	case bi.EngineImageID != "" || bi.EngineRef != "":
		if eng == nil {
			return nil, errors.New("the image is in the Docker Engine, but the push stage has no Engine client (this is a bug in image-pipeline's wiring)")
		}
		return streamFromEngine(ctx, eng, bi, tempDir, known, up)
	default:
		return nil, errors.New("the build stage handed on an image with neither an OCI layout nor an engine image id (this is a bug in image-pipeline)")
	}
}

// openLayout opens the image or index an OCI layout's index.json points
// at: the one whose digest the build reported, or its only entry
// (builtimage.Layout, which the scan reads the same way).
func openLayout(bi pipeline.BuiltImage) (*artifact, error) {
	img, idx, err := builtimage.Layout(bi.OCILayout, bi.Digest)
	if err != nil {
		return nil, err
	}
	return newArtifact(img, idx)
}

// streamFromEngine saves the image out of the engine once (ImageSave) and
// compresses each layer once, to a temporary file, while it streams: the
// layer digests, and so the manifest digest, are known before the first
// byte goes to a registry, and each registry then gets plain file uploads
// that can be retried and mounted.
//
// Measured against the Engine's own push and go-containerregistry's
// daemon.Image (BenchmarkEnginePush in engine_bench_test.go, numbers in
// docs/push.md) this was 1.3–2.3× faster than either — the engine
// pushes little faster than it gzips, daemon.Image holds the save in memory
// and gzips every layer twice — and it is the only way that keeps the push
// stage's guarantees: one
// digest pushed to every repository and tagged afterwards (the Engine
// pushes straight to a tag), our retries with Retry-After and our error
// messages, our credentials without handing them to the daemon, registries
// whose CA only the action trusts, and no extra tags left in the engine.
//
// A layer saved uncompressed under its diff id (Docker 25+) that is among
// known is not compressed: it is read through (hashed, to check it is what
// its name says) and pushed as the registry's blob, mounted or found by a
// HEAD request.
func streamFromEngine(ctx context.Context, eng Engine, bi pipeline.BuiltImage, tempDir string, known knownLayers, up *uploader) (_ *artifact, rerr error) {
	defer func() {
		if rerr != nil {
			up.stop()
		}
	}()
	ref := bi.SaveKey()
	rc, err := eng.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("save the image %s out of the Docker Engine: %w", ref, err)
	}
	defer rc.Close()
	dir, err := os.MkdirTemp(tempDir, "image-pipeline-push-")
	if err != nil {
		return nil, fmt.Errorf("make a temporary directory for the image's layers: %w", err)
	}
	// The uploads read the layers' files: they end before the files go.
	cleanup := func() { up.stop(); _ = os.RemoveAll(dir) }
	defer func() {
		if rerr != nil {
			cleanup()
		}
	}()

	s := &savedTar{dir: dir, known: known, up: up}
	if s.save, err = builtimage.ReadSave(rc, s.layer); err != nil {
		return nil, fmt.Errorf("read the image %s saved by the Docker Engine: %w", ref, err)
	}
	a, err := s.artifact(bi.EngineImageID)
	if err != nil {
		return nil, fmt.Errorf("the image %s saved by the Docker Engine: %w", ref, err)
	}
	a.cleanup, a.up = cleanup, up
	for _, sl := range s.reused {
		if a.mounts == nil {
			a.mounts = map[v1.Hash]name.Reference{}
		}
		a.mounts[sl.digest] = sl.from.Digest(sl.digest.String())
	}
	return a, nil
}

// artifact is the saved image ready to push. On the containerd image store
// the engine names the image by its manifest or index, and the save holds
// that document and every blob it leads to, layers as compressed as the
// store keeps them: those are pushed as they are, so the registry gets the
// engine's own digest, and every platform (and attestation) of an index.
// Otherwise — a classic store, whose id is the config digest and whose
// layers are saved uncompressed — the image is assembled from manifest.json
// over layers compressed here.
func (s *savedTar) artifact(wantID string) (*artifact, error) {
	if h, err := v1.NewHash(wantID); err == nil {
		if raw, ok := s.save.Blob(h); ok {
			mt := builtimage.DocumentType(raw)
			switch {
			case mt.IsIndex():
				idx, err := s.index(h, raw, mt, 0)
				if err != nil {
					return nil, err
				}
				return newArtifact(nil, idx)
			case mt.IsImage() && s.layersCompressed(raw):
				img, err := s.manifestImage(h, raw, mt)
				if err != nil {
					return nil, err
				}
				return newArtifact(img, nil)
			}
		}
	}
	img, err := s.image(wantID)
	if err != nil {
		return nil, err
	}
	return newArtifact(img, nil)
}

// savedLayerBlob returns the layer blob named h stored compressed (as the
// save had it), if its bytes hash to h.
func (s *savedTar) savedLayerBlob(h v1.Hash) (*savedLayer, bool) {
	l, ok := s.save.LayerBlob(h)
	if !ok || l.digest != h {
		return nil, false
	}
	return l, true
}

// layersCompressed reports whether every layer the manifest raw names is in
// the save as a compressed blob (or a small non-tar blob such as an
// attestation), so the manifest can be pushed as it is.
func (s *savedTar) layersCompressed(raw []byte) bool {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	for _, l := range m.Layers {
		if _, ok := s.savedLayerBlob(l.Digest); ok {
			continue
		}
		if _, ok := s.save.Blob(l.Digest); !ok {
			return false
		}
	}
	return true
}

// maxIndexDepth bounds how deep indexes may nest in a save.
const maxIndexDepth = 4

// index is the saved index h with every child it names, each checked now,
// so a missing or damaged blob stops the push before anything is sent.
func (s *savedTar) index(h v1.Hash, raw []byte, mt types.MediaType, depth int) (*savedIndex, error) {
	if depth > maxIndexDepth {
		return nil, fmt.Errorf("the index %s nests more than %d indexes deep", h, maxIndexDepth)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read the index %s: %w", h, err)
	}
	idx := &savedIndex{raw: raw, mediaType: mt, digest: h, manifest: im, images: map[v1.Hash]v1.Image{}, indexes: map[v1.Hash]*savedIndex{}}
	for _, d := range im.Manifests {
		child, ok := s.save.Blob(d.Digest)
		if !ok {
			return nil, fmt.Errorf("the index %s names %s (%s), which the save does not hold; push the image with every platform it lists present in the engine", h, d.Digest, platformOf(d))
		}
		switch {
		case d.MediaType.IsIndex():
			c, err := s.index(d.Digest, child, d.MediaType, depth+1)
			if err != nil {
				return nil, err
			}
			idx.indexes[d.Digest] = c
		case d.MediaType.IsImage():
			if !s.layersCompressed(child) {
				return nil, fmt.Errorf("the manifest %s (%s) of the index %s names a layer the save does not hold compressed", d.Digest, platformOf(d), h)
			}
			img, err := s.manifestImage(d.Digest, child, d.MediaType)
			if err != nil {
				return nil, fmt.Errorf("the manifest %s (%s) of the index %s: %w", d.Digest, platformOf(d), h, err)
			}
			idx.images[d.Digest] = img
		default:
			return nil, fmt.Errorf("the index %s names %s of media type %q, which the push stage cannot send", h, d.Digest, d.MediaType)
		}
	}
	return idx, nil
}

func platformOf(d v1.Descriptor) string {
	if d.Platform == nil {
		return "no platform"
	}
	return d.Platform.String()
}

// manifestImage is the saved manifest h as it is, over the saved config and
// layers; each layer must inflate to the diff id the config expects.
func (s *savedTar) manifestImage(h v1.Hash, raw []byte, mt types.MediaType) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read the manifest %s: %w", h, err)
	}
	cfg, ok := s.save.Blob(m.Config.Digest)
	if !ok {
		return nil, fmt.Errorf("the config %s of the manifest %s is missing from the save", m.Config.Digest, h)
	}
	si := &savedImage{config: cfg, manifest: raw, mediaType: mt, layers: map[v1.Hash]partial.CompressedLayer{}}
	var diffIDs []v1.Hash
	if m.Config.MediaType.IsConfig() {
		cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
		if err != nil {
			return nil, fmt.Errorf("read the config %s: %w", m.Config.Digest, err)
		}
		diffIDs = cf.RootFS.DiffIDs
		if len(diffIDs) != len(m.Layers) {
			return nil, fmt.Errorf("the config %s lists %d layers but the manifest %s %d", m.Config.Digest, len(diffIDs), h, len(m.Layers))
		}
	}
	for i, d := range m.Layers {
		var l partial.CompressedLayer
		diffID := d.Digest
		if sl, ok := s.savedLayerBlob(d.Digest); ok {
			l, diffID = &typedLayer{savedLayer: sl, mediaType: d.MediaType}, sl.diffID
		} else if b, ok := s.save.Blob(d.Digest); ok {
			l = &bytesLayer{data: b, digest: d.Digest, mediaType: d.MediaType}
		} else {
			return nil, fmt.Errorf("the layer %s of the manifest %s is missing from the save", d.Digest, h)
		}
		if diffIDs != nil && diffID != diffIDs[i] {
			return nil, fmt.Errorf("layer %d of the manifest %s is %s but its config expects %s", i+1, h, diffID, diffIDs[i])
		}
		si.layers[d.Digest] = l
	}
	return partial.CompressedToImage(si)
}

// savedIndex is an index of the save, pushed as the engine keeps it.
type savedIndex struct {
	raw       []byte
	mediaType types.MediaType
	digest    v1.Hash
	manifest  *v1.IndexManifest
	images    map[v1.Hash]v1.Image
	indexes   map[v1.Hash]*savedIndex
}

func (i *savedIndex) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *savedIndex) Digest() (v1.Hash, error)            { return i.digest, nil }
func (i *savedIndex) Size() (int64, error)                { return int64(len(i.raw)), nil }
func (i *savedIndex) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *savedIndex) IndexManifest() (*v1.IndexManifest, error) {
	return i.manifest.DeepCopy(), nil
}

func (i *savedIndex) Image(h v1.Hash) (v1.Image, error) {
	if img, ok := i.images[h]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("%s is not an image of the index %s", h, i.digest)
}

func (i *savedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if idx, ok := i.indexes[h]; ok {
		return idx, nil
	}
	return nil, fmt.Errorf("%s is not an index in the index %s", h, i.digest)
}

// typedLayer is a saved compressed layer with the media type its manifest gives it.
type typedLayer struct {
	*savedLayer
	mediaType types.MediaType
}

func (l *typedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// bytesLayer is a small blob used as a layer (an attestation's statement).
type bytesLayer struct {
	data      []byte
	digest    v1.Hash
	mediaType types.MediaType
}

func (l *bytesLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *bytesLayer) Size() (int64, error)                { return int64(len(l.data)), nil }
func (l *bytesLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *bytesLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}

// savedTar is a `docker save` stream read for the push (builtimage.ReadSave
// tells its formats): its documents, and each layer compressed into dir as
// it streams by, or taken from the registry when known there.
type savedTar struct {
	known  knownLayers // layers the registry holds, by diff id
	up     *uploader   // uploads the layers written to dir as they grow (nil: none)
	dir    string
	save   *builtimage.Save[*savedLayer]
	reused []*savedLayer // the layers taken from the registry
}

type savedLayer struct {
	file   string
	digest v1.Hash // of the compressed bytes
	diffID v1.Hash // of the uncompressed tar
	size   int64
	// remote, for a layer the registry already held: its blob there (in
	// the repository from), read only if a target can neither find nor
	// mount it; file is then "".
	remote v1.Layer
	from   name.Repository
}

func (l *savedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *savedLayer) Size() (int64, error)                { return l.size, nil }
func (l *savedLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *savedLayer) Compressed() (io.ReadCloser, error) {
	if l.remote != nil {
		return l.remote.Compressed()
	}
	return os.Open(l.file)
}

// knownBlob is the known layer a save entry named blobs/sha256/<diff id>
// (an uncompressed layer of a Docker 25+ save) is.
func (s *savedTar) knownBlob(name string) (knownLayer, v1.Hash, bool) {
	hexPart, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok || len(s.known) == 0 {
		return knownLayer{}, v1.Hash{}, false
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hexPart}
	kl, ok := s.known[h]
	return kl, h, ok
}

// reuse reads a known layer through, checking it hashes to its name.
func (s *savedTar) reuse(r io.Reader, kl knownLayer, diffID v1.Hash) (*savedLayer, error) {
	got, _, err := v1.SHA256(r)
	if err != nil {
		return nil, err
	}
	if got != diffID {
		return nil, fmt.Errorf("the layer saved as %s hashes to %s", diffID, got)
	}
	return kl.saved(diffID), nil
}

// layer stores a layer entry of the save: a gzipped one as it is, an
// uncompressed one compressed, or, when the registry knows it, read through
// and taken from there.
func (s *savedTar) layer(e builtimage.Entry) (*savedLayer, error) {
	switch e.Kind {
	case builtimage.Gzip:
		return s.storeCompressed(e.R)
	case builtimage.Zstd:
		return nil, errors.New("the layer is zstd-compressed, which the push stage cannot re-upload yet; use the docker exporter's default gzip compression")
	}
	var l *savedLayer
	var err error
	if kl, diffID, ok := s.knownBlob(e.Name); ok {
		l, err = s.reuse(e.R, kl, diffID)
	} else if len(s.known) > 0 {
		// Not named by its diff id (Docker 20.10's <id>/layer.tar): hash
		// it first, and compress it only if the registry does not know it.
		l, err = s.hashThenCompress(e.R)
	} else {
		l, err = s.compress(e.R)
	}
	if err != nil {
		return nil, err
	}
	if l.remote != nil {
		s.reused = append(s.reused, l)
	}
	return l, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// compress gzips an uncompressed layer to a file on every core
// (gzipParallel), hashing both sides.
func (s *savedTar) compress(r io.Reader) (*savedLayer, error) {
	return s.storeLayer(true, func(gz, tarSide io.Writer) error {
		return gzipParallel(gz, io.TeeReader(r, tarSide), 0)
	})
}

// hashThenCompress spools an uncompressed layer to a file while hashing
// it: a layer whose diff id the registry knows is taken from there (the
// spool is dropped), any other is gzipped from the spool. The spool costs
// a write and a read of the tar; a gzip of a known layer cost far more.
func (s *savedTar) hashThenCompress(r io.Reader) (*savedLayer, error) {
	f, err := os.CreateTemp(s.dir, "layer-*.tar")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close(); _ = os.Remove(f.Name()) }()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		return nil, err
	}
	diffID := sum(h)
	if kl, ok := s.known[diffID]; ok {
		return kl.saved(diffID), nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.compress(bufio.NewReaderSize(f, 1<<20))
}

// storeCompressed keeps an already gzipped layer as it is, hashing it and
// what it decompresses to. It is not streamed to the registry: its name is
// its digest, which the push checks the registry for first.
func (s *savedTar) storeCompressed(r io.Reader) (*savedLayer, error) {
	return s.storeLayer(false, func(gz, tarSide io.Writer) error {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			zr, err := gzip.NewReader(pr)
			if err == nil {
				_, err = io.Copy(tarSide, zr)
			}
			_, _ = io.Copy(io.Discard, pr)
			done <- err
		}()
		_, err := io.Copy(io.MultiWriter(gz, pw), r)
		_ = pw.CloseWithError(err)
		if zerr := <-done; err == nil && zerr != nil {
			err = fmt.Errorf("decompress the layer: %w", zerr)
		}
		return err
	})
}

// storeLayer writes a layer to a temporary file: write sends the gzipped
// bytes to gz (the file, hashed and counted for the digest and size) and
// the tar they inflate to to tarSide (hashed for the diff id). With stream
// (a layer compressed here, whose digest nobody knows before the end), the
// uploader sends the file to the registry as it grows.
func (s *savedTar) storeLayer(stream bool, write func(gz, tarSide io.Writer) error) (*savedLayer, error) {
	f, err := os.CreateTemp(s.dir, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zh, dh := sha256.New(), sha256.New()
	var out io.Writer = io.MultiWriter(f, zh)
	var grow *growingLayer
	if stream && s.up != nil {
		grow = newGrowingLayer(f.Name(), types.DockerLayer)
		out = growthWriter{w: out, g: grow}
		s.up.start(grow)
	}
	cw := &countingWriter{w: out}
	err = write(cw, dh)
	if err == nil {
		err = f.Close()
	}
	l := &savedLayer{file: f.Name(), digest: sum(zh), diffID: sum(dh), size: cw.n}
	if grow != nil {
		grow.finish(l.digest, l.diffID, err)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// image assembles the saved image: its config as the engine keeps it (so
// the config digest stays the image id that was scanned) and a Docker v2
// manifest over the compressed layers.
func (s *savedTar) image(wantID string) (v1.Image, error) {
	saved, err := s.save.Image(wantID)
	if err != nil {
		return nil, err
	}
	si := &savedImage{config: saved.Config, mediaType: types.DockerManifestSchema2, layers: map[v1.Hash]partial.CompressedLayer{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(saved.Config)), Digest: saved.ConfigDigest},
	}
	for i, l := range saved.Layers {
		if want := saved.ConfigFile.RootFS.DiffIDs[i]; l.diffID != want {
			return nil, fmt.Errorf("layer %d is %s but the config expects %s", i+1, l.diffID, want)
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerLayer, Size: l.size, Digest: l.digest})
		si.layers[l.digest] = l
	}
	si.manifest, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(si)
}

// savedImage is the core of an image streamed out of the engine.
type savedImage struct {
	config    []byte
	manifest  []byte
	mediaType types.MediaType
	layers    map[v1.Hash]partial.CompressedLayer
}

func (i *savedImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *savedImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *savedImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *savedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("blob %s is not a layer of this image", h)
}
