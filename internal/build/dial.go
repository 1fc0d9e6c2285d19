package build

import (
	"context"
	"fmt"
	"net"
	"strings"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
)

// EngineDialer is the part of the Docker Engine API client
// (*github.com/docker/docker/client.Client) that reaches the engine's embedded
// BuildKit: it upgrades an Engine API request to a raw connection.
type EngineDialer interface {
	DialHijack(ctx context.Context, url, proto string, meta map[string][]string) (net.Conn, error)
}

// NewEngineClient returns a BuildKit client for the Docker Engine's embedded
// BuildKit. The control API goes over the Engine API's /grpc endpoint (HTTP/2
// cleartext) and each build session over /session, the way docker buildx's
// "docker" driver reaches it. This is the only way into BuildKit that a
// GitHub-hosted runner gives an action: the engine socket.
//
// The connection is made lazily: the first call on the client reports an
// engine that does not answer.
func NewEngineClient(ctx context.Context, engine EngineDialer, opts ...bkclient.ClientOpt) (*bkclient.Client, error) {
	if engine == nil {
		return nil, fmt.Errorf("connect to the Docker Engine's BuildKit: no Docker Engine client given")
	}
	dialGRPC := func(ctx context.Context, _ string) (net.Conn, error) {
		conn, err := engine.DialHijack(ctx, "/grpc", "h2c", nil)
		if err != nil {
			return nil, fmt.Errorf("open the Docker Engine's BuildKit endpoint /grpc (is the engine running, and is it 18.09 or newer?): %w", err)
		}
		return conn, nil
	}
	all := append([]bkclient.ClientOpt{
		bkclient.WithContextDialer(dialGRPC),
		bkclient.WithSessionDialer(engineSessionDialer(engine)),
	}, opts...)
	// An empty address: the dialer above decides where to connect.
	c, err := bkclient.New(ctx, "", all...)
	if err != nil {
		return nil, fmt.Errorf("create a BuildKit client for the Docker Engine: %w", err)
	}
	return c, nil
}

// NewRemoteClient returns a BuildKit client for a standalone buildkitd at
// address: unix:///path/to/buildkitd.sock, tcp://host:port, or any scheme
// BuildKit's connection helpers know (docker-container://, kube-pod://, ...).
// TLS for tcp:// is set with bkclient.WithServerConfig and
// bkclient.WithCredentials in opts.
//
// The connection is made lazily: the first call on the client reports a
// buildkitd that does not answer.
func NewRemoteClient(ctx context.Context, address string, opts ...bkclient.ClientOpt) (*bkclient.Client, error) {
	if address == "" {
		return nil, fmt.Errorf("connect to buildkitd: no address given (want unix:///path/to/buildkitd.sock or tcp://host:port)")
	}
	if !strings.Contains(address, "://") {
		return nil, fmt.Errorf("connect to buildkitd: address %q has no scheme (want unix:///path/to/buildkitd.sock or tcp://host:port)", address)
	}
	c, err := bkclient.New(ctx, address, opts...)
	if err != nil {
		return nil, fmt.Errorf("create a BuildKit client for buildkitd at %s: %w", address, err)
	}
	return c, nil
}

// engineSessionDialer opens build sessions on the engine's /session
// endpoint. A session shared by several solves is run with it directly.
func engineSessionDialer(engine EngineDialer) session.Dialer {
	return func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		conn, err := engine.DialHijack(ctx, "/session", proto, meta)
		if err != nil {
			return nil, fmt.Errorf("open a build session on the Docker Engine's /session endpoint: %w", err)
		}
		return conn, nil
	}
}
