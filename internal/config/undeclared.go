package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/org/image-pipeline/internal/ghactions"
)

// CheckGivenInputs looks at the names of every input the workflow gave
// (the runner passes each `with:` key as INPUT_<NAME>, declared or not, and
// only warns about the undeclared ones). It returns one warning per
// undeclared input, naming the closest declared one, and an error when an
// undeclared input looks like an image name while neither `image` nor
// `images` is set: the run would otherwise push to the default repository,
// and a mistyped input must never change where an image goes.
func CheckGivenInputs(envNames []string, imageSet bool) (warnings []string, err error) {
	declared := map[string]bool{}
	for _, in := range Inputs {
		declared[ghactions.InputEnvName(in.Name)] = true
	}
	var errs []error
	for _, env := range envNames {
		if !strings.HasPrefix(env, "INPUT_") || declared[env] {
			continue
		}
		given := strings.ToLower(strings.TrimPrefix(env, "INPUT_"))
		closest := ClosestInput(given)
		if looksLikeImage(given) && !imageSet {
			errs = append(errs, &InputError{Input: given,
				Problem:  fmt.Sprintf("is not an input of image-pipeline (did you mean %q?); without %q the image would go to the default ghcr.io/<owner>/<repository>", closest, "image"),
				Accepted: "image (or images, docker/metadata-action's spelling)"})
			continue
		}
		warnings = append(warnings, fmt.Sprintf("input %q is not an input of image-pipeline and is ignored; did you mean %q? (the inputs are listed in action.yml and the README)", given, closest))
	}
	slices.Sort(warnings)
	return warnings, errors.Join(errs...)
}

// looksLikeImage reports whether an undeclared input name is probably
// meant to say where the image goes.
func looksLikeImage(name string) bool {
	n := strings.NewReplacer("-", "", "_", "").Replace(name)
	for _, w := range []string{"image", "img", "repository", "repo"} {
		if strings.Contains(n, w) && n != "cacheimage" {
			return true
		}
	}
	return n == "name" || n == "names"
}

// ClosestInput is the declared input nearest to name by edit distance
// (ties go to the earlier input of the table).
func ClosestInput(name string) string {
	best, bestD := "", -1
	for _, in := range Inputs {
		d := editDistance(name, in.Name)
		if bestD < 0 || d < bestD {
			best, bestD = in.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (input names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
