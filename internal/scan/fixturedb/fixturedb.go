// Package fixturedb builds a small Trivy vulnerability DB from YAML
// fixtures and packs it as Trivy's OCI artifact, so that tests, the demo and
// the test environment use Trivy's real download path with no internet.
package fixturedb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerMediaType and ConfigMediaType are those of Trivy's DB artifact.
const (
	LayerMediaType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	ConfigMediaType = "application/vnd.aquasec.trivy.config.v1+json"
)

// Fresh is the metadata of a DB built at now and due for update a day later.
func Fresh(now time.Time) metadata.Metadata {
	return metadata.Metadata{Version: 2, UpdatedAt: now.UTC(), NextUpdate: now.Add(24 * time.Hour).UTC()}
}

// Build writes trivy.db (loaded from the YAML fixture files) and
// metadata.json into dir.
func Build(dir string, yamlFiles []string, meta metadata.Metadata) error {
	if len(yamlFiles) == 0 {
		return fmt.Errorf("no fixture files given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	loader, err := fixtures.New(filepath.Join(dir, "trivy.db"), yamlFiles)
	if err != nil {
		return fmt.Errorf("open the fixture DB: %w", err)
	}
	if err := loader.Load(); err != nil {
		loader.Close()
		return fmt.Errorf("load the DB fixtures: %w", err)
	}
	if err := loader.Close(); err != nil {
		return err
	}
	return metadata.NewClient(dir).Update(meta)
}

// Artifact packs the DB in dir (trivy.db, metadata.json) as Trivy's OCI
// artifact: one tar+gzip layer titled db.tar.gz.
func Artifact(dir string) (v1.Image, error) {
	var layer bytes.Buffer
	if err := tarGz(&layer, dir, []string{"trivy.db", "metadata.json"}); err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(layer.Bytes(), LayerMediaType),
		Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"},
	})
}

func tarGz(w io.Writer, dir string, names []string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
