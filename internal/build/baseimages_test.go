package build

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBaseImages(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		args             []BuildArg
		want             []string
	}{
		{name: "global ARG with a build-arg", dockerfile: "ARG BASE=alpine:3.20\nFROM $BASE AS builder\nRUN true\nFROM scratch\nCOPY --from=builder / /\n",
			args: []BuildArg{{Name: "BASE", Value: "ghcr.io/org/base:1"}}, want: []string{"ghcr.io/org/base:1"}},
		{name: "ARG default", dockerfile: "ARG BASE=alpine:3.20\nFROM ${BASE}\n", want: []string{"alpine:3.20"}},
		{name: "stages and repeats", dockerfile: "FROM golang:1.26 AS build\nFROM build AS test\nFROM gcr.io/distroless/static\nFROM golang:1.26\n",
			want: []string{"golang:1.26", "gcr.io/distroless/static"}},
		{name: "scratch only", dockerfile: "FROM scratch\n"},
		{name: "not a Dockerfile", dockerfile: "RUN true\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(p, []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := BaseImages(p, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("BaseImages = %q, want %q", got, tc.want)
			}
		})
	}
	if got := BaseImages(filepath.Join(t.TempDir(), "missing"), nil); got != nil {
		t.Errorf("a missing Dockerfile gave %q", got)
	}
}
