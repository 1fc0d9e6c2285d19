package registry

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/org/image-pipeline/internal/pipeline"
)

// maxKnownProbes bounds the manifest reads spent looking for the built
// image in the registry before exporting it from the engine.
const maxKnownProbes = 6

// knownImage looks for the engine's built image among refs the run is
// about to write (a tag, a cache ref) or read its cache from: a warm run on
// an unchanged commit builds the image it pushed last time. When one of
// refs already points at it — the same digest (the containerd store names
// images by manifest or index), or a single-image manifest over the same
// config (a classic store's image id is its config digest, and the config
// holds every layer's diff id) — the registry's copy is pushed instead:
// nothing is exported from the engine or compressed, and the repositories
// that hold it already get manifest PUTs only. It returns nil (and no
// error) when no ref holds the image; a ref that cannot be read counts as
// not holding it.
//
// Otherwise the layers of the images it read are returned by diff id: a
// new branch's image shares most of its layers with the default branch's,
// and those are not compressed again (streamFromEngine).
func (r *pushRun) knownImage(bi pipeline.BuiltImage, refs []name.Tag) (*artifact, string, knownLayers) {
	// An OCI layout's image (buildkitd's) counts as held only by its own
	// digest: its blobs are compressed already, so there is no layer to
	// learn.
	layout := bi.OCILayout != ""
	id, what := bi.EngineImageID, "the engine's image"
	if layout {
		id, what = bi.Digest, "the built image"
	}
	if !layout && r.p.engine == nil || !strings.HasPrefix(id, "sha256:") {
		return nil, "", nil
	}
	want, err := v1.NewHash(id)
	if err != nil {
		return nil, "", nil
	}
	layers := knownLayers{}
	for i, ref := range refs {
		if i == maxKnownProbes {
			break
		}
		s, err := r.session(ref.RegistryStr())
		if err != nil {
			return nil, "", nil
		}
		desc, err := s.puller.Get(r.ctx, ref)
		if err != nil {
			continue
		}
		if desc.Digest == want {
			a, err := (&rerunImage{digest: desc.Digest, desc: desc}).artifact()
			if err != nil {
				continue
			}
			return a, fmt.Sprintf("%s already is %s, %s", ref.Name(), desc.Digest, what), nil
		}
		if layout || !desc.MediaType.IsImage() {
			continue
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			continue
		}
		img, err := desc.Image()
		if err != nil {
			continue
		}
		// The config blob is fetched and checked against its digest; its
		// diff ids must match the manifest's layers one for one.
		cf, err := img.ConfigFile()
		if err != nil || len(cf.RootFS.DiffIDs) != len(m.Layers) {
			continue
		}
		if m.Config.Digest == want {
			a, err := newArtifact(img, nil)
			if err != nil {
				continue
			}
			return a, fmt.Sprintf("%s already is %s, whose config is the engine's image %s", ref.Name(), desc.Digest, want), nil
		}
		layers.add(img, ref.Context())
	}
	return nil, "", layers
}

// knownLayer is a layer blob that a repository of the run's registries
// already holds, learnt from the manifest and config of a ref it read.
type knownLayer struct {
	desc v1.Descriptor
	from name.Repository
	// blob is the registry's copy, read only when a target repository
	// neither holds the blob nor can mount it (another registry).
	blob v1.Layer
}

// knownLayers are known layers by diff id.
type knownLayers map[v1.Hash]knownLayer

// add learns the layers of img, which repository from holds, by diff id:
// only gzipped layers (Docker's, what a classic store's push writes, or
// OCI's, a base image's), and only diff ids not known yet (the first ref
// read wins).
func (k knownLayers) add(img v1.Image, from name.Repository) {
	m, err := img.Manifest()
	if err != nil {
		return
	}
	cf, err := img.ConfigFile()
	if err != nil || len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return
	}
	for j, l := range m.Layers {
		diffID := cf.RootFS.DiffIDs[j]
		if _, seen := k[diffID]; seen || l.MediaType != types.DockerLayer && l.MediaType != types.OCILayer {
			continue
		}
		blob, err := img.LayerByDigest(l.Digest)
		if err != nil {
			continue
		}
		k[diffID] = knownLayer{desc: l, from: from, blob: blob}
	}
}

