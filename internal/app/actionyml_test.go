package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	goldenfile "github.com/org/image-pipeline/internal/testenv/golden"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestActionYAMLIsCurrent(t *testing.T) {
	path := filepath.Join(repoRoot(t), "action.yml")
	want := ActionYAML()
	goldenfile.File(t, path, []byte(want))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("action.yml is stale: run go test ./internal/app -run TestActionYAMLIsCurrent -update")
	}
	var doc struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct{ Using string } `yaml:"runs"`
	}
	if err := yaml.Unmarshal(got, &doc); err != nil {
		t.Fatalf("action.yml is not valid YAML: %v", err)
	}
	if doc.Inputs["push"].Default != "auto" || doc.Inputs["github-token"].Default != "${{ github.token }}" {
		t.Errorf("defaults not as declared: %+v", doc.Inputs)
	}
	if doc.Runs.Using != "docker" {
		t.Errorf("runs.using = %q", doc.Runs.Using)
	}
}

// The README holds the inputs and outputs tables between markers.
func TestREADMETablesAreCurrent(t *testing.T) {
	path := filepath.Join(repoRoot(t), "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, part := range []struct{ name, body string }{{"inputs", InputsMarkdown()}, {"outputs", OutputsMarkdown()}} {
		re := regexp.MustCompile(`(?s)(<!-- ` + part.name + `:begin -->\n).*?(<!-- ` + part.name + `:end -->)`)
		if !re.MatchString(text) {
			t.Fatalf("README.md lacks the <!-- %s:begin --> / <!-- %s:end --> markers", part.name, part.name)
		}
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatch(m)
			return sub[1] + part.body + sub[2]
		})
	}
	if goldenfile.Updating() {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if text != string(data) {
		t.Fatalf("README tables are stale: run go test ./internal/app -run TestREADMETablesAreCurrent -update")
	}
	if !strings.Contains(text, "make test") || !strings.Contains(text, "make demo") {
		t.Error("README lost its two set-up commands")
	}
}
