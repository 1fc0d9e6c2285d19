package trivy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy/pkg/db"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/oci"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
)

// dbDir is the DB's directory in the cache, the same as the Trivy CLI's, so
// both can share a cache.
func dbDir(cacheDir string) string { return db.Dir(cacheDir) }

// prepareDB makes a current vulnerability DB available in the cache and
// opens it (read-only, process-wide: the caller holds trivyMu and calls
// trivydb.Close). It downloads when the cached DB is missing or older than
// Trivy's update interval; when no repository answers, a cached DB younger
// than the max age is used with a warning.
func prepareDB(ctx context.Context, s scan.Settings) (scan.DBInfo, error) {
	dir := dbDir(s.CacheDir)
	client := db.NewClient(dir, true)
	needsUpdate, err := client.NeedsUpdate(ctx, trivyVersion(), false)
	if err != nil {
		return scan.DBInfo{}, fmt.Errorf("check the cached vulnerability DB in %s: %w (delete the directory to download a fresh one)", dir, err)
	}
	var info scan.DBInfo
	if needsUpdate {
		repo, dlErr := downloadDB(ctx, s, dir)
		if dlErr != nil {
			meta, age, ok := usableCachedDB(dir, s.MaxDBAge)
			if !ok {
				return scan.DBInfo{}, fmt.Errorf("%w%s; set the input trivy-db-repository to a mirror this runner can reach (an OCI registry holding a copy of %s), or restore trivy-cache-dir with actions/cache",
					dlErr, noCachedDBReason(dir, meta, age, s.MaxDBAge), scan.DefaultDBRepositories[len(scan.DefaultDBRepositories)-1])
			}
			s.Log.Warningf("scan: using the cached vulnerability DB from %s (%s old, trivy-db-max-age %s) because it could not be refreshed: %v",
				meta.UpdatedAt.UTC().Format(time.RFC3339), roundAge(age), s.MaxDBAge, dlErr)
			info.Stale = true
		}
		info.Repository = repo
	}
	meta, err := metadata.NewClient(dir).Get()
	if err != nil {
		return scan.DBInfo{}, fmt.Errorf("read the vulnerability DB's metadata in %s: %w (delete the directory to download a fresh one)", dir, err)
	}
	info.UpdatedAt = meta.UpdatedAt
	if err := db.Init(dir); err != nil {
		return scan.DBInfo{}, fmt.Errorf("open the vulnerability DB in %s: %w (delete the directory to download a fresh one)", dir, err)
	}
	if !needsUpdate {
		s.Log.Infof("scan: vulnerability DB is current (updated %s)", meta.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return info, nil
}

// usableCachedDB reports whether a complete cached DB younger than maxAge
// exists; its age counts from when the DB was built.
func usableCachedDB(dir string, maxAge time.Duration) (metadata.Metadata, time.Duration, bool) {
	meta, err := metadata.NewClient(dir).Get()
	if err != nil {
		return metadata.Metadata{}, 0, false
	}
	if _, err := os.Stat(trivydb.Path(dir)); err != nil {
		return metadata.Metadata{}, 0, false
	}
	if meta.Version != trivydb.SchemaVersion {
		return meta, 0, false
	}
	age := time.Since(meta.UpdatedAt)
	return meta, age, age <= maxAge
}

func noCachedDBReason(dir string, meta metadata.Metadata, age, maxAge time.Duration) string {
	switch {
	case meta.UpdatedAt.IsZero():
		return fmt.Sprintf(", and there is no cached DB in %s", dir)
	case meta.Version != trivydb.SchemaVersion:
		return fmt.Sprintf(", and the cached DB in %s has schema %d, not %d", dir, meta.Version, trivydb.SchemaVersion)
	default:
		return fmt.Sprintf(", and the cached DB in %s is %s old, more than trivy-db-max-age %s", dir, roundAge(age), maxAge)
	}
}

func roundAge(d time.Duration) time.Duration {
	if d > time.Hour {
		return d.Round(time.Hour)
	}
	return d.Round(time.Second)
}

// downloadDB fetches the vulnerability DB from the first repository that
// answers.
func downloadDB(ctx context.Context, s scan.Settings, dir string) (string, error) {
	return downloadFirst(ctx, s, "vulnerability DB", s.DBRepositories, dir, fetchDB)
}

// downloadFirst fetches a DB (what) from the first of repos that answers
// into a fresh directory and only then replaces dir, so a failed download
// leaves the cached DB as it was.
func downloadFirst(ctx context.Context, s scan.Settings, what string, repos []string, dir string,
	fetch func(ctx context.Context, s scan.Settings, repo, dst string) error) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create trivy-cache-dir %s: %w", filepath.Dir(dir), err)
	}
	var errs repoErrors
	for _, repo := range repos {
		tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+"-download-")
		if err != nil {
			return "", fmt.Errorf("create a download directory in trivy-cache-dir: %w", err)
		}
		err = fetch(ctx, s, repo, tmp)
		if err == nil {
			err = replaceDir(tmp, dir)
		}
		if err == nil {
			return repo, nil
		}
		_ = os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return "", fmt.Errorf("download the %s: %w", what, ctx.Err())
		}
		s.Log.Infof("scan: %s not available from %s: %v", what, repo, err)
		errs = append(errs, fmt.Errorf("%s: %w", repo, err))
	}
	return "", fmt.Errorf("could not download the %s from any repository (%w)", what, errs)
}

