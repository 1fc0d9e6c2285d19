package ghactions

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Level is the severity of a log message or annotation.
type Level string

const (
	LevelDebug   Level = "debug"
	LevelNotice  Level = "notice"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
)

// Annotation places a message on a file in the workflow run's summary and
// the pull request diff. Zero fields are left out.
type Annotation struct {
	File          string
	Line, EndLine int
	Col, EndCol   int
	Title         string
}

// MaxSummaryBytes is the runner's limit for GITHUB_STEP_SUMMARY; a larger
// summary is dropped by the runner with an error.
const MaxSummaryBytes = 1 << 20

// Runner writes to the job log and to the runner's files. In Actions mode
// (GITHUB_ACTIONS=true) it emits workflow commands; otherwise it prints plain
// lines for a human ("warning: ...", "== group ==").
//
// All methods are safe for concurrent use. Every text argument is treated as
// untrusted: it is redacted (see Mask) and escaped so that it can never become
// a workflow command.
type Runner struct {
	actions     bool
	debug       bool
	outputPath  string
	summaryPath string
	random      io.Reader // crypto/rand.Reader; replaced in tests

	mu          sync.Mutex
	out         io.Writer
	atLineStart bool
	secrets     []string // longest first
	redactor    *strings.Replacer
	outputs     map[string]string
	stopToken   string // set while the runner is told to ignore commands
	writers     map[*untrustedWriter]struct{}
}

// NewRunner returns a Runner that reads the runner's environment through
// getenv and writes the log to out.
func NewRunner(getenv func(string) string, out io.Writer) *Runner {
	if out == nil {
		out = io.Discard
	}
	return &Runner{
		actions:     getenv("GITHUB_ACTIONS") == "true",
		debug:       getenv("RUNNER_DEBUG") == "1",
		outputPath:  getenv("GITHUB_OUTPUT"),
		summaryPath: getenv("GITHUB_STEP_SUMMARY"),
		random:      rand.Reader,
		out:         out,
		atLineStart: true,
		outputs:     map[string]string{},
		writers:     map[*untrustedWriter]struct{}{},
	}
}

// InActions reports whether the Runner emits workflow commands.
func (r *Runner) InActions() bool { return r.actions }

// SetDebug turns debug messages on or off outside Actions (the CLI's
// verbose flag). In Actions the runner decides: they are always emitted and
// shown when step debug logging is on. The default is RUNNER_DEBUG=1.
func (r *Runner) SetDebug(on bool) {
	r.mu.Lock()
	r.debug = on
	r.mu.Unlock()
}

// ---- outputs and summary ----

// SetOutput sets a step output. With GITHUB_OUTPUT set it appends
//
//	name<<DELIMITER
//	value
//	DELIMITER
//
// with a fresh random delimiter; without it the value is only kept in
// memory. Either way Outputs returns it.
func (r *Runner) SetOutput(name, value string) error {
	if err := validOutputName(name); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outputPath != "" {
		delim, err := r.randomToken("IMAGE_PIPELINE_EOF_")
		if err != nil {
			return fmt.Errorf("set output %q: %w", name, err)
		}
		if strings.Contains(value, delim) {
			return fmt.Errorf("set output %q: the value contains the random delimiter %q, which would end it early; this is not a value the pipeline produces, so report it as a bug", name, delim)
		}
		record := name + "<<" + delim + "\n" + value + "\n" + delim + "\n"
		if err := appendFile(r.outputPath, record); err != nil {
			return fmt.Errorf("set output %q: write GITHUB_OUTPUT: %w", name, err)
		}
	}
	r.outputs[name] = value
	return nil
}

// validOutputName accepts the names action.yml accepts for outputs. The
// runner would also misread a name containing '=' or "<<" or a line break.
func validOutputName(name string) error {
	ok := name != ""
	for i, c := range name {
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			ok = false
			break
		}
	}
	if !ok {
		return fmt.Errorf("output name %q is not valid: use letters, digits, '-' and '_', starting with a letter or '_'", name)
	}
	return nil
}

