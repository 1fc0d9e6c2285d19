package build

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
)

// BuildError is a failed build: what failed, where in the Dockerfile, and
// the failing step's last log lines.
type BuildError struct {
	// Target is the stage being built ("" for the last stage).
	Target string
	// Step is the failing step as BuildKit names it ("[builder 3/5] RUN make").
	Step string
	// File, Line and EndLine place the failure in the Dockerfile; Line is 0
	// when BuildKit gave no place.
	File          string
	Line, EndLine int
	// Logs are the step's last log lines (untrusted text).
	Logs []string
	// Reason is BuildKit's message, without the gRPC wrapping.
	Reason string
	// Hint says what to do, when the cause is a known one.
	Hint string
	// Err is the error the solve returned.
	Err error
}

func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString("the build")
	if e.Target != "" {
		fmt.Fprintf(&b, " of stage %q", e.Target)
	}
	b.WriteString(" failed")
	if e.Step != "" {
		fmt.Fprintf(&b, " at step %q", e.Step)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (%s:%d)", e.File, e.Line)
	}
	b.WriteString(": " + e.Reason)
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

func (e *BuildError) Unwrap() error { return e.Err }

// lineInMessage finds "line N" in frontend messages of BuildKits that send
// no source ranges ("Dockerfile parse error line 3: unknown instruction").
var lineInMessage = regexp.MustCompile(`(?i)\bline:? (\d+)\b`)

// newBuildError explains a solve error with the tracker's view of the
// build. dockerfile is the path shown to the user.
func newBuildError(err error, target, dockerfile string, df *dockerfileInfo, tr *tracker) *BuildError {
	be := &BuildError{Target: target, File: dockerfile, Err: err, Reason: solveReason(err)}
	for _, src := range errdefs.Sources(err) {
		if src.GetInfo() == nil || len(src.GetRanges()) == 0 {
			continue
		}
		// Sources of the Dockerfile only (not of an embedded frontend).
		if name := src.GetInfo().GetFilename(); name != "" && filepath.Base(name) != filepath.Base(dockerfile) && name != "Dockerfile" {
			continue
		}
		r := src.GetRanges()[0]
		be.Line = int(r.GetStart().GetLine())
		be.EndLine = int(r.GetEnd().GetLine())
		if be.EndLine < be.Line {
			be.EndLine = be.Line
		}
	}
	if be.Line == 0 {
		if m := lineInMessage.FindStringSubmatch(be.Reason); m != nil {
			be.Line, _ = strconv.Atoi(m[1])
			be.EndLine = be.Line
		}
	}
	var vd digest.Digest
	var ve *errdefs.VertexError
	if errors.As(err, &ve) && ve.Vertex != nil {
		vd = digest.Digest(ve.Vertex.GetDigest())
	}
	if tr != nil {
		if name, logs, ok := tr.failedStep(vd); ok {
			be.Step, be.Logs = name, logs
		}
	}
	be.Hint = hintFor(be.Reason)
	if be.Line == 0 && be.Step != "" && df != nil {
		if line, end, ok := df.stepPlace(be.Step); ok {
			be.Line, be.EndLine = line, end
		}
	}
	return be
}

// solveReason is the solve error's message without the wrapping the client
// and gRPC add ("failed to solve: rpc error: code = Unknown desc = …").
func solveReason(err error) string {
	msg := grpcerrors.FromGRPC(err).Error()
	for _, p := range []string{"failed to solve: ", "rpc error: code = Unknown desc = ", "failed to solve with frontend dockerfile.v0: "} {
		for strings.Contains(msg, p) {
			msg = strings.Replace(msg, p, "", 1)
		}
	}
	return strings.TrimSpace(msg)
}

// hintFor names the input to look at for causes users can fix.
func hintFor(reason string) string {
	switch r := strings.ToLower(reason); {
	case strings.Contains(r, "401 unauthorized") || strings.Contains(r, "403 forbidden") || strings.Contains(r, "authorization failed") || strings.Contains(r, "no basic auth credentials"):
		return "the registry refused the credentials: check registry-username, registry-password or registries, and that the token may read the image"
	case strings.Contains(r, "secret") && strings.Contains(r, "not found"):
		return "a RUN --mount=type=secret names an id that the secrets and secret-envs inputs do not give"
	case strings.Contains(r, "target stage") && strings.Contains(r, "could not be found"):
		return "check the target and builder-target inputs"
	case strings.Contains(r, "entitlement network.host is not allowed"):
		return "network: host needs a builder that allows the network.host entitlement (buildkitd --allow-insecure-entitlement network.host); set network to default or none"
	case strings.Contains(r, "ssh key") && strings.Contains(r, "forwarded"):
		return "a RUN --mount=type=ssh needs an agent: the ssh input (default, or id=path)"
	}
	return ""
}
