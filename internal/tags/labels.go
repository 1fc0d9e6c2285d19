package tags

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// labels builds the OCI labels the way metadata-action does: the eight
// org.opencontainers.image.* labels, then the user's lines (the labels or
// the annotations input, which may use expressions and override them by
// key), sorted by key. input names the input in messages.
func (c *runCtx) labels(version, input string, user []string, warnings *[]string) ([]string, error) {
	repo := c.in.Repo
	url := repo.HTMLURL
	if url == "" && repo.FullName != "" {
		url = "https://github.com/" + repo.FullName
	}
	entries := []string{
		"org.opencontainers.image.title=" + repo.Name,
		"org.opencontainers.image.description=" + repo.Description,
		"org.opencontainers.image.url=" + url,
		"org.opencontainers.image.source=" + url,
		"org.opencontainers.image.version=" + version,
		"org.opencontainers.image.created=" + c.created().UTC().Format("2006-01-02T15:04:05.000Z"),
		"org.opencontainers.image.revision=" + c.sha,
		"org.opencontainers.image.licenses=" + repo.License,
	}
	if c.in.OmitEmptyLabels {
		entries = slices.DeleteFunc(entries, func(e string) bool { return strings.HasSuffix(e, "=") })
	}
	var discard []string
	for _, l := range user {
		v, err := c.renderGlobal(l, &discard)
		var skip *skipRule
		if errors.As(err, &skip) {
			*warnings = append(*warnings, fmt.Sprintf("%s line %q left out: %s", input, l, skip.reason))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", input, l, err)
		}
		entries = append(entries, v)
	}
	var keys []string
	values := map[string]string{}
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			continue
		}
		if _, seen := values[k]; !seen {
			keys = append(keys, k)
		}
		values[k] = v
	}
	slices.SortStableFunc(keys, localeCompare)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+values[k])
	}
	return out, nil
}

// created is the time of the created label.
func (c *runCtx) created() time.Time {
	if !c.in.Created.IsZero() {
		return c.in.Created
	}
	return c.in.Now
}

// localeCompare approximates JavaScript's String.prototype.localeCompare
// for label keys: case-insensitive first, punctuation before digits before
// letters, lower case before upper case on ties.
func localeCompare(a, b string) int {
	weight := func(r rune) (int, rune) {
		switch {
		case unicode.IsLetter(r):
			return 3, unicode.ToLower(r)
		case unicode.IsDigit(r):
			return 2, r
		case r == '_':
			return 1, 0
		case r == '-':
			return 1, 1
		}
		return 1, r + 2
	}
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		ca, wa := weight(ra[i])
		cb, wb := weight(rb[i])
		if ca != cb {
			return ca - cb
		}
		if wa != wb {
			return int(wa - wb)
		}
	}
	if len(ra) != len(rb) {
		return len(ra) - len(rb)
	}
	for i := range ra {
		if ra[i] != rb[i] {
			if unicode.IsLower(ra[i]) {
				return -1
			}
			return 1
		}
	}
	return 0
}
