package wsfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNothingIsWrittenOutsideTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	ws := t.TempDir()
	mustSymlink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(ws, link)); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(outside, "reports-out")                                   // a committed reports dir pointing away
	mustSymlink(filepath.Join(outside, "victim"), "report.sarif")         // a committed report file pointing away
	if err := os.MkdirAll(filepath.Join(ws, "real"), 0o755); err != nil { // a symlink that stays inside is fine
		t.Fatal(err)
	}
	mustSymlink("real", "reports-in")
	tests := []struct {
		name, path, want string
	}{
		{name: "new directories", path: "a/b/c.json"},
		{name: "through a symlink inside", path: "reports-in/lint.sarif"},
		{name: "through a symlinked directory", path: "reports-out/lint.sarif", want: "leaves the workspace"},
		{name: "below a symlinked directory", path: "reports-out/x/y/lint.sarif", want: "leaves the workspace"},
		{name: "a file that is a symlink is replaced, not written through", path: "report.sarif"},
		{name: "dot-dot", path: "../" + filepath.Base(outside) + "/z.json", want: "leaves the workspace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(ws, tc.path)
			err := WriteFile(ws, p, func(w io.Writer) error {
				_, err := io.WriteString(w, "report")
				return err
			})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("%s is not a regular file: %v %v", tc.path, fi, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("created %s", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("files appeared outside the workspace: %v", entries)
	}
	if err := WriteFile(ws, filepath.Join(ws, "reports-out", "q"), func(io.Writer) error { return nil }); !errors.Is(err, ErrOutside) {
		t.Errorf("err %v, want ErrOutside", err)
	}
}

func TestCheck(t *testing.T) {
	outside := t.TempDir()
	ws := t.TempDir()
	for _, dir := range []string{"sub", "real"} {
		if err := os.MkdirAll(filepath.Join(ws, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		".hadolint.yaml": filepath.Join(outside, "x.yaml"), // dangling, pointing away
		".trivyignore":   "/etc/hostname",
		"out":            outside,
		"in":             "real",
		"loop":           "loop",
		"sub/up":         "..",
		"sub/upup":       "../..",
	} {
		if err := os.Symlink(target, filepath.Join(ws, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path    string
		outside bool
	}{
		{path: "Dockerfile"}, // not there yet: checked by its directory
		{path: "sub/new/file"},
		{path: "in/x"},
		{path: "sub/up/in"},
		{path: "."},
		{path: ".hadolint.yaml", outside: true},
		{path: ".trivyignore", outside: true},
		{path: "out", outside: true},
		{path: "out/new/file", outside: true},
		{path: "loop", outside: true},
		{path: "sub/upup", outside: true},
		{path: "sub/upup/x", outside: true},
		{path: "../x", outside: true},
		{path: "/etc/passwd", outside: true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p := tc.path
			if !filepath.IsAbs(p) {
				p = filepath.Join(ws, p)
			}
			err := Check(ws, p)
			if tc.outside != errors.Is(err, ErrOutside) {
				t.Errorf("Check(%s) = %v, want outside=%v", tc.path, err, tc.outside)
			}
		})
	}
}
