package ghactions

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// ---- a model of the runner's side of the contract ----

// command is a workflow command the runner would execute.
type command struct{ Name, Props, Data string }

// registeredCommands are the command names the runner knows
// (actions/runner ActionCommandManager); only these are parsed.
var registeredCommands = []string{
	"stop-commands", "add-mask", "add-matcher", "remove-matcher", "add-path", "set-env",
	"set-output", "save-state", "debug", "notice", "warning", "error", "group", "endgroup", "echo",
}

var unescapeData = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")

// runnerCommands replays a log through the runner's command processing:
// lines end at \r\n, \n or \r; "::name props::data" after leading white
// space, or legacy "##[name props]data" anywhere in a line; stop-commands
// suspends everything until "::<token>::".
func runnerCommands(log string) []command {
	var cmds []command
	stopToken := ""
	known := func(name string) bool {
		if stopToken != "" && strings.EqualFold(name, stopToken) {
			return true
		}
		return slices.ContainsFunc(registeredCommands, func(c string) bool { return strings.EqualFold(c, name) })
	}
	for _, line := range splitLines(log) {
		cmd, ok := parseCommandV2(line, known)
		if !ok {
			cmd, ok = parseCommandV1(line, known)
		}
		if !ok {
			continue
		}
		if stopToken != "" {
			if strings.EqualFold(cmd.Name, stopToken) {
				stopToken = ""
			}
			continue
		}
		if strings.EqualFold(cmd.Name, "stop-commands") {
			stopToken = cmd.Data
			continue
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

func parseCommandV2(line string, known func(string) bool) (command, bool) {
	line = strings.TrimLeftFunc(line, unicode.IsSpace)
	rest, ok := strings.CutPrefix(line, "::")
	if !ok {
		return command{}, false
	}
	info, data, ok := strings.Cut(rest, "::")
	if !ok {
		return command{}, false
	}
	name, props, _ := strings.Cut(info, " ")
	if !known(name) {
		return command{}, false
	}
	return command{Name: name, Props: props, Data: unescapeData.Replace(data)}, true
}

func parseCommandV1(line string, known func(string) bool) (command, bool) {
	_, rest, ok := strings.Cut(line, "##[")
	if !ok {
		return command{}, false
	}
	info, data, ok := strings.Cut(rest, "]")
	if !ok {
		return command{}, false
	}
	name, props, _ := strings.Cut(info, " ")
	if !known(name) {
		return command{}, false
	}
	return command{Name: name, Props: props, Data: data}, true
}

// parseOutputFile reads a GITHUB_OUTPUT file the way the runner does
// (SetEnvFileCommand/SetOutputFileCommand on Linux): NAME=VALUE lines, or
// NAME<<DELIM, value lines, DELIM. It also returns the delimiters used.
func parseOutputFile(t *testing.T, text string) (map[string]string, []string) {
	t.Helper()
	values := map[string]string{}
	var delims []string
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] != "" {
		t.Fatalf("output file does not end with a line break: %q", text)
	}
	lines = lines[:len(lines)-1]
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			values[line[:eq]] = line[eq+1:]
			continue
		}
		if hd <= 0 || hd+2 == len(line) {
			t.Fatalf("invalid output line %q", line)
		}
		name, delim := line[:hd], line[hd+2:]
		delims = append(delims, delim)
		var value []string
		for i++; ; i++ {
			if i == len(lines) {
				t.Fatalf("output %q: matching delimiter %q not found", name, delim)
			}
			if lines[i] == delim {
				break
			}
			value = append(value, lines[i])
		}
		values[name] = strings.Join(value, "\n")
	}
	return values, delims
}

// newTestRunner returns a Runner for env (GITHUB_ACTIONS etc.) and its log.
func newTestRunner(t *testing.T, env map[string]string) (*Runner, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	r := NewRunner(envOf(env), &log)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Runner.Close: %v", err)
		}
	})
	return r, &log
}

var actionsEnv = map[string]string{"GITHUB_ACTIONS": "true"}

