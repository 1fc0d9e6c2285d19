package build

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	contentlocal "github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/platforms"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/ociindex"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	sessioncontent "github.com/moby/buildkit/session/content"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	"github.com/org/image-pipeline/internal/inputerr"
	"github.com/org/image-pipeline/internal/pipeline"
)

// Builder runs Dockerfile builds on one BuildKit.
type Builder interface {
	// Features says what the BuildKit behind the builder offers.
	Features() Features
	// Build builds the options' Dockerfile for the tag plan (labels, cache
	// refs, image names), streaming BuildKit's plain progress to progress.
	// A failed build returns a *BuildError.
	Build(ctx context.Context, plan *pipeline.TagPlan, progress io.Writer) (*Result, error)
	// Close releases the connection.
	Close() error
}

// Engine is the part of the Docker Engine API client
// (*github.com/docker/docker/client.Client) the docker driver uses.
type Engine interface {
	EngineDialer
	Info(ctx context.Context) (system.Info, error)
}

// Features is what a BuildKit offers to this action.
type Features struct {
	// Driver is DriverDocker or DriverRemote.
	Driver string
	// Description is one line for the log: the daemon, its version, and
	// what it can export.
	Description string
	// Exporter is "moby" (images kept in the Docker Engine's store) or
	// "oci" (images written to an OCI layout for the push stage).
	Exporter string
	// RegistryCache is true when the BuildKit exports registry cache
	// (mode=max); otherwise only inline cache.
	RegistryCache bool
	// MultiPlatform is true when one build may produce several platforms.
	MultiPlatform bool
	// Version is the BuildKit version, when the daemon tells it.
	Version string
	// Attestations is true when the builder keeps attestation manifests
	// in the image index it stores (buildkitd's OCI layout, the containerd
	// image store); the classic image store has nowhere to keep them.
	Attestations bool
	// RewriteTimestamp is true when the image exporter clamps the files'
	// times in the layers it writes to SOURCE_DATE_EPOCH
	// (rewrite-timestamp, BuildKit v0.13 on): then a step that ran again
	// writes the same layer. Only buildkitd's OCI exporter: the Docker
	// Engine's classic exporter has no such option, and on the containerd
	// store BuildKit refuses it with the unpack the engine asks for.
	RewriteTimestamp bool
	// Annotations is true when the image exporter writes OCI annotations
	// into the manifest and index (buildkitd, the containerd image store);
	// the classic store pushes a Docker v2 manifest, which has none.
	Annotations bool
	// InlineCacheNote, when set, says why inline cache read back from the
	// registry may give few hits on this builder; it goes to the summary's
	// cache notes when the ladder is read as inline cache.
	InlineCacheNote string
}

// Result is the outcome of a build.
type Result struct {
	// Outcome is what the build stage hands to the next stages.
	Outcome pipeline.BuildOutcome
	// Solves lists each solve (builder image, final image) with its
	// duration and step counts.
	Solves []SolveReport
	// Steps counts the build's Dockerfile steps, each counted once.
	Steps StepCounts
	// StepsRun names the steps that were not served from the cache.
	StepsRun []string
	// Cache says how the cache ladder was used.
	Cache CacheReport
	// Duration is the whole build, session included.
	Duration time.Duration
	// SourceDateEpoch is the SOURCE_DATE_EPOCH the build ran with
	// (seconds, as given), or "".
	SourceDateEpoch string
	// Provenance is the mode of the provenance attestation attached to
	// the final image ("" when none was asked for).
	Provenance string
	// Notes are facts about the image the summary states (annotations
	// that could not be written).
	Notes []string
}

// SolveReport is one solve of a build.
type SolveReport struct {
	Role     string // pipeline.RoleFinal or pipeline.RoleBuilder
	Target   string
	Duration time.Duration
	Steps    StepCounts
}

