// Package fixturedb builds a small Trivy vulnerability DB from YAML
// fixtures and packs it as Trivy's OCI artifact, so that tests, the demo and
// the test environment use Trivy's real download path with no internet.
package fixturedb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1" //nolint:gosec // the Java DB names JAR files by SHA-1
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	fixtures "github.com/aquasecurity/bolt-fixtures"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	javadb "github.com/aquasecurity/trivy-java-db/pkg/db"
	javatypes "github.com/aquasecurity/trivy-java-db/pkg/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerMediaType and ConfigMediaType are those of Trivy's DB artifact;
// JavaLayerMediaType is the layer's of the Java DB artifact.
const (
	LayerMediaType     = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	ConfigMediaType    = "application/vnd.aquasec.trivy.config.v1+json"
	JavaLayerMediaType = "application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip"
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

// JavaIndex is one Maven artifact of the fixture Java DB: a JAR file of
// that SHA-1 is that artifact's version.
type JavaIndex struct {
	GroupID, ArtifactID, Version string
	SHA1                         [20]byte
}

// FreshJava is the metadata of a Java DB built at now and due for update
// three days later, as Trivy's.
func FreshJava(now time.Time) javadb.Metadata {
	return javadb.Metadata{Version: javadb.SchemaVersion, UpdatedAt: now.UTC(), NextUpdate: now.Add(72 * time.Hour).UTC()}
}

// BuildJava writes a Java DB (trivy-java.db, with the schema of
// trivy-java-db, and metadata.json) of the given artifacts into dir.
func BuildJava(dir string, indexes []JavaIndex, meta javadb.Metadata) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d, err := javadb.New(dir)
	if err != nil {
		return fmt.Errorf("create the fixture Java DB: %w", err)
	}
	rows := make([]javatypes.Index, len(indexes))
	for i, x := range indexes {
		rows[i] = javatypes.Index{GroupID: x.GroupID, ArtifactID: x.ArtifactID, Version: x.Version, SHA1: x.SHA1[:], ArchiveType: javatypes.JarType}
	}
	if err := d.Init(); err != nil {
		d.Close()
		return fmt.Errorf("create the fixture Java DB's tables: %w", err)
	}
	if err := d.InsertIndexes(rows); err != nil {
		d.Close()
		return fmt.Errorf("fill the fixture Java DB: %w", err)
	}
	if err := d.Close(); err != nil {
		return err
	}
	mc := javadb.NewMetadata(dir)
	return mc.Update(meta)
}

// JavaArtifact packs the Java DB in dir (trivy-java.db, metadata.json) as
// Trivy's Java DB artifact: one tar+gzip layer titled javadb.tar.gz.
func JavaArtifact(dir string) (v1.Image, error) {
	return pack(dir, []string{"trivy-java.db", "metadata.json"}, JavaLayerMediaType, "javadb.tar.gz")
}

// Artifact packs the DB in dir (trivy.db, metadata.json) as Trivy's OCI
// artifact: one tar+gzip layer titled db.tar.gz.
func Artifact(dir string) (v1.Image, error) {
	return pack(dir, []string{"trivy.db", "metadata.json"}, LayerMediaType, "db.tar.gz")
}

func pack(dir string, files []string, layerType types.MediaType, title string) (v1.Image, error) {
	var layer bytes.Buffer
	if err := tarGz(&layer, dir, files); err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(layer.Bytes(), layerType),
		Annotations: map[string]string{"org.opencontainers.image.title": title},
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

// JavaFixture is the content of the fixture Java DB for the JAR files of
// jarDir (internal/scan/testdata/jars): widgets.jar, which carries no Maven
// metadata, by its SHA-1 as com.example:widgets:2.0.0; io.example:gadget
// 1.0.0 with a SHA-1 no file has (a rebuilt JAR), so that
// gadget-1.0.0.jar is named by its file name's artifact id and version;
// and greeter-1.2.3.jar, which carries its pom.properties.
func JavaFixture(jarDir string) ([]JavaIndex, error) {
	sum := func(name string) ([20]byte, error) {
		b, err := os.ReadFile(filepath.Join(jarDir, name))
		if err != nil {
			return [20]byte{}, fmt.Errorf("fixture JAR: %w", err)
		}
		return sha1.Sum(b), nil
	}
	widgets, err := sum("widgets.jar")
	if err != nil {
		return nil, err
	}
	greeter, err := sum("greeter-1.2.3.jar")
	if err != nil {
		return nil, err
	}
	return []JavaIndex{
		{GroupID: "com.example", ArtifactID: "widgets", Version: "2.0.0", SHA1: widgets},
		{GroupID: "io.example", ArtifactID: "gadget", Version: "1.0.0", SHA1: sha1.Sum([]byte("gadget 1.0.0 as published"))},
		{GroupID: "org.example", ArtifactID: "greeter", Version: "1.2.3", SHA1: greeter},
	}, nil
}