// ---- escaping ----

func TestEscape(t *testing.T) {
	tests := []struct{ in, data, property string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"%0A", "%250A", "%250A"},
		{"a\nb\r\nc\r", "a%0Ab%0D%0Ac%0D", "a%0Ab%0D%0Ac%0D"},
		{"key: a, b", "key: a, b", "key%3A a%2C b"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	}
	for _, tt := range tests {
		if got := EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := EscapeProperty(tt.in); got != tt.property {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
		if got := unescapeData.Replace(EscapeData(tt.in)); got != tt.in {
			t.Errorf("EscapeData(%q) does not round-trip: %q", tt.in, got)
		}
	}
}

// ---- untrusted text ----

// hostile is text an attacker controls: branch names, commit messages,
// Dockerfile content, registry errors.
var hostile = []string{
	"feature/::error::x",
	"Fix build\n::error::pwned",
	"::error file=Dockerfile,line=1::pwned",
	"  \t::warning::indented",
	"cr\r::error::after carriage return",
	"crlf\r\n::error::after CRLF",
	"text ##[error]legacy syntax mid-line",
	"##[group]fake group",
	"%0A::error::pre-escaped",
	"::stop-commands::tok\n::error::inside\n::tok::\n::error::after resume",
	"::ADD-MASK::upper case",
	"::set-output name=digest::sha256:evil",
	"::",
	"::error::",
}

func TestUntrustedTextNeverBecomesCommand(t *testing.T) {
	// Each writes one hostile string through a Runner method and returns the
	// commands the Runner itself means to emit.
	methods := []struct {
		name  string
		write func(r *Runner, s string)
		want  func(s string) []command
	}{
		{"Infof", func(r *Runner, s string) { r.Infof("branch %s", s) }, nil},
		{"Infof verbatim", func(r *Runner, s string) { r.Infof("%s", s) }, nil},
		{"Warningf", func(r *Runner, s string) { r.Warningf("%s", s) },
			func(s string) []command { return []command{{Name: "warning", Data: s}} }},
		{"Errorf", func(r *Runner, s string) { r.Errorf("push failed: %s", s) },
			func(s string) []command { return []command{{Name: "error", Data: "push failed: " + s}} }},
		{"Debugf", func(r *Runner, s string) { r.Debugf("%s", s) },
			func(s string) []command { return []command{{Name: "debug", Data: s}} }},
		{"Annotate", func(r *Runner, s string) {
			r.Annotate(LevelWarning, s, Annotation{File: s, Line: 2, Title: s})
		}, func(s string) []command {
			return []command{{Name: "warning", Props: "file=" + EscapeProperty(s) + ",line=2,title=" + EscapeProperty(s), Data: s}}
		}},
		{"Group", func(r *Runner, s string) { r.Group(s)() },
			func(s string) []command { return []command{{Name: "group", Data: s}, {Name: "endgroup"}} }},
		{"UntrustedWriter", func(r *Runner, s string) {
			w := r.UntrustedWriter()
			// Split writes so that lines arrive in pieces.
			for chunk := range slices.Chunk([]byte(s+"\n"), 3) {
				if _, err := w.Write(chunk); err != nil {
					panic(err)
				}
			}
			if err := w.Close(); err != nil {
				panic(err)
			}
		}, nil},
		{"Untrusted without final line break", func(r *Runner, s string) {
			w := r.Untrusted()
			fmt.Fprint(w, s)
			w.(interface{ Close() error }).Close()
		}, nil},
	}
	for _, m := range methods {
		for _, s := range hostile {
			t.Run(m.name+"/"+s, func(t *testing.T) {
				t.Run("actions", func(t *testing.T) {
					r, log := newTestRunner(t, actionsEnv)
					m.write(r, s)
					r.Infof("done") // must still be a plain line after the method
					r.Warningf("still processing")
					var want []command
					if m.want != nil {
						want = m.want(s)
					}
					want = append(want, command{Name: "warning", Data: "still processing"})
					got := runnerCommands(log.String())
					if !slices.Equal(got, want) {
						t.Errorf("runner would execute %q\nwant %q\nlog:\n%s", got, want, log)
					}
					if m.want == nil || m.name == "Annotate" {
						for _, line := range splitLines(log.String()) {
							if strings.HasPrefix(strings.TrimSpace(line), "::error") {
								t.Errorf("log line starts with ::error: %q", line)
							}
						}
					}
				})
				t.Run("local", func(t *testing.T) {
					r, log := newTestRunner(t, nil)
					r.SetDebug(true)
					m.write(r, s)
					if got := runnerCommands(log.String()); len(got) != 0 {
						t.Errorf("local output contains commands %q:\n%s", got, log)
					}
				})
			})
		}
	}
}

func TestInfofEscapesToOneLine(t *testing.T) {
	r, log := newTestRunner(t, actionsEnv)
	r.Infof("branch %s", "feature/::error::x")
	r.Infof("%s", "msg\n::error::pwned 100%")
	r.Infof("%s", "::error::x")
	want := "branch feature/::error::x\n" +
		"msg%0A::error::pwned 100%25\n" +
		"%3A%3Aerror::x\n"
	if log.String() != want {
		t.Errorf("log = %q, want %q", log, want)
	}
}

func TestUntrustedWriterStopsAndResumes(t *testing.T) {
	r, log := newTestRunner(t, actionsEnv)
	w := r.UntrustedWriter()
	if log.Len() != 0 {
		t.Fatalf("stop marker written before any output: %q", log)
	}
	fmt.Fprint(w, "step 1/3\n::error::from build\npartial")
	r.Warningf("a warning while the build runs")
	fmt.Fprint(w, " line\n##[error]x\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
	r.Errorf("after the build")

	lines := splitLines(log.String())
	token, ok := strings.CutPrefix(lines[0], "::stop-commands::")
	if !ok || len(token) < 32 {
		t.Fatalf("first line %q is not a stop-commands marker with a random token", lines[0])
	}
	// The warning resumes processing; the next output stops it again with
	// a fresh token.
	token2, _ := strings.CutPrefix(lines[min(5, len(lines)-1)], "::stop-commands::")
	if token2 == "" || token2 == token {
		t.Errorf("second stop token %q must be fresh (first %q)", token2, token)
	}
	wantLines := []string{
		"::stop-commands::" + token,
		"step 1/3",
		"%3A%3Aerror::from build",
		"::" + token + "::",
		"::warning::a warning while the build runs",
		"::stop-commands::" + token2,
		"partial line",
		"##%5Berror]x",
		"::" + token2 + "::",
		"::error::after the build",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("log lines:\n%q\nwant:\n%q", lines, wantLines)
	}
	got := runnerCommands(log.String())
	want := []command{
		{Name: "warning", Data: "a warning while the build runs"},
		{Name: "error", Data: "after the build"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("runner would execute %q, want %q\nlog:\n%s", got, want, log)
	}
}

func TestUntrustedWriterPartialLineAndClose(t *testing.T) {
	r, log := newTestRunner(t, actionsEnv)
	w := r.UntrustedWriter()
	fmt.Fprint(w, "no line break ::error::x")
	if log.Len() != 0 {
		t.Fatalf("partial line written before Close: %q", log)
	}
	// Runner.Close closes writers left open and resumes commands.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	lines := splitLines(log.String())
	if len(lines) != 3 || lines[1] != "no line break ::error::x" || !strings.HasPrefix(lines[0], "::stop-commands::") ||
		lines[2] != "::"+strings.TrimPrefix(lines[0], "::stop-commands::")+"::" {
		t.Errorf("log = %q, want stop marker, the text, resume marker", lines)
	}
}

func TestUntrustedWriterLongLine(t *testing.T) {
	r, log := newTestRunner(t, nil)
	r.Mask("0123456789abcdef")
	w := r.UntrustedWriter()
	// A progress stream without line breaks, a secret straddling the flush.
	long := strings.Repeat("x", maxPendingLine-5) + "0123456789abcdef" + strings.Repeat("y", 10)
	fmt.Fprint(w, long)
	if log.Len() == 0 {
		t.Error("an over-long line is held back entirely")
	}
	w.Close()
	if strings.Contains(log.String(), "0123456789abcdef") || !strings.Contains(log.String(), "x***y") {
		t.Errorf("secret not redacted across the flush: ...%q", log.String()[log.Len()-40:])
	}
}

func TestConcurrentOutput(t *testing.T) {
	ctx := t.Context()
	r, log := newTestRunner(t, actionsEnv)
	const writers, lines = 4, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			w := r.UntrustedWriter()
			defer w.Close()
			for j := range lines {
				select {
				case <-ctx.Done():
					return
				default:
				}
				fmt.Fprintf(w, "writer %d line %d\n::error::injected %d\n", i, j, j)
			}
		})
	}
	wg.Go(func() {
		for j := range lines {
			r.Warningf("warning %d", j)
			r.Infof("::error::info %d", j)
		}
	})
	wg.Wait()
	got := runnerCommands(log.String())
	if len(got) != lines {
		t.Fatalf("runner would execute %d commands, want %d warnings", len(got), lines)
	}
	for j, c := range got {
		if c != (command{Name: "warning", Data: fmt.Sprintf("warning %d", j)}) {
			t.Fatalf("command %d = %q", j, c)
		}
	}
}

