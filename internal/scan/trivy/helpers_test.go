package trivy

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/metadata"
	dockerimage "github.com/docker/docker/api/types/image"
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

// shared is what the tests of this binary build once: the fixture DB in the
// test registry and the test image (OCI layout and engine tag).
var shared struct {
	root string // temporary directory, removed by TestMain

	dbOnce sync.Once
	dbRepo string
	dbDir  string // a built DB directory (trivy.db + metadata.json)
	dbErr  error

	imgOnce   sync.Once
	stdlib    string // Go version of the test image's Go binary, as Trivy reports it ("v1.26.8")
	layoutDir string
	engineRef string
	imgErr    error
	cleanups  []func()
}

func TestMain(m *testing.M) {
	flag.Parse()
	root, err := os.MkdirTemp("", "scan-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.root = root
	outbound := guardOutbound()
	code := m.Run()
	for _, c := range shared.cleanups {
		c()
	}
	_ = os.RemoveAll(root)
	_ = RemoveTempDir()
	if calls := outbound(); len(calls) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests made requests beyond this machine (telemetry, version checks or default DB repositories?):\n  %s\n", strings.Join(calls, "\n  "))
		code = 1
	}
	os.Exit(code)
}

// guardOutbound routes every HTTP(S) request that is not to a loopback
// address (Go never proxies those) through a local proxy that records and
// refuses it, for this process and the Trivy CLIs it starts: the tests must
// make no request beyond the local services — no telemetry, no version
// check, no default DB repository. It returns the recorded requests.
func guardOutbound() func() []string {
	var mu sync.Mutex
	var calls []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.Host+r.URL.Path)
		mu.Unlock()
		http.Error(w, "image-pipeline scan tests: no request may leave this machine", http.StatusForbidden)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	proxy := "http://" + ln.Addr().String()
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Setenv(k, proxy)
	}
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		os.Unsetenv(k)
	}
	return func() []string {
		_ = srv.Close()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
}

// fixtureDir holds the YAML fixtures of the DB, in internal/scan/testdata/db
// beside the fixturedb package: the test environment (make testenv-up) and
// the app's end-to-end tests read them too.
var fixtureDir = filepath.Join("..", "testdata", "db")

// buildFixtureDB writes trivy.db (from the fixtureDir's *.yaml, with
// bolt-fixtures) and metadata.json into dir.
func buildFixtureDB(dir string, meta metadata.Metadata) error {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no fixture files under %s: %v", fixtureDir, err)
	}
	return fixturedb.Build(dir, files, meta)
}

// fixtureDBRepo pushes the fixture DB to the plain test registry as Trivy's
// DB artifact (one tar+gzip layer with a title annotation) and returns its
// reference.
func fixtureDBRepo(t testing.TB) string {
	t.Helper()
	env := testenv.RequireRegistries(t)
	shared.dbOnce.Do(func() {
		dir := filepath.Join(shared.root, "fixture-db")
		if shared.dbErr = buildFixtureDB(dir, fixturedb.Fresh(time.Now())); shared.dbErr != nil {
			return
		}
		shared.dbDir = dir
		var img v1.Image
		if img, shared.dbErr = fixturedb.Artifact(dir); shared.dbErr != nil {
			return
		}
		repo := env.UniqueRepo(t, env.Registry, "trivy-db") + ":2"
		ref, err := name.ParseReference(repo)
		if err != nil {
			shared.dbErr = err
			return
		}
		if shared.dbErr = remote.Write(ref, img, env.RemoteOptions(context.WithoutCancel(t.Context()))...); shared.dbErr == nil {
			shared.dbRepo = repo
		}
	})
	if shared.dbErr != nil {
		t.Fatalf("fixture DB: %v", shared.dbErr)
	}
	return shared.dbRepo
}

// buildGoBinary builds testdata/gobin (its own module, so the project's
// go.mod is never touched) without VCS stamping, so that Trivy sees only its
// dependencies and the standard library.
func buildGoBinary(dst string) (goVersion string, err error) {
	env := append(os.Environ(), "GOFLAGS=-mod=readonly", "GOEXPERIMENT=", "CGO_ENABLED=0")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", dst, ".")
	cmd.Dir = filepath.Join("testdata", "gobin")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build testdata/gobin: %v\n%s", err, out)
	}
	cmd = exec.Command("go", "env", "GOVERSION")
	cmd.Dir, cmd.Env = filepath.Join("testdata", "gobin"), env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	return "v" + strings.TrimPrefix(strings.TrimSpace(string(out)), "go"), nil
}

