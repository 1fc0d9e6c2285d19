package lint

import (
	"slices"
	"strings"
	"testing"
)

// TestPositions checks that findings point at the right line: inside
// continuation lines, heredocs, ONBUILD and after comments.
func TestPositions(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		codes []string // only these codes are compared
		want  []string // "LINE:CODE"
	}{
		{
			name: "continuation lines",
			src: join(
				"FROM debian:12",
				"RUN apt-get update \\",
				"    && echo hi \\",
				"    && apt-get install -y --no-install-recommends curl \\",
				"    && rm -rf /var/lib/apt/lists/*",
			),
			codes: []string{"DL3008"},
			want:  []string{"4:DL3008"},
		},
		{
			name: "comment and blank lines inside a continuation",
			src: join(
				"FROM debian:12",
				"RUN apt-get update && \\",
				"    # install things",
				"",
				"    apt-get install -y \\",
				"      curl && \\",
				"    sudo true",
			),
			codes: []string{"DL3008", "DL3004", "DL3015"},
			want:  []string{"5:DL3008", "5:DL3015", "7:DL3004"},
		},
		{
			name: "flags on their own continuation line",
			src: join(
				"FROM debian:12",
				"RUN --mount=type=cache,target=/var/cache/apt \\",
				"    --mount=type=cache,target=/var/lib/apt \\",
				"    apt-get update && apt-get install -y --no-install-recommends curl=7.0",
			),
			codes: []string{"DL3009", "DL3008"},
			want:  nil,
		},
		{
			name: "heredoc script",
			src: join(
				"FROM debian:12",
				"RUN <<EOF",
				"set -e",
				"apt-get update",
				"cd /tmp",
				"EOF",
				"USER 1000",
			),
			codes: []string{"DL3003", "DL3009"},
			want:  []string{"4:DL3009", "5:DL3003"},
		},
		{
			name: "heredoc fed to bash",
			src: join(
				"FROM debian:12",
				"RUN bash <<'SCRIPT'",
				"  echo start",
				"  sudo ls",
				"SCRIPT",
			),
			codes: []string{"DL3004"},
			want:  []string{"4:DL3004"},
		},
		{
			name: "heredoc file body is not a script",
			src: join(
				"FROM debian:12",
				"RUN cat > /etc/motd <<EOF",
				"sudo is not a command here",
				"EOF",
			),
			codes: []string{"DL3004"},
			want:  nil,
		},
		{
			name: "pipe on a continuation line",
			src: join(
				"FROM debian:12",
				"RUN echo a \\",
				"  | wc -l",
			),
			codes: []string{"DL4006"},
			want:  []string{"3:DL4006"},
		},
		{
			name: "onbuild run",
			src: join(
				"FROM debian:12",
				"ONBUILD RUN cd /tmp && \\",
				"    sudo make",
			),
			codes: []string{"DL3003", "DL3004"},
			want:  []string{"2:DL3003", "3:DL3004"},
		},
		{
			name: "exec form",
			src: join(
				"FROM debian:12",
				`RUN ["apt-get", "install", "-y", "curl"]`,
				`RUN ["/bin/sh", "-c", "cd /tmp && sudo ls"]`,
			),
			codes: []string{"DL3008", "DL3003", "DL3004"},
			want:  []string{"2:DL3008", "3:DL3003", "3:DL3004"},
		},
		{
			name: "subshells, command substitution and control flow",
			src: join(
				"FROM debian:12",
				"RUN (cd /tmp && true); x=$(sudo id); if true; then \\",
				"  for i in 1; do wget http://x; done; \\",
				"fi",
			),
			codes: []string{"DL3003", "DL3004", "DL3047"},
			want:  []string{"2:DL3003", "2:DL3004", "3:DL3047"},
		},
		{
			name: "pwsh switches shell rules off",
			src: join(
				"FROM mcr.microsoft.com/powershell:7.4",
				`SHELL ["pwsh", "-Command"]`,
				"RUN cd C:\\ ; wget http://x | Out-Null",
			),
			codes: []string{"DL3003", "DL3047", "DL4006"},
			want:  nil,
		},
		{
			name: "shell pragma switches shell rules off and back on",
			src: join(
				"FROM debian:12",
				"# hadolint shell=powershell",
				"RUN cd /tmp",
				"# hadolint shell=bash",
				"RUN cd /tmp",
			),
			codes: []string{"DL3003"},
			want:  []string{"5:DL3003"},
		},
		{
			name: "set -o pipefail counts once SHELL is bash",
			src: join(
				"FROM debian:12",
				"RUN set -o pipefail && curl -s http://x | tar -x",
				`SHELL ["/bin/bash", "-c"]`,
				"RUN set -eo pipefail; curl -s http://x | tar -x",
				"RUN curl -s http://x | tar -x",
			),
			codes: []string{"DL4006"},
			want:  []string{"2:DL4006", "5:DL4006"},
		},
		{
			name:  "stray escape before flags",
			src:   "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt \\    --mount=type=cache,target=/var/cache/apt \\    apt-get update\n",
			codes: []string{"DL3009"},
			want:  nil,
		},
		{
			name: "variables from ARG and ENV pin versions",
			src: join(
				"FROM fedora:42",
				"ARG V=1.2.3-1.fc42",
				"ENV W=2.0-1",
				"RUN dnf install -y git-$V tig-${W} && dnf clean all",
			),
			codes: []string{"DL3041"},
			want:  nil,
		},
		{
			name: "escape directive",
			src: join(
				"# escape=`",
				"FROM mcr.microsoft.com/windows/servercore:ltsc2022",
				"RUN cd C:\\ && `",
				"    sudo dir",
			),
			codes: []string{"DL3003", "DL3004"},
			want:  []string{"3:DL3003", "4:DL3004"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codesAt(only(lintText(t, tt.src, nil), tt.codes...))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestColumnsAndEndLine(t *testing.T) {
	src := join(
		"FROM debian:12",
		"RUN --mount=type=cache,target=/x cd /tmp && \\",
		"      sudo ls",
	)
	f := only(lintText(t, src, nil), "DL3003", "DL3004")
	if len(f) != 2 {
		t.Fatalf("got %v", f)
	}
	if f[0].Column != 34 || f[0].EndLine != 3 {
		t.Errorf("cd: column %d end line %d, want 34 and 3", f[0].Column, f[0].EndLine)
	}
	if f[1].Column != 7 {
		t.Errorf("sudo: column %d, want 7", f[1].Column)
	}
}

func TestPragmas(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
		src  string
		want []string
	}{
		{"ignore next instruction", nil, join("FROM debian:12", "# hadolint ignore=DL3003,DL3004", "RUN cd /x && sudo ls", "RUN cd /y"), []string{"4:DL3003"}},
		{"ignore only the next line", nil, join("FROM debian:12", "# hadolint ignore=DL3003", "", "RUN cd /x"), []string{"4:DL3003"}},
		{"ignore applies to every line of the instruction", nil, join("FROM debian:12", "# hadolint ignore=DL3004", "RUN true && \\", "  sudo ls"), nil},
		{"global", nil, join("FROM debian:12", "RUN cd /x", "# hadolint global ignore=DL3003"), nil},
		{"stage", nil, join("FROM debian:12 AS a", "RUN cd /x", "# hadolint stage ignore=DL3003", "FROM debian:12", "RUN cd /y", "RUN cd /z"), []string{"2:DL3003"}},
		{"stage pragma inside a stage", nil, join("FROM debian:12 AS a", "RUN cd /x", "# hadolint stage ignore=DL3003", "RUN cd /y", "FROM debian:12", "RUN cd /z"), []string{"6:DL3003"}},
		{"malformed pragma is ignored", nil, join("FROM debian:12", "# hadolint ignore=crazy,DL3003", "RUN cd /x"), []string{"3:DL3003"}},
		{"our own codes", nil, join("# hadolint global ignore=DL3003", "FROM debian:12", "RUN cd /x"), nil},
		{"disable-ignore-pragma", &Config{DisableIgnorePragma: true}, join("FROM debian:12", "# hadolint ignore=DL3003", "RUN cd /x"), []string{"3:DL3003"}},
		{"DL1001 when switched on", &Config{Override: map[string]Severity{"DL1001": SeverityInfo}}, join("FROM debian:12", "# hadolint ignore=DL3004", "RUN cd /x"), []string{"2:DL1001", "3:DL3003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codesAt(only(lintText(t, tt.src, tt.cfg), "DL3003", "DL3004", "DL1001"))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"empty file", "", nil},
		{"only comments", "# nothing here\n", nil},
		{"unterminated heredoc", "FROM debian:12\nRUN <<EOF\necho\n", []string{"2:DL1000"}},
		{"ENV without value", "FROM debian:12\nENV FOO\n", []string{"2:DL1000"}},
		{"unknown instruction", "FROM debian:12\nFOO bar\nRUN cd /x\n", []string{"2:DL1000", "3:DL3003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codesAt(only(lintText(t, tt.src, nil), "DL1000", "DL3003"))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	f := lintText(t, "FROM debian:12\nRUN <<EOF\necho\n", nil)
	if len(f) != 1 || f[0].Severity != "error" || !strings.Contains(f[0].Message, "unterminated heredoc") {
		t.Errorf("parse error finding: %+v", f)
	}
}

func TestConfigAppliesToFindings(t *testing.T) {
	src := join("FROM debian", "RUN cd /x")
	cfg := &Config{Ignored: []string{"DL3006"}, Override: map[string]Severity{"DL3003": SeverityError}}
	f := only(lintText(t, src, cfg), "DL3006", "DL3003")
	if len(f) != 1 || f[0].Code != "DL3003" || f[0].Severity != "error" {
		t.Errorf("got %+v", f)
	}
}

func TestFindingsAreSorted(t *testing.T) {
	f := lintText(t, join("FROM debian", "RUN cd /x && sudo ls", "MAINTAINER me", "WORKDIR rel"), nil)
	if !slices.IsSortedFunc(f, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Code, b.Code)
	}) {
		t.Errorf("not sorted: %v", codesAt(f))
	}
}
