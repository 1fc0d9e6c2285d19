package lint

import (
	"fmt"
	"strings"
	"testing"
)

// benchDockerfile builds a realistic Dockerfile of about n lines: several
// stages with ARG/ENV/LABEL, multi-line RUNs with package installs, pipes
// and heredocs, COPY/ADD, USER and HEALTHCHECK.
func benchDockerfile(n int) string {
	var b strings.Builder
	lines := 0
	w := func(format string, args ...any) {
		fmt.Fprintf(&b, format+"\n", args...)
		lines++
	}
	w("# syntax=docker/dockerfile:1")
	w("ARG BASE=docker.io/library/debian:12")
	for stage := 0; lines < n; stage++ {
		w("")
		w("FROM ${BASE} AS stage%d", stage)
		w("ARG VERSION=1.%d.0", stage)
		w(`ENV APP_HOME=/opt/app%d PATH="/opt/app%d/bin:${PATH}"`, stage, stage)
		w(`LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.title="app%d"`, stage)
		w("WORKDIR /src")
		w("RUN apt-get update \\")
		w("    && apt-get install -y --no-install-recommends \\")
		w("       ca-certificates=20230311 curl=7.88.1-10 git \\")
		w("    && rm -rf /var/lib/apt/lists/*")
		w("COPY requirements.txt /tmp/requirements.txt")
		w("RUN pip install --no-cache-dir -r /tmp/requirements.txt && \\")
		w("    curl -fsSL https://example.com/tool-%d.tgz | tar -xz -C /usr/local/bin && \\", stage)
		w("    useradd --no-log-init -u 10%03d app", stage)
		w("RUN <<EOF")
		w("set -eu")
		w("cd /src && make build VERSION=${VERSION}")
		w("npm install express@4.%d.0", stage)
		w("EOF")
		w("COPY --from=stage%d /src/out /opt/app/", max(stage-1, 0))
		w("ADD https://example.com/data-%d.tar.gz /data/", stage)
		w("EXPOSE 80%02d/tcp", stage%100)
		w(`HEALTHCHECK CMD ["curl", "-f", "http://localhost/"]`)
		w("USER 10%03d:10%03d", stage, stage)
		w(`CMD ["/opt/app/bin/app", "--serve"]`)
	}
	return b.String()
}

// BenchmarkLint1000Lines lints a generated 1,000-line Dockerfile.
func BenchmarkLint1000Lines(b *testing.B) {
	src := []byte(benchDockerfile(1000))
	cfg := &Config{TrustedRegistries: []string{"docker.io"}, LabelSchema: map[string]string{"org.opencontainers.image.version": "semver"}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Lint("Dockerfile", src, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchDockerfileIsRealistic(t *testing.T) {
	src := benchDockerfile(1000)
	if n := strings.Count(src, "\n"); n < 1000 || n > 1100 {
		t.Fatalf("%d lines", n)
	}
	f := lintText(t, src, nil)
	if hasCode(f, "DL1000") {
		t.Fatalf("generated Dockerfile does not parse: %v", f[0])
	}
	if len(f) == 0 {
		t.Fatal("no findings at all: the benchmark would not exercise the rules")
	}
}
