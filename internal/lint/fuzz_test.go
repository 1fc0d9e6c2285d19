package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLint feeds arbitrary text to the linter: it must not panic, must
// finish quickly, and every finding must be well formed and point into the
// file. The seed corpus is the conformance corpus plus testdata Dockerfiles.
func FuzzLint(f *testing.F) {
	seeds := []string{
		"FROM debian\nRUN apt-get update && apt-get install -y curl | tee x\n",
		"FROM a AS b\nCOPY --from=b / /\nONBUILD RUN cd /x\n# hadolint ignore=DL3003\nRUN <<EOF\ncd /\nEOF\n",
		"# escape=`\nFROM x\nRUN a `\n  b\n",
		"RUN --mount=type=cache,target=/a \\\n  \\\n  # c\n  echo \"$(x)\" ${Y:-z}\n",
		"LABEL a=b \"c\"=d\nENV A=1 B=$A\nHEALTHCHECK CMD x\nEXPOSE 1-99999/udp\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "tre-guide", "Dockerfile")); err == nil {
		f.Add(data)
	}
	if dir := findShared(); dir != "" {
		if data, err := os.ReadFile(filepath.Join(dir, "conformance", "hadolint", "cases.jsonl")); err == nil {
			for _, line := range bytes.Split(data, []byte("\n")) {
				var c conformanceCase
				if json.Unmarshal(line, &c) == nil && c.Dockerfile != "" {
					f.Add([]byte(c.Dockerfile))
				}
			}
		}
	}
	cfg := &Config{
		TrustedRegistries: []string{"docker.io"},
		LabelSchema:       map[string]string{"a": "url", "b": "semver", "c": "spdx", "d": "email", "e": "hash", "f": "rfc3339"},
		StrictLabels:      true,
		Override:          map[string]Severity{"DL1001": SeverityInfo, "DL3057": SeverityInfo},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		findings, err := Lint("Dockerfile", src, cfg)
		if err != nil {
			t.Fatalf("Lint returned an error for Dockerfile text: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second && len(src) < 1<<16 {
			t.Fatalf("linting %d bytes took %v", len(src), d)
		}
		lines := strings.Count(string(src), "\n") + 1
		for _, fd := range findings {
			if fd.Line < 1 || fd.Line > lines || fd.EndLine < fd.Line || fd.EndLine > lines+1 {
				t.Fatalf("finding outside the file (%d lines): %+v", lines, fd)
			}
			if _, ok := LookupRule(fd.Code); !ok || fd.Message == "" {
				t.Fatalf("malformed finding %+v", fd)
			}
			if _, err := ParseSeverity(fd.Severity); err != nil {
				t.Fatalf("bad severity in %+v", fd)
			}
		}
		var buf bytes.Buffer
		if err := WriteSARIF(&buf, findings, SARIFOptions{}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(buf.Bytes()) {
			t.Fatal("SARIF output is not valid JSON")
		}
	})
}

// findShared is sharedDir without a testing.T, for seeding the fuzzer.
func findShared() string {
	if env := os.Getenv("IMAGE_PIPELINE_SHARED"); env != "" {
		return env
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "conformance", "hadolint")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
