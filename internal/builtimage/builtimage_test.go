package builtimage

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// A layout as buildkitd leaves it may hold the builder stage's image
// beside the final one, or a multi-platform index: Layout opens the entry
// the build named, or the only one.
func TestLayout(t *testing.T) {
	final, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	builder, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	multi, err := random.Index(1024, 1, 2)
	if err != nil {
		t.Fatal(err)
	}

	two := t.TempDir()
	p, err := layout.Write(two, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{builder, final} {
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	one := t.TempDir()
	if _, err := layout.Write(one, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: multi})); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, dir, digest string
		wantImage         string // digest of the image opened
		wantIndex         string // digest of the index opened
		wantErr           string
	}{
		{name: "the final image beside the builder's", dir: two, digest: digestOf(t, final), wantImage: digestOf(t, final)},
		{name: "the builder's, by its digest", dir: two, digest: digestOf(t, builder), wantImage: digestOf(t, builder)},
		{name: "no digest, two entries", dir: two, wantErr: "holds 2 manifests and the build did not say which one was built"},
		{name: "a digest it does not hold", dir: two, digest: "sha256:" + strings.Repeat("0", 64), wantErr: "does not hold the built image sha256:000"},
		{name: "the only entry, an index", dir: one, wantIndex: digestOf(t, multi)},
		{name: "an index by its digest", dir: one, digest: digestOf(t, multi), wantIndex: digestOf(t, multi)},
		{name: "no layout", dir: t.TempDir() + "/missing", wantErr: "open the OCI layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, idx, err := Layout(tc.dir, tc.digest)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Layout = %v, want an error with %q", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			case (img != nil) == (idx != nil):
				t.Fatalf("Layout gave image %v and index %v, want exactly one", img, idx)
			case tc.wantImage != "" && (img == nil || digestOf(t, img) != tc.wantImage):
				t.Fatalf("Layout opened %v, want the image %s", img, tc.wantImage)
			case tc.wantIndex != "" && (idx == nil || digestOf(t, idx) != tc.wantIndex):
				t.Fatalf("Layout opened %v, want the index %s", idx, tc.wantIndex)
			}
		})
	}
}

// ForPlatform takes this platform's image of an index, else the first
// image; attestation manifests (unknown/unknown, as BuildKit writes them)
// are never it.
func TestForPlatform(t *testing.T) {
	images := make([]v1.Image, 3)
	for i := range images {
		img, err := random.Image(100, 1)
		if err != nil {
			t.Fatal(err)
		}
		images[i] = img
	}
	att, amd, arm := images[0], images[1], images[2]
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	for _, tc := range []struct {
		os, arch string
		want     v1.Image
	}{
		{"linux", "amd64", amd},
		{"linux", "arm64", arm},
		{"linux", "s390x", amd}, // none for it: the first image, not the attestation
	} {
		got, err := ForPlatform(multi, tc.os, tc.arch)
		if err != nil {
			t.Fatal(err)
		}
		if digestOf(t, got) != digestOf(t, tc.want) {
			t.Errorf("ForPlatform(%s/%s) = %s, want %s", tc.os, tc.arch, digestOf(t, got), digestOf(t, tc.want))
		}
	}
	if _, err := ForPlatform(empty.Index, "linux", "amd64"); err == nil {
		t.Error("ForPlatform of an empty index found an image")
	}
}
