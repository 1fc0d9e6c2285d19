package lint

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/org/image-pipeline/internal/testenv/golden"
)

// lintText lints src with cfg (nil for defaults) and fails the test on error.
func lintText(t *testing.T, src string, cfg *Config, opts ...Option) []Finding {
	t.Helper()
	findings, err := Lint("Dockerfile", []byte(src), cfg, opts...)
	if err != nil {
		t.Fatalf("Lint: %v", err)
	}
	return findings
}

// codesAt renders findings as "LINE:CODE" for compact comparisons.
func codesAt(findings []Finding) []string {
	out := make([]string, 0, len(findings))
	for _, f := range findings {
		out = append(out, fmt.Sprintf("%d:%s", f.Line, f.Code))
	}
	return out
}

// only keeps the findings with one of the codes.
func only(findings []Finding, codes ...string) []Finding {
	var out []Finding
	for _, f := range findings {
		for _, c := range codes {
			if f.Code == c {
				out = append(out, f)
			}
		}
	}
	return out
}

func hasCode(findings []Finding, code string) bool { return len(only(findings, code)) > 0 }

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.File(t, filepath.Join("testdata", name), got)
}

func join(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