// ---- masks ----

func TestMask(t *testing.T) {
	const secret = "s3cr3t-%40-token"
	t.Run("local", func(t *testing.T) {
		r, log := newTestRunner(t, nil)
		r.Mask(secret + "\n\n  \nsecond-line")
		r.Mask("") // nothing to mask
		r.Infof("token=%s", secret)
		r.Warningf("login failed for %s with second-line", secret)
		w := r.UntrustedWriter()
		fmt.Fprint(w, "header s3cr")
		fmt.Fprint(w, "3t-%40-token trailer\n")
		w.Close()
		want := "token=***\nwarning: login failed for *** with ***\nheader *** trailer\n"
		if log.String() != want {
			t.Errorf("log = %q, want %q", log, want)
		}
	})
	t.Run("actions", func(t *testing.T) {
		summary := filepath.Join(t.TempDir(), "summary.md")
		env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
		r, log := newTestRunner(t, env)
		r.Mask(secret + "\r\n\r\nsecond-line\n")
		r.Infof("token=%s", secret)
		if err := r.AppendSummary("pushed with " + secret); err != nil {
			t.Fatal(err)
		}
		got := runnerCommands(log.String())
		want := []command{{Name: "add-mask", Data: secret}, {Name: "add-mask", Data: "second-line"}}
		if !slices.Equal(got, want) {
			t.Errorf("runner would execute %q, want %q", got, want)
		}
		if !strings.Contains(log.String(), "::add-mask::s3cr3t-%2540-token\n") {
			t.Errorf("add-mask data not escaped: %q", log)
		}
		if !strings.HasSuffix(log.String(), "\ntoken=***\n") {
			t.Errorf("secret not redacted locally too: %q", log)
		}
		data, _ := os.ReadFile(summary)
		if string(data) != "pushed with ***\n" {
			t.Errorf("summary = %q", data)
		}
	})
	t.Run("overlapping secrets", func(t *testing.T) {
		r, log := newTestRunner(t, nil)
		r.Mask("abc")
		r.Mask("abcdef")
		r.Infof("abcdef abc")
		if log.String() != "*** ***\n" {
			t.Errorf("log = %q", log)
		}
	})
}

