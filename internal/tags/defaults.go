package tags

// MetadataActionDefaultLines is docker/metadata-action's rule set for an
// empty `tags` input.
var MetadataActionDefaultLines = []string{
	"type=schedule",
	"type=ref,event=branch",
	"type=ref,event=tag",
	"type=ref,event=pr",
}

// DefaultRuleLines is image-pipeline's rule set for an empty `tags` input
// (documented in docs/tags.md, where users can copy it):
//
//   - push to a branch (also workflow_dispatch and schedule on a branch):
//     <branch> and the full commit SHA;
//   - pull request: review-pr-<N>-<head sha>-<YYYYMMDDHHMMSS> (the version)
//     and pr-<N>;
//   - tag v1.2.3: 1.2.3, 1.2, 1 and latest; a pre-release v1.2.3-rc.1
//     only 1.2.3-rc.1; a tag that is not semver: the tag name itself;
//   - schedule: also nightly and nightly-<YYYYMMDD>.
var DefaultRuleLines = []string{
	"type=schedule,pattern=nightly",
	"type=schedule,pattern=nightly-{{date 'YYYYMMDD'}}",
	"type=semver,pattern={{version}}",
	"type=semver,pattern={{major}}.{{minor}}",
	"type=semver,pattern={{major}}",
	"type=review",
	"type=ref,event=branch",
	"type=ref,event=pr",
	"type=raw,value={{tag}},enable={{not is_semver}}",
	"type=sha,format=long,prefix=,enable={{is_branch}}",
}

// MetadataActionDefaults returns metadata-action's default rules.
func MetadataActionDefaults() []Rule { return mustParse(MetadataActionDefaultLines) }

// DefaultRules returns image-pipeline's default rules.
func DefaultRules() []Rule { return mustParse(DefaultRuleLines) }

func mustParse(lines []string) []Rule {
	rules, err := ParseRules(lines)
	if err != nil {
		panic(err)
	}
	return rules
}
