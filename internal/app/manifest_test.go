package app

// The action manifest as GitHub's runner reads it. The rules come from
// actions/runner's src/Runner.Worker/action_yaml.json (the template schema
// the runner loads action.yml with; read at commit 0009633e) and from
// GitHub's metadata syntax documentation:
//
//   - the root maps name, description, inputs, outputs and runs; other keys
//     (author, branding) are loose; name and description are required;
//   - an input has description, required, default and deprecationMessage;
//     only default is an expression context, and it allows the named-values
//     github, strategy, matrix, job and runner and the function hashFiles;
//     every other string is read without a context, so `${{` anywhere else
//     stops the job at "Set up job" (Unrecognized named-value);
//   - a container action's runs holds using, image, entrypoint, args, env,
//     pre-entrypoint, pre-if, post-entrypoint and post-if;
//   - outputs of a container action have a description only (value is for
//     composite actions);
//   - input and output ids start with a letter or _ and hold letters,
//     digits, - and _;
//   - branding.color is one of nine names and branding.icon a Feather icon.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/report"
)

var (
	rootKeys        = []string{"name", "description", "author", "inputs", "outputs", "runs", "branding"}
	inputKeys       = []string{"description", "required", "default", "deprecationMessage"}
	dockerRunsKeys  = []string{"using", "image", "entrypoint", "args", "env", "pre-entrypoint", "pre-if", "post-entrypoint", "post-if"}
	defaultContexts = []string{"github", "strategy", "matrix", "job", "runner"}
	defaultFuncs    = []string{"hashfiles"}
	brandingColors  = []string{"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
	// A subset of Feather's icon names: the ones this action might use.
	brandingIcons = []string{"activity", "anchor", "archive", "award", "box", "check-circle", "check-square", "cloud",
		"code", "command", "cpu", "database", "download-cloud", "feather", "file-text", "git-branch", "git-commit",
		"git-merge", "git-pull-request", "hard-drive", "layers", "lock", "package", "server", "shield", "terminal",
		"tool", "upload-cloud", "zap"}
	idPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	// An exact version (1.2.3, v1.2.3-rc.1) or a digest; never latest, a
	// major or minor tag, or a Dockerfile built on every run.
	pinnedImage = regexp.MustCompile(`^docker://[^:@\s]+(:v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$`)
)

// checkManifest returns one problem per broken rule.
func checkManifest(data []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{"not YAML: " + err.Error()}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return []string{"the root is not a mapping"}
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	root := doc.Content[0]
	fields := mapping(root)
	for _, k := range keys(root) {
		if !slices.Contains(rootKeys, k) {
			bad("unknown top-level key %q (accepted: %s)", k, strings.Join(rootKeys, ", "))
		}
	}
	for _, k := range []string{"name", "description", "runs"} {
		if fields[k] == nil {
			bad("required key %q is missing", k)
		}
	}
	// Every string is read without an expression context, except the
	// inputs' defaults.
	walkStrings(root, "", func(path, s string) {
		if strings.Contains(s, "${{") && !regexp.MustCompile(`^inputs\.[^.]+\.default$`).MatchString(path) {
			bad("%s holds an expression (%q): the runner evaluates ${{ }} there and fails the job at Set up job", path, s)
		}
	})
	if in := fields["inputs"]; in != nil {
		for _, name := range keys(in) {
			if !idPattern.MatchString(name) {
				bad("input id %q is not a letter or _ followed by letters, digits, - and _", name)
			}
			spec := mapping(in)[name]
			for _, k := range keys(spec) {
				if !slices.Contains(inputKeys, k) {
					bad("input %q has unknown key %q (accepted: %s)", name, k, strings.Join(inputKeys, ", "))
				}
			}
			if mapping(spec)["description"] == nil {
				bad("input %q has no description", name)
			}
			if d := mapping(spec)["default"]; d != nil {
				for _, p := range defaultExpressionProblems(d.Value) {
					bad("input %q default %q: %s", name, d.Value, p)
				}
			}
		}
	}
	if out := fields["outputs"]; out != nil {
		for _, name := range keys(out) {
			if !idPattern.MatchString(name) {
				bad("output id %q is not a letter or _ followed by letters, digits, - and _", name)
			}
			for _, k := range keys(mapping(out)[name]) {
				if k != "description" {
					bad("output %q has key %q: a container action's outputs have a description only", name, k)
				}
			}
		}
	}
	if runs := fields["runs"]; runs != nil {
		rf := mapping(runs)
		if rf["using"] == nil || rf["using"].Value != "docker" {
			bad("runs.using is not docker")
		}
		for _, k := range keys(runs) {
			if !slices.Contains(dockerRunsKeys, k) {
				bad("runs has unknown key %q (accepted: %s)", k, strings.Join(dockerRunsKeys, ", "))
			}
		}
		switch img := rf["image"]; {
		case img == nil:
			bad("runs.image is missing")
		case !pinnedImage.MatchString(img.Value):
			bad("runs.image %q is not a prebuilt image pinned to an exact version or digest (docker://name:1.2.3 or docker://name@sha256:…)", img.Value)
		}
	}
	if br := fields["branding"]; br != nil {
		bf := mapping(br)
		if c := bf["color"]; c != nil && !slices.Contains(brandingColors, c.Value) {
			bad("branding.color %q is not one of %s", c.Value, strings.Join(brandingColors, ", "))
		}
		if i := bf["icon"]; i != nil && !slices.Contains(brandingIcons, i.Value) {
			bad("branding.icon %q is not a Feather icon this test knows", i.Value)
		}
	}
	return problems
}

// defaultExpressionProblems lists the named-values and functions of the
// expressions in an input default that the runner does not allow there.
func defaultExpressionProblems(s string) []string {
	var problems []string
	for _, m := range regexp.MustCompile(`\$\{\{(.*?)\}\}`).FindAllStringSubmatch(s, -1) {
		expr := regexp.MustCompile(`'(?:[^']|'')*'`).ReplaceAllString(m[1], "''") // drop string literals
		for _, tok := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_-]*(\s*\()?`).FindAllString(expr, -1) {
			// Property names after a dot are not named-values.
			if i := strings.Index(expr, tok); i > 0 && expr[i-1] == '.' {
				expr = expr[i+len(tok):]
				continue
			}
			expr = expr[strings.Index(expr, tok)+len(tok):]
			word := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(tok), "(")))
			switch {
			case strings.HasSuffix(strings.TrimSpace(tok), "("):
				if !slices.Contains(defaultFuncs, word) && !slices.Contains([]string{"format", "contains", "startswith", "endswith", "join", "tojson", "fromjson"}, word) {
					problems = append(problems, fmt.Sprintf("function %s() is not available in an input default", word))
				}
			case slices.Contains([]string{"true", "false", "null"}, word):
			case !slices.Contains(defaultContexts, word):
				problems = append(problems, fmt.Sprintf("named-value %q is not available in an input default (allowed: %s)", word, strings.Join(defaultContexts, ", ")))
			}
		}
	}
	if strings.Count(s, "${{") != strings.Count(s, "}}") {
		problems = append(problems, "an expression is not closed")
	}
	return problems
}

func mapping(n *yaml.Node) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = n.Content[i+1]
	}
	return m
}

func keys(n *yaml.Node) []string {
	var out []string
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// walkStrings calls f with the dotted path of every scalar (keys too).
func walkStrings(n *yaml.Node, path string, f func(path, s string)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := strings.TrimPrefix(path+"."+k, ".")
			f(p+" (key)", k)
			walkStrings(n.Content[i+1], p, f)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkStrings(c, fmt.Sprintf("%s[%d]", path, i), f)
		}
	case yaml.ScalarNode:
		f(path, n.Value)
	}
}

func TestManifestFollowsTheRunnersSchema(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"action.yml": committed, "generated": []byte(ActionYAML())} {
		for _, p := range checkManifest(data) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// The tables action.yml is generated from: a new input or output whose
// description holds an expression fails here, naming it.
func TestNoExpressionInTheTables(t *testing.T) {
	for _, in := range config.Inputs {
		if strings.Contains(in.Description, "${{") {
			t.Errorf("input %q: its description holds ${{ }}, which the runner evaluates (write <secret> or the like instead)", in.Name)
		}
		for _, p := range defaultExpressionProblems(in.Default) {
			t.Errorf("input %q default %q: %s", in.Name, in.Default, p)
		}
	}
	for _, o := range report.OutputSpecs {
		if strings.Contains(o.Description, "${{") {
			t.Errorf("output %q: its description holds ${{ }}", o.Name)
		}
	}
}

// Each rule fires on a manifest that breaks it.
func TestManifestChecksFire(t *testing.T) {
	good := ActionYAML()
	cases := []struct {
		name, from, to, want string
	}{
		{name: "expression in a description", from: `description: "Build context directory`, to: `description: "Build context ${{ secrets.X }} directory`, want: "inputs.context.description holds an expression"},
		{name: "secrets in a default", from: `default: "${{ github.token }}"`, to: `default: "${{ secrets.GITHUB_TOKEN }}"`, want: `named-value "secrets" is not available in an input default`},
		{name: "env in a default", from: `default: "${{ github.token }}"`, to: `default: "${{ env.TOKEN }}"`, want: `named-value "env" is not available`},
		{name: "unknown function in a default", from: `default: "${{ github.token }}"`, to: `default: "${{ success() }}"`, want: "function success() is not available"},
		{name: "unknown top-level key", from: "author: image-pipeline", to: "author: image-pipeline\nmaintainer: x", want: `unknown top-level key "maintainer"`},
		{name: "bad branding color", from: "color: blue", to: "color: teal", want: `branding.color "teal"`},
		{name: "Dockerfile image", from: ActionImage, to: "Dockerfile", want: `runs.image "Dockerfile" is not a prebuilt image`},
		{name: "moving tag", from: ActionImage, to: "docker://ghcr.io/org/image-pipeline:1", want: "is not a prebuilt image pinned"},
		{name: "latest", from: ActionImage, to: "docker://ghcr.io/org/image-pipeline:latest", want: "is not a prebuilt image pinned"},
		{name: "no tag", from: ActionImage, to: "docker://ghcr.io/org/image-pipeline", want: "is not a prebuilt image pinned"},
		{name: "output value", from: "outputs:\n  result:\n", to: "outputs:\n  result:\n    value: x\n", want: `output "result" has key "value"`},
		{name: "bad input id", from: "  context:\n", to: "  9context:\n", want: `input id "9context"`},
		{name: "unknown input key", from: "    required: false\n    default: \".\"", to: "    required: false\n    type: string\n    default: \".\"", want: `has unknown key "type"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("the generated manifest has no %q to break", tc.from)
			}
			broken := strings.Replace(good, tc.from, tc.to, 1)
			problems := checkManifest([]byte(broken))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				sort.Strings(problems)
				t.Errorf("no problem says %q:\n%s", tc.want, strings.Join(problems, "\n"))
			}
		})
	}
	// Pinned forms pass.
	for _, img := range []string{"docker://ghcr.io/org/image-pipeline:1.0.0", "docker://ghcr.io/org/image-pipeline:v2.3.4-rc.1",
		"docker://ghcr.io/org/image-pipeline@sha256:" + strings.Repeat("a", 64), "docker://ghcr.io/org/image-pipeline:1.0.0@sha256:" + strings.Repeat("b", 64)} {
		if !pinnedImage.MatchString(img) {
			t.Errorf("%s is pinned but rejected", img)
		}
	}
}
