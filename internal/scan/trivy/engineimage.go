package trivy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/image-pipeline/internal/builtimage"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/wsfile"
)

// An engine image is opened without an export when an earlier scan of the
// same engine image id left its config (and, on the containerd store, the
// manifest the id names) in the layer cache directory: Trivy reads only the
// config and asks for a layer only when its analysis is not in the layer
// cache, so a warm run, whose every layer was analysed before, never
// exports the image. The blobs are kept by digest and hashed when read
// back: a changed or truncated file is never trusted, it costs an export.

// imageBlobSuffix names the kept image blobs in the layer cache directory
// ("sha256-<hex>.blob"), beside the layer analyses ("sha256-<key>.json");
// the cache's prune removes both when untouched for LayerCacheMaxAge.
const imageBlobSuffix = ".blob"

// blobStore keeps small image blobs (configs, manifests) by digest.
type blobStore struct{ dir string }

func (b blobStore) path(h v1.Hash) (string, bool) {
	if b.dir == "" || h.Algorithm != "sha256" || !blobKey.MatchString(h.String()) {
		return "", false
	}
	return filepath.Join(b.dir, h.Algorithm+"-"+h.Hex+imageBlobSuffix), true
}

// get reads the blob of digest h, checking its hash, and marks it used.
func (b blobStore) get(h v1.Hash) ([]byte, error) {
	p, ok := b.path(h)
	if !ok {
		return nil, fmt.Errorf("no kept blob for %s", h)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(h, data); err != nil {
		return nil, err
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return data, nil
}

func (b blobStore) put(h v1.Hash, data []byte) error {
	p, ok := b.path(h)
	if !ok {
		return nil
	}
	if err := checkDigest(h, data); err != nil {
		return err
	}
	if old, err := os.ReadFile(p); err == nil && checkDigest(h, old) == nil {
		return nil // kept already (a damaged file is written again)
	}
	return wsfile.WriteFile("", p, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func checkDigest(h v1.Hash, data []byte) error {
	got, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if got != h {
		return fmt.Errorf("blob %s hashes to %s", h, got)
	}
	return nil
}

// imageChain is what leads from an engine image id to the image's config:
// the id itself is the config's digest (a classic store), or the digest of
// a manifest naming the config (the containerd store). A multi-platform
// index is not followed: its image is always read from an export.
type imageChain struct {
	manifest  []byte // nil when the id is the config digest
	config    []byte
	configDig v1.Hash
}

// resolveChain walks from id to the config through get, which must check
// each blob's hash.
func resolveChain(id v1.Hash, get func(v1.Hash) ([]byte, error)) (imageChain, error) {
	first, err := get(id)
	if err != nil {
		return imageChain{}, err
	}
	var probe struct {
		Manifests json.RawMessage `json:"manifests"`
		Config    *v1.Descriptor  `json:"config"`
		Layers    json.RawMessage `json:"layers"`
		RootFS    json.RawMessage `json:"rootfs"`
	}
	if err := json.Unmarshal(first, &probe); err != nil {
		return imageChain{}, fmt.Errorf("blob %s is not JSON: %w", id, err)
	}
	switch {
	case probe.Manifests != nil:
		return imageChain{}, errors.New("a multi-platform index")
	case probe.Config != nil && probe.Layers != nil:
		cfg, err := get(probe.Config.Digest)
		if err != nil {
			return imageChain{}, err
		}
		return imageChain{manifest: first, config: cfg, configDig: probe.Config.Digest}, nil
	case probe.RootFS != nil:
		return imageChain{config: first, configDig: id}, nil
	}
	return imageChain{}, fmt.Errorf("blob %s is neither a manifest nor an image config", id)
}

// keep stores the chain's blobs for the next run.
func (b blobStore) keep(id v1.Hash, c imageChain) error {
	if c.manifest != nil {
		if err := b.put(id, c.manifest); err != nil {
			return err
		}
	}
	return b.put(c.configDig, c.config)
}

// saveBlobGetter reads blobs from a `docker save` file: its config, and
// the documents of the OCI layout the save holds (Docker 25+).
func saveBlobGetter(saved *builtimage.File, img v1.Image) func(v1.Hash) ([]byte, error) {
	return func(h v1.Hash) ([]byte, error) {
		if name, err := img.ConfigName(); err == nil && name == h {
			return img.RawConfigFile()
		}
		if b, ok := saved.Blob(h); ok {
			return b, nil
		}
		return nil, fmt.Errorf("the save holds no blob %s", h)
	}
}

// lazyImage is an engine image whose config is known; everything else
// (manifest, layers) comes from an export made on first use.
type lazyImage struct {
	raw    []byte
	config *v1.ConfigFile
	name   v1.Hash
	export func() (v1.Image, error)

	once     sync.Once
	img      v1.Image
	err      error
	exported bool
}

func (l *lazyImage) load() (v1.Image, error) {
	l.once.Do(func() {
		l.exported = true
		l.img, l.err = l.export()
		if l.err != nil {
			return
		}
		if got, err := l.img.ConfigName(); err != nil || got != l.name {
			l.err = fmt.Errorf("the engine's export has config %s, not the %s its id named: the image changed during the run", got, l.name)
		}
	})
	return l.img, l.err
}

func (l *lazyImage) ConfigName() (v1.Hash, error)        { return l.name, nil }
func (l *lazyImage) ConfigFile() (*v1.ConfigFile, error) { return l.config.DeepCopy(), nil }
func (l *lazyImage) RawConfigFile() ([]byte, error)      { return l.raw, nil }

func (l *lazyImage) Layers() ([]v1.Layer, error) {
	img, err := l.load()
	if err != nil {
		return nil, err
	}
	return img.Layers()
}
func (l *lazyImage) MediaType() (types.MediaType, error) {
	img, err := l.load()
	if err != nil {
		return "", err
	}
	return img.MediaType()
}
func (l *lazyImage) Size() (int64, error) {
	img, err := l.load()
	if err != nil {
		return 0, err
	}
	return img.Size()
}
func (l *lazyImage) Digest() (v1.Hash, error) {
	img, err := l.load()
	if err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}
func (l *lazyImage) Manifest() (*v1.Manifest, error) {
	img, err := l.load()
	if err != nil {
		return nil, err
	}
	return img.Manifest()
}
func (l *lazyImage) RawManifest() ([]byte, error) {
	img, err := l.load()
	if err != nil {
		return nil, err
	}
	return img.RawManifest()
}
func (l *lazyImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	img, err := l.load()
	if err != nil {
		return nil, err
	}
	return img.LayerByDigest(h)
}
func (l *lazyImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	img, err := l.load()
	if err != nil {
		return nil, err
	}
	return img.LayerByDiffID(h)
}

// engineImage opens the engine image of t for Trivy. The second result
// says, after the analysis, whether the image had to be exported.
func engineImage(ctx context.Context, t scan.Target, s scan.Settings, store blobStore) (ftImage scanImage, exported func() bool, cleanup func(), err error) {
	ref := t.EngineKey()
	saves, closeSaves, err := engineSaves(s)
	if err != nil {
		return scanImage{}, nil, nil, err
	}
	var tags []string
	if t.EngineRef != "" {
		tags = []string{t.EngineRef}
	}
	exportImage := func() (v1.Image, *builtimage.File, error) {
		s.Log.Infof("scan: exporting %s from the Docker Engine", ref)
		file, err := saves.File(ctx, ref)
		if err != nil {
			return nil, nil, fmt.Errorf("read the built image %s from the Docker Engine: %w", ref, err)
		}
		saved, err := builtimage.OpenFile(file)
		if err != nil {
			return nil, nil, err
		}
		img, err := saved.Image(t.EngineImageID)
		if err != nil {
			return nil, nil, fmt.Errorf("the image %s saved by the Docker Engine: %w", ref, err)
		}
		return img, saved, nil
	}
	id, idErr := v1.NewHash(t.EngineImageID)
	if idErr == nil {
		if chain, err := resolveChain(id, store.get); err == nil {
			if cf, err := v1.ParseConfigFile(bytes.NewReader(chain.config)); err == nil {
				s.Log.Infof("scan: the config of %s was kept by an earlier scan: the image is exported only if a layer's analysis is not in the layer cache", ref)
				l := &lazyImage{raw: chain.config, config: cf, name: chain.configDig, export: func() (v1.Image, error) {
					img, _, err := exportImage()
					return img, err
				}}
				return scanImage{Image: l, name: t.Name(), repoTags: tags}, func() bool { return l.exported }, closeSaves, nil
			}
		}
	}
	img, saved, err := exportImage()
	if err != nil {
		closeSaves()
		return scanImage{}, nil, nil, err
	}
	if idErr == nil && store.dir != "" {
		if chain, err := resolveChain(id, saveBlobGetter(saved, img)); err == nil {
			if err := store.keep(id, chain); err != nil {
				s.Log.Warningf("scan: could not keep the image's config in %s for the next run: %v", store.dir, err)
			}
		}
	}
	return scanImage{Image: img, name: t.Name(), repoTags: tags}, func() bool { return true }, closeSaves, nil
}