// Outputs returns a copy of every output set so far.
func (r *Runner) Outputs() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.outputs)
}

// AppendSummary appends Markdown to the step summary (GITHUB_STEP_SUMMARY),
// redacting masked secrets and ending it with a line break. It does nothing
// when GITHUB_STEP_SUMMARY is unset, and refuses to grow the file past
// MaxSummaryBytes, which the runner would reject as a whole.
func (r *Runner) AppendSummary(markdown string) error {
	if r.summaryPath == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	markdown = r.redactLocked(markdown)
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	var size int64
	if fi, err := os.Stat(r.summaryPath); err == nil {
		size = fi.Size()
	}
	if total := size + int64(len(markdown)); total > MaxSummaryBytes {
		return fmt.Errorf("append step summary: it would grow to %d bytes, over the runner's limit of %d; shorten the summary (e.g. list fewer findings)", total, MaxSummaryBytes)
	}
	if err := appendFile(r.summaryPath, markdown); err != nil {
		return fmt.Errorf("append step summary: write GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// randomToken returns prefix + 32 random hex digits.
func (r *Runner) randomToken(prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r.random, b[:]); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// ---- masks ----

// Mask hides a secret from the log. Each non-blank line of a multi-line
// secret is a separate mask, as the runner does. In Actions it emits
// ::add-mask:: for each line; in every mode this Runner replaces the secret
// with *** in everything it prints (log, summary), so it also protects local
// runs.
func (r *Runner) Mask(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range splitLines(secret) {
		if strings.TrimSpace(line) == "" || slices.Contains(r.secrets, line) {
			continue
		}
		if r.actions {
			r.commandLocked("add-mask", "", EscapeData(line))
		}
		r.secrets = append(r.secrets, line)
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortStableFunc(r.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, "***")
	}
	r.redactor = strings.NewReplacer(pairs...)
}

func (r *Runner) redactLocked(s string) string {
	if r.redactor == nil {
		return s
	}
	return r.redactor.Replace(s)
}

func (r *Runner) longestSecretLocked() int {
	if len(r.secrets) == 0 {
		return 0
	}
	return len(r.secrets[0])
}

// ---- log ----

// Group starts a collapsible group of log lines; call end to close it.
// Groups do not nest in the runner.
func (r *Runner) Group(title string) (end func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	title = EscapeControls(r.redactLocked(title))
	if r.actions {
		r.commandLocked("group", "", EscapeData(title))
	} else {
		r.lineLocked("== " + escapeLogLine(title) + " ==")
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if r.actions {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.commandLocked("endgroup", "", "")
			}
		})
	}
}

// Infof prints a line. The text is untrusted: in Actions, line breaks and
// '%' are escaped (%0A, %0D, %25) so it stays one line, and a leading "::" or
// any "##[" is escaped so that the runner never reads it as a command.
// Locally the lines are printed as they are, apart from that neutralising.
func (r *Runner) Infof(format string, a ...any) {
	r.logf("", format, a...)
}

// Noticef prints a notice (::notice:: in Actions, "notice: ..." locally).
func (r *Runner) Noticef(format string, a ...any) { r.logf(LevelNotice, format, a...) }

// Warningf prints a warning (::warning:: in Actions, "warning: ..." locally).
func (r *Runner) Warningf(format string, a ...any) { r.logf(LevelWarning, format, a...) }

// Errorf prints an error (::error:: in Actions, "error: ..." locally). It
// does not fail the step; the exit code does.
func (r *Runner) Errorf(format string, a ...any) { r.logf(LevelError, format, a...) }

// Debugf prints a debug message: ::debug:: in Actions (shown when step debug
// logging is on), "debug: ..." locally when debug is on (see SetDebug).
func (r *Runner) Debugf(format string, a ...any) { r.logf(LevelDebug, format, a...) }

func (r *Runner) logf(level Level, format string, a ...any) {
	r.Annotate(level, fmt.Sprintf(format, a...), Annotation{})
}

// Annotate prints a message with a severity and, unless level is debug, a
// place in a file:
//
//	::warning file=Dockerfile,line=3,endLine=3,col=1,endColumn=9,title=DL3007::message
//
// An empty level prints a plain line (as Infof); an unknown one is treated
// as notice.
func (r *Runner) Annotate(level Level, msg string, a Annotation) {
	switch level {
	case "", LevelDebug, LevelNotice, LevelWarning, LevelError:
	default:
		level = LevelNotice
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	msg = EscapeControls(r.redactLocked(msg))
	a.File, a.Title = EscapeControls(r.redactLocked(a.File)), EscapeControls(r.redactLocked(a.Title))

	if r.actions {
		if level == "" {
			r.lineLocked(escapeLogLine(msg))
			return
		}
		props := ""
		if level != LevelDebug {
			props = annotationProperties(a)
		}
		r.commandLocked(string(level), props, EscapeData(msg))
		return
	}

	if level == LevelDebug && !r.debug {
		return
	}
	prefix := ""
	if level != "" {
		prefix = string(level) + ": "
	}
	// File and title are one-line fields; keep them on the first line.
	if place := annotationPlace(a); place != "" {
		prefix += EscapeData(place) + ": "
	}
	if a.Title != "" {
		prefix += EscapeData(a.Title) + ": "
	}
	for i, line := range splitLines(msg) {
		if i == 0 {
			line = prefix + line
		} else if prefix != "" {
			line = "  " + line
		}
		r.lineLocked(neutralizeLine(line))
	}
}

func annotationProperties(a Annotation) string {
	var props []string
	add := func(key, value string) { props = append(props, key+"="+EscapeProperty(value)) }
	addInt := func(key string, n int) {
		if n > 0 {
			add(key, strconv.Itoa(n))
		}
	}
	if a.File != "" {
		add("file", a.File)
	}
	addInt("line", a.Line)
	addInt("endLine", a.EndLine)
	addInt("col", a.Col)
	addInt("endColumn", a.EndCol)
	if a.Title != "" {
		add("title", a.Title)
	}
	return strings.Join(props, ",")
}

// annotationPlace is "file:line:col" for local output.
func annotationPlace(a Annotation) string {
	place := a.File
	if a.Line > 0 {
		place += ":" + strconv.Itoa(a.Line)
		if a.Col > 0 {
			place += ":" + strconv.Itoa(a.Col)
		}
	}
	return place
}

// commandLocked emits a workflow command. props and data must be escaped.
// If an untrusted writer has stopped command processing, it is resumed first;
// the writer stops it again before its next output.
func (r *Runner) commandLocked(name, props, data string) {
	r.resumeLocked()
	line := "::" + name
	if props != "" {
		line += " " + props
	}
	r.lineLocked(line + "::" + data)
}

// lineLocked writes one of our own lines, starting a new line first if an
// untrusted writer left a partial one.
func (r *Runner) lineLocked(line string) {
	if !r.atLineStart {
		line = "\n" + line
	}
	r.rawLocked([]byte(line + "\n"))
}

// rawLocked writes bytes as they are.
func (r *Runner) rawLocked(p []byte) {
	if len(p) == 0 {
		return
	}
	// A log the reader cannot take cannot be reported anywhere else.
	_, _ = r.out.Write(p)
	last := p[len(p)-1]
	// The runner ends a line at \n, \r and \r\n.
	r.atLineStart = last == '\n' || last == '\r'
}

// Close closes every untrusted writer still open (writing out their partial
// lines) and makes sure the runner processes workflow commands again. Call it
// before the process exits.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for w := range r.writers {
		w.closeLocked()
	}
	r.resumeLocked()
	return nil
}
