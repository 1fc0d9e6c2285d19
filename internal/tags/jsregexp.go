package tags

import (
	"fmt"
	"regexp"
	"strings"
)

// jsRegexp runs a metadata-action match pattern. Patterns are JavaScript
// regular expressions; Go's RE2 accepts the common subset (no look-around,
// no back-references), which is reported at parse time.
type jsRegexp struct {
	re     *regexp.Regexp
	global bool // "g": the result is the list of whole matches
	sticky bool // "y": match only at the start
}

var slashRegexp = regexp.MustCompile(`^/(.+)/(.*)$`)

// compileJSRegexp accepts "pattern" or "/pattern/flags".
func compileJSRegexp(p string) (*jsRegexp, error) {
	body, flags := p, ""
	if m := slashRegexp.FindStringSubmatch(p); m != nil {
		body, flags = m[1], m[2]
	}
	out := &jsRegexp{}
	var goFlags string
	for _, f := range flags {
		switch f {
		case 'g':
			out.global = true
		case 'i':
			goFlags += "i"
		case 'm':
			goFlags += "m"
		case 's':
			goFlags += "s"
		case 'y':
			out.sticky = true
		case 'u', 'd':
		default:
			return nil, fmt.Errorf("unknown regular expression flag %q; accepted flags: g, i, m, s, u, y", f)
		}
	}
	re, err := compileGoRegexp(body)
	if err != nil {
		return nil, err
	}
	if goFlags != "" {
		re, err = regexp.Compile("(?" + goFlags + ")" + re.String())
		if err != nil {
			return nil, err
		}
	}
	out.re = re
	return out, nil
}

// compileGoRegexp translates the few JavaScript escapes RE2 spells
// differently (\uXXXX) and compiles the result.
func compileGoRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+6 <= len(p) && p[i+1] == 'u' && isHex(p[i+2:i+6]) {
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
			continue
		}
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		// Go's messages name the construct ("invalid or unsupported Perl syntax: `(?=`").
		return nil, fmt.Errorf("%w (look-ahead, look-behind and back-references are not supported)", err)
	}
	return re, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// match mirrors String.prototype.match: without "g" the first match and its
// groups (ok[i] false for a group that did not take part); with "g" every
// whole match. nil when nothing matches.
func (j *jsRegexp) match(s string) (groups []string, ok []bool) {
	if j.global {
		for _, loc := range j.re.FindAllStringIndex(s, -1) {
			if j.sticky && loc[0] != 0 {
				break
			}
			groups = append(groups, s[loc[0]:loc[1]])
			ok = append(ok, true)
		}
		return groups, ok
	}
	loc := j.re.FindStringSubmatchIndex(s)
	if loc == nil || (j.sticky && loc[0] != 0) {
		return nil, nil
	}
	for i := 0; i < len(loc); i += 2 {
		if loc[i] < 0 {
			groups = append(groups, "")
			ok = append(ok, false)
			continue
		}
		groups = append(groups, s[loc[i]:loc[i+1]])
		ok = append(ok, true)
	}
	return groups, ok
}
