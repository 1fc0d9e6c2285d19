package builtimage

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An engine image reaches the scan and the push as one `docker save`
// archive (the run's spool of it, enginesave). Both read it with ReadSave:
// the scan from the spool file, its layers left where they are in the file
// (OpenFile); the push from the save's stream, compressing each layer as it
// goes by. The archive is either of the formats the Engine writes:
//
//   - the legacy one (Docker 20.10, and 25+ before the containerd store):
//     <id>/layer.tar, <config digest>.json, manifest.json;
//   - the OCI-layout one of Docker 25+: blobs/sha256/<digest>, index.json,
//     oci-layout, with manifest.json still describing the image and
//     symlinks from the legacy names to the blobs. On the classic store the
//     layer blobs are the uncompressed tars named by their diff ids; on the
//     containerd store they are the compressed blobs the store keeps, and
//     the image id names a manifest (or index) blob of the save.

// Kind is what a layer entry of a save holds, told by its first bytes.
type Kind int

// The kinds of layer entries.
const (
	Tar  Kind = iota + 1 // an uncompressed layer tar
	Gzip                 // a gzipped layer
	Zstd                 // a zstd-compressed layer
)

// Compressed reports whether a layer of kind k is stored compressed.
func (k Kind) Compressed() bool { return k == Gzip || k == Zstd }

// Entry is a layer entry of a save as ReadSave reaches it.
type Entry struct {
	Name   string // its path in the archive, cleaned
	Size   int64  // its size in the archive
	Offset int64  // of its first byte from the start of the archive
	Kind   Kind
	// R reads its content; what the layer function leaves unread is
	// skipped (by seeking, when the archive is a file).
	R io.Reader
}

// maxDocumentSize bounds the other entries of a save kept in memory
// (manifests, configs, index.json, attestations); larger ones are skipped.
const maxDocumentSize = 64 << 20

// Save is the table of contents of a save archive: its documents (the
// small entries, in memory), its layers (whatever the reader's layer
// function made of each) and its links, by path.
type Save[L any] struct {
	docs   map[string][]byte
	layers map[string]L
	links  map[string]string
}

// ReadSave reads a save archive to its end, handing each layer entry to
// layer (in the archive's order) and keeping the other entries of up to
// maxDocumentSize. When r is an io.Seeker the entries layer does not read
// are skipped by seeking.
func ReadSave[L any](r io.Reader, layer func(Entry) (L, error)) (*Save[L], error) {
	pr := &posReader{r: r}
	var src io.Reader = pr
	if s, ok := r.(io.Seeker); ok {
		src = &posReadSeeker{posReader: pr, s: s}
	}
	s := &Save[L]{docs: map[string][]byte{}, layers: map[string]L{}, links: map[string]string{}}
	tr := tar.NewReader(src)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		name := path.Clean(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			s.links[name] = path.Join(path.Dir(name), hdr.Linkname)
		case tar.TypeLink:
			s.links[name] = path.Clean(hdr.Linkname)
		case tar.TypeReg:
			if err := s.readEntry(name, hdr.Size, pr.n, tr, layer); err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
		}
	}
}

func (s *Save[L]) readEntry(name string, size, offset int64, r io.Reader, layer func(Entry) (L, error)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(512)
	var kind Kind
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		kind = Gzip
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		kind = Zstd
	case looksLikeTar(head, size):
		kind = Tar
	case size <= maxDocumentSize:
		b, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		s.docs[name] = b
		return nil
	default:
		return nil
	}
	l, err := layer(Entry{Name: name, Size: size, Offset: offset, Kind: kind, R: br})
	if err != nil {
		return err
	}
	s.layers[name] = l
	return nil
}

// looksLikeTar recognises a tar stream by the ustar magic of its first
// header, or an empty tar (only zero blocks).
func looksLikeTar(head []byte, size int64) bool {
	if len(head) >= 262 && string(head[257:262]) == "ustar" {
		return true
	}
	if size < 1024 || size%512 != 0 || len(head) < 512 {
		return false
	}
	for _, b := range head {
		if b != 0 {
			return false
		}
	}
	return true
}

