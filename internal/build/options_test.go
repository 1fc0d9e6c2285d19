package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv/wanterr"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(ws, "sub", "build.Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(ws, "ca.pem"), "x")
	env := map[string]string{"TOKEN": "t0k"}
	base := Options{Workspace: ws, Getenv: func(k string) string { return env[k] }}
	tests := []struct {
		name string
		edit func(o *Options)
		want []string // substrings of the error, "" for none
	}{
		{name: "defaults", edit: func(*Options) {}},
		{name: "every value accepted", edit: func(o *Options) {
			o.Context, o.File, o.Target, o.BuilderTarget = "sub", "sub/build.Dockerfile", "production", "none"
			o.BuildArgs = mustArgs(t, "A=1", "", "B=")
			o.Secrets = mustSecrets(t, []string{"npm=secret=with=equals"}, []string{"gh=TOKEN"})
			o.Platforms = []string{"linux/amd64", "linux/arm64/v8"}
			o.Cache = CacheInline
			o.BuildkitAddress, o.BuildkitTLSCA = "tcp://buildkit:1234", "ca.pem"
		}},
		// cache is an enum config checks (app TestEnumInputsMatchTheStages).
		{name: "context and file", edit: func(o *Options) { o.Context, o.File = "nope", "nope/Dockerfile" },
			want: []string{`input "context": "nope" is not a directory`, `input "file": "nope/Dockerfile" is not a file`}},
		{name: "default file missing", edit: func(o *Options) { o.Context = "sub" },
			want: []string{`input "file": "sub/Dockerfile" is not a file`}},
		// labels are the tag engine's input: internal/config TestParseLabels;
		// build-args, secrets, secret-envs and platforms are parsed by
		// config (TestParseBuildInputs): only the environment is read here.
		{name: "secret-envs naming an unset variable", edit: func(o *Options) {
			o.Secrets = mustSecrets(t, nil, []string{"a=TOKEN", "b=UNSET"})
		}, want: []string{`the environment variable UNSET (for secret "b") is empty`}},
		{name: "targets", edit: func(o *Options) { o.Target, o.BuilderTarget = "a b", "-x" },
			want: []string{`input "target": "a b" is not a stage name`, `input "builder-target": "-x" is not a stage name`}},
		{name: "address", edit: func(o *Options) { o.BuildkitAddress = "/run/buildkit.sock" },
			want: []string{`input "buildkit-address": "/run/buildkit.sock" is not an address`}},
		{name: "address scheme", edit: func(o *Options) { o.BuildkitAddress = "ssh://host" },
			want: []string{`uses a scheme this action does not support`}},
		{name: "tls without tcp", edit: func(o *Options) { o.BuildkitTLSCA = "ca.pem" },
			want: []string{`input "buildkit-tls-ca": "ca.pem" is set but buildkit-address is not a tcp:// address`}},
		{name: "tls pair", edit: func(o *Options) { o.BuildkitAddress, o.BuildkitTLSCert = "tcp://h:1", "ca.pem" },
			want: []string{`input "buildkit-tls-cert" and buildkit-tls-key must be set together`}},
		{name: "tls file missing", edit: func(o *Options) { o.BuildkitAddress, o.BuildkitTLSCA = "tcp://h:1", "missing.pem" },
			want: []string{`input "buildkit-tls-ca": "missing.pem" is not a readable file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			wanterr.Check(t, o.Validate(), tc.want...)
		})
	}
}

func mustArgs(t testing.TB, lines ...string) []BuildArg {
	t.Helper()
	a, err := ParseBuildArgs(lines)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustSecrets(t testing.TB, secrets, envs []string) []Secret {
	t.Helper()
	s, err := ParseSecrets(secrets, envs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The build inputs config parses with these functions: every bad line is
// reported, by its number, never with its value.
func TestParseBuildInputs(t *testing.T) {
	_, err := ParseBuildArgs([]string{"A=1", "novalue", "B C=x"})
	wanterr.Check(t, err, `input "build-args": line 2 has no NAME=`, `input "build-args": line 3 has no NAME=`)
	_, err = ParseSecrets([]string{"plain-value-without-id", "a=1"}, []string{"a=TOKEN", "b=SET", "c"})
	wanterr.Check(t, err, `input "secrets": line 1 has no id=`, `input "secret-envs" secret id "a" is given twice`, `input "secret-envs": line 3 ("c") is not id=ENVVAR`)
	got, err := ParsePlatforms([]string{" linux/amd64", "linux/arm64/v8"})
	if err != nil || strings.Join(got, ",") != "linux/amd64,linux/arm64/v8" {
		t.Errorf("ParsePlatforms = %q, %v", got, err)
	}
	_, err = ParsePlatforms([]string{"linux/amd64", "windows//"})
	wanterr.Check(t, err, `input "platforms": "windows//" is not a platform`)
	args := mustArgs(t, "A=1", "", "B=x=y")
	if len(args) != 2 || args[1] != (BuildArg{Name: "B", Value: "x=y"}) {
		t.Errorf("build args %+v", args)
	}
}

// TestValidateNeverPrintsSecrets: a malformed secrets line is named by its
// number, never by its value.
func TestValidateNeverPrintsSecrets(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\n")
	_, serr := ParseSecrets([]string{"hunter2-no-id"}, nil)
	_, aerr := ParseBuildArgs([]string{"hunter3"})
	err := errors.Join(serr, aerr)
	if err == nil || strings.Contains(err.Error(), "hunter") {
		t.Fatalf("parse errors = %v", err)
	}
	if got := (Options{Secrets: mustSecrets(t, []string{"a=x1", "b=x2", "", "c="}, nil)}).SecretValues(); strings.Join(got, ",") != "x1,x2" {
		t.Errorf("SecretValues() = %q", got)
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		o                   Options
		ctx, file, fileShow string
	}{
		{Options{}, ".", "Dockerfile", "Dockerfile"},
		{Options{Workspace: "/ws"}, "/ws", "/ws/Dockerfile", "Dockerfile"},
		{Options{Workspace: "/ws", Context: "app"}, "/ws/app", "/ws/app/Dockerfile", "app/Dockerfile"},
		{Options{Workspace: "/ws", Context: "app", File: "docker/prod.Dockerfile"}, "/ws/app", "/ws/docker/prod.Dockerfile", "docker/prod.Dockerfile"},
		{Options{Workspace: "/ws", Context: "/abs"}, "/abs", "/abs/Dockerfile", "/abs/Dockerfile"},
	}
	for _, tc := range tests {
		if got := tc.o.contextDir(); got != tc.ctx {
			t.Errorf("%+v: context %q, want %q", tc.o, got, tc.ctx)
		}
		if got := tc.o.dockerfilePath(); got != tc.file {
			t.Errorf("%+v: file %q, want %q", tc.o, got, tc.file)
		}
		if got := tc.o.dockerfileDisplay(); got != tc.fileShow {
			t.Errorf("%+v: shown file %q, want %q", tc.o, got, tc.fileShow)
		}
	}
	if (Options{}).Driver() != DriverDocker || (Options{BuildkitAddress: "unix:///x"}).Driver() != DriverRemote {
		t.Error("Driver() does not follow buildkit-address")
	}
}

// A context or Dockerfile whose real path leaves the workspace — a
// committed symlink, .. or an absolute path — is a configuration error:
// the build would send files from outside the checkout.
func TestContextAndFileStayInTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret", "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(outside, "Evil.Dockerfile"), "FROM scratch\n")
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(ws, "app", "Dockerfile"), "FROM scratch\n")
	for link, target := range map[string]string{"linked-ctx": filepath.Join(outside, "secret"), "linked.Dockerfile": filepath.Join(outside, "Evil.Dockerfile"), "inside-link": "app"} {
		if err := os.Symlink(target, filepath.Join(ws, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, context, file, want string
	}{
		{name: "inside", context: "app"},
		{name: "a symlink that stays inside", context: "inside-link"},
		{name: "context symlinked out", context: "linked-ctx", want: `input "context": "linked-ctx" leaves the workspace`},
		{name: "context with ..", context: "../" + filepath.Base(outside) + "/secret", want: `leaves the workspace`},
		{name: "absolute context outside", context: filepath.Join(outside, "secret"), want: `leaves the workspace`},
		{name: "Dockerfile symlinked out", file: "linked.Dockerfile", want: `input "file": "linked.Dockerfile" leaves the workspace`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.context, "../") {
				// .. from the workspace: both temp dirs share a parent.
				if filepath.Dir(ws) != filepath.Dir(outside) {
					t.Fatal("the test's temp dirs do not share a parent")
				}
			}
			err := Options{Workspace: ws, Context: tc.context, File: tc.file}.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
