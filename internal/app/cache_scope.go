package app

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/tags"
)

// cacheScope is the cache's scope for cache-scope and what it was made of
// (for the plan's "cache scope:" line). With auto it is made of what makes
// one variant of a matrix differ from another built from the same
// repository: the target (unless it is the Dockerfile's last stage, which
// is built anyway without one), the build args, and the platforms. Build
// args whose value names this run's commit, run or ref are left out: they
// differ on every commit, and a cache keyed on them would never be hit
// again. So are those that change nothing: not declared by the
// Dockerfile, or given its own default. The scope is readable when short (stack-dev), a digest otherwise.
func cacheScope(cfg *config.Config, ev *ghactions.Context) (scope, from string) {
	switch cfg.CacheScope {
	case "":
		return "", ""
	case config.CacheScopeAuto:
	default:
		return cfg.CacheScope, "cache-scope"
	}
	var parts, said []string
	if t := strings.ToLower(cfg.Build.Target); t != "" && !build.IsLastStage(dockerfilePath(cfg), t) {
		parts = append(parts, t)
		said = append(said, "target "+t)
	}
	declared, known := build.DeclaredArgs(dockerfilePath(cfg))
	var args []string
	for _, a := range cfg.Build.BuildArgs {
		if strings.HasPrefix(a.Name, "BUILDKIT_") || a.Name == "SOURCE_DATE_EPOCH" || namesThisRun(a.Value, ev) {
			continue
		}
		if known {
			// An arg the Dockerfile does not declare, or passes its own
			// default, builds the same image: no variant.
			def, ok := declared[a.Name]
			if !ok || def != nil && *def == a.Value {
				continue
			}
		}
		args = append(args, a.Name+"="+a.Value)
	}
	slices.Sort(args)
	secretish := false
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		secretish = secretish || secretName.MatchString(name)
	}
	if len(args) > 0 {
		parts = append(parts, args...)
		if secretish {
			// Build args are not for secrets, but a value under such a
			// name stays out of tag names and the log: the scope is then a
			// digest, and the plan names the args only.
			names := make([]string, len(args))
			for i, a := range args {
				names[i], _, _ = strings.Cut(a, "=")
			}
			said = append(said, "build-args "+strings.Join(names, " ")+" (values not shown)")
		} else {
			said = append(said, "build-args "+strings.Join(args, " "))
		}
	}
	if len(cfg.Build.Platforms) > 0 {
		p := slices.Sorted(slices.Values(cfg.Build.Platforms))
		parts = append(parts, p...)
		said = append(said, "platforms "+strings.Join(p, ","))
	}
	if len(parts) == 0 {
		return "", ""
	}
	from = "cache-scope auto: " + strings.Join(said, ", ")
	readable, _ := tags.SanitizeTag(strings.ToLower(strings.Join(parts, "-")))
	for strings.Contains(readable, "--") {
		readable = strings.ReplaceAll(readable, "--", "-")
	}
	if readable = strings.Trim(readable, "-."); !secretish && readable != "" && len(readable) <= config.MaxCacheScope {
		return readable, from
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:])[:12], from
}

// secretName matches build-arg names that sound like they hold a secret.
var secretName = regexp.MustCompile(`(?i)(token|secret|passw|pwd|api_?key|private|credential|auth)`)

// namesThisRun reports whether a build arg's value changes with the
// commit, the run or the ref: it holds the commit SHA (or its first 7
// characters) or the run id, or it is the ref or the ref's name (with or
// without a leading v). The run number is left alone: a small number
// would also match version args (NODE_MAJOR=20) on that one run.
func namesThisRun(v string, ev *ghactions.Context) bool {
	if v == "" || ev == nil {
		return false
	}
	for _, sha := range []string{ev.SHA, prHeadSHA(ev)} {
		if len(sha) >= 7 && strings.Contains(strings.ToLower(v), strings.ToLower(sha[:7])) {
			return true
		}
	}
	if len(ev.RunID) >= 6 && strings.Contains(v, ev.RunID) {
		return true
	}
	refName := ev.Ref
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		refName = strings.TrimPrefix(refName, p)
	}
	for _, exact := range []string{ev.Ref, refName, strings.TrimPrefix(refName, "v"), ev.HeadRef} {
		if exact != "" && v == exact {
			return true
		}
	}
	return false
}

func prHeadSHA(ev *ghactions.Context) string {
	if ev.PullRequest != nil {
		return ev.PullRequest.HeadSHA
	}
	return ""
}

// dockerfilePath is the Dockerfile as the build reads it.
func dockerfilePath(cfg *config.Config) string {
	if filepath.IsAbs(cfg.File) {
		return cfg.File
	}
	return filepath.Join(cfg.Workspace, cfg.File)
}