// CacheReport says how a build used the cache ladder.
type CacheReport struct {
	// Mode is the storage used: inline, registry or none.
	Mode          string
	Read, Written []string
	Notes         []string
}

// NewEngine returns a Docker Engine API client for DOCKER_HOST (and the
// other DOCKER_* variables), negotiating the API version, for the docker
// driver and the push stage.
func NewEngine() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("create a Docker Engine client (check DOCKER_HOST): %w", err)
	}
	return c, nil
}

// New connects to the BuildKit the options name: a buildkitd at
// BuildkitAddress, else the Docker Engine's embedded BuildKit through
// engine (nil: a client from DOCKER_HOST). It asks the daemon what it
// offers, so a daemon that does not answer is reported here. The options
// are checked by Options.Validate, once, before (the app does it with
// every other stage's).
func New(ctx context.Context, o Options, engine Engine) (Builder, error) {
	if o.Driver() == DriverRemote {
		return newRemote(ctx, o)
	}
	return newDocker(ctx, o, engine)
}

// probeTimeout bounds the questions asked when connecting.
const probeTimeout = 30 * time.Second

func newDocker(ctx context.Context, o Options, engine Engine) (Builder, error) {
	b := &bkBuilder{opts: o}
	host := "the Docker Engine (DOCKER_HOST)"
	if engine == nil {
		c, err := NewEngine()
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, c.Close)
		engine = c
	}
	if h, ok := engine.(interface{ DaemonHost() string }); ok {
		host = "the Docker Engine at " + h.DaemonHost()
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	info, err := engine.Info(pctx)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%s does not answer (is DOCKER_HOST right, and is the Docker socket mounted into the action?): %w", host, err)
	}
	bk, err := NewEngineClient(ctx, engine)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.c, b.dialer = bk, engineSessionDialer(engine)
	b.closers = append(b.closers, bk.Close)
	if _, err := bk.ListWorkers(pctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("%s (Docker %s) does not offer BuildKit over its API: %w", host, info.ServerVersion, err)
	}
	containerd := false
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			containerd = true
		}
	}
	version := buildkitVersion(pctx, bk)
	f := Features{Driver: DriverDocker, Exporter: "moby", Version: version}
	embedded := "embedded BuildKit"
	if version != "" {
		embedded += " " + version
	}
	if containerd {
		// No RewriteTimestamp: the engine's exporter unpacks the image into
		// its snapshotter, which BuildKit refuses with rewrite-timestamp.
		f.RegistryCache, f.MultiPlatform, f.Attestations, f.Annotations = true, true, true, true
		f.Description = fmt.Sprintf("%s, Docker %s with the containerd image store: %s (images kept in the engine, registry cache, multi-platform)", host, info.ServerVersion, embedded)
	} else {
		f.Description = fmt.Sprintf("%s, Docker %s with the classic image store: %s (images kept in the engine, inline cache only, one platform)", host, info.ServerVersion, embedded)
		if major, _, _ := strings.Cut(info.ServerVersion, "."); atoiOr(major, 0) >= 27 {
			f.InlineCacheNote = fmt.Sprintf("Docker %s with the classic image store reuses few steps of inline cache read back from the registry (moby/buildkit#5242; seen with Docker 29 in this action's tests): with the containerd image store (Docker 29's default) or buildkit-address the ladder is registry cache, which it reuses", info.ServerVersion)
		}
	}
	b.features = f
	return b, nil
}

// hasInlineCacheRace reports whether a BuildKit may crash its daemon when
// two solves export inline cache at once: before v0.9 the cache chains'
// backlinks were written without a lock (moby/buildkit#2051, in v0.9.0),
// and `fatal error: concurrent map writes` in remotecache/v1
// (*item).LinkFrom kills dockerd and every build and container on it
// (moby/buildkit#2889 on Docker 20.10's embedded v0.8). BuildKits that do
// not tell their version (before v0.11, as in Docker 20.10) are taken to
// have it.
func hasInlineCacheRace(version string) bool { return !atLeast(version, 0, 9) }

