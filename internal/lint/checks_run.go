package lint

import (
	"fmt"
	"regexp"
	"strings"
)

// runRule checks one RUN (or ONBUILD RUN) and reports at most once for it,
// like hadolint's per-instruction rules.
type runRule struct {
	code string
	// find returns the offending command and a message, or nil.
	find func(ri *runInfo) (*command, string)
}

var runRules = []runRule{
	{"DL3001", findDL3001}, {"DL3003", findCmd("DL3003", "cd")}, {"DL3004", findCmd("DL3004", "sudo")},
	{"DL3008", findDL3008}, {"DL3013", findDL3013}, {"DL3014", findDL3014}, {"DL3015", findDL3015},
	{"DL3016", findDL3016}, {"DL3018", findDL3018}, {"DL3019", findDL3019}, {"DL3027", findCmd("DL3027", "apt")},
	{"DL3028", findDL3028}, {"DL3030", findYesFlag("yum", "DL3030")}, {"DL3032", findDL3032},
	{"DL3033", findDL3033}, {"DL3034", findDL3034}, {"DL3035", findDL3035}, {"DL3036", findDL3036},
	{"DL3037", findDL3037}, {"DL3038", findYesFlag("dnf", "DL3038")}, {"DL3040", findDL3040},
	{"DL3041", findDL3041}, {"DL3042", findDL3042}, {"DL3046", findDL3046}, {"DL3047", findDL3047},
	{"DL3062", findDL3062}, {"DL4005", findDL4005},
}

func checkRunRules(l *linter) {
	l.each("run", true, func(outer, in *instruction) {
		for _, r := range runRules {
			if c, msg := r.find(in.run); msg != "" {
				l.reportCmd(r.code, outer, c, msg)
			}
		}
	})
}

var cmdMessages = map[string]string{
	"DL3003": "Use WORKDIR to change directory instead of cd in RUN.",
	"DL3004": "Do not use sudo: it has unpredictable TTY and signal behaviour; switch USER instead.",
	"DL3027": "Use apt-get or apt-cache instead of apt: apt's interface is not stable for scripts.",
}

func findCmd(code, name string) func(*runInfo) (*command, string) {
	return func(ri *runInfo) (*command, string) {
		for i := range ri.cmds {
			if ri.cmds[i].name == name {
				return &ri.cmds[i], cmdMessages[code]
			}
		}
		return nil, ""
	}
}

var pointless = map[string]bool{"free": true, "kill": true, "mount": true, "ps": true, "service": true, "shutdown": true, "ssh": true, "top": true, "vim": true}

func findDL3001(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		if pointless[ri.cmds[i].name] {
			return &ri.cmds[i], fmt.Sprintf("%s makes no sense while building an image: remove it.", ri.cmds[i].name)
		}
	}
	return nil, ""
}

// packages returns the operands after the subcommand word (one of subs).
func packages(c *command, valueFlags map[string]bool, subs ...string) []string {
	return after(c.operands(valueFlags, false), subs...)
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

var aptValueFlags = set("t", "target-release", "o", "option", "c", "config-file", "default-release")

func isAptGetInstall(c *command) bool {
	return c.name == "apt-get" && subcommand(c.operands(aptValueFlags, false)) == "install"
}

func firstUnpinned(pkgs []string, pinned func(string) bool) string {
	for _, p := range pkgs {
		if !pinned(p) {
			return p
		}
	}
	return ""
}

func findDL3008(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !isAptGetInstall(c) {
			continue
		}
		if p := firstUnpinned(packages(c, aptValueFlags, "install"), func(p string) bool {
			return strings.Contains(p, "=") || strings.HasSuffix(p, ".deb")
		}); p != "" {
			return c, fmt.Sprintf("Pin versions in apt-get install: %s has none (use %s=<version>).", p, p)
		}
	}
	return nil, ""
}

func findDL3014(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !isAptGetInstall(c) || c.hasFlag("y", "yes", "assume-yes") {
			continue
		}
		quiet := c.countFlag("q") + c.countFlag("quiet")
		for _, a := range c.args {
			if v, ok := strings.CutPrefix(a, "-q="); ok && v >= "2" {
				quiet += 2
			}
			if v, ok := strings.CutPrefix(a, "--quiet="); ok && v >= "2" {
				quiet += 2
			}
		}
		if quiet >= 2 {
			continue
		}
		return c, "apt-get install needs -y (or --yes) to run without a prompt."
	}
	return nil, ""
}

