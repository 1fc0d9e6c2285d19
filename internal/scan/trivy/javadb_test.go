package trivy

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	javadbfile "github.com/aquasecurity/trivy-java-db/pkg/db"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/scan/fixturedb"
	"github.com/org/image-pipeline/internal/testenv"
)

// jarDir holds the fixture JAR files the fixture Java DB names.
var jarDir = filepath.Join("..", "testdata", "jars")

// javaFindings are the fixture advisories of the three JAR files: one
// named by its pom.properties, one by its SHA-1 in the Java DB, one by its
// file name's artifact id in the Java DB.
var javaFindings = []string{
	"CVE-2099-1001 org.example:greeter 1.2.3",
	"CVE-2099-1002 com.example:widgets 2.0.0",
	"CVE-2099-1003 io.example:gadget 1.0.0",
}

var javaShared struct {
	once   sync.Once
	repo   string // the fixture Java DB in the plain test registry
	layout string // an image with the JAR files under /app/lib
	err    error
}

// javaFixtures pushes the fixture Java DB once and writes the JAR image's
// OCI layout.
func javaFixtures(t testing.TB) (repo, layoutDir string) {
	t.Helper()
	env := testenv.RequireRegistries(t)
	javaShared.once.Do(func() {
		dir := filepath.Join(shared.root, "fixture-java-db")
		if javaShared.err = buildFixtureJavaDB(dir, fixturedb.FreshJava(time.Now())); javaShared.err != nil {
			return
		}
		img, err := fixturedb.JavaArtifact(dir)
		if err != nil {
			javaShared.err = err
			return
		}
		repo := env.UniqueRepo(t, env.Registry, "trivy-java-db") + ":1"
		ref, err := name.ParseReference(repo)
		if err == nil {
			err = remote.Write(ref, img, env.RemoteOptions(context.WithoutCancel(t.Context()))...)
		}
		if err != nil {
			javaShared.err = err
			return
		}
		javaShared.repo = repo
		javaShared.layout, javaShared.err = writeJarImage(filepath.Join(shared.root, "jar-layout"))
	})
	if javaShared.err != nil {
		t.Fatalf("Java fixtures: %v", javaShared.err)
	}
	return javaShared.repo, javaShared.layout
}

func buildFixtureJavaDB(dir string, meta javadbfile.Metadata) error {
	indexes, err := fixturedb.JavaFixture(jarDir)
	if err != nil {
		return err
	}
	return fixturedb.BuildJava(dir, indexes, meta)
}

// writeJarImage writes an OCI layout of a one-layer linux/amd64 image
// holding the fixture JAR files under app/lib.
func writeJarImage(dir string) (string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(1700000000, 0)
	for _, d := range []string{"app/", "app/lib/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: mod}); err != nil {
			return "", err
		}
	}
	names, err := filepath.Glob(filepath.Join(jarDir, "*.jar"))
	if err != nil || len(names) != 3 {
		return "", err
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "app/lib/" + filepath.Base(n), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: mod}); err != nil {
			return "", err
		}
		if _, err := tw.Write(b); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	if err == nil {
		img, err = mutate.AppendLayers(img, layer)
	}
	if err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err == nil {
		err = p.AppendImage(img)
	}
	return dir, err
}

