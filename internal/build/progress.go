package build

import (
	"bytes"
	"regexp"
	"strings"
	"sync"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// keptLogLines is how many of a step's last log lines are kept for the
// failure report.
const keptLogLines = 20

// maxLogLine bounds one kept log line.
const maxLogLine = 2048

// stepName matches the Dockerfile frontend's step vertices, e.g.
// "[builder 2/5] RUN make" or "[linux/arm64 3/3] COPY . ." (not
// "[internal] load build context" or "exporting to image").
var stepName = regexp.MustCompile(`^\[[^\]]*\b\d+/\d+\] `)

// isCachableStep reports whether the vertex is a Dockerfile step the cache
// can serve: every step but FROM (a base image is pulled or found, never
// built, so it is neither a cache hit nor a miss).
func isCachableStep(name string) bool {
	loc := stepName.FindStringIndex(name)
	return loc != nil && !strings.HasPrefix(name[loc[1]:], "FROM ")
}

// vertexState is what the build saw of one vertex.
type vertexState struct {
	name string
	// cachedIn and ranIn record, per solve, that the vertex was reported
	// served from the cache, and completed without such a report. A
	// vertex loaded lazily from a remote cache is reported cached and then
	// completed again without the flag as its result is fetched, so
	// "cached" wins within a solve.
	cachedIn, ranIn map[string]bool
	err             string
	logs            []string
	partial         []byte
}

// tracker records the vertices of every solve of a build (solves sharing a
// session report the same vertices; they are counted once).
type tracker struct {
	mu       sync.Mutex
	vertices map[digest.Digest]*vertexState
	order    []digest.Digest
	perSolve map[string]map[digest.Digest]bool
}

func newTracker() *tracker {
	return &tracker{vertices: map[digest.Digest]*vertexState{}, perSolve: map[string]map[digest.Digest]bool{}}
}

func (t *tracker) vertex(d digest.Digest) *vertexState {
	v, ok := t.vertices[d]
	if !ok {
		v = &vertexState{}
		t.vertices[d] = v
		t.order = append(t.order, d)
	}
	return v
}

// update records one status message of the solve named solve.
func (t *tracker) update(solve string, s *bkclient.SolveStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := t.perSolve[solve]
	if seen == nil {
		seen = map[digest.Digest]bool{}
		t.perSolve[solve] = seen
	}
	for _, v := range s.Vertexes {
		st := t.vertex(v.Digest)
		seen[v.Digest] = true
		if v.Name != "" {
			st.name = v.Name
		}
		if st.cachedIn == nil {
			st.cachedIn, st.ranIn = map[string]bool{}, map[string]bool{}
		}
		if v.Cached {
			st.cachedIn[solve] = true
		} else if v.Completed != nil {
			st.ranIn[solve] = true
		}
		if v.Error != "" {
			st.err = v.Error
		}
	}
	for _, l := range s.Logs {
		st := t.vertex(l.Vertex)
		st.partial = append(st.partial, l.Data...)
		for {
			i := bytes.IndexAny(st.partial, "\r\n")
			if i < 0 {
				break
			}
			if line := st.partial[:i]; len(bytes.TrimSpace(line)) > 0 {
				st.keep(string(line))
			}
			st.partial = st.partial[i+1:]
		}
		if len(st.partial) > maxLogLine {
			st.keep(string(st.partial))
			st.partial = st.partial[:0]
		}
	}
}

func (v *vertexState) keep(line string) {
	if len(line) > maxLogLine {
		line = line[:maxLogLine] + "…"
	}
	v.logs = append(v.logs, line)
	if len(v.logs) > keptLogLines {
		v.logs = v.logs[len(v.logs)-keptLogLines:]
	}
}

// StepCounts counts the Dockerfile steps other than FROM (vertices named
// "[stage n/m] …") that were served from the cache and that ran.
type StepCounts struct {
	Cached, Executed, Total int
}

// counts returns the step counts of one solve, or of every solve when
// solve is "".
func (t *tracker) counts(solve string) StepCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c StepCounts
	for _, d := range t.order {
		if solve != "" && !t.perSolve[solve][d] {
			continue
		}
		v := t.vertices[d]
		if !isCachableStep(v.name) {
			continue
		}
		c.Total++
		switch {
		case v.ran(solve):
			c.Executed++
		case v.cached(solve):
			c.Cached++
		}
	}
	return c
}

// failedStep returns the vertex that failed: d when it is known, else the
// last vertex with an error.
func (t *tracker) failedStep(d digest.Digest) (name string, logs []string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, found := t.vertices[d]; found && d != "" {
		return v.name, v.lastLines(), true
	}
	for i := len(t.order) - 1; i >= 0; i-- {
		if v := t.vertices[t.order[i]]; v.err != "" {
			return v.name, v.lastLines(), true
		}
	}
	return "", nil, false
}

func (v *vertexState) lastLines() []string {
	out := append([]string(nil), v.logs...)
	if len(bytes.TrimSpace(v.partial)) > 0 {
		out = append(out, string(v.partial))
	}
	if len(out) > keptLogLines {
		out = out[len(out)-keptLogLines:]
	}
	return out
}

// executedSteps names the steps that ran (were not served from the cache).
func (t *tracker) executedSteps() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, d := range t.order {
		v := t.vertices[d]
		if isCachableStep(v.name) && v.ran("") {
			out = append(out, v.name)
		}
	}
	return out
}

// ran reports whether the vertex ran in the solve ("": in any solve): it
// completed without ever being reported cached there, or it failed.
func (v *vertexState) ran(solve string) bool {
	if v.err != "" {
		return true
	}
	for s, ran := range v.ranIn {
		if ran && !v.cachedIn[s] && (solve == "" || s == solve) {
			return true
		}
	}
	return false
}

// cached reports whether the vertex was served from the cache in the solve
// ("": in any solve).
func (v *vertexState) cached(solve string) bool {
	for s, c := range v.cachedIn {
		if c && (solve == "" || s == solve) {
			return true
		}
	}
	return false
}