func findDL3015(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !isAptGetInstall(c) || c.hasFlag("no-install-recommends") {
			continue
		}
		disabled := false
		for _, a := range c.args {
			if strings.EqualFold(a, "APT::Install-Recommends=false") || strings.EqualFold(a, "APT::Install-Recommends=0") {
				disabled = true
			}
		}
		if !disabled {
			return c, "Add --no-install-recommends to apt-get install to keep the image small."
		}
	}
	return nil, ""
}

var pipName = regexp.MustCompile(`^pip(x|[0-9]+(\.[0-9]+)?)?$`)
var pythonName = regexp.MustCompile(`^python([0-9]+(\.[0-9]+)?)?$`)

// pipArgs returns the arguments pip sees when c runs pip (pip, pip3, pipx,
// python -m pip), and whether it does.
func pipArgs(c *command) ([]string, string, bool) {
	if pipName.MatchString(c.name) {
		return c.args, c.name, true
	}
	if pythonName.MatchString(c.name) {
		for i := 0; i+1 < len(c.args); i++ {
			if c.args[i] == "-m" && c.args[i+1] == "pip" {
				return c.args[i+2:], "pip", true
			}
		}
	}
	return nil, "", false
}

var pipValueFlags = set("abi", "b", "build", "e", "editable", "extra-index-url", "f", "find-links", "i", "index-url",
	"implementation", "no-binary", "only-binary", "platform", "prefix", "progress-bar", "proxy", "python-version",
	"root", "src", "t", "target", "trusted-host", "upgrade-strategy", "root-user-action", "python", "cert",
	"client-cert", "log", "cache-dir", "global-option", "config-settings", "pip-args", "suffix", "spec", "report")

var vcsSchemes = []string{"git+file", "git+https", "git+ssh", "git+http", "git+git", "git", "hg+file", "hg+http",
	"hg+https", "hg+ssh", "hg+static-http", "svn", "svn+svn", "svn+http", "svn+https", "svn+ssh", "bzr+http",
	"bzr+https", "bzr+ssh", "bzr+sftp", "bzr+ftp", "bzr+lp"}

func pipPinned(p string) bool {
	for _, s := range []string{"==", ">=", "<=", ">", "<", "!=", "~=", "==="} {
		if strings.Contains(p, s) {
			return true
		}
	}
	vcs := false
	for _, s := range vcsSchemes {
		if strings.HasPrefix(p, s) {
			vcs = true
		}
	}
	if vcs {
		return strings.Contains(p, "@")
	}
	return strings.HasSuffix(p, ".whl") || strings.HasSuffix(p, ".tar.gz") || strings.Contains(p, "/")
}

func findDL3013(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		args, _, ok := pipArgs(c)
		if !ok {
			continue
		}
		pc := &command{name: "pip", args: args}
		ops := pc.operands(pipValueFlags, false)
		if subcommand(ops) != "install" && !containsString(ops, "install") {
			continue
		}
		if pc.hasArg("-r", "--requirement", ".", "-c", "--constraint") || pc.hasFlag("requirement", "constraint") {
			continue
		}
		if p := firstUnpinned(after(ops, "install"), pipPinned); p != "" {
			return c, fmt.Sprintf("Pin versions in pip: use %s==<version> or a requirements file.", p)
		}
	}
	return nil, ""
}

var npmValueFlags = set("registry", "loglevel", "cache", "prefix", "tag", "userconfig", "w", "workspace", "omit", "include", "install-strategy")

func npmPinned(p string) bool {
	for _, pre := range []string{"git://", "git+ssh://", "git+http://", "git+https://"} {
		if strings.HasPrefix(p, pre) {
			return strings.Contains(p, "#")
		}
	}
	for _, suf := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(p, suf) {
			return true
		}
	}
	for _, pre := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	name := p
	if strings.HasPrefix(p, "@") {
		if i := strings.Index(p, "/"); i >= 0 {
			name = p[i+1:]
		} else {
			name = p[1:]
		}
	}
	return strings.Contains(name, "@")
}

func findDL3016(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name != "npm" {
			continue
		}
		ops := c.operands(npmValueFlags, false)
		if subcommand(ops) != "install" {
			continue
		}
		if p := firstUnpinned(ops[1:], npmPinned); p != "" {
			return c, fmt.Sprintf("Pin versions in npm: use npm install %s@<version>.", p)
		}
	}
	return nil, ""
}