// TestJavaArchives (#18.7): a JAR's library findings come from the Java
// DB, downloaded like the vulnerability DB — only when the image holds a
// Java archive — cached, with the next repository, a cached DB younger than
// trivy-db-max-age and a failure naming trivy-java-db-repository as the
// fallbacks; none leaves Java archives unanalysed.
func TestJavaArchives(t *testing.T) {
	repo, jarLayout := javaFixtures(t)
	noJars, _ := testImages(t)
	const unreachableJava = "127.0.0.1:1/mirror/trivy-java-db:1"
	now := time.Now()
	fresh := fixturedb.FreshJava(now.Add(-2 * time.Hour))
	fresh.DownloadedAt = now.Add(-2 * time.Hour)
	due := javadbfile.Metadata{Version: 1, UpdatedAt: now.Add(-30 * time.Hour), NextUpdate: now.Add(-6 * time.Hour), DownloadedAt: now.Add(-30 * time.Hour)}
	old := javadbfile.Metadata{Version: 1, UpdatedAt: now.Add(-100 * time.Hour), NextUpdate: now.Add(-28 * time.Hour), DownloadedAt: now.Add(-100 * time.Hour)}
	tests := []struct {
		name        string
		layout      string
		repos       []string
		off         bool
		cached      *javadbfile.Metadata
		broken      bool // the cached trivy-java.db is emptied
		wantErr     []string
		want        []string // findings
		wantJavaDB  *scan.DBInfo
		wantLog     []string
		wantNoLog   []string
		wantWarning bool
		wantNote    bool
	}{
		{
			name: "download from the first repository", layout: jarLayout, repos: []string{repo},
			want: javaFindings, wantJavaDB: &scan.DBInfo{Repository: repo},
			wantLog: []string{"scan: downloading the Java DB from " + repo, "scan: Java DB ", " downloaded in ", "scan: Java DB downloaded (updated "},
		},
		{
			name: "first repository unreachable, the second answers", layout: jarLayout, repos: []string{unreachableJava, repo},
			want: javaFindings, wantJavaDB: &scan.DBInfo{Repository: repo},
			wantLog: []string{"scan: Java DB not available from " + unreachableJava, "scan: downloading the Java DB from " + repo},
		},
		{
			name: "cached Java DB is current: no download", layout: jarLayout, repos: []string{unreachableJava}, cached: &fresh,
			want: javaFindings, wantJavaDB: &scan.DBInfo{},
			wantLog: []string{"scan: Java DB is current"}, wantNoLog: []string{"not available from"},
		},
		{
			name: "cached Java DB due, refreshed", layout: jarLayout, repos: []string{repo}, cached: &due,
			want: javaFindings, wantJavaDB: &scan.DBInfo{Repository: repo},
			wantLog: []string{"scan: downloading the Java DB from " + repo},
		},
		{
			name: "cached Java DB broken: downloaded again although current", layout: jarLayout, repos: []string{repo}, cached: &fresh, broken: true,
			want: javaFindings, wantJavaDB: &scan.DBInfo{Repository: repo},
			wantLog: []string{"scan: downloading the Java DB from " + repo},
		},
		{
			name: "download fails, cached Java DB younger than trivy-db-max-age: warning", layout: jarLayout, repos: []string{unreachableJava}, cached: &due,
			want: javaFindings, wantJavaDB: &scan.DBInfo{Stale: true}, wantWarning: true,
			wantLog: []string{"warning: scan: using the cached Java DB", "(30h0m0s old, trivy-db-max-age 72h0m0s) because it could not be refreshed"},
		},
		{
			name: "download fails, cached Java DB older than trivy-db-max-age", layout: jarLayout, repos: []string{unreachableJava}, cached: &old,
			wantErr: []string{"the image holds Java archives, could not download the Java DB from any repository (" + unreachableJava + ":",
				"is 100h0m0s old, more than trivy-db-max-age 72h0m0s", "set the input trivy-java-db-repository to a mirror", "or set it to none"},
		},
		{
			name: "download fails, no cached Java DB", layout: jarLayout, repos: []string{unreachableJava},
			wantErr: []string{"could not download the Java DB", "and there is no usable cached Java DB in", "set the input trivy-java-db-repository to a mirror this runner can reach"},
		},
		{
			name: "none: Java archives not analysed, nothing downloaded", layout: jarLayout, off: true,
			wantNote: true, wantNoLog: []string{"Java DB"},
		},
		{
			name: "no Java archive in the image: the Java DB is not asked for", layout: noJars, repos: []string{unreachableJava},
			want: allFindings, wantNoLog: []string{"Java DB"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &testenv.Log{}
			opts := testOptions(t, log)
			opts.JavaDBRepositories, opts.NoJavaDB = tc.repos, tc.off
			opts.CacheDir = t.TempDir()
			seedVulnDB(t, opts.CacheDir)
			if tc.cached != nil {
				dir := javaDBDir(opts.CacheDir)
				if err := buildFixtureJavaDB(dir, *tc.cached); err != nil {
					t.Fatal(err)
				}
				if tc.broken {
					if err := os.Truncate(filepath.Join(dir, "trivy-java.db"), 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			sc, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			a, err := sc.Scan(t.Context(), scan.Target{OCILayout: tc.layout})
			if scanFailed(t, err, tc.wantErr, log) {
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v\nlog:\n%s", err, log)
			}
			if got := keysOf(a.Findings); !slices.Equal(got, sorted(tc.want)) {
				t.Errorf("findings %q, want %q", got, sorted(tc.want))
			}
			switch {
			case tc.wantJavaDB == nil && a.JavaDB != nil:
				t.Errorf("Java DB info %+v, want none", a.JavaDB)
			case tc.wantJavaDB != nil && (a.JavaDB == nil || a.JavaDB.Repository != tc.wantJavaDB.Repository || a.JavaDB.Stale != tc.wantJavaDB.Stale || a.JavaDB.UpdatedAt.IsZero()):
				t.Errorf("Java DB info %+v, want %+v with a date", a.JavaDB, tc.wantJavaDB)
			}
			if got := slices.Contains(a.Notes, JavaOffNote); got != tc.wantNote {
				t.Errorf("notes %q: Java note %v, want %v", a.Notes, got, tc.wantNote)
			}
			logs := log.String()
			checkLog(t, logs, tc.wantLog, tc.wantNoLog)
			if got := strings.Contains(logs, "warning: scan:"); got != tc.wantWarning {
				t.Errorf("warning logged = %v, want %v:\n%s", got, tc.wantWarning, logs)
			}
		})
	}
}

// TestJavaArchivesSBOMAndCache: the JAR packages are in the SBOM with
// Maven purls and carry their file paths; a second scan with the layer
// cache reads the JAR layer's analysis from it and opens no Java DB.
func TestJavaArchivesSBOMAndCache(t *testing.T) {
	repo, jarLayout := javaFixtures(t)
	log := &testenv.Log{}
	opts := testOptions(t, log)
	opts.JavaDBRepositories = []string{repo}
	opts.CacheDir = t.TempDir()
	opts.NoLayerCache = false
	sc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sc.Scan(t.Context(), scan.Target{OCILayout: jarLayout})
	if err != nil {
		t.Fatalf("Scan: %v\nlog:\n%s", err, log)
	}
	var bom bytes.Buffer
	if err := a.Documents.WriteSBOM(t.Context(), &bom, scan.FormatCycloneDX); err != nil {
		t.Fatal(err)
	}
	for _, purl := range []string{"pkg:maven/org.example/greeter@1.2.3", "pkg:maven/com.example/widgets@2.0.0", "pkg:maven/io.example/gadget@1.0.0"} {
		if !strings.Contains(bom.String(), `"`+purl+`"`) {
			t.Errorf("SBOM lacks %s", purl)
		}
	}
	var paths []string
	for _, p := range a.Packages {
		if strings.HasPrefix(p.PURL, "pkg:maven/") {
			paths = append(paths, p.FilePath)
		}
	}
	slices.Sort(paths)
	if want := []string{"app/lib/gadget-1.0.0.jar", "app/lib/greeter-1.2.3.jar", "app/lib/widgets.jar"}; !slices.Equal(paths, want) {
		t.Errorf("Maven package paths %q, want %q", paths, want)
	}

	// The cached layer analysis needs no Java DB: an unreachable
	// repository and an emptied cache make no difference.
	if err := os.RemoveAll(javaDBDir(opts.CacheDir)); err != nil {
		t.Fatal(err)
	}
	log2 := &testenv.Log{}
	opts.Log = log2
	opts.JavaDBRepositories = []string{"127.0.0.1:1/mirror/trivy-java-db:1"}
	sc, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.Scan(t.Context(), scan.Target{OCILayout: jarLayout})
	if err != nil {
		t.Fatalf("second Scan: %v\nlog:\n%s", err, log2)
	}
	if got := keysOf(b.Findings); !slices.Equal(got, sorted(javaFindings)) || b.JavaDB != nil {
		t.Errorf("second scan: findings %q, Java DB %+v; want %q and none", got, b.JavaDB, sorted(javaFindings))
	}
	if strings.Contains(log2.String(), "Java DB") {
		t.Errorf("second scan asked for the Java DB:\n%s", log2)
	}
}

// TestJavaDBRateLimits: the Java DB download takes the same retries as the
// vulnerability DB's (#18.8): a repository that answers 429 twice, with
// Retry-After, is retried and then serves the DB.
func TestJavaDBRateLimits(t *testing.T) {
	repo, jarLayout := javaFixtures(t)
	env := testenv.RequireRegistries(t)
	p := newThrottle(t, env, 2, http.StatusTooManyRequests, "1")
	log := &testenv.Log{}
	opts := testOptions(t, log)
	opts.JavaDBRepositories = []string{p.repo(repo)}
	opts.CacheDir = t.TempDir()
	seedVulnDB(t, opts.CacheDir)
	sc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sc.Scan(t.Context(), scan.Target{OCILayout: jarLayout})
	if err != nil {
		t.Fatalf("Scan: %v\nlog:\n%s", err, log)
	}
	if got := keysOf(a.Findings); !slices.Equal(got, sorted(javaFindings)) {
		t.Errorf("findings %q, want %q", got, sorted(javaFindings))
	}
	if logs := log.String(); !strings.Contains(logs, "asks to wait 1s before the next request (Retry-After)") || !strings.Contains(logs, "scan: Java DB downloaded") {
		t.Errorf("log lacks the retries or the download:\n%s", logs)
	}
}

// seedVulnDB puts a current fixture vulnerability DB into cacheDir, so
// that a test of the Java DB does not download that one too.
func seedVulnDB(t *testing.T, cacheDir string) {
	t.Helper()
	if err := buildFixtureDB(filepath.Join(cacheDir, "db"), fixturedb.Fresh(time.Now())); err != nil {
		t.Fatal(err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
