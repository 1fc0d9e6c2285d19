package sign

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/org/image-pipeline/internal/inputerr"
)

// InputAnnotations is the input that adds annotations to the signature.
const InputAnnotations = "sign-annotations"

// The annotations every signature carries unless sign-annotations drops
// them (`key=` with no value): what built the image, as cosign sign -a
// would be told by hand. AnnotationRun names the run that signed and
// differs on every run, so a later run of the same commit that finds a
// signature with every other annotation does not sign again.
const (
	AnnotationCommit     = "commit"
	AnnotationRepository = "repository"
	AnnotationRef        = "ref"
	AnnotationRun        = "run"
)

// Annotation is one line of sign-annotations. An empty Value drops the
// default annotation of that key.
type Annotation struct {
	Key, Value string
}

// ParseAnnotations reads sign-annotations: key=value, one per line. The
// value is everything after the first "=" and may be empty, which drops a
// default annotation. A key appears once.
func ParseAnnotations(lines []string) ([]Annotation, error) {
	const accepted = "key=value, one per line (key= drops a default annotation: commit, repository, ref, run)"
	var out []Annotation
	var errs []error
	seen := map[string]int{}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok || k == "":
			errs = append(errs, inputerr.New(InputAnnotations, "", fmt.Sprintf("line %d has no key= before its value", i+1), accepted))
			continue
		case strings.ContainsAny(k, " \t\"'`"):
			errs = append(errs, inputerr.New(InputAnnotations, "", fmt.Sprintf("line %d has the key %q, which contains a space or a quote", i+1, k), accepted))
			continue
		}
		if first, dup := seen[k]; dup {
			errs = append(errs, inputerr.New(InputAnnotations, "", fmt.Sprintf("line %d sets %q again (first on line %d)", i+1, k, first), accepted))
			continue
		}
		seen[k] = i + 1
		out = append(out, Annotation{Key: k, Value: strings.TrimSpace(v)})
	}
	return out, errors.Join(errs...)
}

// RunURL is the address of a workflow run's attempt, as the GitHub
// workflow certificate extensions name it: "" without a run id.
func RunURL(serverURL, repository, runID, attempt string) string {
	if runID == "" || repository == "" {
		return ""
	}
	if serverURL == "" {
		serverURL = "https://github.com"
	}
	u := strings.TrimSuffix(serverURL, "/") + "/" + repository + "/actions/runs/" + runID
	if attempt != "" {
		u += "/attempts/" + attempt
	}
	return u
}

// annotations are the signature's annotations for a build of commit: the
// defaults (those with a value), then sign-annotations, which replace a
// default of the same key or drop it with an empty value. nil when there
// are none.
func (o Options) annotations(commit string) map[string]string {
	if commit == "" {
		commit = o.Commit
	}
	a := map[string]string{}
	for k, v := range map[string]string{
		AnnotationCommit:     commit,
		AnnotationRepository: o.Repository,
		AnnotationRef:        o.Ref,
		AnnotationRun:        o.RunURL,
	} {
		if v != "" {
			a[k] = v
		}
	}
	for _, an := range o.Annotations {
		if an.Value == "" {
			delete(a, an.Key)
		} else {
			a[an.Key] = an.Value
		}
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

// sameSigning is what an earlier signature must carry for this run not to
// sign again: every annotation but the run's.
func sameSigning(a map[string]string) map[string]any {
	if len(a) == 0 {
		return nil
	}
	m := make(map[string]any, len(a))
	for k, v := range a {
		if k != AnnotationRun {
			m[k] = v
		}
	}
	return m
}

// optional is the payload's "optional" field: cosign compares the
// annotations it is asked for (-a) with string values.
func optional(a map[string]string) map[string]any {
	if len(a) == 0 {
		return nil
	}
	m := make(map[string]any, len(a))
	for k, v := range a {
		m[k] = v
	}
	return m
}

// annotationFlags are the -a flags of a verify command that check the
// commit, so that a consumer verifies what was built as well as who
// signed it.
func annotationFlags(a map[string]string) []string {
	var flags []string
	for _, k := range []string{AnnotationCommit} {
		if v, ok := a[k]; ok {
			flags = append(flags, "-a "+shellQuote(k+"="+v))
		}
	}
	return flags
}

// annotationList is "commit=…, ref=…" in key order, for the log and the
// summary.
func annotationList(a map[string]string, quote func(string) string) string {
	keys := slices.Sorted(maps.Keys(a))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quote(k + "=" + a[k])
	}
	return strings.Join(parts, ", ")
}
