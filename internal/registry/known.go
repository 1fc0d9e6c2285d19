package registry

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/org/image-pipeline/internal/pipeline"
)

// maxKnownProbes bounds the manifest reads spent looking for the built
// image in the registry before exporting it from the engine.
const maxKnownProbes = 4

// knownImage looks for the engine's built image among refs the run is
// about to write (a tag, a cache ref): a warm run on an unchanged commit
// builds the image it pushed last time. When one of refs already points at
// it — the same digest (the containerd store names images by manifest or
// index), or a single-image manifest over the same config (a classic
// store's image id is its config digest, and the config holds every
// layer's diff id) — the registry's copy is pushed instead: nothing is
// exported from the engine or compressed, and the repositories that hold it
// already get manifest PUTs only. It returns nil (and no error) when no ref
// holds the image; a ref that cannot be read counts as not holding it.
func (r *pushRun) knownImage(bi pipeline.BuiltImage, refs []name.Tag) (*artifact, string) {
	if bi.OCILayout != "" || r.p.engine == nil || !strings.HasPrefix(bi.EngineImageID, "sha256:") {
		return nil, ""
	}
	want, err := v1.NewHash(bi.EngineImageID)
	if err != nil {
		return nil, ""
	}
	for i, ref := range refs {
		if i == maxKnownProbes {
			break
		}
		s, err := r.session(ref.RegistryStr())
		if err != nil {
			return nil, ""
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
			return a, fmt.Sprintf("%s already is %s, the engine's image", ref.Name(), desc.Digest)
		}
		if !desc.MediaType.IsImage() {
			continue
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil || m.Config.Digest != want {
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
		a, err := newArtifact(img, nil)
		if err != nil {
			continue
		}
		return a, fmt.Sprintf("%s already is %s, whose config is the engine's image %s", ref.Name(), desc.Digest, want)
	}
	return nil, ""
}

// probeRefs are the refs knownImage reads for the final image: the first
// repository's tags, then the image's cache refs.
func probeRefs(targets []*target, cacheRefs []string) []name.Tag {
	var out []name.Tag
	if len(targets) > 0 {
		out = append(out, targets[0].tags...)
	}
	for _, c := range cacheRefs {
		if t, err := name.NewTag(c, name.StrictValidation); err == nil {
			out = append(out, t)
		}
	}
	return out
}
