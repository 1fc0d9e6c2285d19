package trivy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aquasecurity/trivy/pkg/cache"
	"github.com/aquasecurity/trivy/pkg/clock"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/report"
	"github.com/aquasecurity/trivy/pkg/report/cyclonedx"
	"github.com/aquasecurity/trivy/pkg/report/spdx"
	"github.com/aquasecurity/trivy/pkg/types"
	"github.com/google/uuid"

	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/textfmt"
)

// osPurpose matches the operating system's package purpose as Trivy writes
// it, in the spelling of SPDX 2.3's text. The SPDX 2.3 JSON schema, which
// the SPDX maintainers hold authoritative for JSON, spells it
// OPERATING_SYSTEM, and validators reject the other spelling.
var osPurpose = regexp.MustCompile(`("primaryPackagePurpose"\s*:\s*)"OPERATING-SYSTEM"`)

type trivyDocuments struct {
	full     types.Report // every package, unfiltered findings
	filtered types.Report // packages, reported findings
}

func (d trivyDocuments) WriteJSON(ctx context.Context, w io.Writer) error {
	return report.JSONWriter{Output: w}.Write(ctx, cloneResults(d.filtered))
}

func (d trivyDocuments) WriteSARIF(ctx context.Context, w io.Writer) error {
	sw := &report.SarifWriter{Output: w, Version: trivyVersion()}
	return sw.Write(ctx, cloneResults(d.filtered))
}

// WriteSBOM writes what `trivy image --format cyclonedx|spdx-json` writes:
// the packages without vulnerabilities.
func (d trivyDocuments) WriteSBOM(ctx context.Context, w io.Writer, format scan.SBOMFormat) error {
	r := cloneResults(d.full)
	for i := range r.Results {
		r.Results[i].Vulnerabilities = nil
		r.Results[i].ModifiedFindings = nil
	}
	switch format {
	case scan.FormatCycloneDX:
		return reproducibly(ctx, r, func(ctx context.Context) error {
			return cyclonedx.NewWriter(w, trivyVersion()).Write(ctx, r)
		})
	case scan.FormatSPDXJSON:
		var buf bytes.Buffer
		if err := reproducibly(ctx, r, func(ctx context.Context) error {
			return spdx.NewWriter(&buf, trivyVersion(), types.FormatSPDXJSON).Write(ctx, r)
		}); err != nil {
			return err
		}
		_, err := w.Write(osPurpose.ReplaceAll(buf.Bytes(), []byte(`$1"OPERATING_SYSTEM"`)))
		return err
	default:
		return fmt.Errorf("SBOM format %q is not one of %s, %s (the sbom-format input is parsed by the configuration: this is a caller's bug)", format, scan.FormatCycloneDX, scan.FormatSPDXJSON)
	}
}

// reproducibly runs write with the parts Trivy draws at random or from the
// clock fixed by the image: the UUIDs (CycloneDX's serial number and the
// bom-refs of components without a purl, SPDX's document namespace) come
// from a stream seeded by the image's config digest and diff ids, and the
// document's time is the image's creation time. The same image gives the
// same SBOM bytes, so a warm run's SBOM attestation is the one the registry
// already holds (the sign stage then signs nothing new). The UUID source
// is the uuid package's, process-wide: trivyMu keeps the scans' own use of
// it out while the SBOM is written.
func reproducibly(ctx context.Context, r types.Report, write func(context.Context) error) error {
	if r.Metadata.ImageID == "" {
		return write(ctx)
	}
	seed := sha256.Sum256([]byte("image-pipeline SBOM\x00" + r.Metadata.ImageID + "\x00" + strings.Join(r.Metadata.DiffIDs, ",")))
	if created := r.Metadata.ImageConfig.Created.Time; !created.IsZero() {
		ctx = clock.With(ctx, created)
	}
	trivyMu.Lock()
	defer trivyMu.Unlock()
	uuid.SetRand(rand.NewChaCha8(seed))
	defer uuid.SetRand(nil)
	return write(ctx)
}

// progressCache logs the layer analysis: Trivy stores each analysed layer
// in the cache, so the cache sees the progress.
type progressCache struct {
	cache.Cache
	log   scan.Logger
	start time.Time

	mu          sync.Mutex
	total, done int
	bytes       int64
}

func (c *progressCache) MissingBlobs(ctx context.Context, artifactID string, blobIDs []string) (bool, []string, error) {
	missingArtifact, missing, err := c.Cache.MissingBlobs(ctx, artifactID, blobIDs)
	if err == nil {
		c.mu.Lock()
		c.total = len(missing)
		c.mu.Unlock()
		if cached := len(blobIDs) - len(missing); cached > 0 {
			c.log.Infof("scan: analysing %d of %d layers (%d analysed by an earlier run, read from the layer cache)", len(missing), len(blobIDs), cached)
		} else {
			c.log.Infof("scan: analysing %d layers", len(missing))
		}
	}
	return missingArtifact, missing, err
}

func (c *progressCache) PutBlob(ctx context.Context, blobID string, info ftypes.BlobInfo) error {
	c.mu.Lock()
	c.done++
	c.bytes += info.Size
	done, total, bytes := c.done, c.total, c.bytes
	c.mu.Unlock()
	c.log.Infof("scan: layer %d/%d analysed (%s, %s) · %s in %s", done, total, textfmt.ShortDigest(info.DiffID), mib(info.Size), mib(bytes), time.Since(c.start).Round(10*time.Millisecond))
	return c.Cache.PutBlob(ctx, blobID, info)
}
