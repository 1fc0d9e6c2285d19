package trivy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aquasecurity/trivy/pkg/cache"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"

	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/wsfile"
)

// LayerCacheSubdir is where, under trivy-cache-dir, the analyses of layers
// are kept between runs. It is not Trivy's own layer cache (fanal/): that
// one is a bbolt file another process may hold locked, and its key leaves
// out the file-checksum option, so a Trivy CLI run without checksums would
// hand this scan's SBOM an analysis without package hashes.
const LayerCacheSubdir = "image-pipeline/layers"

// LayerCacheMaxAge is how long a layer analysis nobody reads stays on disk.
const LayerCacheMaxAge = 30 * 24 * time.Hour

// layerCache is Trivy's in-memory cache backed by a directory of layer
// analyses that outlive the run: a layer analysed once — the base image's,
// the unchanged ones of the previous build — is read back instead of
// inflated and walked again.
//
// An entry is a JSON file named by Trivy's blob key, which covers the
// layer's diff id, the versions of the analysers and hooks, and the
// analysis options, so that an entry is only ever reused by an identical
// analysis. Entries are written to a temporary file and renamed: scans
// running side by side on one cache directory need no lock.
type layerCache struct {
	*cache.MemoryCache
	dir string // "" = no directory: memory only
	log scan.Logger

	mu        sync.Mutex
	hits      int
	writeErrs int
}

func newLayerCache(dir string, log scan.Logger) *layerCache {
	return &layerCache{MemoryCache: cache.NewMemoryCache(), dir: dir, log: log}
}

// blobKey is the shape of Trivy's blob keys ("sha256:<hex>"); nothing else
// becomes a file name.
var blobKey = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func (c *layerCache) path(blobID string) (string, bool) {
	if c.dir == "" || !blobKey.MatchString(blobID) {
		return "", false
	}
	return filepath.Join(c.dir, strings.Replace(blobID, ":", "-", 1)+".json"), true
}

// MissingBlobs loads the layers the directory holds into memory first.
func (c *layerCache) MissingBlobs(ctx context.Context, artifactID string, blobIDs []string) (bool, []string, error) {
	for _, id := range blobIDs {
		if _, err := c.MemoryCache.GetBlob(ctx, id); err == nil {
			continue
		}
		p, ok := c.path(id)
		if !ok {
			continue
		}
		info, err := readBlob(p)
		if err != nil {
			continue // absent, or unreadable: analysed again and rewritten
		}
		if err := c.MemoryCache.PutBlob(ctx, id, info); err != nil {
			return false, nil, err
		}
		now := time.Now()
		_ = os.Chtimes(p, now, now) // in use: not pruned
		c.mu.Lock()
		c.hits++
		c.mu.Unlock()
	}
	return c.MemoryCache.MissingBlobs(ctx, artifactID, blobIDs)
}

func readBlob(path string) (ftypes.BlobInfo, error) {
	var info ftypes.BlobInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, err
	}
	if info.SchemaVersion != ftypes.BlobJSONSchemaVersion {
		return info, fmt.Errorf("blob schema %d, want %d", info.SchemaVersion, ftypes.BlobJSONSchemaVersion)
	}
	return info, nil
}

// PutBlob keeps the analysis in memory and on disk. A cache that cannot be
// written costs the next run time, not this one its result: the error is
// a warning, given once.
func (c *layerCache) PutBlob(ctx context.Context, blobID string, info ftypes.BlobInfo) error {
	if err := c.MemoryCache.PutBlob(ctx, blobID, info); err != nil {
		return err
	}
	p, ok := c.path(blobID)
	if !ok {
		return nil
	}
	if err := writeBlob(p, info); err != nil {
		c.mu.Lock()
		c.writeErrs++
		first := c.writeErrs == 1
		c.mu.Unlock()
		if first {
			c.log.Warningf("scan: could not keep the layer analysis in %s for the next run: %v", c.dir, err)
		}
	}
	return nil
}

func writeBlob(path string, info ftypes.BlobInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	// The cache directory is the runner's (trivy-cache-dir), not the
	// workspace's: no root to stay inside.
	return wsfile.WriteFile("", path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Hits is how many layers were read back from the directory.
func (c *layerCache) Hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}

// prune removes the entries (and temporary files left by a killed run)
// untouched for maxAge.
func (c *layerCache) prune(maxAge time.Duration, now time.Time) error {
	if c.dir == "" {
		return nil
	}
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.IsDir() || now.Sub(info.ModTime()) < maxAge {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