// ---- outputs ----

func TestSetOutputRoundTrip(t *testing.T) {
	values := map[string]string{
		"empty":         "",
		"digest":        "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
		"tags":          "ghcr.io/octo-org/hello-image:main\nghcr.io/octo-org/hello-image:sha-3f78685\n",
		"crlf":          "a\r\nb\r\n",
		"blank-lines":   "\n\nx\n\n",
		"eof-lookalike": "EOF\nghadelimiter_123\n",
		"commands":      "%0A::error::x\n::set-output name=a::b",
		"unicode":       "é ☃ 🐳",
	}
	path := filepath.Join(t.TempDir(), "output")
	r, _ := newTestRunner(t, map[string]string{"GITHUB_OUTPUT": path})
	names := slices.Sorted(maps.Keys(values))
	for _, name := range names {
		if err := r.SetOutput(name, values[name]); err != nil {
			t.Fatalf("SetOutput(%q): %v", name, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parsed, delims := parseOutputFile(t, string(data))
	if !maps.Equal(parsed, values) {
		t.Errorf("parsed outputs = %q, want %q\nfile:\n%s", parsed, values, data)
	}
	if !maps.Equal(r.Outputs(), values) {
		t.Errorf("Outputs() = %q, want %q", r.Outputs(), values)
	}
	slices.Sort(delims)
	if len(slices.Compact(delims)) != len(values) {
		t.Errorf("delimiters are not fresh per value: %q", delims)
	}
}

func TestSetOutputWithoutFile(t *testing.T) {
	r, log := newTestRunner(t, actionsEnv)
	if err := r.SetOutput("digest", "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetOutput("digest", "sha256:def"); err != nil {
		t.Fatal(err)
	}
	got := r.Outputs()
	got["digest"] = "changed by caller"
	if want := map[string]string{"digest": "sha256:def"}; !maps.Equal(r.Outputs(), want) {
		t.Errorf("Outputs() = %q, want %q", r.Outputs(), want)
	}
	if log.Len() != 0 {
		t.Errorf("SetOutput wrote to the log: %q", log)
	}
}

func TestSetOutputRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	r, _ := newTestRunner(t, map[string]string{"GITHUB_OUTPUT": path})
	// A known delimiter, so that a value can contain it.
	r.random = bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))
	delim := "IMAGE_PIPELINE_EOF_" + strings.Repeat("ab", 16)

	tests := []struct {
		name, value, wantErr string
	}{
		{"digest", "before\n" + delim + "\nafter", "contains the random delimiter"},
		{"", "x", `output name "" is not valid`},
		{"a=b", "x", "is not valid"},
		{"a<<b", "x", "is not valid"},
		{"a\nb", "x", "is not valid"},
		{"a b", "x", "is not valid"},
		{"1st", "x", "is not valid"},
	}
	for _, tt := range tests {
		err := r.SetOutput(tt.name, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("SetOutput(%q, %q) error = %v, want %q", tt.name, tt.value, err, tt.wantErr)
		}
	}
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Errorf("rejected outputs were written: %q", data)
	}
	if len(r.Outputs()) != 0 {
		t.Errorf("rejected outputs kept: %q", r.Outputs())
	}
	for _, name := range []string{"digest", "image-ref", "_x", "Tags2"} {
		if err := validOutputName(name); err != nil {
			t.Errorf("validOutputName(%q) = %v", name, err)
		}
	}
}

