package build

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/org/image-pipeline/internal/inputerr"
)

// The build-push-action inputs users paste (#18.6): build-contexts,
// secret-files, ssh, add-hosts, network, shm-size. Each is parsed here,
// checked by Options.Validate, and turned into BuildKit frontend options
// or session attachables by the builder.

// BuildContext is one line of build-contexts: name=source, where source
// is docker-image://ref, an https:// or git URL, or a directory of the
// workspace.
type BuildContext struct {
	Name, Source string
}

// local reports whether the source is a directory (sent through the
// session), not something BuildKit fetches.
func (c BuildContext) local() bool {
	for _, p := range []string{"docker-image://", "https://", "http://", "git@", "git://", "oci-layout://", "target:", "input:"} {
		if strings.HasPrefix(c.Source, p) {
			return false
		}
	}
	return true
}

// ParseBuildContexts reads build-contexts: name=source, one per line.
func ParseBuildContexts(lines []string) ([]BuildContext, error) {
	const accepted = "name=docker-image://image:tag, name=https://… (a git or tarball URL), or name=path (a directory in the workspace), one per line"
	var out []BuildContext
	var errs []error
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, src, ok := strings.Cut(line, "=")
		name, src = strings.TrimSpace(name), strings.TrimSpace(src)
		switch {
		case !ok || name == "" || src == "":
			errs = append(errs, inputerr.New("build-contexts", "", fmt.Sprintf("line %d is not name=source", i+1), accepted))
			continue
		case strings.ContainsAny(name, " \t,="):
			errs = append(errs, inputerr.New("build-contexts", "", fmt.Sprintf("line %d names the context %q, which has a space, a comma or an =", i+1, name), accepted))
			continue
		case strings.HasPrefix(src, "oci-layout://"), strings.HasPrefix(src, "target:"), strings.HasPrefix(src, "input:"):
			errs = append(errs, inputerr.New("build-contexts", "", fmt.Sprintf("line %d uses a source of the form %s, which this action does not support", i+1, strings.SplitN(src, ":", 2)[0]), accepted))
			continue
		case slices.ContainsFunc(out, func(c BuildContext) bool { return c.Name == name }):
			errs = append(errs, inputerr.New("build-contexts", "", fmt.Sprintf("line %d names the context %q again", i+1, name), accepted))
			continue
		}
		out = append(out, BuildContext{Name: name, Source: src})
	}
	return out, errors.Join(errs...)
}

// ParseSecretFiles reads secret-files: id=path, one per line. The file is
// read when the build starts.
func ParseSecretFiles(lines []string) ([]Secret, error) {
	var out []Secret
	var errs []error
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, p, ok := strings.Cut(line, "=")
		id, p = strings.TrimSpace(id), strings.TrimSpace(p)
		if !ok || id == "" || p == "" {
			errs = append(errs, inputerr.New("secret-files", "", fmt.Sprintf("line %d is not id=path", i+1), "id=path of a file in the workspace or RUNNER_TEMP, one per line"))
			continue
		}
		out = append(out, Secret{ID: id, File: p})
	}
	return out, errors.Join(errs...)
}

// SSHAgent is one line of the ssh input: default (the runner's
// SSH_AUTH_SOCK), or id=socket-or-key[,…].
type SSHAgent struct {
	ID    string
	Paths []string
}

// ParseSSH reads the ssh input.
func ParseSSH(lines []string) ([]SSHAgent, error) {
	const accepted = "default (the agent at SSH_AUTH_SOCK), or id=path of an agent socket or a private key file, one per line"
	var out []SSHAgent
	var errs []error
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, paths, _ := strings.Cut(line, "=")
		id = strings.TrimSpace(id)
		if id == "" || strings.ContainsAny(id, " \t,") {
			errs = append(errs, inputerr.New("ssh", "", fmt.Sprintf("line %d has no id", i+1), accepted))
			continue
		}
		a := SSHAgent{ID: id}
		for _, p := range strings.Split(paths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				a.Paths = append(a.Paths, p)
			}
		}
		if slices.ContainsFunc(out, func(o SSHAgent) bool { return o.ID == id }) {
			errs = append(errs, inputerr.New("ssh", "", fmt.Sprintf("line %d names the id %q again", i+1, id), accepted))
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// ParseAddHosts reads add-hosts: host:ip entries (a list), as
// build-push-action takes them (host=ip too). It returns host=ip.
func ParseAddHosts(list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, e := range list {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		host, ip, ok := strings.Cut(e, "=")
		if !ok {
			host, ip, ok = strings.Cut(e, ":")
		}
		host, ip = strings.TrimSpace(host), strings.TrimSpace(ip)
		if !ok || host == "" || strings.ContainsAny(host, " \t,") || (net.ParseIP(ip) == nil && ip != "host-gateway") {
			errs = append(errs, inputerr.New("add-hosts", e, "is not host:ip", "host:ip entries, e.g. docker:10.180.0.1 (an IPv4 or IPv6 address, or host-gateway)"))
			continue
		}
		out = append(out, host+"="+ip)
	}
	return out, errors.Join(errs...)
}

// Network modes of the network input.
const (
	NetworkDefault = "default"
	NetworkNone    = "none"
	NetworkHost    = "host"
)

// ParseNetwork reads the network input: default (empty), none or host.
func ParseNetwork(v string) (string, error) {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "", NetworkDefault:
		return "", nil
	case NetworkNone, NetworkHost:
		return v, nil
	}
	return "", inputerr.New("network", v, "is not a network mode of RUN steps", "default, none or host (host needs a builder that allows the network.host entitlement)")
}

