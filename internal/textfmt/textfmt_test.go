package textfmt

import "testing"

func TestEscaping(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		in, want string
	}{
		{Text, "a|b\nc", `a\|b c`},
		{Text, "[x](http://e)", `\[x\](http://e)`},
		{Text, "# not a heading", `\# not a heading`},
		{Text, "<script>", `\<script\>`},
		{Text, "esc\x1b[2J", `esc\\x1b\[2J`},
		{Code, "a`b", "``a`b``"},
		{Code, "x|y", "`x\\|y`"},
		{Code, "`edge", "`` `edge ``"},
		{Code, "nul\x00", "`nul\\x00`"},
		{Cell, "a|b", `a\|b`},
	}
	for _, tc := range tests {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShortForms(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got := ShortDigest(d); got != "sha256:0123456789ab…" {
		t.Errorf("ShortDigest = %q", got)
	}
	if got := ShortDigest("sha256:abc"); got != "sha256:abc" {
		t.Errorf("ShortDigest of a short value = %q", got)
	}
	if got := ShortSHA("3f786850e387550fdab836ed7e6dc881de23001b"); got != "3f786850e387" {
		t.Errorf("ShortSHA = %q", got)
	}
	for n, want := range map[int]string{0: "0 repositories", 1: "1 repository", 2: "2 repositories"} {
		if got := Count(n, "repository", "repositories"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 3 << 10: "3.0 KiB", 40 << 20: "40.0 MiB", 1288490189: "1.2 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
