package app

import (
	"fmt"
	"strings"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/report"
)

// ActionImage is the prebuilt image action.yml runs: an exact version,
// never a moving tag, so that a workflow pinned to a commit of this
// repository always runs the same binary. docs/release.md gives the order:
// set this, regenerate action.yml, tag vX.Y.Z, then move vX.
const ActionImage = "docker://ghcr.io/org/image-pipeline:1.0.0"

// ActionYAML renders action.yml from the inputs and outputs tables, so the
// two never drift apart (TestActionYAMLIsCurrent checks the committed file).
func ActionYAML() string {
	var b strings.Builder
	b.WriteString(`# Generated from internal/config/inputs.go and internal/report/report.go:
# edit those, then run: go test ./internal/app -run TestActionYAMLIsCurrent -update
name: image-pipeline
description: Lint, build (with branch cache), scan, push and sign a container image in one step.
author: image-pipeline
branding:
  icon: package
  color: blue
inputs:
`)
	for _, in := range config.Inputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", in.Name, yamlString(in.Description))
		if in.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", yamlString(in.Default))
		}
	}
	b.WriteString("outputs:\n")
	for _, o := range report.OutputSpecs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", o.Name, yamlString(o.Description))
	}
	fmt.Fprintf(&b, "runs:\n  using: docker\n  image: %s\n", yamlString(ActionImage))
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// InputsMarkdown renders the README's inputs table.
func InputsMarkdown() string {
	var b strings.Builder
	b.WriteString("| input | default | description |\n|---|---|---|\n")
	for _, in := range config.Inputs {
		def := ""
		if in.Default != "" {
			def = "`" + in.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", in.Name, def, strings.ReplaceAll(in.Description, "|", `\|`))
	}
	return b.String()
}

// OutputsMarkdown renders the README's outputs table.
func OutputsMarkdown() string {
	var b strings.Builder
	b.WriteString("| output | description |\n|---|---|\n")
	for _, o := range report.OutputSpecs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", o.Name, strings.ReplaceAll(o.Description, "|", `\|`))
	}
	return b.String()
}
