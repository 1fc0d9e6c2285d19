package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

const sampleFile = `# Written by scripts/testenv up
IMAGE_PIPELINE_STATE_DIR=/state
DOCKER_HOST=unix:///var/run/docker.sock
BUILDKIT_HOST=unix:///state/buildkitd/buildkitd.sock
TESTENV_REGISTRY=127.0.0.1:5000
TESTENV_AUTH_REGISTRY=127.0.0.1:5443

TESTENV_AUTH_USER="ci-user"
export TESTENV_AUTH_PASSWORD='s3cret=with=equals'
TESTENV_CA_FILE=/state/certs/ca.crt
TESTENV_BASE_IMAGE=127.0.0.1:5000/testenv/base:latest
TESTENV_AUTH_BASE_IMAGE=127.0.0.1:5443/testenv/base:latest
TESTENV_DOCKER_CONFIG=/state/docker-config
TESTENV_BIN_DIR=/cache/buildkit-v0.26.2/bin
SOMETHING_NEW=ignored
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "testenv.env")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFile(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	path := writeFile(t, sampleFile)
	e, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"File":          path,
		"StateDir":      "/state",
		"DockerHost":    "unix:///var/run/docker.sock",
		"BuildkitHost":  "unix:///state/buildkitd/buildkitd.sock",
		"Registry":      "127.0.0.1:5000",
		"AuthRegistry":  "127.0.0.1:5443",
		"AuthUser":      "ci-user",
		"AuthPassword":  "s3cret=with=equals",
		"CAFile":        "/state/certs/ca.crt",
		"BaseImage":     "127.0.0.1:5000/testenv/base:latest",
		"AuthBaseImage": "127.0.0.1:5443/testenv/base:latest",
		"DockerConfig":  "/state/docker-config",
		"BinDir":        "/cache/buildkit-v0.26.2/bin",
	}
	got := map[string]string{
		"File": e.File, "StateDir": e.StateDir, "DockerHost": e.DockerHost, "BuildkitHost": e.BuildkitHost,
		"Registry": e.Registry, "AuthRegistry": e.AuthRegistry, "AuthUser": e.AuthUser, "AuthPassword": e.AuthPassword,
		"CAFile": e.CAFile, "BaseImage": e.BaseImage, "AuthBaseImage": e.AuthBaseImage,
		"DockerConfig": e.DockerConfig, "BinDir": e.BinDir,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

func TestLoadFileDockerHostFromEnvironmentWins(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
	e, err := LoadFile(writeFile(t, sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if e.DockerHost != "tcp://127.0.0.1:2375" {
		t.Fatalf("DockerHost = %q, want the process's DOCKER_HOST", e.DockerHost)
	}
}

func TestLoadFileErrorsSayHowToFix(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"missing keys", "DOCKER_HOST=unix:///x\nTESTENV_REGISTRY=\n", "lacks BUILDKIT_HOST, TESTENV_REGISTRY"},
		{"not key=value", "DOCKER_HOST\n", ":1 is not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFile(writeFile(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), StartCommand) {
				t.Fatalf("err = %v, want it to contain %q and %q", err, tc.want, StartCommand)
			}
		})
	}
	_, err := LoadFile(filepath.Join(t.TempDir(), "absent.env"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), StartCommand) {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestDefaultFile(t *testing.T) {
	t.Setenv(FileVar, "")
	t.Setenv(StateDirVar, "")
	t.Setenv("HOME", "/home/dev")
	if got, _ := DefaultFile(); got != "/home/dev/.local/state/image-pipeline/testenv.env" {
		t.Errorf("default: %q", got)
	}
	t.Setenv(StateDirVar, "/var/tmp/state")
	if got, _ := DefaultFile(); got != "/var/tmp/state/testenv.env" {
		t.Errorf("with %s: %q", StateDirVar, got)
	}
	t.Setenv(FileVar, "/elsewhere/my.env")
	if got, _ := DefaultFile(); got != "/elsewhere/my.env" {
		t.Errorf("with %s: %q", FileVar, got)
	}
}

func TestUniqueRepo(t *testing.T) {
	e := &Env{}
	a := e.UniqueRepo(t, "127.0.0.1:5000", "Push Test!")
	b := e.UniqueRepo(t, "127.0.0.1:5000", "Push Test!")
	if a == b {
		t.Fatalf("two calls gave the same repository %q", a)
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:5000/testenv/push-test-testuniquerepo-[0-9a-f]{8}$`).MatchString(a) {
		t.Fatalf("UniqueRepo = %q", a)
	}
	if _, err := name.NewRepository(a, name.StrictValidation); err != nil {
		t.Fatalf("%q is not a valid repository: %v", a, err)
	}
	t.Run("A very long/sub test name with UPPER case and ünïcode that goes on and on", func(t *testing.T) {
		r := e.UniqueRepo(t, "localhost:5443", "")
		if _, err := name.NewRepository(r, name.StrictValidation); err != nil {
			t.Fatalf("%q is not a valid repository: %v", r, err)
		}
	})
}

