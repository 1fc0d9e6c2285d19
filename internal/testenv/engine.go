package testenv

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/client"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// SaveEngineImage exports ref (a tag or image id) from the engine with
// ImageSave into a temp file and reads it back as a v1.Image, so tests can
// look at the layers and the config of an image that lives in the engine.
func SaveEngineImage(t testing.TB, docker *client.Client, ref string) v1.Image {
	t.Helper()
	rc, err := docker.ImageSave(t.Context(), []string{ref})
	if err != nil {
		t.Fatalf("save %s from the engine: %v", ref, err)
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(f, rc)
	_ = rc.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("save %s from the engine: %v", ref, err)
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatalf("read the saved %s: %v", ref, err)
	}
	return img
}
