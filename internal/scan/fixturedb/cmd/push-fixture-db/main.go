// Command push-fixture-db builds the fixture vulnerability DB from YAML and
// pushes it to a registry as Trivy's DB artifact. The test environment runs
// it so that the demo and the end-to-end tests scan against a local DB:
//
//	go run ./internal/scan/fixturedb/cmd/push-fixture-db \
//	    -fixtures internal/scan/testdata/db -ref 127.0.0.1:5000/testenv/trivy-db:2
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/org/image-pipeline/internal/scan/fixturedb"
)

func main() {
	fixtureDir := flag.String("fixtures", "internal/scan/testdata/db", "directory of the YAML fixture files")
	ref := flag.String("ref", "", "where to push the DB artifact, e.g. 127.0.0.1:5000/testenv/trivy-db:2")
	flag.Parse()
	if err := run(*fixtureDir, *ref); err != nil {
		fmt.Fprintln(os.Stderr, "push-fixture-db:", err)
		os.Exit(1)
	}
}

func run(fixtureDir, ref string) error {
	if ref == "" {
		return fmt.Errorf("-ref is required (e.g. 127.0.0.1:5000/testenv/trivy-db:2)")
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no *.yaml fixture files in %s", fixtureDir)
	}
	dir, err := os.MkdirTemp("", "fixture-db-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := fixturedb.Build(dir, files, fixturedb.Fresh(time.Now())); err != nil {
		return err
	}
	img, err := fixturedb.Artifact(dir)
	if err != nil {
		return err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return fmt.Errorf("-ref %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	d, _ := img.Digest()
	fmt.Printf("pushed the fixture vulnerability DB to %s@%s\n", ref, d)
	return nil
}
