// Package ghapi is a local stand-in for the GitHub REST API's dependency
// submission endpoint, for tests: it checks each request as GitHub would
// — method, path, token, headers, and the body against GitHub's published
// snapshot schema (snapshot.schema.json) — and answers as GitHub does, or
// refuses as a token without `contents: write` is refused.
package ghapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed snapshot.schema.json
var schemaJSON []byte

// Mode is how the server answers.
type Mode int

const (
	// Accept answers 201 with a snapshot id.
	Accept Mode = iota
	// Forbid answers 403 as for a token without contents: write.
	Forbid
	// Unavailable answers 503 (GitHub having a bad day).
	Unavailable
)

// Submission is one request the server received.
type Submission struct {
	Path, Token string
	Header      http.Header
	Body        []byte
	// Snapshot is the body, decoded.
	Snapshot map[string]any
	// Invalid says why the body breaks the schema or the request is not
	// what GitHub takes ("" when it is fine).
	Invalid string
}

// Server is the fake API.
type Server struct {
	*httptest.Server
	// Repository is the owner/name the token may write; Token the token.
	Repository, Token string

	mu    sync.Mutex
	mode  Mode
	subs  []Submission
	next  int64
	valid *jsonschema.Schema
}

// New starts a server for repository and token; it stops with the test.
func New(t testing.TB, repository, token string) *Server {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const id = "https://api.github.com/schemas/snapshot.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Repository: repository, Token: token, valid: sch, next: 1000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetMode changes how the server answers from now on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Submissions are the requests received so far.
func (s *Server) Submissions() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submission(nil), s.subs...)
}

// Validate checks a snapshot body against the schema.
func (s *Server) Validate(body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return s.valid.Validate(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sub := Submission{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}
	_ = json.Unmarshal(body, &sub.Snapshot)
	want := "/repos/" + s.Repository + "/dependency-graph/snapshots"
	switch {
	case r.Method != http.MethodPost:
		sub.Invalid = "method " + r.Method
	case r.URL.Path != want:
		sub.Invalid = "path " + r.URL.Path + ", want " + want
	case r.Header.Get("Accept") != "application/vnd.github+json":
		sub.Invalid = "Accept " + r.Header.Get("Accept")
	case r.Header.Get("X-GitHub-Api-Version") == "":
		sub.Invalid = "no X-GitHub-Api-Version"
	default:
		if err := s.Validate(body); err != nil {
			sub.Invalid = "the body breaks the snapshot schema: " + err.Error()
		}
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	mode := s.mode
	s.next++
	id := s.next
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case sub.Token != s.Token:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`)
	case sub.Invalid != "":
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"message":%q,"documentation_url":"https://docs.github.com/rest/dependency-graph/dependency-submission","status":"422"}`, "Invalid request. "+sub.Invalid)
	case mode == Forbid:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/dependency-graph/dependency-submission#create-a-snapshot-of-dependencies-for-a-repository","status":"403"}`)
	case mode == Unavailable:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"message":"Service Unavailable"}`)
	default:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d,"created_at":"2026-12-04T12:00:00.000Z","result":"SUCCESS","message":"Dependency results for the repo have been successfully updated."}`, id)
	}
}