func TestSetOutputUnwritableFile(t *testing.T) {
	dir := t.TempDir()
	r, _ := newTestRunner(t, map[string]string{"GITHUB_OUTPUT": dir}) // a directory
	err := r.SetOutput("digest", "x")
	if err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("SetOutput into a directory: error = %v, want one naming GITHUB_OUTPUT", err)
	}
}

// ---- summary ----

func TestAppendSummary(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		r, log := newTestRunner(t, actionsEnv)
		if err := r.AppendSummary("# Image"); err != nil || log.Len() != 0 {
			t.Errorf("AppendSummary without GITHUB_STEP_SUMMARY = %v, log %q", err, log)
		}
	})
	t.Run("appends", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "summary.md")
		if err := os.WriteFile(path, []byte("earlier step\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r, _ := newTestRunner(t, map[string]string{"GITHUB_STEP_SUMMARY": path})
		for _, md := range []string{"# Image", "| a | b |\n|---|---|\n"} {
			if err := r.AppendSummary(md); err != nil {
				t.Fatal(err)
			}
		}
		data, _ := os.ReadFile(path)
		if want := "earlier step\n# Image\n| a | b |\n|---|---|\n"; string(data) != want {
			t.Errorf("summary = %q, want %q", data, want)
		}
	})
	t.Run("limit", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "summary.md")
		r, _ := newTestRunner(t, map[string]string{"GITHUB_STEP_SUMMARY": path})
		if err := r.AppendSummary(strings.Repeat("x", MaxSummaryBytes-1)); err != nil {
			t.Fatal(err)
		}
		err := r.AppendSummary("more")
		if err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("AppendSummary over the limit: error = %v", err)
		}
		if fi, _ := os.Stat(path); fi.Size() != MaxSummaryBytes {
			t.Errorf("summary size = %d, want %d", fi.Size(), MaxSummaryBytes)
		}
	})
}

