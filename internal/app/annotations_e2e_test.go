package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/image-pipeline/internal/testenv"
)

// pushedAnnotations reads the annotations of ref's manifest (or index) in
// the registry and, for an index, those of its first image manifest.
func pushedAnnotations(t *testing.T, env *testenv.Env, ref string) (top, image map[string]string, mediaType string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithTransport(env.Transport()), remote.WithContext(t.Context())}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	var m struct {
		MediaType   string            `json:"mediaType"`
		Annotations map[string]string `json:"annotations"`
		Manifests   []struct {
			Digest   string `json:"digest"`
			Platform *struct {
				OS string `json:"os"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	top, image, mediaType = m.Annotations, m.Annotations, string(desc.MediaType)
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		sub, err := remote.Get(r.Context().Digest(d.Digest), opts...)
		if err != nil {
			t.Fatal(err)
		}
		var im struct {
			Annotations map[string]string `json:"annotations"`
		}
		_ = json.Unmarshal(sub.Manifest, &im)
		image = im.Annotations
		break
	}
	return top, image, mediaType
}

// TestEndToEndAnnotations (#18.5): the plan's OCI annotations are written
// into the pushed manifest, and into the index with
// DOCKER_METADATA_ANNOTATIONS_LEVELS=manifest,index (GHCR reads a
// multi-platform package's description from the index), on every builder
// that writes OCI manifests; the classic store's Docker v2 manifest has no
// annotations, and the summary says so.
func TestEndToEndAnnotations(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	type backend struct {
		name, host, buildkit string
		oci, multi           bool
	}
	var backends []backend
	for _, en := range engines {
		backends = append(backends, backend{name: en.Name, host: en.Host, oci: en.ContainerdStore, multi: en.ContainerdStore})
		if en.ContainerdStore {
			backends = append(backends, backend{name: en.Name + " one platform", host: en.Host, oci: true})
		}
	}
	backends = append(backends,
		backend{name: "buildkitd", host: env.DockerHost, buildkit: env.BuildkitHost, oci: true, multi: true},
		backend{name: "buildkitd one platform", host: env.DockerHost, buildkit: env.BuildkitHost, oci: true})
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			image := env.UniqueRepo(t, env.Registry, "e2e-annotations")
			in := e2eInputs(t, env, image)
			in["annotations"] = "org.opencontainers.image.description=An annotated image"
			in["attest-sbom"] = "false"
			extra := map[string]string{"DOCKER_HOST": b.host, "DOCKER_METADATA_ANNOTATIONS_LEVELS": "manifest,index"}
			if b.buildkit != "" {
				in["buildkit-address"] = b.buildkit
			}
			if b.multi {
				in["platforms"] = "linux/amd64,linux/arm64"
			}
			r := runAsRunner(t, "push_main", in, extra)
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			top, img, mt := pushedAnnotations(t, env, image+":main")
			t.Logf("%s: %s, top %v, image %v", b.name, mt, top, img)
			if !b.oci {
				if len(top) != 0 {
					t.Errorf("annotations on a classic store's manifest: %v", top)
				}
				if !strings.Contains(r.summary, "OCI annotations are not written: the classic image store pushes a Docker v2 manifest") {
					t.Errorf("the summary does not say the annotations were not written:\n%s", r.summary)
				}
				return
			}
			want := map[string]map[string]string{"the index": top, "the image manifest": img}
			if !b.multi {
				// One platform: a manifest, no index to annotate.
				want = map[string]map[string]string{"the image manifest": top}
				if !strings.Contains(r.summary, "OCI annotations at the index level are not written: this single-platform image is a manifest, not an index") {
					t.Errorf("the summary does not say the index level was left out:\n%s", r.summary)
				}
			}
			for what, a := range want {
				if a["org.opencontainers.image.description"] != "An annotated image" || a["org.opencontainers.image.source"] != "https://github.com/octo-org/hello-image" {
					t.Errorf("%s's annotations are %v, want the description and the source", what, a)
				}
			}
		})
	}
}