// rootfsLayer is testdata/rootfs as an image layer, plus the Go binary at
// app/bin/gobin.
func rootfsLayer(gobin string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	root := filepath.Join("testdata", "rootfs")
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		h := &tar.Header{Name: rel, ModTime: time.Unix(1700000000, 0), Mode: 0o644, Typeflag: tar.TypeReg}
		var b []byte
		if info.IsDir() {
			h.Name, h.Mode, h.Typeflag = rel+"/", 0o755, tar.TypeDir
		} else if b, err = os.ReadFile(p); err != nil {
			return nil, err
		}
		h.Size = int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	bin, err := os.ReadFile(gobin)
	if err != nil {
		return nil, err
	}
	for _, h := range []*tar.Header{
		{Name: "app/bin/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(1700000000, 0)},
		{Name: "app/bin/gobin", Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(bin)), ModTime: time.Unix(1700000000, 0)},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// testImages builds the test image once — the test base image from the
// registry plus testdata/rootfs (Alpine package DB and os-release, npm
// packages) — and leaves it both as an OCI layout and in the engine.
func testImages(t testing.TB) (layoutDir, engineRef string) {
	t.Helper()
	env := testenv.RequireRegistries(t)
	_, docker := testenv.RequireEngine(t)
	shared.imgOnce.Do(func() {
		ctx := context.WithoutCancel(t.Context())
		base, err := name.ParseReference(env.BaseImage)
		if err != nil {
			shared.imgErr = err
			return
		}
		baseImg, err := remote.Image(base, env.RemoteOptions(ctx)...)
		if err != nil {
			shared.imgErr = fmt.Errorf("pull the test base image %s: %w", env.BaseImage, err)
			return
		}
		gobin := filepath.Join(shared.root, "gobin")
		if shared.stdlib, shared.imgErr = buildGoBinary(gobin); shared.imgErr != nil {
			return
		}
		layer, err := rootfsLayer(gobin)
		if err != nil {
			shared.imgErr = err
			return
		}
		img, err := mutate.AppendLayers(baseImg, layer)
		if err != nil {
			shared.imgErr = err
			return
		}
		dir := filepath.Join(shared.root, "oci-layout")
		p, err := layout.Write(dir, empty.Index)
		if err == nil {
			err = p.AppendImage(img)
		}
		if err != nil {
			shared.imgErr = fmt.Errorf("write the OCI layout: %w", err)
			return
		}
		shared.layoutDir = dir

		tagStr := "image-pipeline-scan-test/" + filepath.Base(env.UniqueRepo(t, "x", "img")) + ":latest"
		if _, err := testenv.LoadImage(ctx, docker, tagStr, img); err != nil {
			shared.imgErr = fmt.Errorf("load the test image into the engine: %w", err)
			return
		}
		shared.engineRef = tagStr
		c, err := env.EngineClient()
		if err != nil {
			shared.imgErr = err
			return
		}
		shared.cleanups = append(shared.cleanups, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, _ = c.ImageRemove(ctx, tagStr, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
			_ = c.Close()
		})
	})
	if shared.imgErr != nil {
		t.Fatalf("test image: %v", shared.imgErr)
	}
	return shared.layoutDir, shared.engineRef
}

func keysOf(fs []scan.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+" "+f.Package+" "+f.InstalledVersion)
	}
	sort.Strings(out)
	return out
}

// trivyJSON reads the vulnerabilities of a Trivy JSON report.
func trivyJSON(t *testing.T, b []byte) []string {
	t.Helper()
	var r struct {
		Results []struct {
			Vulnerabilities []struct {
				VulnerabilityID, PkgName, InstalledVersion string
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("read a Trivy JSON report: %v\n%s", err, b)
	}
	var out []string
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			out = append(out, v.VulnerabilityID+" "+v.PkgName+" "+v.InstalledVersion)
		}
	}
	sort.Strings(out)
	return out
}

// cdxPackages lists "name version" of a CycloneDX BOM's library and OS package components.
func cdxPackages(t *testing.T, b []byte) []string {
	t.Helper()
	var bom struct {
		Components []struct {
			Type, Name, Version, Purl string
		}
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatalf("read a CycloneDX BOM: %v", err)
	}
	var out []string
	for _, c := range bom.Components {
		if c.Purl != "" {
			out = append(out, c.Name+" "+c.Version)
		}
	}
	sort.Strings(out)
	return out
}

func packagesOf(ps []scan.Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+" "+p.Version)
	}
	sort.Strings(out)
	return out
}

// scanFailed checks a scan that wantErr says must fail: err holds each of
// its parts. It reports whether the case ends there (wantErr set).
func scanFailed(t *testing.T, err error, wantErr []string, log fmt.Stringer) bool {
	t.Helper()
	if len(wantErr) == 0 {
		return false
	}
	if err == nil {
		t.Fatalf("Scan succeeded, want an error\nlog:\n%s", log)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nmissing %q", err, w)
		}
	}
	return true
}

// checkLog checks that the log holds each of want and none of wantNo.
func checkLog(t *testing.T, logs string, want, wantNo []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
	for _, w := range wantNo {
		if strings.Contains(logs, w) {
			t.Errorf("log has %q:\n%s", w, logs)
		}
	}
}
