package build

import (
	"os"
	"strings"
)

// BaseImages are the images the Dockerfile at path builds FROM (not its
// own stages, not scratch), with the global ARGs expanded as the frontend
// expands them (build-args override their defaults), each once, in order.
// The push learns their layers from the registry, so that a layer the
// build took from a base image is pushed as the base image's blob, not
// compressed again (docs/push.md). A Dockerfile that cannot be read gives
// none.
func BaseImages(path string, buildArgs []BuildArg) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	df, err := parseStages(data, buildArgs)
	if err != nil {
		return nil
	}
	stage := map[string]bool{}
	var out []string
	seen := map[string]bool{}
	for _, st := range df.stages {
		base := df.expand(st.BaseName, df.meta)
		key := strings.ToLower(base)
		// A stage name is not an image (FROM builder), nor is scratch.
		if key != "" && key != "scratch" && !stage[key] && !seen[key] {
			seen[key] = true
			out = append(out, base)
		}
		if st.Name != "" {
			stage[strings.ToLower(st.Name)] = true
		}
	}
	return out
}
