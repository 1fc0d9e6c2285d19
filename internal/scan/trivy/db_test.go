package trivy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/metadata"

	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/testenv"
)

// unreachable is a repository nothing answers for (connection refused).
const unreachable = "127.0.0.1:1/mirror/trivy-db:2"

// TestDBDownloadAndFallback covers the DB handling through a whole scan:
// the real download from the test registry, the next repository when one
// does not answer, a cached DB used with a warning when none answers, and a
// failure naming trivy-db-repository when no usable DB is cached.
func TestDBDownloadAndFallback(t *testing.T) {
	layoutDir, _ := testImages(t)
	repo := fixtureDBRepo(t)
	now := time.Now()
	tests := []struct {
		name        string
		repos       []string
		cached      *metadata.Metadata // a DB in the cache before the scan
		wantErr     []string
		wantRepo    string
		wantStale   bool
		wantLog     []string
		wantNoLog   []string
		wantWarning bool
	}{
		{
			name: "download from the first repository", repos: []string{repo},
			wantRepo: repo,
			wantLog:  []string{"scan: downloading the vulnerability DB from " + repo, "scan: vulnerability DB ", " downloaded in ", "scan: analysing 2 layers", "scan: layer 2/2 analysed"},
		},
		{
			name: "first repository unreachable, the second answers", repos: []string{unreachable, repo},
			wantRepo: repo,
			wantLog:  []string{"scan: vulnerability DB not available from " + unreachable, "scan: downloading the vulnerability DB from " + repo},
		},
		{
			name: "cached DB is current: no download", repos: []string{unreachable},
			cached:    &metadata.Metadata{Version: 2, UpdatedAt: now.Add(-2 * time.Hour), NextUpdate: now.Add(20 * time.Hour), DownloadedAt: now.Add(-2 * time.Hour)},
			wantLog:   []string{"scan: vulnerability DB is current"},
			wantNoLog: []string{"not available from"},
		},
		{
			name: "download fails, cached DB younger than trivy-db-max-age: warning", repos: []string{unreachable},
			cached:      &metadata.Metadata{Version: 2, UpdatedAt: now.Add(-30 * time.Hour), NextUpdate: now.Add(-6 * time.Hour), DownloadedAt: now.Add(-30 * time.Hour)},
			wantStale:   true,
			wantWarning: true,
			wantLog:     []string{"warning: scan: using the cached vulnerability DB", "(30h0m0s old, trivy-db-max-age 72h0m0s) because it could not be refreshed"},
		},
		{
			name: "download fails, cached DB older than trivy-db-max-age", repos: []string{unreachable},
			cached:  &metadata.Metadata{Version: 2, UpdatedAt: now.Add(-100 * time.Hour), NextUpdate: now.Add(-76 * time.Hour), DownloadedAt: now.Add(-100 * time.Hour)},
			wantErr: []string{"could not download the vulnerability DB from any repository (" + unreachable + ":", "is 100h0m0s old, more than trivy-db-max-age 72h0m0s", "set the input trivy-db-repository to a mirror"},
		},
		{
			name: "download fails, no cached DB", repos: []string{unreachable},
			wantErr: []string{"could not download the vulnerability DB", "and there is no cached DB in", "set the input trivy-db-repository to a mirror this runner can reach"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &testenv.Log{}
			opts := testOptions(t, log)
			opts.DBRepositories = tc.repos
			opts.CacheDir = t.TempDir()
			if tc.cached != nil {
				if err := buildFixtureDB(filepath.Join(opts.CacheDir, "db"), *tc.cached); err != nil {
					t.Fatal(err)
				}
			}
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			a, err := sc.Scan(t.Context(), scan.Target{OCILayout: layoutDir})
			if scanFailed(t, err, tc.wantErr, log) {
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v\nlog:\n%s", err, log)
			}
			if got := keysOf(a.Findings); !slices.Equal(got, allFindings) {
				t.Errorf("findings %q, want %q", got, allFindings)
			}
			if a.DB.Repository != tc.wantRepo || a.DB.Stale != tc.wantStale || a.DB.UpdatedAt.IsZero() {
				t.Errorf("DB info %+v, want repository %q stale %v", a.DB, tc.wantRepo, tc.wantStale)
			}
			logs := log.String()
			checkLog(t, logs, tc.wantLog, tc.wantNoLog)
			if got := strings.Contains(logs, "warning: scan:"); got != tc.wantWarning {
				t.Errorf("warning logged = %v, want %v:\n%s", got, tc.wantWarning, logs)
			}
		})
	}
}
