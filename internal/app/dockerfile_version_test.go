package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/image-pipeline/internal/testenv"
)

// treDockerfile keeps the packaged software's version in an ARG of the
// final stage, as the TRE guide's workflow assumes (it greps _VERSION=).
const treDockerfile = `ARG BASE=127.0.0.1:5000/testenv/base:latest
FROM ${BASE} AS builder
ARG PYTHON_VERSION="3.10"
RUN echo "$PYTHON_VERSION" > /python-version
FROM ${BASE}
ARG APP_VERSION="2.4.1"
ENV RELEASE="v${APP_VERSION}"
COPY --from=builder /python-version /python-version
RUN echo "$APP_VERSION" > /app-version
`

// TestEndToEndVersionFromTheDockerfile (#18.3): a tag rule reads an ARG or
// ENV of the final stage ({{dockerfile 'NAME'}}), after build-args
// overrides; a variable that is not there skips its rule with the reason.
// Checked in the registry, the outputs and the summary.
func TestEndToEndVersionFromTheDockerfile(t *testing.T) {
	env := testenv.Require(t)
	rules := "type=semver,pattern={{version}},value={{dockerfile 'APP_VERSION'}}\n" +
		"type=semver,pattern={{major}}.{{minor}},value={{dockerfile 'APP_VERSION'}}\n" +
		"type=raw,value=release-{{dockerfile 'RELEASE'}}\n" +
		"type=raw,value={{dockerfile 'PYTHON_VERSION'}}\n"
	for _, tc := range []struct {
		name, override string
		want           []string
	}{
		{"the Dockerfile's default", "", []string{"2.4", "2.4.1", "latest", "release-v2.4.1"}},
		{"a build-args override", "APP_VERSION=2.5.0", []string{"2.5", "2.5.0", "latest", "release-v2.5.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			image := env.UniqueRepo(t, env.Registry, "e2e-dfversion")
			in := e2eInputs(t, env, image)
			in["tags"] = rules
			if tc.override != "" {
				in["build-args"] += "\n" + tc.override
			}
			r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": env.DockerHost, "TEST_FILES": "Dockerfile=" + treDockerfile})
			if r.code != 0 {
				t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if got := listTags(t, env, image); !slices.Equal(got, tc.want) {
				t.Errorf("the registry holds %v, want %v", got, tc.want)
			}
			if version := tc.want[1]; r.outputs["version"] != version {
				t.Errorf("version output %q, want %q", r.outputs["version"], version)
			}
			for _, tag := range tc.want {
				if got := env.HeadDigest(t, image+":"+tag); got != r.outputs["digest"] {
					t.Errorf("%s:%s is %s, want the pushed %s", image, tag, got, r.outputs["digest"])
				}
			}
			// The tag and the image agree: the pushed config has the ENV the
			// tag was read from.
			ref, err := name.ParseReference(image + ":" + tc.want[1])
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(ref, remote.WithTransport(env.Transport()))
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if want := "RELEASE=v" + tc.want[1]; !slices.Contains(cf.Config.Env, want) {
				t.Errorf("the image's Env is %v, want %s in it", cf.Config.Env, want)
			}
			logged := `{{dockerfile 'PYTHON_VERSION'}}: PYTHON_VERSION is set in stage "builder", not in the final stage at line 5: declare ARG PYTHON_VERSION`
			summed := `PYTHON\_VERSION is set in stage "builder", not in the final stage at line 5` // markdown-escaped
			if !strings.Contains(r.stdout, logged) || !strings.Contains(r.summary, summed) {
				t.Errorf("the skip reason is not in the log and the summary:\n%s\n%s", r.stdout, r.summary)
			}
		})
	}
}