// ---- log formats ----

func TestAnnotate(t *testing.T) {
	full := Annotation{File: "docker/Dockerfile", Line: 3, EndLine: 4, Col: 1, EndCol: 9, Title: "DL3007: latest, really"}
	tests := []struct {
		name        string
		level       Level
		msg         string
		a           Annotation
		actions     string
		local       string
		localHidden bool
	}{
		{
			name: "full", level: LevelWarning, msg: "Using latest is prone to errors\nPin a version.", a: full,
			actions: "::warning file=docker/Dockerfile,line=3,endLine=4,col=1,endColumn=9,title=DL3007%3A latest%2C really::Using latest is prone to errors%0APin a version.\n",
			local:   "warning: docker/Dockerfile:3:1: DL3007: latest, really: Using latest is prone to errors\n  Pin a version.\n",
		},
		{
			name: "file only", level: LevelError, msg: "100% broken", a: Annotation{File: "Dockerfile"},
			actions: "::error file=Dockerfile::100%25 broken\n",
			local:   "error: Dockerfile: 100% broken\n",
		},
		{
			name: "plain notice", level: LevelNotice, msg: "fork pull request: not pushing",
			actions: "::notice::fork pull request: not pushing\n",
			local:   "notice: fork pull request: not pushing\n",
		},
		{
			name: "debug drops properties", level: LevelDebug, msg: "cache miss", a: full,
			actions: "::debug::cache miss\n", localHidden: true,
		},
		{
			name: "unknown level is notice", level: "fatal", msg: "x",
			actions: "::notice::x\n", local: "notice: x\n",
		},
		{
			name: "control bytes", level: LevelError, msg: "RUN echo \x1b[2J\x00gone\x7f\u202eevil",
			a:       Annotation{File: "Docker\x1bfile", Title: "t\x00"},
			actions: "::error file=Docker\\x1bfile,title=t\\x00::RUN echo \\x1b[2J\\x00gone\\x7f\\u202eevil\n",
			local:   "error: Docker\\x1bfile: t\\x00: RUN echo \\x1b[2J\\x00gone\\x7f\\u202eevil\n",
		},
		{
			name: "no level is a plain line", msg: "::error::x",
			actions: "%3A%3Aerror::x\n", local: "%3A%3Aerror::x\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, log := newTestRunner(t, actionsEnv)
			r.Annotate(tt.level, tt.msg, tt.a)
			if log.String() != tt.actions {
				t.Errorf("actions: %q\nwant     %q", log, tt.actions)
			}
			r, log = newTestRunner(t, nil)
			r.Annotate(tt.level, tt.msg, tt.a)
			want := tt.local
			if tt.localHidden {
				want = ""
			}
			if log.String() != want {
				t.Errorf("local: %q\nwant   %q", log, want)
			}
		})
	}
}

