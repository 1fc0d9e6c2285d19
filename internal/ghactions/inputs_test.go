package ghactions

import (
	"errors"
	"slices"
	"testing"

	"github.com/org/image-pipeline/internal/inputerr"
)

// envOf returns a getenv reading from m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestInputEnvName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"push", "INPUT_PUSH"},
		{"build-args", "INPUT_BUILD-ARGS"},
		{"registry username", "INPUT_REGISTRY_USERNAME"},
		{"Failure_Threshold", "INPUT_FAILURE_THRESHOLD"},
	}
	for _, tt := range tests {
		if got := InputEnvName(tt.name); got != tt.want {
			t.Errorf("InputEnvName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		value   string
		want    bool
		wantErr string
	}{
		{value: "true", want: true},
		{value: "True", want: true},
		{value: "TRUE", want: true},
		{value: " true\n", want: true},
		{value: "false"},
		{value: "False"},
		{value: "FALSE"},
		{value: "yes please", wantErr: `input "push": "yes please" is not a boolean; accepted values: true, false`},
		{value: "yes", wantErr: `input "push": "yes" is not a boolean; accepted values: true, false`},
		{value: "tRUE", wantErr: `input "push": "tRUE" is not a boolean; accepted values: true, false`},
		{value: "1", wantErr: `input "push": "1" is not a boolean; accepted values: true, false`},
		{value: "", wantErr: `input "push" is not a boolean; accepted values: true, false`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := ParseBool("push", tt.value)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseBool(%q) error = %v, want %q", tt.value, err, tt.wantErr)
				}
				var ie *inputerr.Error
				if !errors.As(err, &ie) || ie.Input != "push" {
					t.Errorf("error %v is not an *inputerr.Error for input push", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseBool(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name       string
		value      string
		splitComma bool
		want       []string
	}{
		{name: "empty", value: "", want: nil},
		{name: "blank lines", value: "\n  \n\t\n", want: nil},
		{name: "lines trimmed", value: "  a \n\nb\n", want: []string{"a", "b"}},
		{name: "CRLF", value: "a\r\nb\r\n\r\n", want: []string{"a", "b"}},
		{name: "comments", value: "# tags\na\n  # indented comment\nb # not a comment", want: []string{"a", "b # not a comment"}},
		{name: "commas kept without splitComma", value: "a,b\nc", want: []string{"a,b", "c"}},
		{name: "quotes kept without splitComma", value: `"a, b"`, want: []string{`"a, b"`}},
		{name: "comma split", value: "a, b,,c\nd", splitComma: true, want: []string{"a", "b", "c", "d"}},
		{name: "comma split CRLF", value: "a,b\r\nc\r\n", splitComma: true, want: []string{"a", "b", "c"}},
		{name: "CSV quotes", value: `FOO="x,y", "BAR=a, b" ,BAZ=1`, splitComma: true, want: []string{`FOO=x,y`, `BAR=a, b`, `BAZ=1`}},
		{name: "CSV quote keeps inner space", value: `" padded "`, splitComma: true, want: []string{" padded "}},
		{name: "CSV doubled quote", value: `"say ""hi""",x`, splitComma: true, want: []string{`say "hi"`, "x"}},
		{name: "CSV quoted line break", value: "\"KEY=line1\nline2\",other", splitComma: true, want: []string{"KEY=line1\nline2", "other"}},
		{name: "CSV quoted CRLF", value: "\"a\r\nb\"\r\nc", splitComma: true, want: []string{"a\nb", "c"}},
		{name: "CSV comments", value: "# a,b\n  #c,d\ne,f # g", splitComma: true, want: []string{"e", "f # g"}},
		{name: "CSV empty quoted dropped", value: `"",a`, splitComma: true, want: []string{"a"}},
		{name: "CSV hash inside field", value: "a,#b", splitComma: true, want: []string{"a", "#b"}},
		{name: "CSV unterminated quote", value: `"a,b`, splitComma: true, want: []string{"a,b"}},
		{name: "CSV unicode", value: "é, ü ,☃", splitComma: true, want: []string{"é", "ü", "☃"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseList(tt.value, tt.splitComma)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseList(%q, %v) = %q, want %q", tt.value, tt.splitComma, got, tt.want)
			}
		})
	}
}
