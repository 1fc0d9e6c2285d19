package app

import (
	"flag"
	"io"
	"strings"

	"github.com/org/image-pipeline/internal/config"
	"github.com/org/image-pipeline/internal/ghactions"
)

// inputFlag holds one input's flag value; booleans may be given bare.
type inputFlag struct {
	value  string
	set    bool
	isBool bool
}

func (f *inputFlag) String() string   { return f.value }
func (f *inputFlag) IsBoolFlag() bool { return f.isBool }
func (f *inputFlag) Set(v string) error {
	if f.set && !f.isBool {
		// Repeated list flags append: --build-args A=1 --build-args B=2.
		f.value += "\n" + v
	} else {
		f.value = v
	}
	f.set = true
	return nil
}

// inputFlags are the flags mirroring the action inputs, by input name.
type inputFlags map[string]*inputFlag

// flagSet is a FlagSet with one flag per action input.
type flagSet struct {
	*flag.FlagSet
	inputs inputFlags
	format *string
}

func newFlagSet(out io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("image-pipeline", flag.ContinueOnError), inputs: inputFlags{}}
	fs.SetOutput(out)
	for _, in := range config.Inputs {
		f := &inputFlag{isBool: in.Kind == config.Bool}
		fs.inputs[in.Name] = f
		desc := strings.ReplaceAll(in.Description, "`", "'")
		if in.Default != "" && !strings.HasPrefix(in.Default, "${{") {
			desc += " (default " + in.Default + ")"
		}
		fs.Var(f, in.Name, desc)
	}
	fs.format = fs.String("format", "text", "output format of plan: text or json")
	return fs
}

// source returns the config source: flags first, then INPUT_* variables.
func (fs *flagSet) source(getenv func(string) string) config.Source {
	return func(name string) (string, bool) {
		if f, ok := fs.inputs[name]; ok && f.set {
			return f.value, true
		}
		if v, ok := lookupEnv(getenv, ghactions.InputEnvName(name)); ok {
			return v, true
		}
		return "", false
	}
}

// lookupEnv treats an empty variable as unset: the runner sets INPUT_X=""
// for inputs that have no default, and that must mean "use the default".
func lookupEnv(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}