// supportsEpoch reports whether a BuildKit stamps SOURCE_DATE_EPOCH on
// the image (v0.11 on; Docker 20.10's embedded BuildKit, which does not
// tell its version, does not).
func supportsEpoch(version string) bool { return atLeast(version, 0, 11) }

// atLeast reports whether a BuildKit version ("v0.29.0") is at least
// major.minor; an unknown version is not.
func atLeast(version string, major, minor int) bool {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	var ma, mi int
	if _, err := fmt.Sscanf(v, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// buildkitVersion asks BuildKit its version; BuildKits before v0.11 (such
// as the one in Docker 20.10) do not say.
func buildkitVersion(ctx context.Context, c *bkclient.Client) string {
	info, err := c.Info(ctx)
	if err != nil {
		if grpcerrors.Code(err) == codes.Unimplemented {
			return "(before v0.11)"
		}
		return ""
	}
	return info.BuildkitVersion.Version
}

func newRemote(ctx context.Context, o Options) (Builder, error) {
	addr := strings.TrimSpace(o.BuildkitAddress)
	var copts []bkclient.ClientOpt
	if o.BuildkitTLSCA != "" {
		serverName := ""
		if u, err := url.Parse(addr); err == nil {
			if h, _, err := net.SplitHostPort(u.Host); err == nil {
				serverName = h
			} else {
				serverName = u.Host
			}
		}
		copts = append(copts, bkclient.WithServerConfig(serverName, o.resolve(o.BuildkitTLSCA)))
	}
	if o.BuildkitTLSCert != "" {
		copts = append(copts, bkclient.WithCredentials(o.resolve(o.BuildkitTLSCert), o.resolve(o.BuildkitTLSKey)))
	}
	bk, err := NewRemoteClient(ctx, addr, copts...)
	if err != nil {
		return nil, inputerr.Wrap("buildkit-address", addr, "cannot be reached", "the address of a running buildkitd: unix:///path or tcp://host:port", err)
	}
	b := &bkBuilder{opts: o, c: bk, dialer: bk.Dialer(), closers: []func() error{bk.Close}}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	workers, err := bk.ListWorkers(pctx)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("buildkitd at %s does not answer (check buildkit-address and the buildkit-tls-* inputs): %w", addr, err)
	}
	var plats []string
	for _, w := range workers {
		for _, p := range w.Platforms {
			if s := platforms.Format(p); !slices.Contains(plats, s) {
				plats = append(plats, s)
			}
		}
	}
	version := buildkitVersion(pctx, bk)
	b.features = Features{
		Driver: DriverRemote, Exporter: "oci", RegistryCache: true, MultiPlatform: true, Attestations: true, Annotations: true, Version: version,
		RewriteTimestamp: atLeast(version, 0, 13),
		Description: fmt.Sprintf("buildkitd %s at %s, platforms %s (OCI layout for the push stage, registry cache mode=max, multi-platform)",
			version, addr, strings.Join(plats, ", ")),
	}
	return b, nil
}

// bkBuilder is both drivers: they differ in how BuildKit is reached, what it
// exports and where the images end up.
type bkBuilder struct {
	opts     Options
	c        *bkclient.Client
	dialer   session.Dialer
	features Features
	closers  []func() error
	// annotations are the final image's exporter attributes for the
	// plan's OCI annotations (set by Build).
	annotations map[string]string
}

func (b *bkBuilder) Features() Features { return b.features }

func (b *bkBuilder) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// solveFailure carries a failed solve's error until the build's progress
// has been read to the end.
type solveFailure struct {
	target string
	err    error
}

func (f *solveFailure) Error() string { return f.err.Error() }

// job is one solve of a build.
type job struct {
	role, target string
	names        []string // image names (engine tags, OCI index names)
	cacheRefs    []string
	exports      []bkclient.CacheOptionsEntry
}

// Build implements Builder.
func (b *bkBuilder) Build(ctx context.Context, plan *pipeline.TagPlan, progress io.Writer) (*Result, error) {
	start := time.Now()
	o := b.opts
	df, err := readDockerfile(o.dockerfilePath(), o.dockerfileDisplay())
	if err != nil {
		return nil, err
	}
	final, builderTarget, err := df.targets(o)
	if err != nil {
		return nil, err
	}
	if len(o.Platforms) > 1 && !b.features.MultiPlatform {
		return nil, inputerr.New("platforms", strings.Join(o.Platforms, ","),
			fmt.Sprintf("needs a BuildKit that exports multi-platform images, and %s exports one platform only", b.features.Description),
			"one platform with this builder; several with buildkit-address (a buildkitd) or the Docker Engine's containerd image store")
	}
	if o.Provenance.Mode != ProvenanceOff && !b.features.Attestations {
		return nil, inputerr.New("provenance", "mode="+o.Provenance.Mode,
			fmt.Sprintf("needs a builder that stores attestations, and %s has nowhere to keep them", b.features.Description),
			"false with this builder; true, mode=min or mode=max with buildkit-address (a buildkitd) or the Docker Engine's containerd image store")
	}
	if len(o.BuildContexts) > 0 && !atLeast(b.features.Version, 0, 10) {
		// Named contexts came with the Dockerfile frontend 1.4 (BuildKit
		// v0.10); an older one would look the name up as an image.
		return nil, inputerr.New("build-contexts", o.BuildContexts[0].Name+"="+o.BuildContexts[0].Source,
			fmt.Sprintf("needs BuildKit v0.10 or later, and %s is older", b.features.Description),
			"build-contexts with buildkit-address (a buildkitd) or a Docker Engine from 23.0 on; none with this builder")
	}
	if o.ShmSize > 0 && !atLeast(b.features.Version, 0, 10) {
		// BuildKit v0.8 ignores shm-size: /dev/shm would stay 64 MiB.
		return nil, inputerr.New("shm-size", strconv.FormatInt(o.ShmSize, 10)+" bytes",
			fmt.Sprintf("needs BuildKit v0.10 or later, and %s is older (it would leave /dev/shm at 64 MiB)", b.features.Description),
			"shm-size with buildkit-address (a buildkitd) or a Docker Engine from 23.0 on; none with this builder")
	}
	cp, err := planCache(o, b.features.RegistryCache, plan)
	if err != nil {
		return nil, err
	}
	if cp.Mode == CacheInline && b.features.InlineCacheNote != "" && len(cp.Read) > 0 {
		cp.Notes = append(cp.Notes, b.features.InlineCacheNote)
	}
	attrs, err := b.frontendAttrs(plan)
	var annotationNote string
	b.annotations, annotationNote = exporterAnnotations(plan, b.features.Annotations, len(b.opts.Platforms) > 1 || b.opts.Provenance.Mode != ProvenanceOff)
	var notes []string
	if annotationNote != "" && b.opts.AnnotationsRequested {
		notes = append(notes, annotationNote)
	}
	if err != nil {
		return nil, err
	}
	secrets, err := o.secretValues()
	if err != nil {
		return nil, err
	}
	keychain := o.Keychain
	if keychain == nil && o.DockerConfig != "" {
		if keychain, err = DockerConfigKeychain(o.DockerConfig); err != nil {
			return nil, err
		}
	}

	var planTags []string
	if plan != nil {
		planTags = plan.Tags
	}
	jobs := []job{{role: pipeline.RoleFinal, target: final, names: uniq(append(slices.Clone(planTags), cp.FinalRefs...)), cacheRefs: cp.FinalRefs, exports: cp.Exports}}
	if builderTarget != "" && len(cp.BuilderRefs) > 0 {
		jobs = append(jobs, job{role: pipeline.RoleBuilder, target: builderTarget, names: cp.BuilderRefs, cacheRefs: cp.BuilderRefs})
	}

	// One session for every solve: the context is sent once, and the
	// solves share the daemon's cache as they run side by side.
	sess, layoutDir, err := b.newSession(ctx, secrets, keychain)
	if err != nil {
		return nil, err
	}
	sessCtx, stopSession := context.WithCancel(context.WithoutCancel(ctx))
	sessDone := make(chan error, 1)
	go func() { sessDone <- sess.Run(sessCtx, b.dialer) }()
	defer func() {
		_ = sess.Close()
		stopSession()
		<-sessDone
	}()

	tr := newTracker()
	merged := make(chan *bkclient.SolveStatus)
	if progress == nil {
		progress = io.Discard
	}
	display, err := progressui.NewDisplay(progress, progressui.PlainMode)
	if err != nil {
		return nil, fmt.Errorf("start the build log: %w", err)
	}
	displayDone := make(chan struct{})
	go func() {
		defer close(displayDone)
		_, _ = display.UpdateFrom(context.WithoutCancel(ctx), merged)
	}()

	reports := make([]SolveReport, len(jobs))
	images := make([]pipeline.BuiltImage, len(jobs))
	var forwarders sync.WaitGroup
	g, gctx := errgroup.WithContext(ctx)
	if cp.Inline && len(jobs) > 1 && hasInlineCacheRace(b.features.Version) {
		// Two inline-cache exports at once crash these daemons (see
		// hasInlineCacheRace): the builder and final solves take turns.
		g.SetLimit(1)
	}
	for i, j := range jobs {
		ch := make(chan *bkclient.SolveStatus)
		forwarders.Add(1)
		go func() {
			defer forwarders.Done()
			for s := range ch {
				tr.update(j.role, s)
				merged <- s
			}
		}()
		g.Go(func() error {
			t0 := time.Now()
			resp, err := b.c.Solve(gctx, nil, b.solveOpt(sess, j, attrs, cp), ch)
			reports[i] = SolveReport{Role: j.role, Target: j.target, Duration: time.Since(t0)}
			if err != nil {
				// Explained once the progress is all in (see below).
				return &solveFailure{target: j.target, err: err}
			}
			img, err := b.builtImage(j, resp, layoutDir)
			if err != nil {
				return err
			}
			images[i] = img
			return nil
		})
	}
	err = g.Wait()
	forwarders.Wait()
	close(merged)
	<-displayDone
	if err != nil {
		// The first solve to fail is the error (the others were cancelled).
		var sf *solveFailure
		if errors.As(err, &sf) {
			be := newBuildError(sf.err, sf.target, o.dockerfileDisplay(), df, tr)
			if o.SecretsWithheld != "" && strings.Contains(strings.ToLower(be.Reason), "secret") {
				be.Hint = strings.TrimSuffix("no secrets are passed to this build: "+o.SecretsWithheld+"; "+be.Hint, "; ")
			}
			select {
			case serr := <-sessDone:
				if serr != nil {
					be.Reason += fmt.Sprintf(" (the build session ended: %v)", serr)
				}
				sessDone <- serr
			default:
			}
			return nil, be
		}
		return nil, err
	}

	res := &Result{
		Solves:     reports,
		Steps:      tr.counts(""),
		StepsRun:   tr.executedSteps(),
		Cache:      CacheReport{Mode: cp.Mode, Read: cp.Read, Written: cp.Written, Notes: cp.Notes},
		Provenance: o.Provenance.Mode,
		Notes:      notes,
	}
	for i := range reports {
		res.Solves[i].Steps = tr.counts(jobs[i].role)
	}
	if v, ok := attrs["build-arg:SOURCE_DATE_EPOCH"]; ok {
		res.SourceDateEpoch = v
	}
	res.Outcome = pipeline.BuildOutcome{
		Driver:    b.features.Driver,
		Images:    images,
		CacheHits: res.Steps.Cached,
		Executed:  res.Steps.Executed,
		ImageID:   cmp.Or(images[0].ConfigDigest, images[0].Digest),
		CacheMode: cp.Mode,
	}
	res.Duration = time.Since(start)
	return res, nil
}

func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// frontendAttrs are the dockerfile.v0 options common to every solve.
func (b *bkBuilder) frontendAttrs(plan *pipeline.TagPlan) (map[string]string, error) {
	o := b.opts
	attrs := map[string]string{"filename": filepath.Base(o.dockerfilePath())}
	if plan != nil && !plan.SourceDateEpoch.IsZero() && supportsEpoch(b.features.Version) {
		// The image's times are the commit's, not the build's: the same
		// commit, built again from the registry's cache on a fresh runner
		// (the re-run button), is the same image. A SOURCE_DATE_EPOCH in
		// build-args wins (empty: the build's own time).
		attrs["build-arg:SOURCE_DATE_EPOCH"] = strconv.FormatInt(plan.SourceDateEpoch.Unix(), 10)
	}
	for _, a := range o.BuildArgs {
		attrs["build-arg:"+a.Name] = a.Value
	}
	var labels [][2]string
	if plan != nil {
		// The tag plan's labels are key=value lines from the tag engine.
		for _, l := range plan.Labels {
			if k, v, ok := strings.Cut(l, "="); ok && k != "" {
				labels = append(labels, [2]string{k, v})
			}
		}
	}
	// The labels input is merged into the plan's labels by the tag engine.
	for _, kv := range labels {
		attrs["label:"+kv[0]] = kv[1]
	}
	if len(o.Platforms) > 0 {
		attrs["platform"] = strings.Join(o.Platforms, ",")
	}
	if o.NoCache {
		attrs["no-cache"] = ""
	}
	if o.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	for _, c := range o.BuildContexts {
		if c.local() {
			attrs["context:"+c.Name] = "local:" + localContextName(c.Name)
		} else {
			attrs["context:"+c.Name] = c.Source
		}
	}
	if len(o.AddHosts) > 0 {
		attrs["add-hosts"] = strings.Join(o.AddHosts, ",")
	}
	if o.Network != "" {
		attrs["force-network-mode"] = o.Network
	}
	if o.ShmSize > 0 {
		attrs["shm-size"] = shmSizeAttr(o.ShmSize)
	}
	return attrs, nil
}

// localContextName is the session directory of a build-contexts
// directory (apart from "context" and "dockerfile").
func localContextName(name string) string { return "ctx-" + name }

// resetOwner sends the context as root-owned files, as docker build does.
func resetOwner(_ string, st *fstypes.Stat) fsutil.MapResult {
	st.Uid, st.Gid = 0, 0
	return fsutil.MapResultKeep
}

// newSession prepares the build session: the context and the Dockerfile's
// directory as local mounts, the secrets, registry credentials, and (OCI
// exporter) the layout directory the images are written to.
func (b *bkBuilder) newSession(ctx context.Context, secrets map[string][]byte, kc authn.Keychain) (*session.Session, string, error) {
	o := b.opts
	mount := func(input, dir string, exclude []string) (fsutil.FS, error) {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, inputerr.Wrap(input, dir, "cannot be opened", "a directory in the workspace", err)
		}
		return fsutil.NewFilterFS(fs, &fsutil.FilterOpt{Map: resetOwner, ExcludePatterns: exclude})
	}
	ctxFS, err := mount("context", o.contextDir(), o.Exclude)
	if err != nil {
		return nil, "", err
	}
	dfFS, err := mount("file", filepath.Dir(o.dockerfilePath()), nil)
	if err != nil {
		return nil, "", err
	}
	abs, _ := filepath.Abs(o.contextDir())
	sum := sha256.Sum256([]byte(b.features.Driver + "\x00" + abs))
	sess, err := session.NewSession(ctx, "image-pipeline-"+hex.EncodeToString(sum[:8]))
	if err != nil {
		return nil, "", fmt.Errorf("create a build session: %w", err)
	}
	dirs := filesync.StaticDirSource{"context": ctxFS, "dockerfile": dfFS}
	for _, c := range o.BuildContexts {
		if !c.local() {
			continue
		}
		fs, err := mount("build-contexts", o.resolve(c.Source), nil)
		if err != nil {
			return nil, "", err
		}
		dirs[localContextName(c.Name)] = fs
	}
	sess.Allow(filesync.NewFSSyncProvider(dirs))
	sess.Allow(secretsprovider.FromMap(secrets))
	if len(o.SSH) > 0 {
		var confs []sshprovider.AgentConfig
		for _, a := range o.SSH {
			paths, err := o.sshPaths(a)
			if err != nil {
				return nil, "", err
			}
			confs = append(confs, sshprovider.AgentConfig{ID: a.ID, Paths: paths})
		}
		p, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, "", inputerr.Wrap("ssh", "", "cannot be forwarded", "agent sockets or private key files", err)
		}
		sess.Allow(p)
	}
	sess.Allow(newSessionAuth(kc))
	layoutDir := ""
	if b.features.Exporter == "oci" {
		if o.OutputDir != "" {
			layoutDir = filepath.Join(o.resolve(o.OutputDir), "oci-layout")
			if err := os.MkdirAll(layoutDir, 0o755); err != nil {
				return nil, "", fmt.Errorf("create the OCI layout directory: %w", err)
			}
		} else if layoutDir, err = os.MkdirTemp("", "image-pipeline-oci-"); err != nil {
			return nil, "", fmt.Errorf("create the OCI layout directory: %w", err)
		}
		store, err := contentlocal.NewStore(layoutDir)
		if err != nil {
			return nil, "", fmt.Errorf("open the OCI layout %s: %w", layoutDir, err)
		}
		sess.Allow(sessioncontent.NewAttachable(map[string]content.Store{"export": store}))
	}
	return sess, layoutDir, nil
}

