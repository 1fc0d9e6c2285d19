package build

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/org/image-pipeline/internal/inputerr"
)

// stage is one FROM of a Dockerfile.
type stage struct {
	Name string // lower case, "" when unnamed
	Line int    // the FROM line
	// Instructions are the stage's instructions after FROM.
	Instructions []instruction
}

// instruction is one Dockerfile instruction and where it is.
type instruction struct {
	Line, EndLine int
	Text          string // whitespace collapsed, as BuildKit names the step
}

// dockerfileInfo is what the build needs to know about the Dockerfile
// before sending it to BuildKit: its stages, and its text for messages.
type dockerfileInfo struct {
	Stages []stage
	Lines  []string
}

// readDockerfile reads the stages of the Dockerfile at path. Only FROM
// lines are looked at: every other error is BuildKit's to report, with its
// line, so that the messages match what the build would say.
func readDockerfile(path, display string) (*dockerfileInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the Dockerfile %s: %w", display, err)
	}
	info := &dockerfileInfo{Lines: strings.Split(string(data), "\n")}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		// Leave the error to the build, which reports it with its line.
		return info, nil
	}
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "from") {
			if len(info.Stages) > 0 {
				st := &info.Stages[len(info.Stages)-1]
				st.Instructions = append(st.Instructions, instruction{Line: n.StartLine, EndLine: n.EndLine, Text: collapse(n.Original)})
			}
			continue
		}
		var words []string
		for w := n.Next; w != nil; w = w.Next {
			words = append(words, w.Value)
		}
		st := stage{Line: n.StartLine}
		if len(words) >= 3 && strings.EqualFold(words[1], "as") {
			st.Name = strings.ToLower(words[2])
		}
		info.Stages = append(info.Stages, st)
	}
	return info, nil
}

// hasStage reports whether a stage of that name exists (names are case
// insensitive, as in the Dockerfile frontend).
func (d *dockerfileInfo) hasStage(name string) bool {
	name = strings.ToLower(name)
	for _, s := range d.Stages {
		if s.Name == name {
			return true
		}
	}
	return false
}

// stageNames lists the named stages, for error messages.
func (d *dockerfileInfo) stageNames() string {
	var names []string
	for _, s := range d.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "none (no FROM … AS name)"
	}
	return strings.Join(names, ", ")
}

// IsLastStage reports whether target names the last stage of the
// Dockerfile at path (the stage built without a target). False when the
// file cannot be read or parsed.
func IsLastStage(path, target string) bool {
	d, err := readDockerfile(path, path)
	if err != nil || len(d.Stages) == 0 || target == "" {
		return false
	}
	return d.lastStage().Name == strings.ToLower(target)
}

// DeclaredArgs are the build args the Dockerfile at path declares (ARG,
// before the first FROM or in any stage), with their default values (nil
// when an ARG has none). ok is false when the file cannot be read or
// parsed: then nothing is known.
func DeclaredArgs(path string) (args map[string]*string, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	args = map[string]*string{}
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "arg") {
			continue
		}
		for w := n.Next; w != nil; w = w.Next {
			k, v, hasDefault := strings.Cut(w.Value, "=")
			if k == "" {
				continue
			}
			if !hasDefault {
				if _, seen := args[k]; !seen {
					args[k] = nil
				}
				continue
			}
			if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
				v = v[1 : len(v)-1]
			}
			if prev, seen := args[k]; !seen || prev == nil {
				args[k] = &v
			} else if *prev != v {
				// Two defaults: the value counts whatever it is.
				args[k] = nil
			}
		}
	}
	return args, true
}

// lastStage is the stage built when no target is given.
func (d *dockerfileInfo) lastStage() stage {
	if len(d.Stages) == 0 {
		return stage{}
	}
	return d.Stages[len(d.Stages)-1]
}

// targets resolves the final and builder targets. builder is "" when no
// builder image is built: builder-target none, no stage named builder, or
// the builder is the final target itself.
func (d *dockerfileInfo) targets(o Options) (final, builder string, err error) {
	final = strings.ToLower(o.Target)
	if final != "" && len(d.Stages) > 0 && !d.hasStage(final) {
		return "", "", inputerr.New("target", o.Target, "is not a stage of the Dockerfile "+o.dockerfileDisplay(), d.stageNames())
	}
	finalName := final
	if finalName == "" {
		finalName = d.lastStage().Name
	}
	switch bt := strings.ToLower(o.BuilderTarget); bt {
	case BuilderTargetNone:
	case "":
		if d.hasStage(DefaultBuilderStage) {
			builder = DefaultBuilderStage
		}
	default:
		if len(d.Stages) > 0 && !d.hasStage(bt) {
			return "", "", inputerr.New("builder-target", o.BuilderTarget, "is not a stage of the Dockerfile "+o.dockerfileDisplay(), d.stageNames()+", or none")
		}
		builder = bt
	}
	if builder != "" && builder == finalName {
		builder = ""
	}
	return final, builder, nil
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// stepPlace finds the Dockerfile lines of a step named by BuildKit
// ("[builder 3/5] RUN make", "[stage-1 2/2] COPY . .", "[2/3] RUN x"), for
// BuildKits that send no source ranges with their errors (Docker 20.10's).
// The step's text is looked for in its stage; failing that, its number.
func (d *dockerfileInfo) stepPlace(step string) (line, endLine int, ok bool) {
	m := stepParts.FindStringSubmatch(step)
	if m == nil {
		return 0, 0, false
	}
	fields := strings.Fields(m[1])
	var st *stage
	if len(fields) > 0 {
		name := strings.ToLower(fields[len(fields)-1])
		for i := range d.Stages {
			if d.Stages[i].Name == name || "stage-"+strconv.Itoa(i) == name {
				st = &d.Stages[i]
			}
		}
		if st == nil && !strings.Contains(name, "/") {
			return 0, 0, false
		}
	}
	if st == nil {
		if len(d.Stages) != 1 {
			return 0, 0, false
		}
		st = &d.Stages[0]
	}
	text := collapse(m[4])
	for _, in := range st.Instructions {
		if in.Text == text || strings.EqualFold(in.Text, text) {
			return in.Line, in.EndLine, true
		}
	}
	k, _ := strconv.Atoi(m[2])
	switch {
	case k == 1:
		return st.Line, st.Line, true
	case k >= 2 && k-2 < len(st.Instructions):
		in := st.Instructions[k-2]
		return in.Line, in.EndLine, true
	}
	return 0, 0, false
}

// stepParts splits "[prefix k/n] text".
var stepParts = regexp.MustCompile(`^\[([^\]]*?)\s*(\d+)/(\d+)\] (.*)$`)
