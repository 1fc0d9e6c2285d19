package tags

import (
	"fmt"
	"strings"
)

// Annotation levels, as metadata-action and BuildKit name them: where in
// the pushed image an annotation is written.
const (
	LevelManifest           = "manifest"
	LevelIndex              = "index"
	LevelManifestDescriptor = "manifest-descriptor"
	LevelIndexDescriptor    = "index-descriptor"
)

// EnvAnnotationLevels is metadata-action's variable for the levels.
const EnvAnnotationLevels = "DOCKER_METADATA_ANNOTATIONS_LEVELS"

// ParseAnnotationLevels reads DOCKER_METADATA_ANNOTATIONS_LEVELS: a comma
// list of manifest, index, manifest-descriptor, index-descriptor; empty
// means manifest.
func ParseAnnotationLevels(v string) ([]string, error) {
	var out []string
	for _, l := range strings.Split(v, ",") {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" {
			continue
		}
		switch l {
		case LevelManifest, LevelIndex, LevelManifestDescriptor, LevelIndexDescriptor:
		default:
			return nil, fmt.Errorf("%s=%q names the level %q; accepted values: a comma list of manifest, index, manifest-descriptor, index-descriptor", EnvAnnotationLevels, v, l)
		}
		if !contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{LevelManifest}
	}
	return out, nil
}

// AnnotationLines are the annotations output: every annotation once per
// level, "<level>:<key>=<value>", as metadata-action prints them.
func (p *Plan) AnnotationLines() []string {
	out := []string{}
	for _, level := range p.AnnotationLevels {
		for _, a := range p.Annotations {
			out = append(out, level+":"+a)
		}
	}
	return out
}

// ParseAnnotations checks the annotations input as ParseLabels checks the
// labels input: key=value lines whose expressions render.
func ParseAnnotations(lines []string) ([]string, error) {
	out, err := parseKeyValues("annotations", lines)
	return out, err
}