// ParseShmSize reads shm-size: a size of /dev/shm for RUN steps, in
// Docker's units (64m, 1g, or bytes). 0: BuildKit's default.
func ParseShmSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil || n <= 0 {
		return 0, inputerr.New("shm-size", v, "is not a size", "a size such as 64m, 1g or a number of bytes")
	}
	return n, nil
}

// secretFileValue reads a secret-files file: a regular file inside the
// workspace or RUNNER_TEMP (a previous step's output), symlinks not
// followed out of them.
func (o Options) secretFileValue(s Secret) ([]byte, error) {
	p := o.resolve(s.File)
	accepted := "id=path of a file in the workspace or RUNNER_TEMP"
	if !o.inWorkspaceOrTemp(p) {
		return nil, inputerr.New("secret-files", s.ID+"="+s.File, "names a file outside the workspace and RUNNER_TEMP (through .., an absolute path or a symlink)", accepted)
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, inputerr.New("secret-files", s.ID+"="+s.File, "is not a readable file", accepted)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, inputerr.Wrap("secret-files", s.ID+"="+s.File, "cannot be read", accepted, err)
	}
	return b, nil
}

// sshPaths checks the ssh input's paths: sockets and key files in the
// workspace or RUNNER_TEMP; default with no path takes SSH_AUTH_SOCK.
func (o Options) sshPaths(a SSHAgent) ([]string, error) {
	const accepted = "default (the agent at SSH_AUTH_SOCK), or id=path of an agent socket or a private key file in the workspace or RUNNER_TEMP"
	paths := slices.Clone(a.Paths)
	if len(paths) == 0 {
		sock := o.getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, inputerr.New("ssh", a.ID, "has no path, and SSH_AUTH_SOCK is not set: there is no agent to forward", accepted+"; in a container action the agent's socket must be under RUNNER_TEMP, e.g. webfactory/ssh-agent with ssh-auth-sock: ${{ runner.temp }}/ssh-agent.sock")
		}
		return []string{sock}, nil
	}
	for i, p := range paths {
		paths[i] = o.resolve(p)
		if _, err := os.Stat(paths[i]); err != nil {
			return nil, inputerr.New("ssh", a.ID+"="+p, "names a path that does not exist", accepted)
		}
		if !o.inWorkspaceOrTemp(paths[i]) {
			return nil, inputerr.New("ssh", a.ID+"="+p, "names a path outside the workspace and RUNNER_TEMP (through .., an absolute path or a symlink)", accepted)
		}
	}
	return paths, nil
}

// inWorkspaceOrTemp reports whether path, symlinks resolved, is in the
// workspace or RUNNER_TEMP (where a previous step leaves files).
func (o Options) inWorkspaceOrTemp(path string) bool {
	if o.Workspace == "" {
		return true
	}
	for _, r := range []string{o.Workspace, o.getenv("RUNNER_TEMP")} {
		if r != "" && insideRoot(r, path) {
			return true
		}
	}
	return false
}

// shmSizeAttr is the frontend's shm-size option, in bytes.
func shmSizeAttr(n int64) string { return strconv.FormatInt(n, 10) }

// insideRoot reports whether path, symlinks resolved, is within root.
func insideRoot(root, path string) bool {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		// A file that does not exist yet: judge the path as written.
		p = filepath.Clean(path)
	}
	rel, err := filepath.Rel(r, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
