// Package wsfile writes files inside the workspace without following a
// symlink out of it: a repository may commit `image-pipeline-reports ->
// /somewhere` or a report file that is a symlink, and the action must not
// create or overwrite anything outside the checkout.
package wsfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside means a path, once its symlinks are resolved, is not inside
// the workspace. Errors wrapping it are *OutsideError.
var ErrOutside = errors.New("leaves the workspace")

// OutsideError is a path that leaves the workspace.
type OutsideError struct {
	Path string
	// Resolved is where the path leads with its symlinks resolved; ""
	// when a symlink on the way cannot be resolved (dangling, a loop).
	Resolved string
}

func (e *OutsideError) Error() string {
	if e.Resolved == "" {
		return e.Path + " leaves the workspace (through a symlink that cannot be resolved)"
	}
	return e.Path + " leaves the workspace (it resolves to " + e.Resolved + ")"
}

// Unwrap makes errors.Is(err, ErrOutside) hold.
func (e *OutsideError) Unwrap() error { return ErrOutside }

// Where says where the path leads, for messages.
func (e *OutsideError) Where() string {
	if e.Resolved == "" {
		return "through a symlink that cannot be resolved"
	}
	return "it resolves to " + e.Resolved
}

// EnsureDir creates dir and its missing parents and checks that it is,
// with every symlink resolved, inside root.
func EnsureDir(root, dir string) error {
	if err := Check(root, dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return Check(root, dir)
}

// Check returns an error wrapping ErrOutside when path (absolute, or
// relative to the current directory) leaves root once its symlinks are
// resolved. The part of path that does not exist yet is taken as
// written, so a file about to be created is checked by the directory
// that will hold it. A symlink that cannot be resolved (dangling, or a
// loop) is refused as well: where it leads cannot be known.
func Check(root, path string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("the workspace %s: %w", root, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// The deepest part that exists decides where the rest goes.
	existing, rest := abs, ""
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return &OutsideError{Path: path}
	}
	real = filepath.Join(real, rest)
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return &OutsideError{Path: path, Resolved: real}
	}
	return nil
}

// WriteFile writes the file at path atomically: write fills a temporary
// file beside it, which is then renamed over path, so a reader never sees
// half a file and a symlink at path is replaced, never written through.
// With root set, the directory (created as needed) must be inside root
// with every symlink resolved; an empty root writes anywhere (inputs
// documented as paths anywhere, such as report-json).
func WriteFile(root, path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if root != "" {
		if err := EnsureDir(root, dir); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Inside reports whether path exists and is, with every symlink
// resolved, inside root.
func Inside(root, path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	return Check(root, path) == nil
}
