// Package golden compares test output with files kept under testdata/,
// with one -update flag for every package that has them:
//
//	go test ./internal/tags -update
//
// It has no dependencies, so light packages' tests stay light.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/, action.yml, README tables) with the current output")

// Updating reports whether the test run was asked to rewrite golden files.
func Updating() bool { return *update }

// File compares got with the file at path (relative to the package, e.g.
// testdata/plan.txt); under -update it writes got there instead.
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (check it, then run go test with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
