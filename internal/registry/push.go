package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/org/image-pipeline/internal/pipeline"
)

// Request is what one push sends.
type Request struct {
	// Image is the final image: pushed once by digest to every repository
	// of Tags, then tagged.
	Image pipeline.BuiltImage
	// Tags are full references (registry/repository:tag).
	Tags []string
	// Cache are images (builder or final) to push to their CacheRefs, after
	// the tags and on a best-effort basis: a failure is a warning.
	Cache []pipeline.BuiltImage
	// MountFrom are references in the target registries that may already
	// hold some blobs (e.g. cache-from refs): blobs missing from a target
	// repository are mounted from there when the registry has them.
	MountFrom []string
	// BaseImages are the images the Dockerfile builds FROM: those in a
	// target registry lend their layers' blobs (baseLayers).
	BaseImages []string
	// Revision and BuildInputs are the built image's revision and
	// build-inputs labels (the commit, and a digest of the Dockerfile and
	// build settings). A release tag that points at another image with
	// the same two labels is this release built again (the re-run
	// button): the released image is kept and every tag points at it.
	Revision, BuildInputs string
}

// Labels that identify what an image was built from.
const (
	LabelRevision    = "org.opencontainers.image.revision"
	LabelBuildInputs = "io.github.image-pipeline.build-inputs"
)

// Rerun says that this push re-ran a release: the release tags already
// held an image of the same commit and inputs, which was kept.
type Rerun struct {
	Released string // the digest the release tags point at, now every tag's
	Built    string // this run's image, same sources but not pushed
	Revision string
}

// Result is what a push did. Refs are listed only once they were read
// back from the registry and found to point at Digest.
type Result struct {
	Digest       string
	MediaType    string
	Repositories []string // repositories (no tag) now holding Digest
	Refs         []string // name:tag, each verified to point at Digest
	ImageRef     string   // first repository @ Digest
	CacheRefs    []string // cache refs written
	// Rerun is set when the release tags already held this commit's
	// image, built from the same inputs: Digest is that image.
	Rerun *Rerun
	// Reused, when set, says which ref of the registry already held the
	// built image, which was then pushed from there: no engine export, no
	// compression.
	Reused string
	// LayersReused counts the layers of the built image that the registry
	// already held (learnt from the refs it read): they were neither
	// compressed nor uploaded again.
	LayersReused int
	// LayersStreamed counts the layers of the built image the push gzipped
	// and uploaded to the first repository while gzipping them, before the
	// image was complete (streamup.go).
	LayersStreamed int
	// CacheLayersReused counts the layers of the cache images (the builder
	// stage's) taken from the registry or from the final image pushed
	// just before them, instead of compressed again.
	CacheLayersReused int
	// Cancelled is set when the run was cancelled while the tags were
	// being written: they were finished, nothing after them was done.
	Cancelled bool
	Warnings  []string
	Stats     Stats
	Duration  time.Duration
}

// Pusher pushes built images with the credentials, retries and checks
// that Options describe.
type Pusher struct {
	opts        Options
	engine      Engine
	creds       *credentials
	timeout     time.Duration
	timeoutText string
}

// New checks the options and returns a Pusher. engine may be nil when no
// image lives in the Docker Engine.
func New(opts Options, engine Engine) (*Pusher, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	creds, err := newCredentials(opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Pusher{opts: opts, engine: engine, creds: creds, timeout: timeout, timeoutText: timeout.String()}, nil
}

// target is one repository and the tags it gets.
type target struct {
	repo name.Repository
	tags []name.Tag
}

func groupTags(refs []string) ([]*target, error) {
	var targets []*target
	byRepo := map[string]*target{}
	var errs []error
	for _, r := range refs {
		tag, err := name.NewTag(strings.TrimSpace(r), name.StrictValidation)
		if err != nil {
			hint := ""
			repo := r
			if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") {
				repo = r[:i]
			}
			if strings.ToLower(repo) != repo {
				hint = " (repository names must be lower case, as ghcr.io and Docker require)"
			}
			errs = append(errs, fmt.Errorf("%q is not a full image reference with a tag (registry/repository:tag)%s: %w", r, hint, err))
			continue
		}
		key := tag.Context().Name()
		t, ok := byRepo[key]
		if !ok {
			t = &target{repo: tag.Context()}
			byRepo[key] = t
			targets = append(targets, t)
		}
		if !slices.ContainsFunc(t.tags, func(x name.Tag) bool { return x.TagStr() == tag.TagStr() }) {
			t.tags = append(t.tags, tag)
		}
	}
	return targets, errors.Join(errs...)
}

