package app

import (
	"os"
	"strings"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// pastedDockerfile fails its build unless every pasted input reached it.
const pastedDockerfile = `ARG BASE=127.0.0.1:5000/testenv/base:latest
FROM ${BASE}
ARG NONCE
COPY --from=extra hello.txt /hello.txt
RUN test "$(cat /hello.txt)" = "hello from the extra context"
RUN --mount=type=secret,id=filesecret,required=true test "$(cat /run/secrets/filesecret)" = "file-secret-0123456789"
RUN --mount=type=ssh,required=true test -S "$SSH_AUTH_SOCK"
RUN grep -q "10.1.2.3" /etc/hosts
RUN test "$(df -k /dev/shm | awk 'NR==2 {print $2}')" = 131072
`

// TestEndToEndBuildPushActionInputs (#18.6): build-push-action's
// build-contexts, secret-files, ssh, add-hosts and shm-size, pasted into
// the action and run by the runner, reach the RUN steps (the build fails
// otherwise); a bad value is a configuration error naming the input.
func TestEndToEndBuildPushActionInputs(t *testing.T) {
	env := testenv.Require(t)
	_, engines := testenv.RequireEngines(t)
	host := ""
	for _, en := range engines {
		if en.Name == "docker29-classic" { // the hosted runners' engine
			host = en.Host
		}
	}
	if host == "" {
		t.Fatal("no docker29-classic engine in the test environment")
	}
	image := env.UniqueRepo(t, env.Registry, "e2e-pasted")
	// An agent, named by SSH_AUTH_SOCK as webfactory/ssh-agent names it
	// (the ssh line default takes the variable as the runner sets it).
	dir, err := os.MkdirTemp("", "agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := testenv.SSHAgent(t, dir)
	in := e2eInputs(t, env, image)
	in["build-args"] += "\nNONCE=" + image
	in["build-contexts"] = "extra=extra-dir"
	in["secret-files"] = "filesecret=secrets/file.txt"
	in["ssh"] = "default"
	in["add-hosts"] = "myhost:10.1.2.3"
	in["shm-size"] = "128m"
	in["lint-failure-threshold"] = "error"
	files := "Dockerfile=" + pastedDockerfile + ";extra-dir/hello.txt=hello from the extra context;secrets/file.txt=file-secret-0123456789"
	r := runAsRunner(t, "push_main", in, map[string]string{"DOCKER_HOST": host, "SSH_AUTH_SOCK": sock, "TEST_FILES": files})
	if r.code != 0 || r.outputs["pushed"] != "true" {
		t.Fatalf("exit %d, outputs %v\n%s", r.code, r.outputs, r.stdout)
	}
	if strings.Contains(strings.ReplaceAll(r.stdout, "::add-mask::file-secret-0123456789", ""), "file-secret-0123456789") || strings.Contains(r.summary, "file-secret-0123456789") {
		t.Error("the secret file's content reached the log or the summary")
	}
	if !strings.Contains(r.stdout, "::add-mask::file-secret-0123456789") {
		t.Error("the secret file's content was not masked")
	}

	bad := runAsRunner(t, "push_main", map[string]string{"network": "bridge", "shm-size": "lots", "add-hosts": "nohost"}, nil)
	for _, want := range []string{`input "network": "bridge" is not a network mode`, `input "shm-size": "lots" is not a size`, `input "add-hosts": "nohost" is not host:ip`} {
		if bad.code != ExitConfig || !strings.Contains(bad.stdout, want) {
			t.Errorf("bad values: exit %d, want %d and %q\n%s", bad.code, ExitConfig, want, bad.stdout)
		}
	}
}