var apkValueFlags = set("t", "virtual", "repository", "X", "repositories-file", "p", "root", "keys-dir", "cache-dir", "arch")

func isApkAdd(c *command) bool {
	return c.name == "apk" && subcommand(c.operands(apkValueFlags, false)) == "add"
}

func findDL3018(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !isApkAdd(c) {
			continue
		}
		if p := firstUnpinned(packages(c, apkValueFlags, "add"), func(p string) bool {
			return strings.ContainsAny(p, "=~<>") || strings.HasSuffix(p, ".apk")
		}); p != "" {
			return c, fmt.Sprintf("Pin versions in apk add: use %s=<version>.", p)
		}
	}
	return nil, ""
}

// cacheMount reports whether a cache or tmpfs mount covers dir.
func (ri *runInfo) cacheMount(dirs ...string) bool {
	for _, m := range ri.mounts {
		if m.typ != "cache" && m.typ != "tmpfs" {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(m.target, d) {
				return true
			}
		}
	}
	return false
}

func findDL3019(ri *runInfo) (*command, string) {
	if ri.cacheMount("/var/cache/apk") {
		return nil, ""
	}
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if isApkAdd(c) && !c.hasFlag("no-cache") {
			return c, "Use apk add --no-cache (or a cache mount on /var/cache/apk) to keep the package index out of the image."
		}
	}
	return nil, ""
}

var gemValueFlags = set("source", "s", "install-dir", "i", "bindir", "n", "platform", "trust-policy", "P", "g", "file", "build-root", "document")

func findDL3028(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name != "gem" {
			continue
		}
		ops := c.operands(gemValueFlags, true)
		if sub := subcommand(ops); sub != "install" && sub != "i" {
			continue
		}
		if c.hasArg("-v", "--version") || hasPrefixArg(c, "--version=") {
			continue
		}
		var gems []string
		prevFlag := false
		for _, a := range c.args {
			if a == "--" {
				break
			}
			if isFlag(a) {
				prevFlag = !strings.Contains(a, "=")
				continue
			}
			if prevFlag && (a == "true" || a == "false") {
				prevFlag = false
				continue
			}
			prevFlag = false
			gems = append(gems, a)
		}
		gems = intersect(gems, ops[1:])
		if p := firstUnpinned(gems, func(p string) bool { return strings.Contains(p, ":") }); p != "" {
			return c, fmt.Sprintf("Pin versions in gem install: use gem install %s:<version>.", p)
		}
	}
	return nil, ""
}

