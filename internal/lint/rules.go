package lint

import "sort"

// Rule describes one check: its code, default severity and a one-line summary.
type Rule struct {
	Code     string
	Severity Severity
	Summary  string
	HelpURI  string
}

// docsURI is where the IP rules are documented (anchors are the lower-case codes).
const docsURI = "https://github.com/org/image-pipeline/blob/main/docs/lint.md"

func hadolintWiki(code string) string { return "https://github.com/hadolint/hadolint/wiki/" + code }

// ruleTable holds every rule this linter can report.
var ruleTable = []Rule{
	{"DL1000", SeverityError, "Dockerfile cannot be parsed", hadolintWiki("DL1000")},
	{"DL1001", SeverityNone, "Flags use of inline \"hadolint ignore\" pragma comments", hadolintWiki("DL1001")},
	{"DL3000", SeverityError, "WORKDIR path should be absolute", hadolintWiki("DL3000")},
	{"DL3001", SeverityInfo, "RUN invokes a command that is pointless inside a container (ssh, vim, service, top, ...)", hadolintWiki("DL3001")},
	{"DL3002", SeverityWarning, "Final USER of a stage should not be root", hadolintWiki("DL3002")},
	{"DL3003", SeverityWarning, "Prefer WORKDIR over cd in RUN", hadolintWiki("DL3003")},
	{"DL3004", SeverityError, "sudo used in RUN", hadolintWiki("DL3004")},
	{"DL3006", SeverityWarning, "FROM image has no explicit tag", hadolintWiki("DL3006")},
	{"DL3007", SeverityWarning, "FROM image uses the latest tag", hadolintWiki("DL3007")},
	{"DL3008", SeverityWarning, "apt-get install packages lack version pins", hadolintWiki("DL3008")},
	{"DL3009", SeverityInfo, "apt lists not removed after apt-get install", hadolintWiki("DL3009")},
	{"DL3010", SeverityInfo, "Archive is copied with COPY and then unpacked; ADD could extract it", hadolintWiki("DL3010")},
	{"DL3011", SeverityError, "EXPOSE port outside 0-65535", hadolintWiki("DL3011")},
	{"DL3012", SeverityError, "More than one HEALTHCHECK in a stage", hadolintWiki("DL3012")},
	{"DL3013", SeverityWarning, "pip install packages lack version pins", hadolintWiki("DL3013")},
	{"DL3014", SeverityWarning, "apt-get install without a -y style flag", hadolintWiki("DL3014")},
	{"DL3015", SeverityInfo, "apt-get install without --no-install-recommends", hadolintWiki("DL3015")},
	{"DL3016", SeverityWarning, "npm install packages lack version pins", hadolintWiki("DL3016")},
	{"DL3018", SeverityWarning, "apk add packages lack version pins", hadolintWiki("DL3018")},
	{"DL3019", SeverityInfo, "apk add without --no-cache", hadolintWiki("DL3019")},
	{"DL3020", SeverityError, "ADD used for plain local files or directories; COPY is preferred", hadolintWiki("DL3020")},
	{"DL3021", SeverityError, "COPY with multiple sources needs a destination ending in /", hadolintWiki("DL3021")},
	{"DL3022", SeverityWarning, "COPY --from refers to a stage alias not defined earlier", hadolintWiki("DL3022")},
	{"DL3023", SeverityError, "COPY --from refers to the stage it is in", hadolintWiki("DL3023")},
	{"DL3024", SeverityError, "Duplicate stage alias in FROM", hadolintWiki("DL3024")},
	{"DL3025", SeverityWarning, "CMD/ENTRYPOINT should use JSON (exec) form", hadolintWiki("DL3025")},
	{"DL3026", SeverityError, "Image registry not in the configured trusted list (needs config)", hadolintWiki("DL3026")},
	{"DL3027", SeverityWarning, "apt used instead of apt-get/apt-cache", hadolintWiki("DL3027")},
	{"DL3028", SeverityWarning, "gem install gems lack version pins", hadolintWiki("DL3028")},
	{"DL3029", SeverityWarning, "FROM uses a --platform flag", hadolintWiki("DL3029")},
	{"DL3030", SeverityWarning, "yum install without -y", hadolintWiki("DL3030")},
	{"DL3032", SeverityWarning, "yum run without a following yum clean all", hadolintWiki("DL3032")},
	{"DL3033", SeverityWarning, "yum install packages lack version pins", hadolintWiki("DL3033")},
	{"DL3034", SeverityWarning, "zypper command without a non-interactive flag", hadolintWiki("DL3034")},
	{"DL3035", SeverityWarning, "zypper dist-upgrade used", hadolintWiki("DL3035")},
	{"DL3036", SeverityWarning, "zypper run without a following zypper clean", hadolintWiki("DL3036")},
	{"DL3037", SeverityWarning, "zypper install packages lack version pins", hadolintWiki("DL3037")},
	{"DL3038", SeverityWarning, "dnf install without -y", hadolintWiki("DL3038")},
	{"DL3040", SeverityWarning, "dnf run without a following dnf clean all", hadolintWiki("DL3040")},
	{"DL3041", SeverityWarning, "dnf install packages lack version pins", hadolintWiki("DL3041")},
	{"DL3042", SeverityWarning, "pip install without --no-cache-dir", hadolintWiki("DL3042")},
	{"DL3043", SeverityError, "ONBUILD wraps ONBUILD, FROM or MAINTAINER", hadolintWiki("DL3043")},
	{"DL3044", SeverityError, "ENV references a variable defined in the same ENV instruction", hadolintWiki("DL3044")},
	{"DL3045", SeverityWarning, "COPY to a relative path with no WORKDIR set", hadolintWiki("DL3045")},
	{"DL3046", SeverityWarning, "useradd with a large UID but without -l", hadolintWiki("DL3046")},
	{"DL3047", SeverityInfo, "wget without a --progress option", hadolintWiki("DL3047")},
	{"DL3048", SeverityStyle, "LABEL key is not a valid label name", hadolintWiki("DL3048")},
	{"DL3049", SeverityInfo, "Required label from the schema is missing (needs config)", hadolintWiki("DL3049")},
	{"DL3050", SeverityInfo, "Label not in the schema while strict labels is on (needs config)", hadolintWiki("DL3050")},
	{"DL3051", SeverityWarning, "Schema label has an empty value (needs config)", hadolintWiki("DL3051")},
	{"DL3052", SeverityWarning, "Schema label of type url is not a valid URL (needs config)", hadolintWiki("DL3052")},
	{"DL3053", SeverityWarning, "Schema label of type rfc3339 is not a valid timestamp (needs config)", hadolintWiki("DL3053")},
	{"DL3054", SeverityWarning, "Schema label of type spdx is not a known license id (needs config)", hadolintWiki("DL3054")},
	{"DL3055", SeverityWarning, "Schema label of type hash is not a git hash (needs config)", hadolintWiki("DL3055")},
	{"DL3056", SeverityWarning, "Schema label of type semver is not a semantic version (needs config)", hadolintWiki("DL3056")},
	{"DL3057", SeverityNone, "Stage has no HEALTHCHECK instruction", hadolintWiki("DL3057")},
	{"DL3058", SeverityWarning, "Schema label of type email is not a valid address (needs config)", hadolintWiki("DL3058")},
	{"DL3059", SeverityInfo, "Consecutive RUN instructions that could be merged", hadolintWiki("DL3059")},
	{"DL3060", SeverityInfo, "yarn install without a following yarn cache clean", hadolintWiki("DL3060")},
	{"DL3061", SeverityError, "First instruction is not FROM, ARG or a comment", hadolintWiki("DL3061")},
	{"DL3062", SeverityWarning, "go install without an @version", hadolintWiki("DL3062")},
	{"DL3063", SeverityWarning, "Stage name is a reserved word", hadolintWiki("DL3063")},
	{"DL3064", SeverityWarning, "ARG/ENV name suggests a secret value", hadolintWiki("DL3064")},
	{"DL3065", SeverityWarning, "FROM --platform set to $TARGETPLATFORM, which is the default anyway", hadolintWiki("DL3065")},
	{"DL3066", SeverityInfo, "USER given as a non-numeric name", hadolintWiki("DL3066")},
	{"DL3067", SeverityWarning, "COPY --from copies / of another stage to /", hadolintWiki("DL3067")},
	{"DL4000", SeverityError, "MAINTAINER instruction is deprecated", hadolintWiki("DL4000")},
	{"DL4001", SeverityWarning, "Both wget and curl are used", hadolintWiki("DL4001")},
	{"DL4003", SeverityWarning, "More than one CMD in a stage", hadolintWiki("DL4003")},
	{"DL4004", SeverityError, "More than one ENTRYPOINT in a stage", hadolintWiki("DL4004")},
	{"DL4005", SeverityWarning, "RUN replaces /bin/sh via ln; use SHELL instead", hadolintWiki("DL4005")},
	{"DL4006", SeverityWarning, "RUN with a pipe but no pipefail set via SHELL", hadolintWiki("DL4006")},
	{"IP001", SeverityStyle, "FROM image is not fully qualified with a registry host", docsURI + "#ip001"},
	{"IP002", SeverityStyle, "FROM image is not pinned by digest", docsURI + "#ip002"},
	{"IP003", SeverityWarning, "ARG/ENV name looks like a secret that DL3064 does not catch", docsURI + "#ip003"},
	{"IP004", SeverityWarning, "Final stage runs as root although an earlier stage switched to a non-root USER", docsURI + "#ip004"},
	{"IP005", SeverityWarning, "Large file copied into the image from the build context", docsURI + "#ip005"},
	{"IP006", SeverityStyle, "ADD downloads a remote URL without --checksum", docsURI + "#ip006"},
}

var ruleIndex = func() map[string]Rule {
	m := make(map[string]Rule, len(ruleTable))
	for _, r := range ruleTable {
		m[r.Code] = r
	}
	return m
}()

// Rules returns every rule, sorted by code.
func Rules() []Rule {
	out := append([]Rule(nil), ruleTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// LookupRule returns the rule with the given code.
func LookupRule(code string) (Rule, bool) {
	r, ok := ruleIndex[code]
	return r, ok
}