// solveOpt is one solve in the shared session.
func (b *bkBuilder) solveOpt(sess *session.Session, j job, common map[string]string, cp *cachePlan) bkclient.SolveOpt {
	attrs := make(map[string]string, len(common)+1)
	for k, v := range common {
		attrs[k] = v
	}
	if j.target != "" {
		attrs["target"] = j.target
	}
	if j.role == pipeline.RoleFinal {
		// Only the image users run is attested; the builder image is cache.
		maps.Copy(attrs, b.opts.Provenance.attestAttrs())
	}
	opt := bkclient.SolveOpt{
		Frontend:              "dockerfile.v0",
		FrontendAttrs:         attrs,
		SharedSession:         sess,
		SessionPreInitialized: true,
		CacheImports:          cp.importsFor(j.role),
		CacheExports:          slices.Clone(j.exports),
	}
	if cp.Inline && len(j.cacheRefs) > 0 {
		opt.CacheExports = append(opt.CacheExports, bkclient.CacheOptionsEntry{Type: "inline"})
	}
	if b.opts.Network == NetworkHost {
		// The daemon must allow it too (buildkitd
		// --allow-insecure-entitlement network.host).
		opt.AllowedEntitlements = []string{"network.host"}
	}
	switch b.features.Exporter {
	case "moby":
		ex := bkclient.ExportEntry{Type: "moby", Attrs: map[string]string{}}
		if len(j.names) > 0 {
			ex.Attrs["name"] = strings.Join(j.names, ",")
		}
		opt.Exports = []bkclient.ExportEntry{ex}
	default:
		// The layout's content store is the session's "export" store; the
		// index is written after the solve, with every name.
		opt.Exports = []bkclient.ExportEntry{{Type: bkclient.ExporterOCI, Attrs: map[string]string{"tar": "false"}}}
	}
	if epoch := attrs["build-arg:SOURCE_DATE_EPOCH"]; epoch != "" && b.features.RewriteTimestamp {
		opt.Exports[0].Attrs["rewrite-timestamp"] = "true"
	}
	if j.role == pipeline.RoleFinal {
		// The image users pull carries the plan's annotations; the builder
		// image is cache.
		maps.Copy(opt.Exports[0].Attrs, b.annotations)
	}
	return opt
}