func hasPrefixArg(c *command, prefix string) bool {
	for _, a := range c.args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if containsString(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// rpm-family tools.
var (
	yumInstallSubs = set("install", "groupinstall", "localinstall")
	dnfInstallSubs = set("install", "in", "groupinstall", "localinstall")
	dnfCacheSubs   = set("install", "in", "upgrade", "up", "update", "upgrade-minimal", "up-min", "reinstall", "rei", "groupinstall", "localinstall", "distro-sync", "downgrade")
	rpmValueFlags  = set("setopt", "c", "config", "installroot", "releasever", "enablerepo", "disablerepo", "repo", "x", "exclude", "d", "debuglevel", "e", "errorlevel", "repofrompath")
)

func isDnf(c *command) bool { return c.name == "dnf" || c.name == "microdnf" }

// rpmInstall reports whether c is a yum/dnf install-like command.
func rpmInstall(c *command, tool string) bool {
	ops := c.operands(rpmValueFlags, false)
	sub := subcommand(ops)
	if sub == "module" && len(ops) > 1 {
		sub = ops[1]
	}
	if tool == "yum" {
		return c.name == "yum" && yumInstallSubs[sub]
	}
	return isDnf(c) && dnfInstallSubs[sub]
}

func findYesFlag(tool, code string) func(*runInfo) (*command, string) {
	return func(ri *runInfo) (*command, string) {
		for i := range ri.cmds {
			c := &ri.cmds[i]
			if rpmInstall(c, tool) && !c.hasFlag("y", "assumeyes") {
				return c, fmt.Sprintf("Add -y to %s install so it runs without a prompt.", c.name)
			}
		}
		return nil, ""
	}
}

// cleanedAfter reports whether a command after index i satisfies clean.
func cleanedAfter(cmds []command, i int, clean func(*command) bool) bool {
	for j := i + 1; j < len(cmds); j++ {
		if clean(&cmds[j]) {
			return true
		}
	}
	return false
}

func rmsAny(c *command, prefixes ...string) bool {
	if c.name != "rm" {
		return false
	}
	for _, a := range c.args {
		for _, p := range prefixes {
			if strings.HasPrefix(a, p) {
				return true
			}
		}
	}
	return false
}

func findDL3032(ri *runInfo) (*command, string) {
	if ri.cacheMount("/var/cache/yum") {
		return nil, ""
	}
	for i := len(ri.cmds) - 1; i >= 0; i-- {
		c := &ri.cmds[i]
		if !rpmInstall(c, "yum") {
			continue
		}
		if !cleanedAfter(ri.cmds, i, func(x *command) bool {
			return (x.name == "yum" && x.hasArg("clean") && x.hasArg("all")) || rmsAny(x, "/var/cache/yum")
		}) {
			return c, "Run yum clean all after yum install to keep the cache out of the image."
		}
		break
	}
	return nil, ""
}

var rpmVersionChars = regexp.MustCompile(`^[0-9A-Za-z.~^_:+]+$`)

// rpmPinned reports whether an rpm package spec carries a version:
// name-version, name-version-release or a .rpm file.
func rpmPinned(p string) bool {
	if strings.HasSuffix(p, ".rpm") {
		return true
	}
	parts := strings.Split(p, "-")
	if len(parts) <= 1 {
		return false
	}
	digit := false
	for _, part := range parts[1:] {
		if !rpmVersionChars.MatchString(part) {
			return false
		}
		if part[0] >= '0' && part[0] <= '9' {
			digit = true
		}
	}
	return digit
}

// rpmPackages returns the packages and modules an install names.
func rpmPackages(c *command) (pkgs []string, modules bool) {
	ops := c.operands(rpmValueFlags, false)
	sub := subcommand(ops)
	switch {
	case sub == "module":
		return after(ops, "install"), true
	case sub == "group" || sub == "groupinstall" || containsString(ops, "group"):
		return nil, false
	}
	return after(ops, "install", "in", "localinstall"), false
}

func findRpmPins(ri *runInfo, tool, example string) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !rpmInstall(c, tool) {
			continue
		}
		pkgs, modules := rpmPackages(c)
		for _, p := range pkgs {
			if modules && !strings.Contains(p, ":") {
				return c, fmt.Sprintf("Pin the module stream: use %s module install %s:<stream>.", c.name, p)
			}
			if !modules && !rpmPinned(p) {
				return c, fmt.Sprintf("Pin versions in %s install: use %s-<version>%s.", c.name, p, example)
			}
		}
	}
	return nil, ""
}

func findDL3033(ri *runInfo) (*command, string) { return findRpmPins(ri, "yum", "") }
func findDL3041(ri *runInfo) (*command, string) { return findRpmPins(ri, "dnf", "") }

func findDL3040(ri *runInfo) (*command, string) {
	if ri.cacheMount("/var/cache/libdnf5", "/var/cache/dnf", "/var/cache/yum") {
		return nil, ""
	}
	for i := len(ri.cmds) - 1; i >= 0; i-- {
		c := &ri.cmds[i]
		if !isDnf(c) || !dnfCacheSubs[subcommand(c.operands(rpmValueFlags, false))] {
			continue
		}
		if !cleanedAfter(ri.cmds, i, func(x *command) bool {
			return (x.name == c.name && x.hasArg("clean") && x.hasArg("all")) || rmsAny(x, "/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5")
		}) {
			return c, fmt.Sprintf("Run %s clean all after %s to keep the cache out of the image.", c.name, strings.Join(append([]string{c.name}, c.args...), " "))
		}
		break
	}
	return nil, ""
}

var zypperValueFlags = set("r", "repo", "root", "R", "c", "config", "t", "type", "from", "p")

func zypperSub(c *command) string {
	return subcommand(c.operands(zypperValueFlags, false))
}

var zypperInteractive = set("install", "in", "remove", "rm", "source-install", "si", "patch", "update", "up", "dist-upgrade", "dup")

