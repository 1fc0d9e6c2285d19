package lint

import "strings"

// imageRef is an image reference split into its parts.
type imageRef struct {
	registry string // empty when the reference names no registry host
	path     string // repository path without registry
	tag      string
	digest   string
}

func parseImageRef(ref string) imageRef {
	var r imageRef
	if i := strings.Index(ref, "@"); i >= 0 {
		r.digest = ref[i+1:]
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		r.tag = ref[i+1:]
		ref = ref[:i]
	}
	if i := strings.Index(ref, "/"); i >= 0 {
		first := ref[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			r.registry = first
			ref = ref[i+1:]
		}
	}
	r.path = ref
	return r
}

// isStageRef reports whether name refers to a stage defined before stage
// index before (its alias), case-insensitively.
func (a *analysis) isStageRef(name string, before int) bool {
	for _, s := range a.stages {
		if s.index >= before {
			break
		}
		if s.ref.alias != "" && strings.EqualFold(s.ref.alias, name) {
			return true
		}
	}
	return false
}

// registryTrusted reports whether the registry of ref is in the trusted
// list. Images without a registry come from Docker Hub.
func registryTrusted(ref string, trusted []string) bool {
	reg := strings.ToLower(parseImageRef(ref).registry)
	for _, t := range trusted {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "*":
			return true
		case reg == "":
			if t == "docker.io" || t == "hub.docker.com" || t == "index.docker.io" || t == "registry-1.docker.io" {
				return true
			}
		case strings.HasPrefix(t, "*."):
			if strings.HasSuffix(reg, t[1:]) {
				return true
			}
		case t == reg:
			return true
		}
	}
	return false
}
