package lint

import (
	"testing"
)

// TestTREGuideExample lints the example Dockerfile of the TRE container
// build guide (multi-stage CUDA/conda, pinned by digest, non-root USER): it
// follows the guide's checklist, so nothing may be an error.
func TestTREGuideExample(t *testing.T) {
	findings, err := LintFile("testdata/tre-guide/Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Logf("%s:%d %s %s: %s", f.File, f.Line, f.Code, f.Severity, f.Message)
		if f.Severity == "error" {
			t.Errorf("error-level finding on the guide's example: %s line %d: %s", f.Code, f.Line, f.Message)
		}
		if f.Code[:2] == "IP" {
			t.Errorf("the guide's example breaks its own checklist: %s line %d: %s", f.Code, f.Line, f.Message)
		}
	}
}

// TestTREGuideIncorrectSnippets checks that each "Incorrect" snippet of the
// guide's checklist produces the rule the guide has in mind.
func TestTREGuideIncorrectSnippets(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string // codes that must be reported
		notWant []string // codes that must not be reported
	}{
		{
			name: "FROM not qualified and not pinned",
			src:  join("FROM nvidia/cuda:latest"),
			want: []string{"IP001", "IP002", "DL3007"},
		},
		{
			name:    "FROM qualified but only tagged",
			src:     join("FROM docker.io/nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04"),
			want:    []string{"IP002"},
			notWant: []string{"IP001", "DL3007"},
		},
		{
			name:    "FROM qualified with latest",
			src:     join("FROM docker.io/nvidia/cuda:latest"),
			want:    []string{"IP002", "DL3007"},
			notWant: []string{"IP001"},
		},
		{
			name:    "correct FROM",
			src:     join("FROM docker.io/nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04@sha256:622e78a1d02c0f90ed900e3985d6c975d8e2dc9ee5e61643aed587dcf9129f42"),
			notWant: []string{"IP001", "IP002", "DL3006", "DL3007"},
		},
		{
			name: "consecutive RUN statements",
			src: join(
				"FROM docker.io/library/debian:12",
				"RUN apt-get -y update",
				"RUN apt-get -y install curl",
				"RUN apt-get -y install git",
			),
			want: []string{"DL3059", "DL3009", "DL3015"},
		},
		{
			name: "grouped RUN statement",
			src: join(
				"FROM docker.io/library/debian:12",
				"RUN : \\",
				"    && apt-get update -qq \\",
				"    && DEBIAN_FRONTEND=noninteractive apt-get install \\",
				"        -qq -y --no-install-recommends \\",
				"        curl \\",
				"        git \\",
				"    && apt-get clean \\",
				"    && rm -rf /var/lib/apt/lists/* \\",
				"    && :",
			),
			notWant: []string{"DL3059", "DL3009", "DL3014", "DL3015"},
		},
		{
			name: "ADD of a remote archive",
			src: join(
				"FROM docker.io/library/debian:12",
				"ADD https://example.com/some.tar.gz /",
				"RUN tar -x -C /src -f some.tar.gz && ...",
			),
			want: []string{"IP006"},
		},
		{
			name:    "ADD of a local file",
			src:     join("FROM docker.io/library/debian:12", "ADD app.py /app/app.py"),
			want:    []string{"DL3020"},
			notWant: []string{"IP006"},
		},
		{
			name: "final stage back to root after a non-root builder",
			src: join(
				"FROM docker.io/library/python:3.12@sha256:622e78a1d02c0f90ed900e3985d6c975d8e2dc9ee5e61643aed587dcf9129f42 AS builder",
				"RUN groupadd --system nonroot && useradd --no-log-init --system --gid nonroot nonroot",
				"USER nonroot",
				"FROM gcr.io/distroless/base-debian12@sha256:622e78a1d02c0f90ed900e3985d6c975d8e2dc9ee5e61643aed587dcf9129f42",
				"COPY --from=builder /opt/app /opt/app",
				`ENTRYPOINT ["/opt/app/run"]`,
			),
			want: []string{"IP004"},
		},
		{
			name: "secret in ARG and ENV",
			src: join(
				"FROM docker.io/library/debian:12",
				"ARG GITHUB_TOKEN",
				"ENV SSH_KEY=abc",
			),
			want: []string{"DL3064", "IP003"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := lintText(t, tt.src, nil)
			for _, c := range tt.want {
				if !hasCode(f, c) {
					t.Errorf("want %s, got %v", c, codesAt(f))
				}
			}
			for _, c := range tt.notWant {
				if hasCode(f, c) {
					t.Errorf("do not want %s, got %v", c, codesAt(f))
				}
			}
		})
	}
}