func TestAuthKeychain(t *testing.T) {
	e := &Env{AuthRegistry: "127.0.0.1:5443", Registry: "127.0.0.1:5000", AuthUser: "u", AuthPassword: "p"}
	for _, tc := range []struct {
		ref  string
		want authn.AuthConfig
	}{
		{"127.0.0.1:5443/a/b:1", authn.AuthConfig{Username: "u", Password: "p"}},
		{"localhost:5443/a/b:1", authn.AuthConfig{Username: "u", Password: "p"}},
		{"127.0.0.1:5000/a/b:1", authn.AuthConfig{}},
	} {
		ref, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.AuthKeychain().Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		got, err := authn.Authorization(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		if *got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.ref, *got, tc.want)
		}
	}
}

func TestTransportWithoutCAReportsIt(t *testing.T) {
	e := &Env{CAFile: filepath.Join(t.TempDir(), "missing.crt")}
	req, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1:1/", nil)
	_, err := e.Transport().RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "test CA") {
		t.Fatalf("err = %v, want it to name the test CA", err)
	}
}

// recordingTB records Skip and Fatal instead of stopping the goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recordingTB) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

func TestRequireCLISkipsOrFails(t *testing.T) {
	missingBin := filepath.Join(t.TempDir(), "cosign")
	t.Setenv(RequireServicesVar, "")
	var r recordingTB
	RequireCLI(&r, "cosign CLI", missingBin, "bash scripts/tools-cosign")
	if r.failed != "" || !strings.Contains(r.skipped, "bash scripts/tools-cosign") {
		t.Fatalf("without %s: skipped %q, failed %q", RequireServicesVar, r.skipped, r.failed)
	}
	t.Setenv(RequireServicesVar, "1")
	r = recordingTB{}
	RequireCLI(&r, "cosign CLI", missingBin, "bash scripts/tools-cosign")
	if r.skipped != "" || !strings.Contains(r.failed, missingBin) {
		t.Fatalf("with %s=1: skipped %q, failed %q", RequireServicesVar, r.skipped, r.failed)
	}
	if err := os.WriteFile(missingBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = recordingTB{}
	if got := RequireCLI(&r, "cosign CLI", missingBin, "x"); got != missingBin || r.failed != "" || r.skipped != "" {
		t.Errorf("an executable CLI: %q, failed %q, skipped %q", got, r.failed, r.skipped)
	}
}

func TestUnavailableSkipsOrFails(t *testing.T) {
	cause := os.ErrNotExist
	t.Setenv(RequireServicesVar, "")
	var r recordingTB
	unavailable(&r, cause)
	if r.failed != "" || !strings.Contains(r.skipped, "make testenv-up") {
		t.Fatalf("without %s: skipped %q, failed %q", RequireServicesVar, r.skipped, r.failed)
	}

	t.Setenv(RequireServicesVar, "1")
	r = recordingTB{}
	unavailable(&r, cause)
	if r.skipped != "" || !strings.Contains(r.failed, "make testenv-up") || !strings.Contains(r.failed, RequireServicesVar) {
		t.Fatalf("with %s=1: skipped %q, failed %q", RequireServicesVar, r.skipped, r.failed)
	}
}