// exporterAnnotations are the image exporter's attributes for the plan's
// annotations at its levels: annotation-<level>.<key>=<value>, as
// buildx --annotation sends them. None when the exporter cannot write
// them (the classic store); the index levels only when the image is an
// index (several platforms, or an attestation: BuildKit refuses index
// annotations on a single-platform export). note says what was left out.
func exporterAnnotations(plan *pipeline.TagPlan, supported, index bool) (attrs map[string]string, note string) {
	if plan == nil || len(plan.Annotations) == 0 {
		return nil, ""
	}
	if !supported {
		return nil, "OCI annotations are not written: the classic image store pushes a Docker v2 manifest, which has none (the image's labels carry the same keys); the containerd image store or buildkit-address write them"
	}
	attrs = map[string]string{}
	var dropped []string
	for _, level := range plan.AnnotationLevels {
		if !index && (level == "index" || level == "index-descriptor" || level == "manifest-descriptor") {
			dropped = append(dropped, level)
			continue
		}
		for _, a := range plan.Annotations {
			k, v, ok := strings.Cut(a, "=")
			if !ok || k == "" {
				continue
			}
			attrs["annotation-"+level+"."+k] = v
		}
	}
	if len(dropped) > 0 {
		note = fmt.Sprintf("OCI annotations at the %s level are not written: this single-platform image is a manifest, not an index", strings.Join(dropped, ", "))
	}
	return attrs, note
}

