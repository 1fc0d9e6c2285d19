// Package app wires configuration, the pipeline stages and the report
// sinks, for the GitHub Action and for the local CLI.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/org/image-pipeline/internal/scan"
)

// Exit codes.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // a stage failed or a gate closed
	ExitConfig = 2 // bad configuration or usage
)

// Version is set at link time (-ldflags "-X …/internal/app.Version=v1.2.3").
var Version = ""

// Option configures Main.
type Option func(*environment)

// WithEnviron gives Main the whole environment (os.Environ), so that
// inputs the action does not declare can be named in a warning.
func WithEnviron(environ func() []string) Option {
	return func(e *environment) { e.environ = environ }
}

// WithScanner gives Main the vulnerability scanner of the scan stage
// (main.go passes trivy.New). The scanner is linked by the binary, not by
// this package, so that the app and its tests stay free of Trivy; without
// it the scan stage stands in and says the binary has no scanner.
func WithScanner(newScanner scan.NewScannerFunc) Option {
	return func(e *environment) { e.newScanner = newScanner }
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts ...Option) int {
	env := &environment{getenv: getenv, stdout: stdout, stderr: stderr}
	for _, o := range opts {
		o(env)
	}
	if len(args) == 0 {
		if getenv("GITHUB_ACTIONS") == "true" {
			return env.run(ctx, "run", nil)
		}
		fmt.Fprint(stderr, usage())
		return ExitConfig
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage())
		return ExitOK
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "image-pipeline %s\n", versionString())
		return ExitOK
	case "run", "plan", "build":
		return env.run(ctx, cmd, rest)
	case "lint":
		return env.lintCommand(rest)
	}
	if strings.HasPrefix(cmd, "-") {
		// Flags without a command: `image-pipeline --image x` means run.
		return env.run(ctx, "run", args)
	}
	fmt.Fprintf(stderr, "image-pipeline: unknown command %q; commands: run, plan, build, lint, version, help\n", cmd)
	return ExitConfig
}

type environment struct {
	getenv         func(string) string
	environ        func() []string
	stdout, stderr io.Writer
	newScanner     scan.NewScannerFunc
}

func usage() string {
	var b strings.Builder
	b.WriteString(`image-pipeline lints, builds, scans, pushes and signs a container image in one step.

Usage:
  image-pipeline run  [flags]    run the pipeline (the default in GitHub Actions)
  image-pipeline plan [flags]    print the computed tags, cache refs and labels without building
  image-pipeline build [flags]   lint and build only (no scan, push or sign; the cache is read, not written)
  image-pipeline lint [--config FILE] [--format text|json|sarif] [--failure-threshold LEVEL] DOCKERFILE...
                                 lint Dockerfiles (hadolint-compatible); exit 1 at the threshold
  image-pipeline version         print the version
  image-pipeline help            print this help

Every action input is a flag of the same name (--build-args for build-args);
INPUT_* variables are honoured too, and flags win over them. Outside GitHub
Actions the event is read from GITHUB_* variables when set, otherwise from the
git checkout (a push of the current branch).

Flags:
`)
	fs := newFlagSet(io.Discard)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	b.WriteString(`
Exit codes: 0 success, 1 a stage failed or a gate closed, 2 bad configuration.
`)
	return b.String()
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// errUsage marks errors that are the caller's (exit 2).
var errUsage = errors.New("usage")

// parseFlags parses the flags of run/plan. A boolean input may be written
// `--no-cache`, `--no-cache=false` or, like every other input,
// `--no-cache false`.
func parseFlags(fs *flag.FlagSet, args []string) error {
	args = joinBoolValues(fs, args)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (every input is a --flag)", errUsage, fs.Arg(0))
	}
	return nil
}

// joinBoolValues turns `--flag true` into `--flag=true` for boolean flags,
// which the flag package would otherwise read as a bare flag and a stray
// argument.
func joinBoolValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && !strings.Contains(name, "=") && i+1 < len(args) {
			if f := fs.Lookup(name); f != nil {
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
					if _, err := strconv.ParseBool(args[i+1]); err == nil {
						out = append(out, a+"="+args[i+1])
						i++
						continue
					}
				}
			}
		}
		out = append(out, a)
	}
	return out
}
