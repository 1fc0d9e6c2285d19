package testenv

import (
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh/agent"
)

// SSHAgent serves an SSH agent with an empty keyring on a socket in dir,
// as webfactory/ssh-agent or ssh-agent -a leaves one, until the test ends.
// It returns the socket's path (for SSH_AUTH_SOCK).
func SSHAgent(t testing.TB, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(agent.NewKeyring(), c)
			}()
		}
	}()
	return sock
}
