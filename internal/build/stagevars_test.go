package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadStageVars(t *testing.T) {
	// The TRE guide's shape: the version in an ARG of the build stage.
	const tre = `# syntax=docker/dockerfile:1
ARG CONDA_DIR="/opt/conda"
FROM docker.io/nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04 AS builder
ARG CONDA_DIR
ARG PYTHON_VERSION="3.10"
ENV PATH="${CONDA_DIR}/bin:${PATH}"
FROM docker.io/nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
ARG CONDA_DIR
ARG APP_VERSION="2.4.1"
ENV PATH="${CONDA_DIR}/bin:${PATH}" \
    RELEASE=v${APP_VERSION}-cuda
ARG NOVALUE
`
	const chained = `ARG BASE=debian:12
FROM ${BASE} AS base
ENV APP_VERSION=1.0.0 CHANNEL='stable'
FROM base AS production
ARG APP_VERSION
ENV LABEL="$APP_VERSION-$CHANNEL"
FROM scratch AS other
ENV ONLY_OTHER=1
`
	tests := []struct {
		name, dockerfile, target string
		args                     []BuildArg
		lookup                   string
		want, absent             string
	}{
		{name: "an ARG default of the final stage", dockerfile: tre, lookup: "APP_VERSION", want: "2.4.1"},
		{name: "build-args override it", dockerfile: tre, args: []BuildArg{{Name: "APP_VERSION", Value: "2.5.0"}}, lookup: "APP_VERSION", want: "2.5.0"},
		{name: "an ENV expanded with the ARG", dockerfile: tre, lookup: "RELEASE", want: "v2.4.1-cuda"},
		{name: "an ENV expanded with the override", dockerfile: tre, args: []BuildArg{{Name: "APP_VERSION", Value: "3"}}, lookup: "RELEASE", want: "v3-cuda"},
		{name: "a global ARG redeclared", dockerfile: tre, lookup: "CONDA_DIR", want: "/opt/conda"},
		{name: "set in another stage only", dockerfile: tre, lookup: "PYTHON_VERSION", absent: `PYTHON_VERSION is set in stage "builder", not in the final stage at line 7: declare ARG PYTHON_VERSION`},
		{name: "the builder as target", dockerfile: tre, target: "Builder", lookup: "PYTHON_VERSION", want: "3.10"},
		{name: "an ARG without a value", dockerfile: tre, lookup: "NOVALUE", absent: "ARG NOVALUE of the final stage at line 7 has no default and build-args gives it no value"},
		{name: "an ARG given by build-args only", dockerfile: tre, args: []BuildArg{{Name: "NOVALUE", Value: "x"}}, lookup: "NOVALUE", want: "x"},
		{name: "absent", dockerfile: tre, lookup: "VERSION", absent: "the final stage at line 7 sets no ARG or ENV VERSION (an ENV of its base image docker.io/nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 is not read"},
		{name: "ENV inherited from the stage it is built FROM", dockerfile: chained, target: "production", lookup: "APP_VERSION", want: "1.0.0"},
		{name: "build-args do not beat an inherited ENV", dockerfile: chained, target: "production", args: []BuildArg{{Name: "APP_VERSION", Value: "9"}}, lookup: "APP_VERSION", want: "1.0.0"},
		{name: "quotes removed, variables expanded", dockerfile: chained, target: "production", lookup: "LABEL", want: "1.0.0-stable"},
		{name: "the root's base image, expanded", dockerfile: chained, target: "production", lookup: "NONE", absent: "base image debian:12 is not read"},
		{name: "no such target", dockerfile: chained, target: "nope", lookup: "X", absent: `has no stage "nope"`},
		{name: "not a Dockerfile", dockerfile: "", lookup: "X", absent: "cannot be parsed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(path, []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			got, absent := ReadStageVars(path, "Dockerfile", tc.target, tc.args).Lookup(tc.lookup)
			if got != tc.want {
				t.Errorf("%s = %q, want %q (absent: %s)", tc.lookup, got, tc.want, absent)
			}
			if tc.absent == "" && absent != "" || !strings.Contains(absent, tc.absent) {
				t.Errorf("absent %q, want it to contain %q", absent, tc.absent)
			}
		})
	}
	if _, absent := ReadStageVars(filepath.Join(t.TempDir(), "missing"), "sub/Dockerfile", "", nil).Lookup("X"); !strings.Contains(absent, "the Dockerfile sub/Dockerfile cannot be read") {
		t.Errorf("a missing Dockerfile: %q", absent)
	}
}

// A failed step's output goes into the summary's code block with its
// control bytes escaped and no way out of the fence.
func TestFence(t *testing.T) {
	got := fence("before \x1b[2J\x1b]0;pwned\a \x00after\r\n``` done")
	if want := `before \x1b[2J\x1b]0;pwned\x07 \x00after` + "\n''' done"; got != want {
		t.Errorf("fence = %q, want %q", got, want)
	}
}