func findDL3034(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name == "zypper" && zypperInteractive[zypperSub(c)] && !c.hasFlag("n", "non-interactive", "y", "no-confirm") {
			return c, "Add -n (--non-interactive) to zypper so it runs without a prompt."
		}
	}
	return nil, ""
}

func findDL3035(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name == "zypper" && (zypperSub(c) == "dist-upgrade" || zypperSub(c) == "dup") {
			return c, "Do not run zypper dist-upgrade in a Dockerfile: use a newer base image."
		}
	}
	return nil, ""
}

func isZypperInstall(c *command) bool {
	return c.name == "zypper" && (zypperSub(c) == "install" || zypperSub(c) == "in")
}

func findDL3036(ri *runInfo) (*command, string) {
	if ri.cacheMount("/var/cache/zypp") {
		return nil, ""
	}
	for i := len(ri.cmds) - 1; i >= 0; i-- {
		c := &ri.cmds[i]
		if !isZypperInstall(c) {
			continue
		}
		if !cleanedAfter(ri.cmds, i, func(x *command) bool {
			return x.name == "zypper" && (x.hasArg("clean") || x.hasArg("cc"))
		}) {
			return c, "Run zypper clean after zypper install to keep the cache out of the image."
		}
		break
	}
	return nil, ""
}

func findDL3037(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if !isZypperInstall(c) {
			continue
		}
		if p := firstUnpinned(packages(c, zypperValueFlags, "install", "in"), func(p string) bool {
			return strings.ContainsAny(p, "=<>") || strings.HasSuffix(p, ".rpm")
		}); p != "" {
			return c, fmt.Sprintf("Pin versions in zypper install: use %s=<version>.", p)
		}
	}
	return nil, ""
}

func truthy(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return true, true
	case "0", "off", "no", "false":
		return false, true
	}
	return false, false
}

func findDL3042(ri *runInfo) (*command, string) {
	if ri.cacheMount("/root/.cache/pip") {
		return nil, ""
	}
	noCache := false
	if v, ok := ri.env["PIP_NO_CACHE_DIR"]; ok {
		noCache, _ = truthy(v)
	}
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name == "export" {
			for _, a := range c.args {
				if v, ok := strings.CutPrefix(a, "PIP_NO_CACHE_DIR="); ok {
					noCache, _ = truthy(v)
				}
			}
			continue
		}
		args, name, ok := pipArgs(c)
		if !ok || name == "pipx" {
			continue
		}
		pc := &command{name: name, args: args}
		if subcommand(pc.operands(pipValueFlags, false)) != "install" || pc.hasFlag("no-cache-dir") {
			continue
		}
		off := noCache
		if v, ok := c.assigns["PIP_NO_CACHE_DIR"]; ok {
			off, _ = truthy(v)
		}
		if !off {
			return c, "Add --no-cache-dir to pip install (or set PIP_NO_CACHE_DIR=1) to keep the cache out of the image."
		}
	}
	return nil, ""
}

func findDL3046(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name != "useradd" || c.hasFlag("l", "no-log-init") {
			continue
		}
		uid := ""
		for j, a := range c.args {
			switch {
			case (a == "-u" || a == "--uid") && j+1 < len(c.args):
				uid = c.args[j+1]
			case strings.HasPrefix(a, "--uid="):
				uid = a[len("--uid="):]
			case strings.HasPrefix(a, "-u") && len(a) > 2 && isNumeric(a[2:]):
				uid = a[2:]
			}
		}
		if isNumeric(uid) && len(uid) > 5 {
			return c, fmt.Sprintf("useradd -u %s without -l (--no-log-init) can fill the disk with a huge lastlog file.", uid)
		}
	}
	return nil, ""
}

func findDL3047(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name != "wget" {
			continue
		}
		if c.hasFlag("progress", "q", "quiet", "o", "output-file", "a", "append-output", "no-verbose") || c.hasArg("-nv") {
			continue
		}
		return c, "wget without --progress floods the build log: use wget --progress=dot:giga, -q or -nv."
	}
	return nil, ""
}

var goValueFlags = set("C", "p", "exec", "o", "modfile", "overlay", "pgo", "tags", "gcflags", "ldflags", "asmflags", "mod", "toolexec", "pkgdir", "buildmode", "compiler", "coverpkg", "covermode", "installsuffix")

func goUnpinned(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, ".") || strings.Contains(p, "$") {
		return false
	}
	_, version, ok := strings.Cut(p, "@")
	if !ok {
		return !strings.HasSuffix(p, ".go")
	}
	return version == "latest" || version == ""
}