// saved is the layer diffID of a save, taken from the registry.
func (kl knownLayer) saved(diffID v1.Hash) *savedLayer {
	return &savedLayer{digest: kl.desc.Digest, diffID: diffID, size: kl.desc.Size, remote: kl.blob, from: kl.from}
}

// probeRefs are the refs knownImage reads for the final image, each once:
// the first repository's tags, then the refs the build read its cache from
// (the default branch's image, for a new branch), then the image's cache
// refs.
func probeRefs(targets []*target, read, cacheRefs []string) []name.Tag {
	var out []name.Tag
	seen := map[string]bool{}
	add := func(t name.Tag) {
		if !seen[t.Name()] {
			seen[t.Name()] = true
			out = append(out, t)
		}
	}
	if len(targets) > 0 {
		for _, t := range targets[0].tags {
			add(t)
		}
	}
	for _, c := range append(append([]string{}, read...), cacheRefs...) {
		if t, err := name.NewTag(c, name.StrictValidation); err == nil {
			add(t)
		}
	}
	return out
}

// maxBaseProbes bounds the base images whose manifests the push reads.
const maxBaseProbes = 4

// baseLayers adds to layers those of the base images (req.BaseImages) in a
// registry the run pushes to: an engine layer taken from a base image is
// then pushed as the base image's blob (mounted), not compressed again, as
// the engine's own push does (on Docker 20.10, with the builder's solve
// reading the final image's inline cache too, re-gzipped base layers made
// every new branch run the step after FROM again: docs/build.md). A base
// image in another registry is not read (a Docker Hub manifest read counts
// as a pull), nor one that cannot be; engine layers of an engine image only
// (no engine: nothing to do).
func (r *pushRun) baseLayers(layers knownLayers, targets []*target, req Request) knownLayers {
	if r.p.engine == nil || len(req.BaseImages) == 0 {
		return layers
	}
	pushed := map[string]bool{}
	for _, t := range targets {
		pushed[t.repo.RegistryStr()] = true
	}
	n := 0
	for _, b := range req.BaseImages {
		ref, err := name.ParseReference(b, name.StrictValidation)
		if err != nil || !pushed[ref.Context().RegistryStr()] {
			continue
		}
		if n++; n > maxBaseProbes {
			break
		}
		if layers == nil {
			layers = knownLayers{}
		}
		// As add: a diff id already learnt keeps its first blob.
		for diffID, kl := range r.baseImageLayers(ref) {
			if _, seen := layers[diffID]; !seen {
				layers[diffID] = kl
			}
		}
	}
	return layers
}

// baseImageLayers are the layers of the base image ref, read from the
// registry once per run (none when it cannot be read).
func (r *pushRun) baseImageLayers(ref name.Reference) knownLayers {
	if kl, ok := r.bases[ref.Name()]; ok {
		return kl
	}
	if r.bases == nil {
		r.bases = map[string]knownLayers{}
	}
	layers := knownLayers{}
	r.bases[ref.Name()] = layers
	s, err := r.session(ref.Context().RegistryStr())
	if err != nil {
		return layers
	}
	desc, err := s.puller.Get(r.ctx, ref)
	if err != nil {
		return layers
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		img, err = engineImageOf(desc)
	} else {
		img, err = desc.Image()
	}
	if err == nil {
		layers.add(img, ref.Context())
	}
	return layers
}

// engineImageOf is the image of a base image's index that a local engine
// builds on: the one for this machine's OS and architecture.
func engineImageOf(desc *remote.Descriptor) (v1.Image, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == runtime.GOOS && d.Platform.Architecture == runtime.GOARCH && d.MediaType.IsImage() {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s has no %s/%s image", desc.Digest, runtime.GOOS, runtime.GOARCH)
}
