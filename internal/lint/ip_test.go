package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIPRules(t *testing.T) {
	const digest = "@sha256:622e78a1d02c0f90ed900e3985d6c975d8e2dc9ee5e61643aed587dcf9129f42"
	tests := []struct {
		name string
		src  string
		want []string // "LINE:CODE" of IP findings
	}{
		{"unqualified and untagged", join("FROM alpine"), []string{"1:IP001", "1:IP002"}},
		{"registry host with port", join("FROM localhost:5000/app:1" + digest), nil},
		{"localhost registry", join("FROM localhost/app:1" + digest), nil},
		{"scratch, variables and stages are skipped", join("ARG BASE=x", "FROM ${BASE}", "FROM scratch", "FROM docker.io/library/alpine:3"+digest+" AS b", "FROM b"), nil},
		{"digest without registry", join("FROM alpine:3" + digest), []string{"1:IP001"}},
		{"secret-looking names", join("FROM scratch", "ARG SSH_KEY", "ENV DB_PASS=x", "ENV registryAuth=x", "ARG GH_PAT"), []string{"2:IP003", "3:IP003", "4:IP003", "5:IP003"}},
		{"names that are not secrets", join("FROM scratch",
			"ARG KEYBOARD_LAYOUT", "ENV PUBLIC_KEY_URL=https://x", "ENV GPG_KEY=E3FF2839C048B25C084DEBE9B26995E310250568",
			"ENV SSH_KEY_PATH=/run/secrets/key", "ENV GOOGLE_APPLICATION_CREDENTIALS=/secrets/creds.json", "ARG KEY_ID", "ENV MONKEY=1", "ENV PASSENGER=x"), nil},
		{"names DL3064 reports are left to it", join("FROM scratch", "ARG GITHUB_TOKEN", "ENV DB_PASSWORD=x"), nil},
		{"final stage without USER after a non-root stage", join("FROM scratch AS a", "USER 1000", "FROM scratch"), []string{"3:IP004"}},
		{"final stage inherits USER from its base stage", join("FROM scratch AS a", "USER 1000", "FROM a"), nil},
		{"final stage sets its own USER", join("FROM scratch AS a", "USER 1000", "FROM scratch", "USER 1001"), nil},
		{"no stage sets a USER", join("FROM scratch AS a", "FROM scratch"), nil},
		{"ADD URL without checksum", join("FROM scratch", "ADD https://example.com/a.tgz /", "ADD --checksum=sha256:abc https://example.com/b.tgz /", "ADD https://github.com/x/y.git /src"), []string{"2:IP006"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codesAt(only(lintText(t, tt.src, nil), "IP001", "IP002", "IP003", "IP004", "IP005", "IP006"))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIP005LargeContextFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.py", 100)
	write("data/big.csv", 4096)
	write("data/small.csv", 10)
	write("ignored/huge.bin", 8192)
	write(".dockerignore", 0)
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("ignored/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := join(
		"FROM scratch",
		"COPY app.py /app/",
		"COPY data /data",
		"COPY . /all",
		"COPY --from=build /big /big",
		"ADD https://example.com/x.tgz /",
		"COPY ../escape /x",
		"COPY *.csv data/*.csv /csv/",
	)
	got := only(lintText(t, src, nil, WithBuildContext(dir, 1024)), "IP005")
	if lines := codesAt(got); !slices.Equal(lines, []string{"3:IP005", "4:IP005", "8:IP005"}) {
		t.Fatalf("got %v", lines)
	}
	if !strings.Contains(got[0].Message, "data/big.csv") || strings.Contains(got[1].Message, "huge.bin") {
		t.Errorf("messages: %q / %q", got[0].Message, got[1].Message)
	}
	if f := lintText(t, src, nil); hasCode(f, "IP005") {
		t.Error("IP005 without WithBuildContext")
	}
	if _, err := Lint("Dockerfile", []byte(src), nil, WithBuildContext(filepath.Join(dir, "missing"), 1)); err == nil || !strings.Contains(err.Error(), "build context") {
		t.Errorf("missing context dir: %v", err)
	}
}

func TestNameWords(t *testing.T) {
	tests := map[string][]string{
		"SSH_KEY":       {"SSH", "KEY"},
		"registryAuth":  {"REGISTRY", "AUTH"},
		"my-pass.word":  {"MY", "PASS", "WORD"},
		"KEYBOARD":      {"KEYBOARD"},
		"awsSecretKey2": {"AWS", "SECRET", "KEY2"},
	}
	for in, want := range tests {
		if got := nameWords(in); !slices.Equal(got, want) {
			t.Errorf("nameWords(%q) = %v, want %v", in, got, want)
		}
	}
}
