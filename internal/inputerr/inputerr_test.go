package inputerr

import (
	"errors"
	"io/fs"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{New("push", "yes please", "is not accepted", "auto, true, false"), `input "push": "yes please" is not accepted; accepted values: auto, true, false`},
		{New("cosign-password", "", "is set but cosign-key is empty", ""), `input "cosign-password" is set but cosign-key is empty`},
		{New("build-args", "", "line 1 has no NAME=", "NAME=value, one per line"), `input "build-args": line 1 has no NAME=; accepted values: NAME=value, one per line`},
		{Wrap("trivyignores", ".trivyignore", "cannot be read", ".trivyignore files", fs.ErrPermission), `input "trivyignores": ".trivyignore" cannot be read (permission denied); accepted values: .trivyignore files`},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestWrapUnwraps(t *testing.T) {
	if err := error(Wrap("trivyignores", "x", "cannot be read", "", fs.ErrNotExist)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not unwrap to fs.ErrNotExist", err)
	}
}
