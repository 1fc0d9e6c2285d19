package registry

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

// fastRetry keeps the tests' backoffs short.
var fastRetry = RetryPolicy{Attempts: 10, InitialDelay: 5 * time.Millisecond, MaxDelay: 100 * time.Millisecond}

// randomLayout writes a small random image to an OCI layout, as the
// BuildKit oci exporter leaves it, and returns it as the build's final
// image with its manifest digest.
func randomLayout(t testing.TB, layers int, size int64) (pipeline.BuiltImage, string) {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return writeLayout(t, img), digestOf(t, img)
}

func writeLayout(t testing.TB, img v1.Image) pipeline.BuiltImage {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return pipeline.BuiltImage{Role: pipeline.RoleFinal, OCILayout: dir}
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// direct rewrites a reference through a proxy into the same reference on
// the real registry behind it.
func direct(ref, proxyHost, registry string) string {
	return strings.Replace(ref, proxyHost+"/", registry+"/", 1)
}

// tagsOf makes full references of repo for each tag.
func tagsOf(repo string, tags ...string) []string {
	out := make([]string, len(tags))
	for i, tag := range tags {
		out[i] = repo + ":" + tag
	}
	return out
}

// retryTransportForTest wraps w as go-containerregistry does for a push:
// its retry transport with our predicate, backoff and status codes.
func retryTransportForTest(ctx context.Context, w *wire) http.RoundTripper {
	return transport.NewRetry(w,
		transport.WithRetryBackoff(fastRetry.backoff()),
		transport.WithRetryPredicate(retryable(ctx)),
		transport.WithRetryStatusCodes(retryStatusCodes...))
}

// readBackWhole reads ref (repo@digest or repo:tag through the proxy)
// straight from the registry and fails the test unless it validates blob
// by blob (validate.Image inflates every layer and checks its diff id) and
// has want's diff ids.
func readBackWhole(t *testing.T, env *testenv.Env, p *proxy, ref string, want v1.Image) v1.Image {
	t.Helper()
	r, err := name.ParseReference(direct(ref, p.Host, env.Registry))
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Image(r, env.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pushed); err != nil {
		t.Fatalf("the pushed image %s does not read back whole: %v", ref, err)
	}
	got, _ := pushed.ConfigFile()
	wantCfg, _ := want.ConfigFile()
	if !slices.Equal(got.RootFS.DiffIDs, wantCfg.RootFS.DiffIDs) {
		t.Fatalf("pushed diff ids %v, want %v", got.RootFS.DiffIDs, wantCfg.RootFS.DiffIDs)
	}
	return pushed
}
