package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsDescribeEveryRule keeps docs/lint.md in step with the rule table:
// every DL rule is listed with its default severity and every IP rule has
// its own section.
func TestDocsDescribeEveryRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "lint.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	row := regexp.MustCompile(`(?m)^\| \[(DL\d{4})\]\([^)]*\) \| (\w+) \|`)
	listed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		listed[m[1]] = m[2]
	}
	for _, r := range Rules() {
		switch {
		case strings.HasPrefix(r.Code, "DL"):
			want := r.Severity.String()
			if want == "none" {
				want = "ignore"
			}
			if got, ok := listed[r.Code]; !ok {
				t.Errorf("docs/lint.md does not list %s", r.Code)
			} else if got != want {
				t.Errorf("docs/lint.md gives %s severity %s, the code says %s", r.Code, got, want)
			}
		case strings.HasPrefix(r.Code, "IP"):
			if !strings.Contains(doc, "### "+r.Code+"\n") || !strings.Contains(doc, "`"+r.Severity.String()+"`") {
				t.Errorf("docs/lint.md has no section for %s", r.Code)
			}
		}
	}
}
