package lint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// conformanceCase is one line of shared/conformance/hadolint/cases.jsonl.
type conformanceCase struct {
	ID         string         `json:"id"`
	Rule       string         `json:"rule"`
	Dockerfile string         `json:"dockerfile"`
	Expect     string         `json:"expect"`
	Count      *int           `json:"count"`
	Config     map[string]any `json:"config"`
	Variant    string         `json:"variant"`
	Source     string         `json:"source"`
	SourceLine int            `json:"source_line"`
}

const knownDifferencesFile = "testdata/hadolint-known-differences.txt"

// sharedDir finds the shared directory holding conformance/hadolint: the
// IMAGE_PIPELINE_SHARED environment variable, or a shared/ folder in this
// package's directory or one of its parents.
func sharedDir(t *testing.T) string {
	t.Helper()
	if env := os.Getenv("IMAGE_PIPELINE_SHARED"); env != "" {
		if _, err := os.Stat(filepath.Join(env, "conformance", "hadolint", "cases.jsonl")); err != nil {
			t.Fatalf("IMAGE_PIPELINE_SHARED=%s has no conformance/hadolint/cases.jsonl: %v", env, err)
		}
		return env
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "conformance", "hadolint", "cases.jsonl")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find shared/conformance/hadolint/cases.jsonl above the package directory: set IMAGE_PIPELINE_SHARED to the shared directory")
		}
		dir = parent
	}
}

func loadCases(t *testing.T) []conformanceCase {
	t.Helper()
	path := filepath.Join(sharedDir(t), "conformance", "hadolint", "cases.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []conformanceCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c conformanceCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s holds no cases", path)
	}
	return cases
}

// loadKnownDifferences reads "<case id> <reason>" lines.
func loadKnownDifferences(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(knownDifferencesFile)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if strings.TrimSpace(reason) == "" {
			t.Fatalf("%s:%d: %s needs a reason", knownDifferencesFile, i+1, id)
		}
		known[id] = strings.TrimSpace(reason)
	}
	return known
}

// caseConfig builds the configuration a case runs with. DL1001 and DL3057
// are off by default in hadolint, whose tests look at them before severity
// filtering, so they are turned on here.
func caseConfig(t *testing.T, c conformanceCase) *Config {
	t.Helper()
	cfg := &Config{Override: map[string]Severity{"DL1001": SeverityInfo, "DL3057": SeverityInfo}}
	if c.Config == nil {
		return cfg
	}
	raw, err := json.Marshal(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	// JSON is YAML: run the case's configuration through the real loader.
	parsed, err := ParseConfig(c.ID+".yaml", raw)
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	parsed.Override = cfg.Override
	return parsed
}

// runCase reports whether the linter agrees with hadolint on a case.
func runCase(t *testing.T, c conformanceCase) (bool, string) {
	t.Helper()
	findings, err := Lint("Dockerfile", []byte(c.Dockerfile+"\n"), caseConfig(t, c))
	if err != nil {
		return false, err.Error()
	}
	n := 0
	for _, f := range findings {
		if f.Code == c.Rule {
			n++
		}
	}
	switch {
	case c.Expect == "silent" && n > 0:
		return false, fmt.Sprintf("expected silent, got %d finding(s)", n)
	case c.Expect == "fires" && n == 0:
		return false, "expected to fire, got nothing"
	case c.Expect == "fires" && c.Count != nil && n != *c.Count:
		return false, fmt.Sprintf("expected %d finding(s), got %d", *c.Count, n)
	}
	return true, ""
}

// TestHadolintConformance scores the linter against hadolint's own rule
// tests. Run with -v to see the per-rule table.
func TestHadolintConformance(t *testing.T) {
	cases := loadCases(t)
	known := loadKnownDifferences(t)
	type score struct{ pass, total int }
	perRule := map[string]*score{}
	pass := 0
	var unexpected, stale []string
	for _, c := range cases {
		ok, why := runCase(t, c)
		s := perRule[c.Rule]
		if s == nil {
			s = &score{}
			perRule[c.Rule] = s
		}
		s.total++
		if ok {
			s.pass++
			pass++
			if _, listed := known[c.ID]; listed {
				stale = append(stale, c.ID)
			}
			continue
		}
		if _, listed := known[c.ID]; !listed {
			unexpected = append(unexpected, fmt.Sprintf("%s (%s:%d): %s\n%s", c.ID, c.Source, c.SourceLine, why, c.Dockerfile))
		}
	}
	overall := 100 * float64(pass) / float64(len(cases))
	t.Logf("hadolint conformance: %d/%d cases agree (%.1f%%)", pass, len(cases), overall)
	rules := make([]string, 0, len(perRule))
	for r := range perRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var low []string
	for _, r := range rules {
		s := perRule[r]
		pct := 100 * float64(s.pass) / float64(s.total)
		t.Logf("  %s %3d/%-3d %5.1f%%", r, s.pass, s.total, pct)
		if pct < 90 {
			low = append(low, fmt.Sprintf("%s %.1f%%", r, pct))
		}
	}
	for _, u := range unexpected {
		t.Errorf("case fails and is not listed in %s: %s", knownDifferencesFile, u)
	}
	for _, id := range stale {
		t.Errorf("%s passes now: remove it from %s", id, knownDifferencesFile)
	}
	if overall < 95 {
		t.Errorf("overall agreement %.1f%% is below 95%%", overall)
	}
	if len(low) > 0 {
		t.Errorf("rules below 90%% agreement: %s", strings.Join(low, ", "))
	}
}