// repoErrors are the failures of each repository, on one line.
type repoErrors []error

func (e repoErrors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e repoErrors) Unwrap() []error { return e }

// openDBArtifact reads the manifest of a DB artifact. 429 (ghcr.io's
// TOOMANYREQUESTS), 5xx and broken connections are retried with backoff,
// honouring Retry-After up to DBRetry's limit, for the manifest and the
// layer alike; then the caller tries the next repository.
func openDBArtifact(ctx context.Context, s scan.Settings, repo string) (v1.Image, error) {
	ref, err := name.ParseReference(repo)
	if err != nil {
		return nil, fmt.Errorf("not an OCI reference: %w", err)
	}
	kc := s.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := append(registry.RetryingReader(ctx, s.Transport, s.DBRetry, func(format string, a ...any) {
		s.Log.Infof("scan: "+format, a...)
	}), remote.WithAuthFromKeychain(kc))
	return remote.Image(ref, opts...)
}

func fetchDB(ctx context.Context, s scan.Settings, repo, dst string) error {
	img, err := openDBArtifact(ctx, s, repo)
	if err != nil {
		return err
	}
	s.Log.Infof("scan: downloading the vulnerability DB from %s", repo)
	art := oci.NewArtifact(repo, ftypes.RegistryOptions{}, oci.WithImage(progressImage{Image: img, log: s.Log, what: "vulnerability DB"}))
	client := db.NewClient(dst, true, db.WithOCIArtifact(art))
	if err := client.Download(ctx, dst, ftypes.RegistryOptions{}); err != nil {
		return err
	}
	meta, err := metadata.NewClient(dst).Get()
	if err != nil {
		return fmt.Errorf("the downloaded DB has no metadata: %w", err)
	}
	if meta.Version != trivydb.SchemaVersion {
		return fmt.Errorf("the downloaded DB has schema %d, this Trivy reads schema %d (use a repository tag :%d)", meta.Version, trivydb.SchemaVersion, trivydb.SchemaVersion)
	}
	s.Log.Infof("scan: vulnerability DB downloaded (updated %s)", meta.UpdatedAt.UTC().Format(time.RFC3339))
	return nil
}

func replaceDir(src, dst string) error {
	old := dst + ".old"
	_ = os.RemoveAll(old)
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("move the previous DB aside: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		_ = os.Rename(old, dst)
		return fmt.Errorf("move the downloaded DB into place: %w", err)
	}
	_ = os.RemoveAll(old)
	return nil
}

// progressImage reports the download of its layers in the log.
type progressImage struct {
	v1.Image
	log  scan.Logger
	what string
}

func (p progressImage) Layers() ([]v1.Layer, error) {
	layers, err := p.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(layers))
	for i, l := range layers {
		out[i] = &progressLayer{Layer: l, log: p.log, what: p.what}
	}
	return out, nil
}

type progressLayer struct {
	v1.Layer
	log  scan.Logger
	what string
}

func (l *progressLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	size, _ := l.Size()
	return &progressReader{ReadCloser: rc, total: size, log: l.log, what: l.what, start: time.Now()}, nil
}

// progressReader logs every 10% of the bytes read, and the end.
type progressReader struct {
	io.ReadCloser
	total, read int64
	next        int64 // next percentage to report
	log         scan.Logger
	what        string
	start       time.Time
	done        bool
}

func (r *progressReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.read += int64(n)
	if r.total > 0 {
		pct := r.read * 100 / r.total
		if pct >= r.next && pct < 100 {
			r.log.Infof("scan: %s %s of %s (%d%%)", r.what, mib(r.read), mib(r.total), pct)
			r.next = (pct/10 + 1) * 10
		}
	}
	if errors.Is(err, io.EOF) && !r.done {
		r.done = true
		r.log.Infof("scan: %s %s downloaded in %s", r.what, mib(r.read), time.Since(r.start).Round(100*time.Millisecond))
	}
	return n, err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
