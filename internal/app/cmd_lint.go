package app

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/org/image-pipeline/internal/ghactions"
	"github.com/org/image-pipeline/internal/lint"
)

// lintCommand is `image-pipeline lint`: hadolint's command line, more or
// less: exit 1 when the failure threshold is reached, 2 for usage errors.
func (e *environment) lintCommand(args []string) int {
	fs := flag.NewFlagSet("image-pipeline lint", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configPath := fs.String("config", "", "hadolint config file (default: .hadolint.yaml or .hadolint.yml in the current directory)")
	format := fs.String("format", "text", "output format: text, json or sarif")
	threshold := fs.String("failure-threshold", "", "exit 1 when a finding is at or above: error, warning, info, style or none (default: the config's, else info)")
	var ignore []string
	fs.Func("ignore", "rule code to ignore (repeatable)", func(v string) error {
		codes, err := lint.ParseCodeList(v)
		ignore = append(ignore, codes...)
		return err
	})
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: image-pipeline lint [--config FILE] [--format text|json|sarif] [--failure-threshold LEVEL] [--ignore CODE] DOCKERFILE...")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err == flag.ErrHelp {
		return ExitOK
	}
	if err != nil {
		return ExitConfig
	}
	if len(files) == 0 {
		fmt.Fprintln(e.stderr, "image-pipeline lint: name at least one Dockerfile")
		return ExitConfig
	}
	if *format != "text" && *format != "json" && *format != "sarif" {
		fmt.Fprintf(e.stderr, "image-pipeline lint: --format %q is not accepted; accepted values: text, json, sarif\n", *format)
		return ExitConfig
	}
	if *configPath == "" {
		*configPath, _ = lint.FindConfig(".")
	}
	cfg := &lint.Config{}
	if *configPath != "" {
		if cfg, err = lint.LoadConfig(*configPath); err != nil {
			fmt.Fprintf(e.stderr, "image-pipeline lint: %v\n", err)
			return ExitConfig
		}
	}
	cfg.Ignored = append(cfg.Ignored, ignore...)
	if *threshold != "" {
		if _, err := lint.ParseSeverity(*threshold); err != nil {
			fmt.Fprintf(e.stderr, "image-pipeline lint: --failure-threshold: %v\n", err)
			return ExitConfig
		}
		cfg.FailureThreshold = *threshold
	}
	var all []lint.Finding
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(e.stderr, "image-pipeline lint: cannot read the Dockerfile %s: %v\n", f, err)
			return ExitConfig
		}
		found, err := lint.LintFile(f, cfg)
		if err != nil {
			fmt.Fprintf(e.stderr, "image-pipeline lint: %s\n", ghactions.EscapeControls(err.Error()))
			return ExitConfig
		}
		all = append(all, found...)
	}
	var write func(io.Writer, []lint.Finding) error
	switch *format {
	case "json":
		write = lint.WriteJSON
	case "sarif":
		root, _ := os.Getwd()
		write = func(w io.Writer, f []lint.Finding) error {
			return lint.WriteSARIF(w, f, lint.SARIFOptions{RepoRoot: root, ToolVersion: versionString()})
		}
	default:
		// Text goes to a terminal or a job log: a Dockerfile's control
		// bytes (quoted in messages) are shown escaped. JSON escapes them
		// itself.
		write = func(w io.Writer, f []lint.Finding) error {
			f = slices.Clone(f)
			for i := range f {
				f[i].File = ghactions.EscapeControls(f[i].File)
				f[i].Message = ghactions.EscapeControls(f[i].Message)
			}
			return lint.WriteText(w, f)
		}
	}
	if err := write(e.stdout, all); err != nil {
		fmt.Fprintf(e.stderr, "image-pipeline lint: %v\n", err)
		return ExitFailed
	}
	if !cfg.NoFail && lint.Gate(all, cfg.Threshold()) {
		return ExitFailed
	}
	return ExitOK
}

// parseInterspersed parses flags that may come after the positional
// arguments (`lint Dockerfile --format json`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