// Registries returns the registry hosts that refs name, in order.
func Registries(refs []string) []string {
	var out []string
	for _, r := range refs {
		ref, err := name.ParseReference(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		if h := ref.Context().RegistryStr(); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// MissingCredentials names the registries of refs for which no input gives
// credentials, leaving out registries on this machine.
func (p *Pusher) MissingCredentials(refs []string) ([]string, error) {
	return p.creds.missingCredentials(Registries(refs))
}

// session is the connection to one registry during one push.
type session struct {
	registry string
	cred     *Credential // nil: anonymous
	pusher   *remote.Pusher
	puller   *remote.Puller
	wire     *wire
}

func (s *session) describe(err error) error {
	return describe(err, s.cred, s.wire.blobOfUpload)
}

type pushRun struct {
	p        *Pusher
	ctx      context.Context
	wire     *wire
	sessions map[string]*session
	// pushed are the repositories that hold each digest after this run,
	// in order: later repositories of the same registry mount from them.
	pushed map[string][]name.Repository
	// cacheLayersReused counts the cache images' layers not compressed.
	cacheLayersReused int
	// bases are the layers of each base image read (baseLayers), so that
	// the final and the cache images read a base image's manifest once.
	bases map[string]knownLayers
}

func (r *pushRun) session(registry string) (*session, error) {
	if s, ok := r.sessions[registry]; ok {
		return s, nil
	}
	cred, ok, err := r.p.creds.lookup(registry)
	if err != nil {
		return nil, err
	}
	s := &session{registry: registry, wire: r.wire}
	auth := remoteAuth(nil)
	if ok {
		s.cred = &cred
		auth = remoteAuth(&cred)
	}
	opts := []remote.Option{
		remote.WithContext(r.ctx),
		remote.WithTransport(r.wire),
		auth,
		remote.WithRetryBackoff(r.p.opts.Retry.backoff()),
		remote.WithRetryPredicate(retryable(r.ctx)),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithJobs(r.p.opts.jobs()),
		remote.WithUserAgent("image-pipeline"),
	}
	if s.pusher, err = remote.NewPusher(opts...); err != nil {
		return nil, err
	}
	if s.puller, err = remote.NewPuller(opts...); err != nil {
		return nil, err
	}
	r.sessions[registry] = s
	return s, nil
}

func remoteAuth(c *Credential) remote.Option {
	if c == nil {
		return remote.WithAuth(nil)
	}
	return remote.WithAuth(c.authenticator())
}

// Push sends req: release tags are checked first, then the image goes to
// every repository by digest (blobs, then the manifest), then each tag is
// one manifest PUT, then every tag is read back and compared with the
// digest, then the cache images go to their cache refs. A failure before
// the tags leaves no tag written; a failure while tagging leaves only tags
// that point at the complete image.
func (p *Pusher) Push(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	run := &pushRun{p: p, sessions: map[string]*session{}, pushed: map[string][]name.Repository{}}
	run.wire = newWire(p.opts.Transport, run.logf)
	rc := newRunContext(ctx, p.opts.tagGrace(), run.logf)
	defer rc.close()
	run.ctx = rc
	tagging := false
	res := &Result{}
	defer func() {
		res.Stats = run.wire.stats()
		res.Duration = time.Since(start)
	}()
	fail := func(err error) (*Result, error) {
		if !tagging && errors.Is(ctx.Err(), context.Canceled) {
			return res, &CancelledError{Err: err}
		}
		return res, timeoutError(ctx, p.timeoutText, run.wire, err)
	}

	targets, err := groupTags(req.Tags)
	if err != nil {
		return fail(err)
	}
	if len(targets) == 0 {
		return fail(errors.New("there are no tags to push"))
	}
	art, known, layers := run.knownImage(req.Image, probeRefs(targets, req.MountFrom, req.Image.CacheRefs))
	if art != nil {
		res.Reused = known
		run.logf("the registry already holds the built image (%s): nothing is exported from the engine or compressed", known)
	} else if art, err = openBuilt(ctx, req.Image, p.engine, p.opts.TempDir, run.baseLayers(layers, targets, req), run.uploaderTo(req.Image, targets[0].repo)); err != nil {
		return fail(err)
	} else if n := len(art.mounts); n > 0 {
		res.LayersReused = n
		run.logf("%d of the image's layers are in the registry already (%s): not compressed again", n, art.mountsFrom())
	}
	defer art.cleanup()
	digest := art.digest()
	res.Digest, res.MediaType = digest.String(), string(art.manifest.mediaType)

	// 1. Release tags: every check before any write.
	var keep map[string]bool
	var rerun *rerunImage
	err = run.again(func() (err error) {
		keep, rerun, err = run.checkReleaseTags(targets, digest, req)
		return err
	})
	if err != nil {
		return fail(err)
	}
	built := art
	if rerun != nil {
		// The release already holds this commit's image: keep it, and
		// point the other tags (1.2, 1, latest) at it too.
		released, err := rerun.artifact()
		if err != nil {
			return fail(fmt.Errorf("read the released image %s: %w", rerun.digest, err))
		}
		res.Rerun = &Rerun{Released: rerun.digest.String(), Built: digest.String(), Revision: req.Revision}
		run.logf("re-run of the release of %s: %s already point at %s, built from the same commit and inputs; keeping it (this run's image %s is not pushed)",
			shortRevision(req.Revision), strings.Join(rerun.tags, ", "), rerun.digest, digest)
		art, digest = released, rerun.digest
		res.Digest, res.MediaType = digest.String(), string(art.manifest.mediaType)
	}
	// 2. The image, by digest, to every repository (the layers streamed
	// while they were compressed are there already).
	res.LayersStreamed = run.streamed(art, "the image's layers")
	for _, t := range targets {
		if err := run.again(func() error { return run.pushByDigest(t.repo, art, req.MountFrom) }); err != nil {
			return fail(err)
		}
		res.Repositories = append(res.Repositories, t.repo.Name())
	}
	// 3. The release tags first, each checked right before its PUT and
	// read back after: a release another run made at the same time wins
	// or loses as a whole, before any moving tag (1.2, 1, latest) is
	// written.
	if !rc.startTagging() {
		return fail(ctx.Err())
	}
	tagging = true
	claimed, err := run.claimReleaseTags(targets, art, keep, rerun != nil)
	if err != nil {
		return fail(err)
	}
	for k := range claimed {
		keep[k] = true
	}
	// 4. The other tags: one manifest PUT each.
	if err := run.again(func() error { return run.putTags(targets, art, keep) }); err != nil {
		return fail(err)
	}
	// 5. Read every tag back.
	var refs []string
	err = run.again(func() (err error) {
		refs, err = run.verify(targets, digest)
		return err
	})
	if err != nil {
		return fail(err)
	}
	res.Refs = refs
	res.ImageRef = targets[0].repo.Digest(digest.String()).Name()
	if rc.cancelledWhileTagging() {
		res.Cancelled = true
		res.Warnings = append(res.Warnings, "the run was cancelled: the tags were finished, the cache images were not pushed")
		return res, nil
	}
	// 6. Cache images, best effort.
	res.CacheRefs, res.Warnings = run.pushCache(req, built)
	res.CacheLayersReused = run.cacheLayersReused
	return res, nil
}

// Prefetcher is an Engine that can export an image ahead of its use
// (enginesave.Spool).
type Prefetcher interface {
	Prefetch(ref string)
}

// prefetch starts the engine's export of an engine image ahead of the
// push, when the Engine can (a classic store's image: the containerd
// store's saves are cheap and a layout needs none).
func (p *Pusher) prefetch(bi pipeline.BuiltImage) {
	pf, ok := p.engine.(Prefetcher)
	if !ok || bi.OCILayout != "" || bi.EngineImageID == "" {
		return
	}
	pf.Prefetch(bi.SaveKey())
}

// semverTag matches a full release version (1.2.3, v1.2.3, 1.2.3-rc.1,
// 1.2.3+build — "+" is written "_" in tags): such a tag names one release
// and must not move. 1.2, 1, latest and branch tags move by design.
var semverTag = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?([_+][0-9A-Za-z._-]+)?$`)

// IsReleaseTag reports whether tag is a full semver version.
func IsReleaseTag(tag string) bool { return semverTag.MatchString(tag) }

// ReleaseTagError lists release tags that already point elsewhere.
type ReleaseTagError struct {
	Digest string
	Moved  []MovedTag
	// Why says why the run was not taken for a re-run of that release.
	Why string
}

// MovedTag is a release tag and the digest it points at now.
type MovedTag struct {
	Ref     string
	Current string
}

func (e *ReleaseTagError) Error() string {
	var parts []string
	for _, m := range e.Moved {
		parts = append(parts, fmt.Sprintf("%s already points at %s", m.Ref, m.Current))
	}
	why := ""
	if e.Why != "" {
		why = " (" + e.Why + ")"
	}
	return fmt.Sprintf("release tags are immutable: %s, not at the new image %s%s; nothing was pushed — publish a new version, or set overwrite-release-tags: true to move them",
		strings.Join(parts, "; "), e.Digest, why)
}

// checkReleaseTags reads every release tag before anything is written. It
// returns the tags that already point at digest (no PUT needed) and, when
// the release tags that point elsewhere all hold one image built from the
// same revision and inputs as this run's, that image: the run is a re-run.
func (r *pushRun) checkReleaseTags(targets []*target, digest v1.Hash, req Request) (map[string]bool, *rerunImage, error) {
	keep := map[string]bool{}
	var moved []MovedTag
	var movedRefs []name.Tag
	for _, t := range targets {
		s, err := r.session(t.repo.RegistryStr())
		if err != nil {
			return nil, nil, err
		}
		for _, tag := range t.tags {
			if !IsReleaseTag(tag.TagStr()) {
				continue
			}
			desc, err := s.puller.Head(r.ctx, tag)
			if err != nil {
				var te *transport.Error
				// Some registries answer 403 rather than 404 for a package
				// that does not exist yet; a real refusal shows on the push.
				if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusForbidden) {
					continue
				}
				return nil, nil, fmt.Errorf("check the release tag %s: %w", tag.Name(), s.describe(err))
			}
			switch {
			case desc.Digest == digest:
				keep[tag.Name()] = true
			case r.p.opts.OverwriteReleaseTags:
				r.logf("moving the release tag %s from %s to %s (overwrite-release-tags: true)", tag.Name(), desc.Digest, digest)
			default:
				moved = append(moved, MovedTag{Ref: tag.Name(), Current: desc.Digest.String()})
				movedRefs = append(movedRefs, tag)
			}
		}
	}
	if len(moved) == 0 {
		return keep, nil, nil
	}
	rerun, why := r.recognizeRerun(moved, movedRefs, req)
	if rerun == nil {
		return nil, nil, &ReleaseTagError{Digest: digest.String(), Moved: moved, Why: why}
	}
	for _, m := range moved {
		keep[m.Ref] = true
	}
	return keep, rerun, nil
}

// ReleaseRaceError means another run released the same version at the
// same time and its image holds the release tags: this run's release is
// not published (no moving tag was written).
type ReleaseRaceError struct {
	Tag, Want, Got string
}

func (e *ReleaseRaceError) Error() string {
	return fmt.Sprintf("another run released %s at the same time: the tag points at %s, not at this run's %s; this run wrote no other tag (1.2, 1, latest point where that run put them) — check which run should have released it, and re-run the job to adopt or refuse that release",
		e.Tag, e.Got, e.Want)
}

// claimReleaseTags writes the release tags not already at the image, each
// checked (HEAD) right before its PUT, then, after claimSettle, reads them
// all back. Registries have no compare-and-swap for tags; the settle time
// makes a concurrent run's PUT, which follows its own check, visible here
// before this run goes on. Returns the tags written.
func (r *pushRun) claimReleaseTags(targets []*target, art *artifact, keep map[string]bool, rerun bool) (map[string]bool, error) {
	digest := art.digest()
	claimed := map[string]bool{}
	for _, t := range targets {
		s, err := r.session(t.repo.RegistryStr())
		if err != nil {
			return nil, err
		}
		for _, tag := range t.tags {
			if !IsReleaseTag(tag.TagStr()) || keep[tag.Name()] {
				continue
			}
			err := r.again(func() error {
				desc, err := s.puller.Head(r.ctx, tag)
				if err == nil && desc.Digest != digest && !r.p.opts.OverwriteReleaseTags {
					return &ReleaseRaceError{Tag: tag.Name(), Want: digest.String(), Got: desc.Digest.String()}
				}
				var te *transport.Error
				if err != nil && !(errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusForbidden)) {
					return fmt.Errorf("check the release tag %s: %w", tag.Name(), s.describe(err))
				}
				if err := s.pusher.Put(r.ctx, tag, art.manifest); err != nil {
					return fmt.Errorf("tag %s: %w", tag.Name(), s.describe(err))
				}
				return nil
			})
			if err != nil {
				var race *ReleaseRaceError
				if errors.As(err, &race) {
					return nil, err
				}
				return nil, claimError(targets, claimed, digest, err)
			}
			claimed[tag.Name()] = true
		}
	}
	if len(claimed) == 0 || rerun {
		return claimed, nil
	}
	settle := r.p.opts.claimSettle()
	select {
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	case <-time.After(settle):
	}
	for _, t := range targets {
		s, err := r.session(t.repo.RegistryStr())
		if err != nil {
			return nil, err
		}
		for _, tag := range t.tags {
			if !claimed[tag.Name()] {
				continue
			}
			var got v1.Hash
			err := r.again(func() error {
				desc, err := s.puller.Head(r.ctx, tag)
				if err != nil {
					return fmt.Errorf("read back the release tag %s: %w", tag.Name(), s.describe(err))
				}
				got = desc.Digest
				return nil
			})
			if err != nil {
				return nil, err
			}
			if got != digest {
				return nil, &ReleaseRaceError{Tag: tag.Name(), Want: digest.String(), Got: got.String()}
			}
		}
	}
	return claimed, nil
}

// claimError is a failed release tag PUT as a TagError: the tags written
// so far and those not written.
func claimError(targets []*target, written map[string]bool, digest v1.Hash, err error) error {
	te := &TagError{Digest: digest.String(), Err: err}
	for _, t := range targets {
		for _, tag := range t.tags {
			if written[tag.Name()] {
				te.Written = append(te.Written, tag.Name())
			} else {
				te.Unwritten = append(te.Unwritten, tag.Name())
			}
		}
	}
	return te
}

// rerunImage is the released image a re-run keeps.
type rerunImage struct {
	digest v1.Hash
	desc   *remote.Descriptor
	tags   []string
}

func (ri *rerunImage) artifact() (*artifact, error) {
	if ri.desc.MediaType.IsIndex() {
		idx, err := ri.desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		return newArtifact(nil, idx)
	}
	img, err := ri.desc.Image()
	if err != nil {
		return nil, err
	}
	return newArtifact(img, nil)
}

// recognizeRerun decides whether release tags that point elsewhere hold
// this very release: one image, whose config carries this run's revision
// and build-inputs labels. Otherwise it says why not, for the error.
func (r *pushRun) recognizeRerun(moved []MovedTag, refs []name.Tag, req Request) (*rerunImage, string) {
	if req.Revision == "" || req.BuildInputs == "" {
		return nil, ""
	}
	for _, m := range moved[1:] {
		if m.Current != moved[0].Current {
			return nil, "the release tags point at different images"
		}
	}
	s, err := r.session(refs[0].RegistryStr())
	if err != nil {
		return nil, ""
	}
	desc, err := s.puller.Get(r.ctx, refs[0])
	if err != nil {
		return nil, fmt.Sprintf("the released image could not be read (%v)", s.describe(err))
	}
	labels, err := configLabels(desc)
	if err != nil {
		return nil, fmt.Sprintf("the released image's config could not be read (%v)", err)
	}
	switch {
	case labels[LabelRevision] != req.Revision:
		return nil, fmt.Sprintf("the released image was built from commit %s, this run from %s", orUnknown(labels[LabelRevision]), req.Revision)
	case labels[LabelBuildInputs] != req.BuildInputs:
		return nil, "the released image was built from this commit but with other build inputs (Dockerfile, target, build args, platforms or labels)"
	}
	tags := make([]string, len(moved))
	for i, m := range moved {
		tags[i] = m.Ref
	}
	return &rerunImage{digest: desc.Digest, desc: desc, tags: tags}, ""
}

// configLabels reads the labels of an image, or of an index's first
// image (every platform of one build carries the same labels).
func configLabels(desc *remote.Descriptor) (map[string]string, error) {
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, m := range im.Manifests {
			if m.MediaType.IsImage() && (m.Platform == nil || m.Platform.OS != "unknown") {
				if img, err = idx.Image(m.Digest); err != nil {
					return nil, err
				}
				break
			}
		}
		if img == nil {
			return nil, errors.New("the index holds no image")
		}
	} else {
		var err error
		if img, err = desc.Image(); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	return cf.Config.Labels, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func shortRevision(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return orUnknown(rev)
}

// again runs one idempotent phase of the push (checking release tags,
// sending the image, writing the tags, reading them back) until it
// succeeds, fails for a reason that is not transient, or push-timeout
// ends. Each request is already retried a few times; this makes the
// whole push bounded by time, not by a count that a steady fault rate
// exhausts now and then.
func (r *pushRun) again(phase func() error) error {
	policy := r.p.opts.Retry.withDefaults()
	delay := policy.InitialDelay
	for {
		err := phase()
		if err == nil || !retryable(r.ctx)(err) {
			return err
		}
		wait := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		r.logf("retrying after a transient failure (push-timeout allows): %v", err)
		t := time.NewTimer(wait)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, policy.MaxDelay)
	}
}

func (r *pushRun) logf(format string, args ...any) {
	if r.p.opts.Log != nil {
		r.p.opts.Log.Infof(format, args...)
	}
}

// mountSource picks a repository of repo's registry that holds (or may
// hold) the blobs: one this run already pushed to, else a mount hint.
func (r *pushRun) mountSource(repo name.Repository, digest v1.Hash, hints []string) string {
	for _, p := range r.pushed[digest.String()] {
		if p.RegistryStr() == repo.RegistryStr() && p.Name() != repo.Name() {
			return p.Name()
		}
	}
	for _, h := range hints {
		ref, err := name.ParseReference(h)
		if err == nil && ref.Context().RegistryStr() == repo.RegistryStr() && ref.Context().Name() != repo.Name() {
			return ref.Context().Name()
		}
	}
	return ""
}

// pushByDigest sends the blobs the repository lacks (existing ones are
// skipped, others mounted when possible), then the manifest by digest.
func (r *pushRun) pushByDigest(repo name.Repository, art *artifact, hints []string) error {
	s, err := r.session(repo.RegistryStr())
	if err != nil {
		return err
	}
	digest := art.digest()
	from := r.mountSource(repo, digest, hints)
	if err := s.pusher.Push(r.ctx, repo.Digest(digest.String()), art.taggable(from)); err != nil {
		return fmt.Errorf("push %s to %s: %w", digest, repo.Name(), s.describe(err))
	}
	r.pushed[digest.String()] = append(r.pushed[digest.String()], repo)
	return nil
}

// TagError is a failure while writing tags: the tags written point at the
// complete image, the others were not written.
type TagError struct {
	Digest    string
	Written   []string
	Unwritten []string
	Err       error
}

func (e *TagError) Error() string {
	written := "no tag was written"
	if len(e.Written) > 0 {
		written = fmt.Sprintf("%d of %d tags were written and point at the complete image %s (%s)",
			len(e.Written), len(e.Written)+len(e.Unwritten), e.Digest, strings.Join(e.Written, ", "))
	}
	return fmt.Sprintf("%v; %s; not written: %s", e.Err, written, strings.Join(e.Unwritten, ", "))
}

func (e *TagError) Unwrap() error { return e.Err }

// putTags points every tag at the pushed manifest: one PUT per tag, no
// blob traffic. Tags in keep already point at it.
func (r *pushRun) putTags(targets []*target, art *artifact, keep map[string]bool) error {
	var mu sync.Mutex
	var written []string
	g, ctx := errgroup.WithContext(r.ctx)
	g.SetLimit(r.p.opts.jobs())
	var all []string
	for _, t := range targets {
		s, err := r.session(t.repo.RegistryStr())
		if err != nil {
			return err
		}
		for _, tag := range t.tags {
			all = append(all, tag.Name())
			if keep[tag.Name()] {
				written = append(written, tag.Name())
				continue
			}
			g.Go(func() error {
				if err := s.pusher.Put(ctx, tag, art.manifest); err != nil {
					return fmt.Errorf("tag %s: %w", tag.Name(), s.describe(err))
				}
				mu.Lock()
				written = append(written, tag.Name())
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		var unwritten []string
		for _, n := range all {
			if !slices.Contains(written, n) {
				unwritten = append(unwritten, n)
			}
		}
		slices.Sort(written)
		return &TagError{Digest: art.digest().String(), Written: written, Unwritten: unwritten, Err: err}
	}
	return nil
}

// DigestMismatchError means a tag read back does not point at the pushed
// digest (another push moved it in between).
type DigestMismatchError struct {
	Ref, Want, Got string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("the tag %s points at %s after the push, not at the pushed %s: another push may have moved it; re-run the job", e.Ref, e.Got, e.Want)
}

// verify reads every tag back (HEAD) and compares its digest.
func (r *pushRun) verify(targets []*target, digest v1.Hash) ([]string, error) {
	var refs []string
	for _, t := range targets {
		for _, tag := range t.tags {
			refs = append(refs, tag.Name())
		}
	}
	errs := make([]error, len(refs))
	g, ctx := errgroup.WithContext(r.ctx)
	g.SetLimit(r.p.opts.jobs())
	i := 0
	for _, t := range targets {
		s, err := r.session(t.repo.RegistryStr())
		if err != nil {
			return nil, err
		}
		for _, tag := range t.tags {
			n := i
			i++
			g.Go(func() error {
				desc, err := s.puller.Head(ctx, tag)
				switch {
				case err != nil:
					errs[n] = fmt.Errorf("read back the tag %s: %w", tag.Name(), s.describe(err))
				case desc.Digest != digest:
					errs[n] = &DigestMismatchError{Ref: tag.Name(), Want: digest.String(), Got: desc.Digest.String()}
				}
				return nil
			})
		}
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return refs, nil
}

// pushCache pushes each cache image to its cache refs. Failures are
// warnings: the cache only makes later builds faster.
func (r *pushRun) pushCache(req Request, final *artifact) (written, warnings []string) {
	for _, bi := range req.Cache {
		if len(bi.CacheRefs) == 0 {
			continue
		}
		what := "the " + bi.Role + " image"
		if bi.Target != "" {
			what = fmt.Sprintf("the %s image (stage %s)", bi.Role, bi.Target)
		}
		targets, err := groupTags(bi.CacheRefs)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s was not pushed as build cache: %v", what, err))
		}
		art := final
		if !sameImage(bi, req.Image) {
			if a, known, layers := r.knownImage(bi, probeRefs(targets, req.MountFrom, nil)); a != nil {
				r.logf("the registry already holds %s (%s): nothing is exported or compressed", what, known)
				art = a
			} else {
				// The layers it shares with the final image, pushed just
				// before it, are not compressed again either.
				if repos := r.pushed[final.digest().String()]; len(repos) > 0 && final.img != nil {
					if layers == nil {
						layers = knownLayers{}
					}
					layers.add(final.img, repos[0])
				}
				var up *uploader
				if len(targets) > 0 {
					up = r.uploaderTo(bi, targets[0].repo)
				}
				a, err := openBuilt(r.ctx, bi, r.p.engine, r.p.opts.TempDir, r.baseLayers(layers, targets, req), up)
				if err != nil {
					warnings = append(warnings, fmt.Sprintf("%s was not pushed as build cache: %v", what, err))
					continue
				}
				defer a.cleanup()
				if n := len(a.mounts); n > 0 {
					r.cacheLayersReused += n
					r.logf("%d of the layers of %s are in the registry already (%s): not compressed again", n, what, a.mountsFrom())
				}
				r.streamed(a, "the layers of "+what)
				art = a
			}
		}
		for _, t := range targets {
			if err := r.pushByDigest(t.repo, art, req.MountFrom); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s was not pushed as build cache to %s: %v", what, t.repo.Name(), err))
				continue
			}
			if err := r.putTags([]*target{t}, art, nil); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: build cache refs: %v", what, err))
				continue
			}
			for _, tag := range t.tags {
				written = append(written, tag.Name())
			}
		}
	}
	return written, warnings
}

func sameImage(a, b pipeline.BuiltImage) bool {
	return a.OCILayout == b.OCILayout && a.EngineImageID == b.EngineImageID && a.EngineRef == b.EngineRef && a.Digest == b.Digest
}
