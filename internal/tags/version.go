package tags

import (
	"regexp"
	"strconv"
	"strings"
)

// semVer is a version accepted by node-semver's strict parser, which is
// what metadata-action's type=semver uses to decide validity and
// pre-release status: an optional leading "v", MAJOR.MINOR.PATCH without
// leading zeros, optional -pre.release and +build.
type semVer struct {
	raw                 string
	major, minor, patch string
	prerelease          []string
	build               []string
}

var semverStrict = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*))*))?` +
	`(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$`)

// maxSafeInteger is JavaScript's; node-semver rejects larger components.
const maxSafeInteger = 1<<53 - 1

func parseSemver(s string) (semVer, bool) {
	if len(s) > 256 {
		return semVer{}, false
	}
	m := semverStrict.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return semVer{}, false
	}
	for _, n := range m[1:4] {
		if v, err := strconv.ParseInt(n, 10, 64); err != nil || v > maxSafeInteger {
			return semVer{}, false
		}
	}
	v := semVer{raw: s, major: m[1], minor: m[2], patch: m[3]}
	if m[4] != "" {
		v.prerelease = strings.Split(m[4], ".")
	}
	if m[5] != "" {
		v.build = strings.Split(m[5], ".")
	}
	return v, true
}

func (v semVer) version() string {
	s := v.major + "." + v.minor + "." + v.patch
	if len(v.prerelease) > 0 {
		s += "-" + strings.Join(v.prerelease, ".")
	}
	return s
}

func (v semVer) scope() scope {
	return scope{
		"raw":        constHelper(v.raw),
		"version":    constHelper(v.version()),
		"major":      constHelper(v.major),
		"minor":      constHelper(v.minor),
		"patch":      constHelper(v.patch),
		"prerelease": constHelper(strings.Join(v.prerelease, ",")),
		"build":      constHelper(strings.Join(v.build, ",")),
	}
}

// pep440Version is a version per PEP 440's grammar (case-insensitive, an
// optional "v", epoch, release, pre/post/dev segments, +local).
type pep440Version struct {
	raw     string
	epoch   int
	release []int
	pre     string // "a1", "b2", "rc0" or ""
	post    int    // -1 when absent
	dev     int    // -1 when absent
	local   []string
}

var pep440Pattern = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(\d+)!)?` + // epoch
	`(\d+(?:\.\d+)*)` + // release
	`(?:[-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?(\d+)?)?` + // pre-release
	`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` + // post-release
	`(?:[-_.]?(dev)[-_.]?(\d+)?)?` + // dev release
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?` + // local version
	`\s*$`)

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func parsePep440(s string) (pep440Version, bool) {
	m := pep440Pattern.FindStringSubmatch(s)
	if m == nil {
		return pep440Version{}, false
	}
	v := pep440Version{raw: s, epoch: atoiOr(m[1], 0), post: -1, dev: -1}
	for _, p := range strings.Split(m[2], ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return pep440Version{}, false
		}
		v.release = append(v.release, n)
	}
	if m[3] != "" {
		l := strings.ToLower(m[3])
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		v.pre = l + strconv.Itoa(atoiOr(m[4], 0))
	}
	switch {
	case m[5] != "":
		v.post = atoiOr(m[5], 0)
	case m[6] != "":
		v.post = atoiOr(m[7], 0)
	}
	if m[8] != "" {
		v.dev = atoiOr(m[9], 0)
	}
	if m[10] != "" {
		for _, p := range strings.FieldsFunc(strings.ToLower(m[10]), func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			if n, err := strconv.Atoi(p); err == nil {
				p = strconv.Itoa(n)
			}
			v.local = append(v.local, p)
		}
	}
	return v, true
}

// normalized is the canonical PEP 440 spelling (1.0dev4 -> 1.0.dev4).
func (v pep440Version) normalized() string {
	var b strings.Builder
	if v.epoch != 0 {
		b.WriteString(strconv.Itoa(v.epoch) + "!")
	}
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteString(v.pre)
	if v.post >= 0 {
		b.WriteString(".post" + strconv.Itoa(v.post))
	}
	if v.dev >= 0 {
		b.WriteString(".dev" + strconv.Itoa(v.dev))
	}
	if len(v.local) > 0 {
		b.WriteString("+" + strings.Join(v.local, "."))
	}
	return b.String()
}

// special reports pre-, post- and dev-releases: they never get the
// pattern's partial tags nor latest.
func (v pep440Version) special() bool { return v.pre != "" || v.post >= 0 || v.dev >= 0 }

func (v pep440Version) part(i int) string {
	if i < len(v.release) {
		return strconv.Itoa(v.release[i])
	}
	return "0"
}

func (v pep440Version) scope() scope {
	return scope{
		"raw":     constHelper(v.raw),
		"version": constHelper(v.normalized()),
		"major":   constHelper(v.part(0)),
		"minor":   constHelper(v.part(1)),
		"patch":   constHelper(v.part(2)),
	}
}
