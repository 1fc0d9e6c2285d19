package config

import (
	"strings"
	"testing"
)

func TestCheckGivenInputs(t *testing.T) {
	tests := []struct {
		name         string
		env          []string
		imageSet     bool
		wantWarnings []string
		wantErr      string
	}{
		{name: "declared inputs only", env: []string{"INPUT_IMAGE", "INPUT_BUILD-ARGS", "PATH", "GITHUB_SHA"}},
		{name: "typo of a list input", env: []string{"INPUT_BUILD-ARG"}, wantWarnings: []string{`input "build-arg" is not an input of image-pipeline and is ignored; did you mean "build-args"?`}},
		{name: "metadata-action's tags spelling", env: []string{"INPUT_TAG"}, wantWarnings: []string{`did you mean "tags"?`}},
		{name: "image under another name", env: []string{"INPUT_IMAGE-NAME"}, wantErr: `input "image-name" is not an input of image-pipeline (did you mean "image"?)`},
		{name: "image under another name with image set", env: []string{"INPUT_IMAGE-NAME"}, imageSet: true, wantWarnings: []string{`input "image-name" is not an input`}},
		{name: "repository", env: []string{"INPUT_REPOSITORY"}, wantErr: `input "repository" is not an input`},
		{name: "cache image typo is not an image", env: []string{"INPUT_CACHE_IMAGE"}, wantWarnings: []string{`did you mean "cache-image"?`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := CheckGivenInputs(tc.env, tc.imageSet)
			if len(warnings) != len(tc.wantWarnings) {
				t.Fatalf("warnings %q, want %d", warnings, len(tc.wantWarnings))
			}
			for i, w := range tc.wantWarnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestImagesAlias(t *testing.T) {
	c, err := Parse(source(map[string]string{"images": "ghcr.io/a/b\nquay.io/c/d"}))
	if err != nil || len(c.Images) != 2 || c.Images[1].Name != "quay.io/c/d" {
		t.Errorf("images alias: %v %+v", err, c.Images)
	}
	_, err = Parse(source(map[string]string{"images": "ghcr.io/a/b", "image": "ghcr.io/a/b"}))
	if err == nil || !strings.Contains(err.Error(), `input "images": and "image" are both set`) && !strings.Contains(err.Error(), `input "images" and "image" are both set`) {
		t.Errorf("both set: %v", err)
	}
}
