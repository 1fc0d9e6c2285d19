package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/report"
)

// actionlint cannot see this action's inputs from a remote `uses:`, so
// this test checks what it cannot: every `with:` key of an
// org/image-pipeline step in the examples and the workflows of the
// repository is a declared input, and every steps.<id>.outputs.<name> of
// such a step is a declared output.
func TestWorkflowsUseDeclaredInputsAndOutputs(t *testing.T) {
	root := repoRoot(t)
	var files []string
	for _, glob := range []string{"examples/*.yml", ".github/workflows/*.yml", "internal/actsuite/testdata/workflows/*.yml"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d workflow files found", len(files))
	}
	outputs := map[string]bool{}
	for _, o := range report.OutputSpecs {
		outputs[o.Name] = true
	}
	for _, f := range files {
		if filepath.Base(f) == "badinput.yml" {
			continue // mistyped on purpose: the action suite checks the warnings
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					ID   string            `yaml:"id"`
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(root, f)
		uses := 0
		for job, j := range wf.Jobs {
			for _, st := range j.Steps {
				if !strings.HasPrefix(st.Uses, "org/image-pipeline@") {
					continue
				}
				uses++
				for k := range st.With {
					if _, ok := config.Lookup(k); !ok {
						t.Errorf("%s: job %s: with: %s is not an input (closest: %s)", rel, job, k, config.ClosestInput(k))
					}
				}
				if st.ID == "" {
					continue
				}
				re := regexp.MustCompile(`steps\.` + regexp.QuoteMeta(st.ID) + `\.outputs\.([A-Za-z0-9_-]+)`)
				for _, m := range re.FindAllStringSubmatch(string(data), -1) {
					if !outputs[m[1]] {
						t.Errorf("%s: steps.%s.outputs.%s is not an output", rel, st.ID, m[1])
					}
				}
			}
		}
		if uses == 0 && strings.HasPrefix(rel, "examples") {
			t.Errorf("%s has no org/image-pipeline step", rel)
		}
	}
}
