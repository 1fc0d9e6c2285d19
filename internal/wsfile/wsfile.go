// Package wsfile writes files inside the workspace without following a
// symlink out of it: a repository may commit `image-pipeline-reports ->
// /somewhere` or a report file that is a symlink, and the action must not
// create or overwrite anything outside the checkout.
package wsfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrOutside means a path, once its symlinks are resolved, is not inside
// the workspace.
var ErrOutside = errors.New("leaves the workspace")

// EnsureDir creates dir and its missing parents and checks that it is,
// with every symlink resolved, inside root.
func EnsureDir(root, dir string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("the workspace %s: %w", root, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// The deepest part that exists decides where the rest is created.
	existing := abs
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	if err := inside(realRoot, existing); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	return inside(realRoot, abs)
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

// Inside reports whether path, with every symlink resolved, is inside
// root.
func Inside(root, path string) bool {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return false
	}
	if _, err := os.Stat(path); err != nil {
		return false
	}
	return inside(realRoot, path) == nil
}

func inside(realRoot, path string) error {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		real = path
	} else if err != nil {
		return err
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w (it resolves to %s)", ErrOutside, real)
	}
	return nil
}
