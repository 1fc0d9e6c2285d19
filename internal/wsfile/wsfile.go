// Package wsfile writes files inside the workspace without following a
// symlink out of it: a repository may commit `image-pipeline-reports ->
// /somewhere` or a report file that is a symlink, and the action must not
// create or overwrite anything outside the checkout.
package wsfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// Create creates or truncates the file at path for writing, refusing when
// its directory leaves root or the file itself is a symlink.
func Create(root, path string) (*os.File, error) {
	if err := EnsureDir(root, filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink: not written through it", path)
	}
	return f, err
}

// Inside reports whether path exists and is, with every symlink
// resolved, inside root.
func Inside(root, path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	return Check(root, path) == nil
}
