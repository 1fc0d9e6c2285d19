//go:build soak

package registry

import (
	"os"
	"strconv"
	"testing"

	"github.com/org/image-pipeline/internal/testenv"
)

// TestFaultInjectionSoak is TestFaultInjection at length: SOAK_PUSHES
// (default 1000) consecutive pushes at a 10 % fault rate, all of which
// must succeed and verify. Run by scripts/soak-push; not part of make test.
func TestFaultInjectionSoak(t *testing.T) {
	env := testenv.RequireRegistries(t)
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SOAK_PUSHES")); err == nil && v > 0 {
		n = v
	}
	faultyPushes(t, env, env.Registry, n, 42, 10)
}
