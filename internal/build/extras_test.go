package build_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ibuild "github.com/org/image-pipeline/internal/build"
	"github.com/org/image-pipeline/internal/testenv"
	"github.com/org/image-pipeline/internal/testenv/wanterr"
)

// TestBuildPushActionInputs (#18.6): build-contexts, secret-files, ssh,
// add-hosts, network and shm-size reach the RUN steps on every builder, as
// the image's files show.
func TestBuildPushActionInputs(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "extras")
		secret := "s3cret-from-a-file-" + nonce(t)
		if err := os.WriteFile(filepath.Join(o.Workspace, "secret.txt"), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		sock := testenv.SSHAgent(t, tmp)
		o.Getenv = func(k string) string {
			switch k {
			case "SSH_AUTH_SOCK":
				return sock
			case "RUNNER_TEMP":
				return tmp
			}
			return ""
		}
		o.BuildArgs = append(o.BuildArgs, ibuild.BuildArg{Name: "NONCE", Value: nonce(t)})
		o.Secrets = []ibuild.Secret{{ID: "filesecret", File: "secret.txt"}}
		o.BuildContexts = []ibuild.BuildContext{{Name: "extra", Source: "extra"}}
		o.SSH = []ibuild.SSHAgent{{ID: "default"}}
		o.AddHosts = []string{"myhost=10.1.2.3"}
		o.Network = ibuild.NetworkNone
		o.ShmSize = 128 << 20
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		checks := map[string]string{}
		if d.backend == "docker20" {
			// Docker 20.10's BuildKit v0.8 has no named contexts: refused,
			// naming the input; everything else works there.
			_, _, err := d.build(t, o, nil)
			wanterr.Check(t, err, `input "build-contexts": "extra=extra" needs BuildKit v0.10 or later`)
			o.BuildContexts = nil
			_, _, err = d.build(t, o, nil)
			wanterr.Check(t, err, `input "shm-size": "134217728 bytes" needs BuildKit v0.10 or later`)
			o.ShmSize = 0
			checks["shm-kb"] = "65536" // the default
			if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte(strings.Replace(extrasDockerfile(t), "COPY --from=extra hello.txt", "COPY extra/hello.txt", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, log := d.mustBuild(t, o, nil)
		files, layers, _ := imageFiles(t, d.image(t, *res.Outcome.Final()))
		got := func(name string) string { return strings.TrimSpace(string(files["out/"+name])) }
		for k, v := range map[string]string{
			"extra-context": "hello from the extra context",
			"secret-length": strconv.Itoa(len(secret)),
			"ssh":           "socket",
			"shm-kb":        "131072",
			"non-loopback":  "0",
		} {
			if _, set := checks[k]; !set {
				checks[k] = v
			}
		}
		for name, want := range checks {
			if g := got(name); g != want {
				t.Errorf("/out/%s = %q, want %q", name, g, want)
			}
		}
		if h := got("hosts"); !strings.Contains(h, "10.1.2.3") || !strings.Contains(h, "myhost") {
			t.Errorf("/etc/hosts had %q, want myhost at 10.1.2.3", h)
		}
		for i, l := range layers {
			if strings.Contains(string(l), secret) {
				t.Errorf("layer %d holds the secret file's content", i)
			}
		}
		if strings.Contains(log, secret) {
			t.Error("the build log holds the secret")
		}
	})
}

func extrasDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "extras", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBuildPushActionInputErrors: each input's bad values, named.
func TestBuildPushActionInputErrors(t *testing.T) {
	_, err := ibuild.ParseBuildContexts([]string{"noequals", "a=oci-layout:///x", "b=docker-image://alpine", "b=./x", "sp ace=./y"})
	wanterr.Check(t, err, `input "build-contexts": line 1 is not name=source`, `line 2 uses a source of the form oci-layout`, `line 4 names the context "b" again`, `line 5 names the context "sp ace"`)
	_, err = ibuild.ParseSecretFiles([]string{"id-only", "=path"})
	wanterr.Check(t, err, `input "secret-files": line 1 is not id=path`, `line 2 is not id=path`)
	_, err = ibuild.ParseSSH([]string{"=x", "default", "default"})
	wanterr.Check(t, err, `input "ssh": line 1 has no id`, `line 3 names the id "default" again`)
	hosts, err := ibuild.ParseAddHosts([]string{"docker:10.180.0.1", "v6=::1", "gw:host-gateway"})
	if err != nil || strings.Join(hosts, ",") != "docker=10.180.0.1,v6=::1,gw=host-gateway" {
		t.Errorf("add-hosts %v, %v", hosts, err)
	}
	_, err = ibuild.ParseAddHosts([]string{"nohost", "h:999.1.1.1"})
	wanterr.Check(t, err, `input "add-hosts": "nohost" is not host:ip`, `input "add-hosts": "h:999.1.1.1" is not host:ip`)
	for _, ok := range []string{"", "default", "none", "HOST"} {
		if _, err := ibuild.ParseNetwork(ok); err != nil {
			t.Errorf("network %q: %v", ok, err)
		}
	}
	_, err = ibuild.ParseNetwork("bridge")
	wanterr.Check(t, err, `input "network": "bridge" is not a network mode of RUN steps; accepted values: default, none or host`)
	if n, err := ibuild.ParseShmSize("128m"); err != nil || n != 128<<20 {
		t.Errorf("shm-size 128m: %d, %v", n, err)
	}
	_, err = ibuild.ParseShmSize("lots")
	wanterr.Check(t, err, `input "shm-size": "lots" is not a size`)

	// What only the file system can tell: Validate.
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "key"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "key"), filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	o := ibuild.Options{Workspace: ws, Context: ".", Getenv: func(string) string { return "" },
		Secrets:       []ibuild.Secret{{ID: "a", File: "missing.txt"}, {ID: "b", File: "link"}, {ID: "c", File: filepath.Join(outside, "key")}},
		BuildContexts: []ibuild.BuildContext{{Name: "x", Source: "nope"}, {Name: "y", Source: outside}},
		SSH:           []ibuild.SSHAgent{{ID: "default"}, {ID: "deploy", Paths: []string{"no-such-key"}}, {ID: "other", Paths: []string{filepath.Join(outside, "key")}}},
	}
	wanterr.Check(t, o.Validate(),
		`input "secret-files": "a=missing.txt" is not a readable file`,
		`input "secret-files": "b=link" names a file outside the workspace and RUNNER_TEMP (through .., an absolute path or a symlink)`,
		`input "secret-files": "c=/`,
		`input "build-contexts": "x=nope" names no directory of the workspace`,
		`leaves the workspace`,
		`input "ssh": "default" has no path, and SSH_AUTH_SOCK is not set`,
		`input "ssh": "deploy=no-such-key" names a path that does not exist`,
		`input "ssh": "other=/`,
	)
}

