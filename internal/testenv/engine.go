package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// LoadImage puts img into the engine's image store under tag (docker load
// of a tarball streamed by go-containerregistry) and returns the engine's
// image id.
func LoadImage(ctx context.Context, docker *client.Client, tag string, img v1.Image) (string, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	resp, err := docker.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("load %s into the engine: %w", tag, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	inspect, err := docker.ImageInspect(ctx, ref.String())
	if err != nil {
		return "", fmt.Errorf("inspect the loaded %s: %w", tag, err)
	}
	return inspect.ID, nil
}

// LoadEngineImage is LoadImage for a test: the tag is removed from the
// engine when the test ends.
func LoadEngineImage(t testing.TB, docker *client.Client, tag string, img v1.Image) string {
	t.Helper()
	id, err := LoadImage(t.Context(), docker, tag, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = docker.ImageRemove(ctx, tag, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	return id
}

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
