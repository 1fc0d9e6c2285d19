package lint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// checks run in this order; each appends hits to the linter.
var checks = []func(*linter){
	checkDL1001, checkDL3000, checkDL3002, checkDL3006and7, checkDL3010, checkDL3011,
	checkDL3012, checkDL3020, checkDL3021, checkDL3022and3, checkDL3024, checkDL3025,
	checkDL3026, checkDL3029, checkDL3043, checkDL3044, checkDL3045, checkDL3048,
	checkLabelSchema, checkDL3057, checkDL3059, checkDL3061, checkDL3063, checkDL3064,
	checkDL3065, checkDL3066, checkDL3067, checkDL4000, checkDL4003and4, checkDL4006,
	checkRunRules, checkStageCleanup, checkDL4001,
	checkIP001and2, checkIP003, checkIP004, checkIP006,
}

// each calls fn for every instruction with the given keyword, looking
// inside ONBUILD when onbuild is set.
func (l *linter) each(cmd string, onbuild bool, fn func(outer, in *instruction)) {
	for _, in := range l.d.instrs {
		if in.cmd == cmd {
			fn(in, in)
		} else if onbuild && in.onbuild != nil && in.onbuild.cmd == cmd {
			fn(in, in.onbuild)
		}
	}
}

func checkDL1001(l *linter) {
	for _, p := range l.a.pragmas {
		if p.kind != pragmaShell {
			l.reportLine("DL1001", p.line, -1, "Avoid inline `# hadolint ignore` pragmas; configure rules in .hadolint.yaml instead.")
		}
	}
}

func checkDL3000(l *linter) {
	l.each("workdir", false, func(_, in *instruction) {
		if len(in.args) == 0 {
			return
		}
		dir := unquote(strings.TrimSpace(in.args[0]))
		if strings.HasPrefix(dir, "/") || strings.HasPrefix(dir, "$") || isWindowsAbs(dir) {
			return
		}
		l.report("DL3000", in, fmt.Sprintf("WORKDIR %s is relative: use an absolute path.", dir))
	})
}

