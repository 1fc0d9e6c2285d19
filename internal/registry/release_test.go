package registry

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/org/image-pipeline/internal/pipeline"
	"github.com/org/image-pipeline/internal/testenv"
)

func TestIsReleaseTag(t *testing.T) {
	cases := []struct {
		tag  string
		want bool
	}{
		{"1.2.3", true},
		{"v1.2.3", true},
		{"0.0.1", true},
		{"1.2.3-rc.1", true},
		{"1.2.3_build.5", true},
		{"10.20.30", true},
		{"1.2", false},
		{"1", false},
		{"latest", false},
		{"main", false},
		{"sha-0123456", false},
		{"pr-12", false},
		{"review-pr-12-abcdef0-20250101T000000Z", false},
		{"01.2.3", false},
		{"1.2.3.4", false},
	}
	for _, tc := range cases {
		t.Run(tc.tag, func(t *testing.T) {
			if got := IsReleaseTag(tc.tag); got != tc.want {
				t.Errorf("IsReleaseTag(%q) = %v, want %v", tc.tag, got, tc.want)
			}
		})
	}
}

// TestReleaseTagsAreImmutable pushes 1.2.3 (with 1.2, 1 and latest), then
// different content with the same tags: refused before any tag moves
// unless overwrite-release-tags is on. Pushing the same content again is
// fine.
func TestReleaseTagsAreImmutable(t *testing.T) {
	env := testenv.RequireRegistries(t)
	cases := []struct {
		name      string
		overwrite bool
	}{
		{name: "refused", overwrite: false},
		{name: "overwrite-release-tags", overwrite: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := env.UniqueRepo(t, env.Registry, "release")
			tags := tagsOf(repo, "1.2.3", "1.2", "1", "latest")
			first, firstDigest := randomLayout(t, 1, 512)
			second, secondDigest := randomLayout(t, 1, 512)
			pusher, err := New(Options{Retry: fastRetry}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pusher.Push(t.Context(), Request{Image: first, Tags: tags}); err != nil {
				t.Fatal(err)
			}
			// The same content again: nothing to refuse.
			if _, err := pusher.Push(t.Context(), Request{Image: first, Tags: tags}); err != nil {
				t.Fatalf("re-pushing the same image: %v", err)
			}

			again, err := New(Options{Retry: fastRetry, OverwriteReleaseTags: tc.overwrite}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = again.Push(t.Context(), Request{Image: second, Tags: tags})
			want := firstDigest
			if tc.overwrite {
				if err != nil {
					t.Fatalf("overwrite-release-tags: true, push failed: %v", err)
				}
				want = secondDigest
			} else {
				var rte *ReleaseTagError
				if !errors.As(err, &rte) {
					t.Fatalf("err = %v, want a ReleaseTagError", err)
				}
				for _, s := range []string{repo + ":1.2.3 already points at " + firstDigest, "not at the new image " + secondDigest, "overwrite-release-tags: true"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
			}
			// No tag moved when refused (the check comes before any write),
			// all moved with overwrite.
			for _, tag := range tags {
				if got := env.HeadDigest(t, tag); got != want {
					t.Errorf("%s points at %s, want %s", tag, got, want)
				}
			}
		})
	}
}

// TestCrossRepositoryMount: a second repository of the same registry gets
// the layers by mount, from the first repository of the same push or from
// a cache-from hint, instead of a new upload.
func TestCrossRepositoryMount(t *testing.T) {
	env := testenv.RequireRegistries(t)
	p := startProxy(t, env, env.Registry, proxyConfig{})
	pusher, err := New(Options{Transport: p.Transport, Retry: fastRetry}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mounted := func(from int) int {
		n := 0
		for _, r := range p.requests()[from:] {
			if r.Method == "POST" && strings.Contains(r.Query, "from=") && r.Status == 201 {
				n++
			}
		}
		return n
	}

	// Two repositories in one push: the second mounts both layers.
	a, b := env.UniqueRepo(t, p.Host, "mount-a"), env.UniqueRepo(t, p.Host, "mount-b")
	bi, want := randomLayout(t, 2, 4096)
	res, err := pusher.Push(t.Context(), Request{Image: bi, Tags: append(tagsOf(a, "x"), tagsOf(b, "x")...)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want || len(res.Repositories) != 2 {
		t.Fatalf("result = %+v", res)
	}
	if n := mounted(0); n != 2 {
		t.Errorf("%d layers mounted into the second repository, want 2:\n%s", n, p.dump())
	}

	// A new image on the same base, to a third repository, with the first
	// as a cache-from hint: the base layers are mounted, the new one
	// uploaded.
	base, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	top, err := random.Layer(4096, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	derived, err := mutate.AppendLayers(base, top)
	if err != nil {
		t.Fatal(err)
	}
	baseRepo := env.UniqueRepo(t, p.Host, "mount-base")
	if _, err := pusher.Push(t.Context(), Request{Image: writeLayout(t, base), Tags: tagsOf(baseRepo, "main")}); err != nil {
		t.Fatal(err)
	}
	before := len(p.requests())
	c := env.UniqueRepo(t, p.Host, "mount-c")
	if _, err := pusher.Push(t.Context(), Request{Image: writeLayout(t, derived), Tags: tagsOf(c, "main"), MountFrom: tagsOf(baseRepo, "main")}); err != nil {
		t.Fatal(err)
	}
	if n := mounted(before); n != 2 {
		t.Errorf("%d base layers mounted from the cache-from repository, want 2:\n%s", n, p.dump())
	}
	if got := env.HeadDigest(t, direct(c+":main", p.Host, env.Registry)); got != digestOf(t, derived) {
		t.Errorf("%s:main points at %s", c, got)
	}
}

// TestReleaseRerunKeepsTheReleasedImage: the re-run button builds the
// same commit again, and an image that differs only in timestamps gets a
// new digest. When the release tags hold an image with this run's revision
// and build-inputs labels, the push keeps it: every tag points at the
// released digest and the rebuild is not pushed. Any other difference is
// still refused, saying why.
func TestReleaseRerunKeepsTheReleasedImage(t *testing.T) {
	env := testenv.RequireRegistries(t)
	const rev, inputs = "860c1904a1ce19322e91ac35af1ab07466440c37", "sha256:1111"
	labelled := func(t *testing.T, labels map[string]string, created string) (pipeline.BuiltImage, string) {
		t.Helper()
		base, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := base.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Labels = labels
		cf.Config.Labels["org.opencontainers.image.created"] = created
		img, err := mutate.ConfigFile(base, cf)
		if err != nil {
			t.Fatal(err)
		}
		return writeLayout(t, img), digestOf(t, img)
	}
	same := map[string]string{LabelRevision: rev, LabelBuildInputs: inputs}
	cases := []struct {
		name    string
		second  map[string]string
		req     Request
		wantErr string // "" : a recognised re-run
	}{
		{name: "same commit and inputs", second: same, req: Request{Revision: rev, BuildInputs: inputs}},
		{name: "other commit", second: map[string]string{LabelRevision: "aaaa", LabelBuildInputs: inputs},
			req: Request{Revision: "aaaa", BuildInputs: inputs}, wantErr: "the released image was built from commit " + rev + ", this run from aaaa"},
		{name: "same commit, other inputs", second: map[string]string{LabelRevision: rev, LabelBuildInputs: "sha256:2222"},
			req: Request{Revision: rev, BuildInputs: "sha256:2222"}, wantErr: "with other build inputs"},
		{name: "no labels on this run", second: same, req: Request{}, wantErr: "release tags are immutable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := env.UniqueRepo(t, env.Registry, "rerun")
			tags := tagsOf(repo, "1.2.3", "1.2", "1", "latest")
			first, firstDigest := labelled(t, map[string]string{LabelRevision: rev, LabelBuildInputs: inputs}, "run 1")
			second, secondDigest := labelled(t, tc.second, "run 2")
			pusher, err := New(Options{Retry: fastRetry}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pusher.Push(t.Context(), Request{Image: first, Tags: tags[:1], Revision: rev, BuildInputs: inputs}); err != nil {
				t.Fatal(err)
			}
			// A moving tag left elsewhere by an older release is moved to
			// the release on re-run.
			older, olderDigest := randomLayout(t, 1, 128)
			if _, err := pusher.Push(t.Context(), Request{Image: older, Tags: tags[1:]}); err != nil {
				t.Fatal(err)
			}
			req := tc.req
			req.Image, req.Tags = second, tags
			res, err := pusher.Push(t.Context(), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				if got := env.HeadDigest(t, tags[0]); got != firstDigest {
					t.Errorf("refused, yet %s moved to %s", tags[0], got)
				}
				if got := env.HeadDigest(t, tags[1]); got != olderDigest {
					t.Errorf("refused, yet %s moved to %s", tags[1], got)
				}
				return
			}
			if err != nil {
				t.Fatalf("re-run refused: %v", err)
			}
			if res.Digest != firstDigest || res.Rerun == nil || res.Rerun.Built != secondDigest || res.Rerun.Released != firstDigest {
				t.Errorf("result digest %s rerun %+v, want the released %s kept over %s", res.Digest, res.Rerun, firstDigest, secondDigest)
			}
			for _, tag := range tags {
				if got := env.HeadDigest(t, tag); got != firstDigest {
					t.Errorf("%s points at %s, want the released %s", tag, got, firstDigest)
				}
			}
			if len(res.Refs) != len(tags) {
				t.Errorf("refs %v, want all %d tags read back", res.Refs, len(tags))
			}
		})
	}
}

// TestConcurrentReleasesOfOneVersion: two runs release 7.7.7 with
// different images at the same moment, 20 rounds. Every round at most one
// reports success, the other says another run released it, and all four
// tags point at the winner's digest: never success twice, never tags split
// across images.
func TestConcurrentReleasesOfOneVersion(t *testing.T) {
	env := testenv.RequireRegistries(t)
	wins := 0
	for round := range 20 {
		repo := env.UniqueRepo(t, env.Registry, fmt.Sprintf("race%d", round))
		tags := tagsOf(repo, "7.7.7", "7.7", "7", "latest")
		var imgs [2]pipeline.BuiltImage
		var digests [2]string
		for i := range imgs {
			imgs[i], digests[i] = randomLayout(t, 1, 256)
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pusher, err := New(Options{Retry: fastRetry, ClaimSettle: 300 * time.Millisecond}, nil)
				if err != nil {
					errs[i] = err
					return
				}
				<-start
				_, errs[i] = pusher.Push(t.Context(), Request{Image: imgs[i], Tags: tags})
			}()
		}
		close(start)
		wg.Wait()
		var winner = -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: both runs reported success (%s and %s)", round, digests[0], digests[1])
				}
				winner = i
				continue
			}
			var race *ReleaseRaceError
			var moved *ReleaseTagError
			if !errors.As(err, &race) && !errors.As(err, &moved) {
				t.Errorf("round %d: run %d failed for another reason: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither run succeeded: %v / %v", round, errs[0], errs[1])
		}
		wins++
		for _, tag := range tags {
			if got := env.HeadDigest(t, tag); got != digests[winner] {
				t.Errorf("round %d: %s points at %s, not at the winner's %s", round, tag, got, digests[winner])
			}
		}
	}
	t.Logf("20 rounds: one winner each, tags never split")
}
