package lint

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// checkLabelSchema runs the rules that need a label-schema (DL3049-DL3058).
func checkLabelSchema(l *linter) {
	schema := l.cfg.LabelSchema
	if len(schema) == 0 {
		return
	}
	for _, name := range sortedKeys(schema) {
		l.checkMissingLabel(name)
	}
	l.each("label", false, func(_, in *instruction) {
		strictReported := false
		for _, p := range in.pairs() {
			key, value := p[0], p[1]
			typ, known := schema[key]
			if !known {
				if l.cfg.StrictLabels && !strictReported {
					l.report("DL3050", in, fmt.Sprintf("Label %s is not in the label schema (strict-labels is on).", key))
					strictReported = true
				}
				continue
			}
			if value == "" {
				l.report("DL3051", in, fmt.Sprintf("Label %s is empty.", key))
				continue
			}
			code, ok := "", true
			switch typ {
			case "url":
				code, ok = "DL3052", validURL(value)
			case "rfc3339":
				_, err := time.Parse(time.RFC3339Nano, value)
				code, ok = "DL3053", err == nil
			case "spdx":
				code, ok = "DL3054", validSPDX(value)
			case "hash":
				code, ok = "DL3055", gitHash.MatchString(value)
			case "semver":
				code, ok = "DL3056", semverPattern.MatchString(value)
			case "email":
				_, err := mail.ParseAddress(value)
				code, ok = "DL3058", err == nil && strings.Contains(value, "@")
			}
			if !ok {
				l.report(code, in, fmt.Sprintf("Label %s=%q is not a valid %s value.", key, value, typ))
			}
		}
	})
}

// checkMissingLabel reports stages that end without the label: a stage
// inherits it from the stage it builds on, and a stage that is only a base
// or a COPY --from source for a labelled stage is not reported.
func (l *linter) checkMissingLabel(label string) {
	const (
		bad = iota + 1
		silent
		good
	)
	state := make([]int, len(l.a.stages))
	cur := -1
	silence := func(name string) {
		for i, s := range l.a.stages {
			if state[i] == bad && s.ref.alias != "" && strings.EqualFold(s.ref.alias, name) {
				state[i] = silent
			}
		}
	}
	for _, in := range l.d.instrs {
		switch in.cmd {
		case "from":
			cur = in.stage
			s := l.a.stages[cur]
			state[cur] = bad
			for i, g := range l.a.stages[:cur] {
				if state[i] == good && g.ref.alias != "" && strings.EqualFold(g.ref.alias, s.ref.image) {
					state[cur] = good
				}
			}
		case "copy":
			if from, ok := in.flag("from"); ok && cur >= 0 {
				silence(from)
			}
		case "label":
			if cur < 0 {
				continue
			}
			for _, p := range in.pairs() {
				if p[0] == label {
					silence(l.a.stages[cur].name())
					state[cur] = good
				}
			}
		}
	}
	for i, s := range l.a.stages {
		if state[i] == bad {
			l.report("DL3049", s.in, fmt.Sprintf("Label %s is missing from this stage.", label))
		}
	}
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

var (
	gitHash       = regexp.MustCompile(`^(?:[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64})$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// validSPDX accepts an SPDX license expression made of known license ids,
// LicenseRef- references, AND/OR/WITH and parentheses.
func validSPDX(s string) bool {
	fields := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(s))
	const (
		wantID = iota
		wantOp
		wantException
	)
	state := wantID
	for _, f := range fields {
		switch state {
		case wantID:
			id := strings.TrimSuffix(f, "+")
			if !spdxLicenses[strings.ToLower(id)] && !strings.HasPrefix(id, "LicenseRef-") && !strings.HasPrefix(id, "DocumentRef-") {
				return false
			}
			state = wantOp
		case wantOp:
			switch f {
			case "AND", "OR":
				state = wantID
			case "WITH":
				state = wantException
			default:
				return false
			}
		case wantException:
			if !spdxExceptions[strings.ToLower(f)] {
				return false
			}
			state = wantOp
		}
	}
	return state == wantOp
}