func isWindowsAbs(p string) bool {
	return len(p) >= 2 && p[1] == ':' && (p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

func isRootUser(u string) bool {
	return u == "root" || u == "0" || strings.HasPrefix(u, "root:") || strings.HasPrefix(u, "0:")
}

func checkDL3002(l *linter) {
	for _, s := range l.a.stages {
		var lastRoot *instruction
		for _, in := range s.instrs {
			if in.cmd != "user" || len(in.args) == 0 {
				continue
			}
			if isRootUser(unquote(strings.TrimSpace(in.args[0]))) {
				lastRoot = in
			} else {
				lastRoot = nil
			}
		}
		if lastRoot != nil {
			l.report("DL3002", lastRoot, "The last USER of this stage is root: switch to a non-root user.")
		}
	}
}

func checkDL3006and7(l *linter) {
	for _, s := range l.a.stages {
		img := s.ref.image
		if img == "" || strings.Contains(img, "$") || strings.EqualFold(img, "scratch") || l.a.isStageRef(img, s.index) {
			continue
		}
		r := parseImageRef(img)
		switch {
		case r.tag == "" && r.digest == "":
			l.report("DL3006", s.in, fmt.Sprintf("Tag the image explicitly: FROM %s has no tag.", img))
		case r.tag == "latest" && r.digest == "":
			l.report("DL3007", s.in, fmt.Sprintf("FROM %s uses the latest tag: pin a version.", img))
		}
	}
}

// archiveExtensions are the files ADD unpacks.
var archiveExtensions = []string{".tar", ".Z", ".bz2", ".gz", ".lz", ".lzma", ".tZ", ".tb2", ".tbz", ".tbz2", ".tgz", ".tlz", ".tpz", ".txz", ".xz", ".zst"}

func isArchive(p string) bool {
	for _, ext := range archiveExtensions {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

var extractCommands = map[string]bool{"unzip": true, "gunzip": true, "bunzip2": true, "unlzma": true, "unxz": true, "zgz": true, "uncompress": true, "zcat": true, "gzcat": true}

func extracts(c *command) bool {
	if extractCommands[c.name] {
		return true
	}
	if c.name != "tar" {
		return false
	}
	for _, a := range c.args {
		if a == "--extract" || a == "--get" || (strings.HasPrefix(a, "-") && strings.Contains(a, "x")) {
			return true
		}
	}
	return false
}

func checkDL3010(l *linter) {
	type archive struct {
		in   *instruction
		name string
		done bool
	}
	var archives []*archive
	for _, in := range l.d.instrs {
		switch in.cmd {
		case "from":
			archives = nil
		case "copy":
			if _, ok := in.flag("from"); ok {
				continue
			}
			srcs, dest := in.sourcesAndDest()
			if isArchive(dest) {
				archives = append(archives, &archive{in: in, name: baseName(dest)})
				continue
			}
			for _, s := range srcs {
				if isArchive(s) {
					archives = append(archives, &archive{in: in, name: baseName(s)})
				}
			}
		case "run":
			for _, ar := range archives {
				if ar.done {
					continue
				}
				for i := range in.run.cmds {
					c := &in.run.cmds[i]
					if !extracts(c) {
						continue
					}
					for _, op := range c.operands(nil, false) {
						if baseName(op) == ar.name {
							ar.done = true
						}
					}
				}
				if ar.done {
					l.report("DL3010", ar.in, fmt.Sprintf("%s is copied and then unpacked: ADD can extract the archive in one step.", ar.name))
				}
			}
		}
	}
}

func checkDL3011(l *linter) {
	l.each("expose", false, func(_, in *instruction) {
		for _, a := range in.args {
			p := unquote(a)
			if i := strings.Index(p, "/"); i >= 0 {
				p = p[:i]
			}
			if strings.Contains(p, "$") {
				continue
			}
			for _, part := range strings.SplitN(p, "-", 2) {
				if n, err := strconv.Atoi(part); err == nil && (n < 0 || n > 65535) {
					l.report("DL3011", in, fmt.Sprintf("EXPOSE %s is outside the valid port range 0-65535.", unquote(a)))
					return
				}
			}
		}
	})
}

func checkDL3012(l *linter) {
	for _, s := range l.a.stages {
		n := 0
		for _, in := range s.instrs {
			if in.cmd == "healthcheck" {
				n++
				if n > 1 {
					l.report("DL3012", in, "Only one HEALTHCHECK per stage takes effect: remove the extra ones.")
				}
			}
		}
	}
}

func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}

func checkDL3020(l *linter) {
	l.each("add", false, func(_, in *instruction) {
		srcs, _ := in.sourcesAndDest()
		for _, s := range srcs {
			if strings.HasPrefix(s, "<<") || isURL(s) || isArchive(s) {
				continue
			}
			l.report("DL3020", in, fmt.Sprintf("Use COPY instead of ADD for the local file or directory %s.", s))
			return
		}
	})
}

func checkDL3021(l *linter) {
	l.each("copy", false, func(_, in *instruction) {
		srcs, dest := in.sourcesAndDest()
		if len(srcs) > 1 && !strings.HasSuffix(dest, "/") {
			l.report("DL3021", in, fmt.Sprintf("COPY with %d sources needs a destination directory ending in /, not %s.", len(srcs), dest))
		}
	})
}

func checkDL3022and3(l *linter) {
	l.each("copy", false, func(_, in *instruction) {
		from, ok := in.flag("from")
		if !ok || from == "" || strings.Contains(from, "$") {
			return
		}
		cur := in.stage
		if cur >= 0 && strings.EqualFold(l.a.stages[cur].ref.alias, from) {
			l.report("DL3023", in, fmt.Sprintf("COPY --from=%s copies from the stage it is in.", from))
			return
		}
		if n, err := strconv.Atoi(from); err == nil {
			if n >= 0 && n < cur {
				return
			}
		} else if l.a.isStageRef(from, cur+1) || strings.ContainsAny(from, ":/@") {
			return
		}
		l.report("DL3022", in, fmt.Sprintf("COPY --from=%s names no earlier stage: define it with FROM ... AS %s first.", from, from))
	})
}

func checkDL3024(l *linter) {
	seen := map[string]bool{}
	for _, s := range l.a.stages {
		if s.ref.alias == "" {
			continue
		}
		k := strings.ToLower(s.ref.alias)
		if seen[k] {
			l.report("DL3024", s.in, fmt.Sprintf("Stage name %s is used twice: FROM aliases must be unique.", s.ref.alias))
		}
		seen[k] = true
	}
}

func checkDL3025(l *linter) {
	for _, in := range l.d.instrs {
		switch {
		case (in.cmd == "cmd" || in.cmd == "entrypoint") && !in.json && len(in.args) > 0:
			l.report("DL3025", in, fmt.Sprintf("Use the JSON (exec) form for %s so signals reach the process.", strings.ToUpper(in.cmd)))
		case in.cmd == "healthcheck" && !in.json && len(in.args) > 1 && strings.EqualFold(in.args[0], "cmd"):
			l.report("DL3025", in, "Use the JSON (exec) form for HEALTHCHECK CMD.")
		}
	}
}

func checkDL3026(l *linter) {
	trusted := l.cfg.TrustedRegistries
	if len(trusted) == 0 {
		return
	}
	msg := func(img string) string {
		return fmt.Sprintf("Image %s is not from a trusted registry (%s).", img, strings.Join(trusted, ", "))
	}
	for _, in := range l.d.instrs {
		switch in.cmd {
		case "from":
			img := in.from().image
			if img == "" || strings.EqualFold(img, "scratch") || strings.Contains(img, "$") || l.a.isStageRef(img, in.stage) {
				continue
			}
			if !registryTrusted(img, trusted) {
				l.report("DL3026", in, msg(img))
			}
		case "copy":
			from, ok := in.flag("from")
			if ok && l.isExternalImage(from, in.stage) && !registryTrusted(from, trusted) {
				l.report("DL3026", in, msg(from))
			}
		case "run":
			for _, m := range in.run.mounts {
				if m.from != "" && l.isExternalImage(m.from, in.stage) && !registryTrusted(m.from, trusted) {
					l.report("DL3026", in, msg(m.from))
				}
			}
		}
	}
}

// isExternalImage reports whether a --from value names an image rather than
// a stage or stage index.
func (l *linter) isExternalImage(from string, cur int) bool {
	if from == "" || strings.Contains(from, "$") {
		return false
	}
	if _, err := strconv.Atoi(from); err == nil {
		return false
	}
	return !l.a.isStageRef(from, cur+1)
}

func checkDL3029(l *linter) {
	for _, s := range l.a.stages {
		if s.ref.hasPlat && !strings.HasPrefix(s.ref.platform, "$") {
			l.report("DL3029", s.in, fmt.Sprintf("Do not pin FROM --platform=%s; let the build choose the platform.", s.ref.platform))
		}
	}
}

func checkDL3043(l *linter) {
	for _, in := range l.d.instrs {
		if in.onbuild == nil {
			continue
		}
		switch in.onbuild.cmd {
		case "onbuild", "from", "maintainer":
			l.report("DL3043", in, fmt.Sprintf("ONBUILD cannot wrap %s.", strings.ToUpper(in.onbuild.cmd)))
		}
	}
}

func checkDL3044(l *linter) {
	l.each("env", false, func(_, in *instruction) {
		var defined []string
		for _, p := range in.pairs() {
			for _, m := range varRef.FindAllStringSubmatch(p[1], -1) {
				if containsString(defined, m[1]) {
					l.report("DL3044", in, fmt.Sprintf("ENV %s refers to %s, which this same ENV defines: split it into two ENV instructions.", p[0], m[1]))
					return
				}
			}
			defined = append(defined, p[0])
		}
	})
}

func checkDL3045(l *linter) {
	workdir := map[string]bool{}
	cur := ""
	for _, in := range l.d.instrs {
		target := in.effective()
		switch {
		case in.cmd == "from":
			s := l.a.stages[in.stage]
			cur = s.name()
			workdir[cur] = workdir[strings.ToLower(s.ref.image)]
		case target.cmd == "workdir":
			workdir[cur] = true
		case in.cmd == "copy":
			if workdir[cur] {
				continue
			}
			_, dest := in.sourcesAndDest()
			if dest == "" || strings.HasPrefix(dest, "/") || strings.HasPrefix(dest, "$") || isWindowsAbs(dest) {
				continue
			}
			l.report("DL3045", in, fmt.Sprintf("COPY to the relative path %s without a WORKDIR: set WORKDIR or use an absolute path.", dest))
		}
	}
}

var labelKey = regexp.MustCompile(`^[a-z][a-z0-9.-]*[a-z0-9]$|^[a-z]$`)

func checkDL3048(l *linter) {
	l.each("label", false, func(_, in *instruction) {
		for _, p := range in.pairs() {
			k := p[0]
			bad := !labelKey.MatchString(k) || strings.Contains(k, "..") || strings.Contains(k, "--")
			for _, ns := range []string{"com.docker.", "io.docker.", "org.dockerproject."} {
				if strings.HasPrefix(k, ns) {
					bad = true
				}
			}
			if bad {
				l.report("DL3048", in, fmt.Sprintf("Label key %q is not valid: use lower-case reverse-DNS notation outside the com.docker, io.docker and org.dockerproject namespaces.", k))
				return
			}
		}
	})
}

func checkDL3057(l *linter) {
	has := make([]bool, len(l.a.stages))
	hasChild := make([]bool, len(l.a.stages))
	for _, s := range l.a.stages {
		for _, in := range s.instrs {
			if in.cmd == "healthcheck" {
				has[s.index] = true
			}
		}
		if s.parent >= 0 {
			hasChild[s.parent] = true
		}
	}
	for _, s := range l.a.stages {
		if hasChild[s.index] {
			continue
		}
		ok := false
		for x := s; x != nil; {
			if has[x.index] {
				ok = true
				break
			}
			if x.parent < 0 {
				break
			}
			x = l.a.stages[x.parent]
		}
		if !ok {
			l.report("DL3057", s.in, "This stage has no HEALTHCHECK.")
		}
	}
}

func checkDL3059(l *linter) {
	var prev *instruction
	for _, in := range l.d.instrs {
		if in.cmd != "run" {
			prev = nil
			continue
		}
		if prev != nil && prev.run.flagKey == in.run.flagKey && len(prev.run.cmds) <= 1 && len(in.run.cmds) <= 1 {
			l.report("DL3059", in, "Consecutive RUN instructions: merge them to save a layer.")
		}
		prev = in
	}
}

func checkDL3061(l *linter) {
	for _, in := range l.d.instrs {
		if in.cmd == "from" {
			return
		}
		if in.cmd != "arg" {
			l.report("DL3061", in, "A Dockerfile must start with FROM (or ARG before FROM).")
		}
	}
}

func checkDL3063(l *linter) {
	for _, s := range l.a.stages {
		switch strings.ToLower(s.ref.alias) {
		case "scratch", "context":
			l.report("DL3063", s.in, fmt.Sprintf("Stage name %s is reserved: choose another name.", s.ref.alias))
		}
	}
}

var sensitiveNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`ACCESS_TOKEN APPLICATION_KEY APP_SECRET AUTH_TOKEN AWS_ACCESS_KEY_ID
		AWS_SECRET_ACCESS_KEY BITTREX_API_KEY BITTREX_API_SECRET CF_PASSWORD CF_USERNAME CIRCLE_TOKEN
		CI_DEPLOY_PASSWORD CI_DEPLOY_USER DOCKERHUB_PASSWORD DOCKER_EMAIL DOCKER_PASSWORD DOCKER_USERNAME
		FACEBOOK_ACCESS_TOKEN FACEBOOK_APP_ID FACEBOOK_APP_SECRET FIREBASE_API_TOKEN FIREBASE_TOKEN
		FOSSA_API_KEY GH_ENTERPRISE_TOKEN GH_TOKEN GITHUB_ENTERPRISE_TOKEN GITHUB_TOKEN HEROKU_API_KEY
		HEROKU_API_USER NPM_AUTH_TOKEN NPM_TOKEN OKTA_AUTHN_GROUPID OKTA_CLIENT_ORGURL OKTA_CLIENT_TOKEN
		OKTA_OAUTH2_CLIENTID OKTA_OAUTH2_CLIENTSECRET OPENAI_API_KEY OS_PASSWORD OS_USERNAME
		POSTGRES_PASSWORD SLACK_TOKEN STRIPE_API_KEY STRIPE_DEVICE_NAME TRAVIS_OS_NAME
		TRAVIS_SECURE_ENV_VARS TRAVIS_SUDO VAULT_CLIENT_KEY VAULT_TOKEN`) {
		sensitiveNames[n] = true
	}
}

var sensitiveParts = []string{"api_key", "client_key", "password", "private", "secret", "token", "username"}

// dl3064Sensitive reports whether hadolint's DL3064 considers a name secret.
func dl3064Sensitive(name string) bool {
	if sensitiveNames[strings.ToUpper(name)] {
		return true
	}
	low := strings.ToLower(name)
	for _, p := range sensitiveParts {
		if strings.Contains(low, p) {
			return true
		}
	}
	return false
}

// argNames returns the names an ARG declares.
func argNames(in *instruction) []string {
	var out []string
	for _, w := range in.args {
		k, _, _ := strings.Cut(w, "=")
		out = append(out, unquote(k))
	}
	return out
}

func checkDL3064(l *linter) {
	for _, in := range l.d.instrs {
		target := in.effective()
		var names []string
		switch target.cmd {
		case "arg":
			names = argNames(target)
		case "env":
			for _, p := range target.pairs() {
				names = append(names, p[0])
			}
		}
		for _, n := range names {
			if dl3064Sensitive(n) {
				l.report("DL3064", in, fmt.Sprintf("%s %s looks like a secret: ARG and ENV values stay in the image history; use a build secret (RUN --mount=type=secret).", strings.ToUpper(target.cmd), n))
				break
			}
		}
	}
}

func checkDL3065(l *linter) {
	for _, s := range l.a.stages {
		if s.ref.platform == "$TARGETPLATFORM" || s.ref.platform == "${TARGETPLATFORM}" {
			l.report("DL3065", s.in, "FROM --platform=$TARGETPLATFORM is the default: remove the flag.")
		}
	}
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func checkDL3066(l *linter) {
	l.each("user", false, func(_, in *instruction) {
		if len(in.args) == 0 {
			return
		}
		u := unquote(strings.TrimSpace(in.args[0]))
		if strings.Contains(u, "$") {
			return
		}
		user, group, hasGroup := strings.Cut(u, ":")
		if !isNumeric(user) || (hasGroup && !isNumeric(group)) {
			l.report("DL3066", in, fmt.Sprintf("USER %s: use a numeric UID (and GID) so runtimes can verify the user is not root.", u))
		}
	})
}

func checkDL3067(l *linter) {
	l.each("copy", false, func(_, in *instruction) {
		from, ok := in.flag("from")
		if !ok {
			return
		}
		srcs, dest := in.sourcesAndDest()
		if len(srcs) == 1 && srcs[0] == "/" && dest == "/" {
			l.report("DL3067", in, fmt.Sprintf("COPY --from=%s / / copies the whole stage over the root file system: copy only what you need.", from))
		}
	})
}

func checkDL4000(l *linter) {
	l.each("maintainer", false, func(_, in *instruction) {
		l.report("DL4000", in, "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=... instead.")
	})
}

func checkDL4003and4(l *linter) {
	type key struct {
		stage int
		code  string
	}
	counts := map[key]int{}
	for _, in := range l.d.instrs {
		var code, what string
		switch in.cmd {
		case "cmd":
			code, what = "DL4003", "CMD"
		case "entrypoint":
			code, what = "DL4004", "ENTRYPOINT"
		default:
			continue
		}
		k := key{in.stage, code}
		counts[k]++
		if counts[k] > 1 {
			l.report(code, in, fmt.Sprintf("Only the last %s of a stage takes effect: remove the earlier ones.", what))
		}
	}
}

func checkDL4006(l *linter) {
	pipefail, nonPOSIX, bashLike := false, false, false
	for _, in := range l.d.instrs {
		switch in.cmd {
		case "from":
			pipefail, nonPOSIX, bashLike = false, false, false
		case "shell":
			if len(in.args) == 0 {
				continue
			}
			nonPOSIX = isNonPOSIXShell(in.args[0])
			base := shellBase(in.args[0])
			bashLike = base == "bash" || base == "zsh" || base == "ash"
			pipefail = false
			if bashLike {
				c := command{name: base, args: in.args[1:]}
				pipefail = c.hasFlag("o") && c.hasArg("pipefail")
			}
		case "run":
			ri := in.run
			if pipefail || nonPOSIX || !ri.hasPipe {
				continue
			}
			// `set -o pipefail` inside the RUN only helps when the shell knows it.
			if ri.pipefailSet && bashLike {
				continue
			}
			line := ri.pipeLine
			if line == 0 {
				line = in.line
			}
			l.hits = append(l.hits, hit{code: "DL4006", line: line, col: 1, endLine: in.endLine, anchor: in.line, stage: in.stage,
				msg: "RUN has a pipe but the shell lacks -o pipefail: a failing command before the pipe goes unnoticed. Set SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"] first."})
		}
	}
}
