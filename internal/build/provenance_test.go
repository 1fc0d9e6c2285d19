package build_test

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/pipeline"
)

// TestProvenanceAttestation: asked for provenance, buildkitd and the
// containerd image store keep the final image as an index with BuildKit's
// SLSA attestation manifest beside the image, naming the run, the
// repository and the commit (and in mode=max the build args; in mode=min
// not); a classic-store engine refuses before building, naming the input.
func TestProvenanceAttestation(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		for _, mode := range []string{ibuild.ProvenanceMin, ibuild.ProvenanceMax} {
			t.Run(mode, func(t *testing.T) {
				o := d.options(t, "multiplatform")
				nonceArg := "arg-" + nonce(t)
				o.BuildArgs = []ibuild.BuildArg{{Name: "TARGETPLATFORM_NOTE", Value: nonceArg}}
				o.Provenance = ibuild.Provenance{
					Mode:      mode,
					BuilderID: "https://github.com/octo-org/hello/actions/runs/42/attempts/1",
					Source:    "https://github.com/octo-org/hello",
					Revision:  "3f786850e387550fdab836ed7e6dc881de23001b",
				}
				res, log, err := d.build(t, o, nil)
				if d.classicEngine() {
					if err == nil {
						d.removeAfter(t, res)
						t.Fatal("a classic-store engine accepted provenance")
					}
					for _, want := range []string{`input "provenance"`, "buildkit-address", "containerd image store"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not mention %s", err, want)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("build: %v\n%s", err, log)
				}
				d.removeAfter(t, res)
				if res.Provenance != mode {
					t.Errorf("result provenance %q, want %q", res.Provenance, mode)
				}
				final := res.Outcome.Final()
				idx := builtIndex(t, d, final)
				att := attestationOf(t, idx)
				for _, want := range []string{`"predicateType":"https://slsa.dev/provenance/v`, o.Provenance.BuilderID, o.Provenance.Source, o.Provenance.Revision} {
					if !strings.Contains(att, want) {
						t.Errorf("the attestation lacks %s:\n%.2000s", want, att)
					}
				}
				if got := strings.Contains(att, nonceArg); got != (mode == ibuild.ProvenanceMax) {
					t.Errorf("mode=%s: build-arg value in the attestation = %v", mode, got)
				}
			})
		}
	})
}

// builtIndex is the final image's index: from the build's OCI layout, or
// saved out of the engine (Docker 29 saves an OCI layout).
func builtIndex(t *testing.T, d *driver, final *pipeline.BuiltImage) v1.ImageIndex {
	t.Helper()
	if final.OCILayout != "" {
		return layoutIndex(t, final)
	}
	rc, err := d.engine.ImageSave(t.Context(), []string{final.EngineImageID})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dir := t.TempDir()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || strings.Contains(hdr.Name, "..") {
			continue
		}
		p := filepath.Join(dir, hdr.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(final.EngineImageID)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(h)
	if err != nil {
		t.Fatalf("the engine's %s is not an image index: %v", h, err)
	}
	return idx
}

// attestationOf returns the in-toto statement of the index's attestation
// manifest, after checking it points at the index's image.
func attestationOf(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, d := range m.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			images = append(images, d.Digest.String())
		}
	}
	for _, d := range m.Manifests {
		if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		if d.Platform == nil || d.Platform.OS != "unknown" || len(images) != 1 || d.Annotations["vnd.docker.reference.digest"] != images[0] {
			t.Errorf("attestation manifest %s: platform %v, refers to %s, images %v", d.Digest, d.Platform, d.Annotations["vnd.docker.reference.digest"], images)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) == 0 {
			t.Fatalf("attestation layers: %v (%d)", err, len(ls))
		}
		var all []string
		for _, l := range ls {
			mt, _ := l.MediaType()
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			var compact map[string]any
			if string(mt) != "application/vnd.in-toto+json" || json.Unmarshal(b, &compact) != nil {
				t.Errorf("attestation layer of media type %s is not an in-toto statement", mt)
			}
			c, _ := json.Marshal(compact)
			all = append(all, string(c))
		}
		return strings.Join(all, "\n")
	}
	t.Fatalf("the index has no attestation manifest: %+v", m.Manifests)
	return ""
}