// TestNetworkHost: network: host asks for the network.host entitlement.
// The Docker Engines grant it; a buildkitd that was not started with
// --allow-insecure-entitlement network.host refuses, and the error names
// the input.
func TestNetworkHost(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "extras")
		if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\nARG NONCE\nRUN grep -v lo: /proc/net/dev | grep -c ':' > /interfaces || true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		o.BuildArgs = append(o.BuildArgs, ibuild.BuildArg{Name: "NONCE", Value: nonce(t)})
		o.Network = ibuild.NetworkHost
		_, _, err := d.build(t, o, nil)
		if d.backend == "remote" {
			wanterr.Check(t, err, "network: host needs a builder that allows the network.host entitlement")
			return
		}
		if err != nil {
			t.Errorf("network host on %s: %v", d.backend, err)
		}
	})
}

// A RUN --mount=type=ssh,required=true without the ssh input names it.
func TestSSHRequiredWithoutAgent(t *testing.T) {
	forEachDriver(t, false, func(t *testing.T, d *driver) {
		o := d.options(t, "extras")
		if err := os.WriteFile(filepath.Join(o.Workspace, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\nARG NONCE\nRUN --mount=type=ssh,required=true true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		o.BuildArgs = append(o.BuildArgs, ibuild.BuildArg{Name: "NONCE", Value: nonce(t)})
		_, _, err := d.build(t, o, nil)
		wanterr.Check(t, err, "a RUN --mount=type=ssh needs an agent: the ssh input")
	})
}