func TestLogFormats(t *testing.T) {
	run := func(r *Runner) {
		end := r.Group("Build linux/amd64")
		r.Infof("building %s", "ghcr.io/octo-org/hello-image")
		r.Debugf("cache from %s", "ghcr.io/octo-org/hello-image:buildcache-main")
		r.Noticef("fork pull request")
		r.Warningf("no cache: %d%%", 0)
		r.Errorf("push failed")
		end()
		end() // idempotent
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"actions", actionsEnv, "::group::Build linux/amd64\n" +
			"building ghcr.io/octo-org/hello-image\n" +
			"::debug::cache from ghcr.io/octo-org/hello-image:buildcache-main\n" +
			"::notice::fork pull request\n" +
			"::warning::no cache: 0%25\n" +
			"::error::push failed\n" +
			"::endgroup::\n"},
		{"local", nil, "== Build linux/amd64 ==\n" +
			"building ghcr.io/octo-org/hello-image\n" +
			"notice: fork pull request\n" +
			"warning: no cache: 0%\n" +
			"error: push failed\n"},
		{"local with RUNNER_DEBUG", map[string]string{"RUNNER_DEBUG": "1"}, "== Build linux/amd64 ==\n" +
			"building ghcr.io/octo-org/hello-image\n" +
			"debug: cache from ghcr.io/octo-org/hello-image:buildcache-main\n" +
			"notice: fork pull request\n" +
			"warning: no cache: 0%\n" +
			"error: push failed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, log := newTestRunner(t, tt.env)
			if r.InActions() != (tt.env["GITHUB_ACTIONS"] == "true") {
				t.Errorf("InActions() = %v", r.InActions())
			}
			run(r)
			if log.String() != tt.want {
				t.Errorf("log:\n%s\nwant:\n%s", log, tt.want)
			}
		})
	}
}

func TestEscapeControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, tabs\tand line ends\r\n stay", "plain text, tabs\tand line ends\r\n stay"},
		{"ünïcödé ✓ stays", "ünïcödé ✓ stays"},
		{"nul\x00", `nul\x00`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", `\x1b]8;;https://evil.example\x07link\x1b]8;;\x07`},
		{"bell\x07 bs\x08 del\x7f", `bell\x07 bs\x08 del\x7f`},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"bidi \u202eevil\u2066x\u2069", `bidi \u202eevil\u2066x\u2069`},
		{"bad utf-8 \xff\xfe", `bad utf-8 \xff\xfe`},
	}
	for _, tc := range tests {
		if got := EscapeControls(tc.in); got != tc.want {
			t.Errorf("EscapeControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// No control byte reaches the log, whichever way untrusted text is
// written: Infof, an annotation, a group title, or the untrusted stream of
// a build.
func TestNoControlBytesInTheLog(t *testing.T) {
	const hostile = "a\x00b\x1b[2Kc\x1b]0;title\x07d\u009be\xff"
	for _, env := range []map[string]string{actionsEnv, nil} {
		r, log := newTestRunner(t, env)
		end := r.Group("group " + hostile)
		r.Infof("info %s", hostile)
		r.Errorf("error %s", hostile)
		r.Annotate(LevelWarning, hostile, Annotation{File: hostile, Title: hostile, Line: 1})
		w := r.UntrustedWriter()
		fmt.Fprintf(w, "#5 [2/3] RUN %s\n%s", hostile, hostile)
		w.Close()
		end()
		r.Close()
		for i := 0; i < log.Len(); i++ {
			c := log.Bytes()[i]
			if (c < 0x20 && c != '\n') || c == 0x7f || c >= 0x80 && !utf8.Valid(log.Bytes()) {
				t.Fatalf("byte %#x at %d reaches the log:\n%q", c, i, log.String())
			}
		}
		if strings.Contains(log.String(), "\u009b") {
			t.Errorf("a C1 control reaches the log:\n%q", log.String())
		}
		if n := strings.Count(log.String(), `\x1b`); n < 10 {
			t.Errorf("%d escaped ESC, want one per ESC written:\n%s", n, log)
		}
	}
}
