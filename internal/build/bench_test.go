package build_test

import (
	"os"
	"path/filepath"
	"testing"

	ibuild "github.com/org/image-pipeline/internal/build"
)

// BenchmarkWarmRebuild is a rebuild of unchanged sources on a builder that
// built them already: the cost of the action's build stage when nothing
// changed (connect, send the context, solve from the local cache, export),
// on each driver, reading the cache ladder and writing the branch's cache
// as a push to a branch does.
func BenchmarkWarmRebuild(b *testing.B) {
	for _, name := range backends {
		b.Run(name, func(b *testing.B) {
			d := newDriver(b, name)
			lock := daemonLock(name)
			lock.RLock()
			defer lock.RUnlock()
			o := d.options(b, "ladder")
			if err := os.WriteFile(filepath.Join(o.Workspace, "app.txt"), []byte(nonce(b)), 0o644); err != nil {
				b.Fatal(err)
			}
			o.Secrets = []ibuild.Secret{{ID: "token", Value: "x"}}
			o.WriteCache = true
			plan := branchPlan(d.env.UniqueRepo(b, d.env.Registry, "bench"), "main", true)
			first, _ := d.mustBuild(b, o, plan)
			b.Logf("%s: cold build %s", name, first.Duration)
			b.ResetTimer()
			var cached, total int
			for b.Loop() {
				res, _ := d.mustBuild(b, o, plan)
				cached, total = res.Steps.Cached, res.Steps.Total
			}
			b.ReportMetric(float64(cached), "cached-steps")
			b.ReportMetric(float64(total), "steps")
		})
	}
}