func findDL3062(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name != "go" {
			continue
		}
		ops := c.operands(goValueFlags, false)
		var pkgs []string
		switch subcommand(ops) {
		case "install", "get":
			pkgs = ops[1:]
		case "run":
			if len(ops) > 1 {
				pkgs = ops[1:2]
			}
		default:
			continue
		}
		for _, p := range pkgs {
			if goUnpinned(p) {
				return c, fmt.Sprintf("Pin the version: go %s %s@<version> instead of an unpinned or @latest module.", ops[0], strings.Split(p, "@")[0])
			}
		}
	}
	return nil, ""
}

func findDL4005(ri *runInfo) (*command, string) {
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if c.name == "ln" && containsString(c.operands(nil, false), "/bin/sh") {
			return c, "Use SHELL to change the default shell instead of replacing /bin/sh with ln."
		}
	}
	return nil, ""
}

// checkStageCleanup reports DL3009 (apt lists) and DL3060 (yarn cache) for
// RUNs that leave a cache behind in a stage that ends up in an image: the
// last stage or one a later FROM builds on. ONBUILD RUNs always count.
func checkStageCleanup(l *linter) {
	used := map[string]bool{}
	for _, s := range l.a.stages {
		used[strings.ToLower(s.ref.image)] = true
	}
	last := len(l.a.stages) - 1
	counts := func(in *instruction, onbuild bool) bool {
		if onbuild || in.stage < 0 || in.stage == last {
			return true
		}
		alias := l.a.stages[in.stage].ref.alias
		return alias != "" && used[strings.ToLower(alias)]
	}
	l.each("run", true, func(outer, in *instruction) {
		if !counts(outer, outer != in) {
			return
		}
		ri := in.run
		if c := aptListsLeft(ri); c != nil {
			l.reportCmd("DL3009", outer, c, "Delete the apt lists (rm -rf /var/lib/apt/lists/*) in the same RUN as apt-get update.")
		}
		if c := yarnCacheLeft(ri); c != nil {
			l.reportCmd("DL3060", outer, c, "Run yarn cache clean after yarn install in the same RUN.")
		}
	})
}

func aptListsLeft(ri *runInfo) *command {
	if ri.cacheMount("/var/lib/apt/lists") || (ri.cacheMount("/var/lib/apt") && ri.cacheMount("/var/cache/apt")) {
		return nil
	}
	var update *command
	for i := range ri.cmds {
		c := &ri.cmds[i]
		if update == nil && (c.name == "apt-get" || c.name == "apt" || c.name == "aptitude") && c.hasArg("update") {
			update = c
		}
		if c.name == "rm" && (c.hasArg("-rf") || rmsAny(c, "/var/lib/apt/lists")) {
			return nil
		}
	}
	return update
}

func yarnCacheLeft(ri *runInfo) *command {
	if ri.cacheMount("/root/.cache/yarn", "/usr/local/share/.cache/yarn") {
		return nil
	}
	for i := len(ri.cmds) - 1; i >= 0; i-- {
		c := &ri.cmds[i]
		if c.name != "yarn" || !c.hasArg("install") {
			continue
		}
		if !cleanedAfter(ri.cmds, i, func(x *command) bool {
			return x.name == "yarn" && x.hasArg("cache") && x.hasArg("clean")
		}) {
			return c
		}
		return nil
	}
	return nil
}

// checkDL4001 reports RUNs that use wget or curl when the stage already
// used the other one.
func checkDL4001(l *linter) {
	run := func(onbuild bool) {
		seen := map[string]bool{}
		for _, in := range l.d.instrs {
			target := in.effective()
			if in.cmd == "from" && !onbuild {
				seen = map[string]bool{}
			}
			if target.cmd != "run" || (in.onbuild != nil) != onbuild {
				continue
			}
			var first *command
			for i := range target.run.cmds {
				c := &target.run.cmds[i]
				if c.name == "wget" || c.name == "curl" {
					seen[c.name] = true
					if first == nil {
						first = c
					}
				}
			}
			if first != nil && seen["wget"] && seen["curl"] {
				l.reportCmd("DL4001", in, first, "Use either wget or curl, not both: one tool is enough.")
			}
		}
	}
	run(false)
	run(true)
}