// posReader counts what was read, so the offset of an entry's content is
// known when the tar reader reaches it (archive/tar reads headers block by
// block, never ahead of the entry).
type posReader struct {
	r io.Reader
	n int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// posReadSeeker lets archive/tar skip entries by seeking; the position
// follows the seeks.
type posReadSeeker struct {
	*posReader
	s io.Seeker
}

func (p *posReadSeeker) Seek(offset int64, whence int) (int64, error) {
	n, err := p.s.Seek(offset, whence)
	if err == nil {
		p.n = n
	}
	return n, err
}

// resolve follows the links from name to the entry they lead to.
func (s *Save[L]) resolve(name string) string {
	name = path.Clean(name)
	for range 16 {
		target, ok := s.links[name]
		if !ok {
			break
		}
		name = target
	}
	return name
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// Blob is the document (a manifest, index, config or attestation) of the
// save's OCI layout named h, if the save holds it and it hashes to h.
func (s *Save[L]) Blob(h v1.Hash) ([]byte, bool) {
	b, ok := s.docs[s.resolve(blobPath(h))]
	if !ok {
		return nil, false
	}
	if got, _, err := v1.SHA256(bytes.NewReader(b)); err != nil || got != h {
		return nil, false
	}
	return b, true
}

// LayerBlob is the layer entry the save's OCI layout names h. Its bytes are
// not checked here: the layer function saw them go by.
func (s *Save[L]) LayerBlob(h v1.Hash) (L, bool) {
	l, ok := s.layers[s.resolve(blobPath(h))]
	return l, ok
}

// Image is the image a save's manifest.json describes.
type Image[L any] struct {
	Config       []byte // as the engine keeps it
	ConfigDigest v1.Hash
	ConfigFile   *v1.ConfigFile
	// Layers are the layer entries, one per diff id of the config, in its
	// order.
	Layers []L
}

// Image is the one image manifest.json lists. When wantID is an image id
// (sha256:…), it must name the saved config: be its digest (a classic
// store) or the digest of a manifest, or of an index leading to one, of the
// save whose config it is (the containerd store).
func (s *Save[L]) Image(wantID string) (*Image[L], error) {
	mf, ok := s.docs["manifest.json"]
	if !ok {
		return nil, errors.New("manifest.json is missing from the saved image")
	}
	var entries []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(mf, &entries); err != nil {
		return nil, fmt.Errorf("read manifest.json: %w", err)
	}
	if len(entries) != 1 {
		return nil, fmt.Errorf("manifest.json lists %d images, want 1", len(entries))
	}
	cfg, ok := s.docs[s.resolve(entries[0].Config)]
	if !ok {
		return nil, fmt.Errorf("the config %s named by manifest.json is missing", entries[0].Config)
	}
	cfgDigest, _, err := v1.SHA256(bytes.NewReader(cfg))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(wantID, "sha256:") && !s.idNamesConfig(wantID, cfgDigest, 0) {
		return nil, fmt.Errorf("its config is %s, which the built image id %s does not name (neither the config digest, as on a classic image store, nor a manifest or index of the save that leads to it, as on the containerd store)", cfgDigest, wantID)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
	if err != nil {
		return nil, fmt.Errorf("read the image config: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(entries[0].Layers) {
		return nil, fmt.Errorf("the config lists %d layers but manifest.json %d", len(cf.RootFS.DiffIDs), len(entries[0].Layers))
	}
	img := &Image[L]{Config: cfg, ConfigDigest: cfgDigest, ConfigFile: cf}
	for _, p := range entries[0].Layers {
		l, ok := s.layers[s.resolve(p)]
		if !ok {
			return nil, fmt.Errorf("the layer %s named by manifest.json is missing", p)
		}
		img.Layers = append(img.Layers, l)
	}
	return img, nil
}

// idNamesConfig reports whether the engine's image id names the saved
// config (see Image). Each blob read must hash to its name.
func (s *Save[L]) idNamesConfig(id string, cfg v1.Hash, depth int) bool {
	if id == cfg.String() {
		return true
	}
	h, err := v1.NewHash(id)
	if err != nil || depth > 3 {
		return false
	}
	b, ok := s.Blob(h)
	if !ok {
		return false
	}
	var doc struct {
		Config    *v1.Descriptor  `json:"config"`
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return false
	}
	if doc.Config != nil {
		return doc.Config.Digest == cfg
	}
	for _, m := range doc.Manifests {
		if s.idNamesConfig(m.Digest.String(), cfg, depth+1) {
			return true
		}
	}
	return false
}

// DocumentType is the media type a manifest or index declares, or the one
// its fields imply when it declares none (OCI allows that); "" for any
// other document.
func DocumentType(raw []byte) types.MediaType {
	var doc struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     types.MediaType  `json:"mediaType"`
		Config        *v1.Descriptor   `json:"config"`
		Manifests     *json.RawMessage `json:"manifests"`
	}
	// An image config is JSON too, with a "config" of its own: only a
	// schemaVersion 2 document is a manifest or an index.
	if json.Unmarshal(raw, &doc) != nil || doc.SchemaVersion != 2 {
		return ""
	}
	switch {
	case doc.MediaType != "":
		return doc.MediaType
	case doc.Manifests != nil:
		return types.OCIImageIndex
	case doc.Config != nil:
		return types.OCIManifestSchema1
	}
	return ""
}
