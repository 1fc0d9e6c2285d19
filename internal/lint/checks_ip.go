package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/org/image-pipeline/internal/textfmt"
)

// checkIP001and2: FROM should name its registry and pin a digest, so the
// build is reproducible whatever registry mirrors or tags do.
func checkIP001and2(l *linter) {
	for _, s := range l.a.stages {
		img := s.ref.image
		if img == "" || strings.Contains(img, "$") || strings.EqualFold(img, "scratch") || l.a.isStageRef(img, s.index) {
			continue
		}
		r := parseImageRef(img)
		if r.registry == "" {
			l.report("IP001", s.in, fmt.Sprintf("FROM %s names no registry: write it in full, e.g. docker.io/%s.", img, dockerHubPath(img)))
		}
		if !strings.HasPrefix(r.digest, "sha256:") && !strings.HasPrefix(r.digest, "sha512:") {
			l.report("IP002", s.in, fmt.Sprintf("FROM %s is not pinned by digest: append @sha256:<digest> (docker buildx imagetools inspect %s shows it).", img, img))
		}
	}
}

func dockerHubPath(img string) string {
	if strings.Contains(parseImageRef(img).path, "/") {
		return img
	}
	return "library/" + img
}

// secretWords are name segments that suggest a credential, beyond the
// substrings DL3064 already checks.
var secretWords = set("KEY", "KEYS", "PASS", "PASSWD", "PASSPHRASE", "PWD", "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "APIKEY", "ACCESSKEY", "PAT", "DSN")

// benignWords make a secret-looking name harmless: public material, or a
// name that holds where a secret is rather than the secret itself.
var benignWords = set("PUBLIC", "PUB", "GPG", "PGP", "KEYRING", "KEYSERVER", "FINGERPRINT", "URL", "URI", "ID", "IDS",
	"FILE", "PATH", "DIR", "NAME", "SERVER", "HOST", "PORT", "TYPE", "SIZE", "LENGTH", "ALG", "ALGORITHM", "FORMAT",
	"REGION", "ENDPOINT", "ENABLED", "MODE", "HEADER", "METHOD", "PROVIDER")

// nameWords splits NAME_like-this.and_camelCase into upper-case words.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.':
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

// ip003Secret reports whether a name looks like a credential that DL3064
// misses (SSH_KEY, DB_PASS, REGISTRY_AUTH ...), and not like a public key,
// a key id or a path to a credential file.
func ip003Secret(name, value string) bool {
	if dl3064Sensitive(name) {
		return false
	}
	if strings.HasPrefix(value, "/") || isWindowsAbs(value) {
		return false
	}
	words := nameWords(name)
	secret := false
	for _, w := range words {
		if benignWords[w] {
			return false
		}
		if secretWords[w] {
			secret = true
		}
	}
	return secret
}

func checkIP003(l *linter) {
	for _, in := range l.d.instrs {
		target := in.effective()
		var pairs [][2]string
		switch target.cmd {
		case "arg":
			for _, w := range target.args {
				k, v, _ := strings.Cut(w, "=")
				pairs = append(pairs, [2]string{unquote(k), unquote(v)})
			}
		case "env":
			pairs = target.pairs()
		default:
			continue
		}
		for _, p := range pairs {
			if ip003Secret(p[0], p[1]) {
				l.report("IP003", in, fmt.Sprintf("%s %s looks like a secret: values of ARG and ENV stay in the image; pass it with RUN --mount=type=secret instead.", strings.ToUpper(target.cmd), p[0]))
				break
			}
		}
	}
}

// checkIP004: the final stage has no USER of its own (or inherited from the
// stage it builds on) although an earlier stage switched to a non-root
// user, so the image runs as root, probably by mistake.
func checkIP004(l *linter) {
	if len(l.a.stages) < 2 {
		return
	}
	last := l.a.stages[len(l.a.stages)-1]
	lineage := map[int]bool{}
	for s := last; ; s = l.a.stages[s.parent] {
		lineage[s.index] = true
		if s.parent < 0 {
			break
		}
	}
	var earlier *instruction
	for _, s := range l.a.stages {
		for _, in := range s.instrs {
			if in.cmd != "user" || len(in.args) == 0 {
				continue
			}
			if lineage[s.index] {
				return
			}
			if !isRootUser(unquote(strings.TrimSpace(in.args[0]))) {
				earlier = in
			}
		}
	}
	if earlier != nil {
		l.report("IP004", last.in, fmt.Sprintf("The final stage sets no USER, so the image runs as root, although line %d switched to a non-root user: add USER to the final stage.", earlier.line))
	}
}

func checkIP006(l *linter) {
	l.each("add", false, func(_, in *instruction) {
		if _, ok := in.flag("checksum"); ok {
			return
		}
		srcs, _ := in.sourcesAndDest()
		for _, s := range srcs {
			low := strings.ToLower(s)
			if (strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://")) && !strings.HasSuffix(low, ".git") {
				l.report("IP006", in, fmt.Sprintf("ADD %s downloads an unverified file: add --checksum=sha256:<hash>, or fetch and verify it in RUN.", s))
				return
			}
		}
	})
}

// maxContextEntries bounds the walk of a build context.
const maxContextEntries = 200000

// checkContextFiles (IP005) reports COPY/ADD sources in the build context
// that are at least opts.maxFileBytes large, honouring .dockerignore.
func (l *linter) checkContextFiles() error {
	dir := l.opts.contextDir
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot read the build context %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("the build context %s is not a directory", dir)
	}
	var pm *patternmatcher.PatternMatcher
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, rerr := ignorefile.ReadAll(f)
		f.Close()
		if rerr != nil {
			return fmt.Errorf("cannot read %s: %w", filepath.Join(dir, ".dockerignore"), rerr)
		}
		if pm, err = patternmatcher.New(patterns); err != nil {
			return fmt.Errorf("%s has an invalid pattern: %w", filepath.Join(dir, ".dockerignore"), err)
		}
	}
	budget := maxContextEntries
	for _, in := range l.d.instrs {
		if in.cmd != "copy" && in.cmd != "add" {
			continue
		}
		if _, ok := in.flag("from"); ok {
			continue
		}
		srcs, _ := in.sourcesAndDest()
		var big []string
		var biggest int64
		for _, src := range srcs {
			if isURL(src) || strings.HasPrefix(src, "<<") || strings.Contains(src, "$") {
				continue
			}
			rel := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(src, "/")))
			if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			matches, err := filepath.Glob(filepath.Join(dir, rel))
			if err != nil {
				continue
			}
			for _, m := range matches {
				err := filepath.WalkDir(m, func(p string, de fs.DirEntry, err error) error {
					if err != nil {
						return nil
					}
					if budget--; budget < 0 {
						return errStopWalk
					}
					r, _ := filepath.Rel(dir, p)
					if pm != nil && r != "." {
						if ok, _ := pm.MatchesOrParentMatches(filepath.ToSlash(r)); ok {
							if de.IsDir() {
								return filepath.SkipDir
							}
							return nil
						}
					}
					if de.Type().IsRegular() {
						if info, err := de.Info(); err == nil && info.Size() >= l.opts.maxFileBytes {
							big = append(big, filepath.ToSlash(r))
							biggest = max(biggest, info.Size())
						}
					}
					return nil
				})
				if errors.Is(err, errStopWalk) {
					break
				}
			}
		}
		if len(big) > 0 {
			more := ""
			if len(big) > 1 {
				more = fmt.Sprintf(" and %d more", len(big)-1)
			}
			l.report("IP005", in, fmt.Sprintf("%s copies %s%s, at least %s (largest %s): keep data out of the image and mount it at run time.",
				strings.ToUpper(in.cmd), big[0], more, textfmt.Bytes(l.opts.maxFileBytes), textfmt.Bytes(biggest)))
		}
	}
	return nil
}

var errStopWalk = errors.New("stop walking the build context")
