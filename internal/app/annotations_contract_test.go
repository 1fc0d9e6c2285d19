package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// metadata-action's outputs as users paste them (#18.5): the json output's
// labels are an object (fromJSON(steps.meta.outputs.json).labels['…']),
// the annotations output has one line per level, the annotations input
// overrides the generated keys, and DOCKER_METADATA_ANNOTATIONS_LEVELS
// chooses the levels.
func TestRunnerContractMetadataActionOutputs(t *testing.T) {
	r := runAsRunner(t, "push_tag", map[string]string{
		"annotations": "org.opencontainers.image.description=Signed releases of hello-image\nvendor.example=ACME",
	}, map[string]string{"DOCKER_METADATA_ANNOTATIONS_LEVELS": "manifest,index"})
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var js struct {
		Tags        []string          `json:"tags"`
		TagNames    []string          `json:"tag-names"`
		Labels      map[string]string `json:"labels"`
		Annotations []string          `json:"annotations"`
		Version     string            `json:"version"`
	}
	if err := json.Unmarshal([]byte(r.outputs["json"]), &js); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.outputs["json"])
	}
	if js.Labels["org.opencontainers.image.version"] != "1.2.3" || js.Version != "1.2.3" || len(js.TagNames) == 0 || js.TagNames[0] != "1.2.3" {
		t.Errorf("json output: %+v", js)
	}
	lines := strings.Split(r.outputs["annotations"], "\n")
	for _, want := range []string{
		"manifest:org.opencontainers.image.description=Signed releases of hello-image",
		"index:org.opencontainers.image.description=Signed releases of hello-image",
		"manifest:vendor.example=ACME", "index:org.opencontainers.image.version=1.2.3",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("annotations output lacks %q:\n%s", want, r.outputs["annotations"])
		}
	}
	if !slices.Equal(lines, js.Annotations) {
		t.Errorf("the annotations output and the json's annotations differ:\n%q\n%q", lines, js.Annotations)
	}
	// The annotations input changes the annotations, not the labels.
	if strings.Contains(r.outputs["labels"], "Signed releases") || strings.Contains(r.outputs["labels"], "vendor.example") {
		t.Errorf("the annotations input reached the labels:\n%s", r.outputs["labels"])
	}

	bad := runAsRunner(t, "push_tag", nil, map[string]string{"DOCKER_METADATA_ANNOTATIONS_LEVELS": "manifest,layer"})
	if bad.code != ExitConfig || !strings.Contains(bad.stdout, `DOCKER_METADATA_ANNOTATIONS_LEVELS`) || !strings.Contains(bad.stdout, `names the level "layer"; accepted values: a comma list of manifest, index`) {
		t.Errorf("a bad level: exit %d\n%s", bad.code, bad.stdout)
	}
}