// builtImage reads where the exporter left the image.
func (b *bkBuilder) builtImage(j job, resp *bkclient.SolveResponse, layoutDir string) (pipeline.BuiltImage, error) {
	img := pipeline.BuiltImage{Role: j.role, Target: j.target, CacheRefs: j.cacheRefs, Platforms: b.opts.Platforms}
	r := resp.ExporterResponse
	if b.features.Exporter == "moby" {
		img.EngineImageID = r[exptypes.ExporterImageDigestKey]
		if img.EngineImageID == "" {
			return img, fmt.Errorf("the Docker Engine's BuildKit built stage %q but did not say which image it stored (no %s in %v)", j.target, exptypes.ExporterImageDigestKey, keys(r))
		}
		if len(j.names) > 0 {
			img.EngineRef = j.names[0]
		}
		img.ConfigDigest = img.EngineImageID
		return img, nil
	}
	raw := r[exptypes.ExporterImageDescriptorKey]
	dt, err := base64.StdEncoding.DecodeString(raw)
	if raw == "" || err != nil {
		return img, fmt.Errorf("buildkitd built stage %q but did not describe the image it exported (no %s)", j.target, exptypes.ExporterImageDescriptorKey)
	}
	var desc ocispecs.Descriptor
	if err := json.Unmarshal(dt, &desc); err != nil {
		return img, fmt.Errorf("read the descriptor of the exported image: %w", err)
	}
	names := []ociindex.NameOrTag{}
	for _, n := range j.names {
		names = append(names, ociindex.Name(n))
	}
	if len(names) == 0 {
		names = append(names, ociindex.Tag(j.role))
	}
	if err := ociindex.NewStoreIndex(layoutDir).Put(desc, names...); err != nil {
		return img, fmt.Errorf("write the index of the OCI layout %s: %w", layoutDir, err)
	}
	img.OCILayout = layoutDir
	img.Digest = desc.Digest.String()
	img.ConfigDigest = r[exptypes.ExporterImageConfigDigestKey]
	return img, nil
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// atoiOr is the number s, or def when s is not one.
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
