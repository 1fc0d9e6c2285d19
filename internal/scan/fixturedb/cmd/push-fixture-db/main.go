// Command push-fixture-db builds the fixture vulnerability DB from YAML and
// pushes it to a registry as Trivy's DB artifact, and with -java-ref the
// fixture Java DB (for the JAR files of -jars) as Trivy's Java DB artifact.
// The test environment runs it so that the demo and the end-to-end tests
// scan against local DBs:
//
//	go run ./internal/scan/fixturedb/cmd/push-fixture-db \
//	    -fixtures internal/scan/testdata/db -ref 127.0.0.1:5000/testenv/trivy-db:2 \
//	    -jars internal/scan/testdata/jars -java-ref 127.0.0.1:5000/testenv/trivy-java-db:1
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	_ "modernc.org/sqlite" // the Java DB is an SQLite database

	"github.com/org/image-pipeline/internal/scan/fixturedb"
)

func main() {
	fixtureDir := flag.String("fixtures", "internal/scan/testdata/db", "directory of the YAML fixture files")
	ref := flag.String("ref", "", "where to push the DB artifact, e.g. 127.0.0.1:5000/testenv/trivy-db:2")
	jarDir := flag.String("jars", "internal/scan/testdata/jars", "directory of the fixture JAR files the Java DB names")
	javaRef := flag.String("java-ref", "", "where to push the Java DB artifact, e.g. 127.0.0.1:5000/testenv/trivy-java-db:1 (empty: not pushed)")
	flag.Parse()
	var err error
	switch {
	case *ref == "" && *javaRef == "":
		err = fmt.Errorf("-ref or -java-ref is required (e.g. -ref 127.0.0.1:5000/testenv/trivy-db:2)")
	case *ref != "":
		err = run(*fixtureDir, *ref)
	}
	if err == nil && *javaRef != "" {
		err = runJava(*jarDir, *javaRef)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "push-fixture-db:", err)
		os.Exit(1)
	}
}

func runJava(jarDir, ref string) error {
	indexes, err := fixturedb.JavaFixture(jarDir)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fixture-java-db-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := fixturedb.BuildJava(dir, indexes, fixturedb.FreshJava(time.Now())); err != nil {
		return err
	}
	img, err := fixturedb.JavaArtifact(dir)
	if err != nil {
		return err
	}
	return push(img, ref, "Java DB")
}

func push(img v1.Image, ref, what string) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return fmt.Errorf("%q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	d, _ := img.Digest()
	fmt.Printf("pushed the fixture %s to %s@%s\n", what, ref, d)
	return nil
}

func run(fixtureDir, ref string) error {
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
	return push(img, ref, "vulnerability DB")
}
