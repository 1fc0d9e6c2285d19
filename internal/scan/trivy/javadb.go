package trivy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	javadbfile "github.com/aquasecurity/trivy-java-db/pkg/db"
	"github.com/aquasecurity/trivy/pkg/fanal/analyzer"
	"github.com/aquasecurity/trivy/pkg/fanal/analyzer/language"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/javadb"
	"github.com/aquasecurity/trivy/pkg/oci"
	"github.com/aquasecurity/trivy/pkg/parallel"
	"github.com/aquasecurity/trivy/pkg/types"
	xio "github.com/aquasecurity/trivy/pkg/x/io"

	jarparser "github.com/aquasecurity/trivy/pkg/dependency/parser/java/jar"

	"github.com/org/image-pipeline/internal/scan"
)

// The Java DB maps JAR files (by SHA-1, or by artifact id) to Maven
// coordinates, without which a JAR that carries no pom.properties yields no
// package. It is a second OCI artifact beside the vulnerability DB, in the
// Trivy CLI's directory of the cache (<trivy-cache-dir>/java-db), and large:
// it is downloaded only when an image holds a Java archive.
const (
	// JavaDBMediaType and JavaDBTitle are those of Trivy's Java DB artifact.
	JavaDBMediaType = "application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip"
	JavaDBTitle     = "javadb.tar.gz"
	// javaDBFresh is how long after its download a Java DB is used without
	// asking the registry again, when its NextUpdate has passed (as Trivy).
	javaDBFresh = 24 * time.Hour
)

// JavaOffNote says that Java archives are not analysed.
const JavaOffNote = "Java archives (.jar, .war, .ear, .par) are not analysed: trivy-java-db-repository is none."

func javaDBDir(cacheDir string) string { return filepath.Join(cacheDir, "java-db") }

// javaDB is one scan's Java DB: prepared on the first Java archive any
// layer holds, once, then shared by every layer's analysis.
type javaDB struct {
	s    scan.Settings
	once sync.Once
	info *scan.DBInfo
	err  error
}

type javaDBKey struct{}

// withJavaDB hands j to the JAR analyser of the analysis run under ctx.
func withJavaDB(ctx context.Context, j *javaDB) context.Context {
	return context.WithValue(ctx, javaDBKey{}, j)
}

// used is the Java DB the scan opened, nil when no layer held a Java archive.
func (j *javaDB) used() *scan.DBInfo {
	if j == nil {
		return nil
	}
	return j.info
}

// open prepares the Java DB on first use and opens a client on it. Trivy's
// javadb package is process-wide: it is pointed at the prepared DB, with
// its own download off, while the caller holds trivyMu.
func (j *javaDB) open(ctx context.Context) (*javadb.DB, error) {
	j.once.Do(func() {
		info, err := prepareJavaDB(ctx, j.s)
		if err != nil {
			j.err = err
			return
		}
		javadb.Init(j.s.CacheDir, nil, true, true, ftypes.RegistryOptions{})
		j.info = &info
	})
	if j.err != nil {
		return nil, j.err
	}
	return javadb.NewClient()
}

// prepareJavaDB makes a usable Java DB available in the cache: the cached
// one while Trivy would keep it (before its NextUpdate, or downloaded in the
// last day), else a download from the first repository that answers, else
// with a warning a cached one younger than trivy-db-max-age.
func prepareJavaDB(ctx context.Context, s scan.Settings) (scan.DBInfo, error) {
	dir := javaDBDir(s.CacheDir)
	now := time.Now()
	meta, cachedErr := cachedJavaDB(dir)
	if cachedErr == nil && (now.Before(meta.NextUpdate) || now.Before(meta.DownloadedAt.Add(javaDBFresh))) {
		s.Log.Infof("scan: Java DB is current (updated %s)", meta.UpdatedAt.UTC().Format(time.RFC3339))
		return scan.DBInfo{UpdatedAt: meta.UpdatedAt}, nil
	}
	repo, dlErr := downloadFirst(ctx, s, "Java DB", s.JavaDBRepositories, dir, fetchJavaDB)
	if dlErr == nil {
		// fetchJavaDB checked the database; only its date is read again.
		mc := javadbfile.NewMetadata(dir)
		meta, err := mc.Get()
		if err != nil {
			return scan.DBInfo{}, fmt.Errorf("read the downloaded Java DB's metadata in %s: %w", dir, err)
		}
		return scan.DBInfo{Repository: repo, UpdatedAt: meta.UpdatedAt}, nil
	}
	if ctx.Err() != nil {
		return scan.DBInfo{}, dlErr
	}
	age := now.Sub(meta.UpdatedAt)
	if cachedErr == nil && age <= s.MaxDBAge {
		s.Log.Warningf("scan: using the cached Java DB from %s (%s old, trivy-db-max-age %s) because it could not be refreshed: %v",
			meta.UpdatedAt.UTC().Format(time.RFC3339), roundAge(age), s.MaxDBAge, dlErr)
		return scan.DBInfo{UpdatedAt: meta.UpdatedAt, Stale: true}, nil
	}
	var why string
	switch {
	case cachedErr != nil:
		why = fmt.Sprintf(", and there is no usable cached Java DB in %s (%v)", dir, cachedErr)
	default:
		why = fmt.Sprintf(", and the cached Java DB in %s is %s old, more than trivy-db-max-age %s", dir, roundAge(age), s.MaxDBAge)
	}
	return scan.DBInfo{}, fmt.Errorf("the image holds Java archives, %w%s; set the input %s to a mirror this runner can reach (an OCI registry holding a copy of %s), restore trivy-cache-dir with actions/cache, or set it to none to leave Java archives unanalysed",
		dlErr, why, scan.InputJavaDBRepository, scan.DefaultJavaDBRepositories[len(scan.DefaultJavaDBRepositories)-1])
}

// cachedJavaDB reads the metadata of the Java DB in dir and checks that its
// database answers a query: a missing or truncated trivy-java.db would make
// every lookup fail quietly.
func cachedJavaDB(dir string) (javadbfile.Metadata, error) {
	mc := javadbfile.NewMetadata(dir)
	meta, err := mc.Get()
	if err != nil {
		return javadbfile.Metadata{}, errors.New("no metadata.json")
	}
	if meta.Version != javadb.SchemaVersion {
		return meta, fmt.Errorf("schema %d, this Trivy reads schema %d", meta.Version, javadb.SchemaVersion)
	}
	if fi, err := os.Stat(filepath.Join(dir, "trivy-java.db")); err != nil || fi.Size() == 0 {
		return meta, errors.New("no trivy-java.db")
	}
	d, err := javadbfile.New(dir)
	if err != nil {
		return meta, fmt.Errorf("trivy-java.db cannot be opened: %w", err)
	}
	defer d.Close()
	if _, err := d.SelectIndexBySha1(strings.Repeat("0", 40)); err != nil {
		return meta, fmt.Errorf("trivy-java.db cannot be queried: %w", err)
	}
	return meta, nil
}

// fetchJavaDB downloads the Java DB artifact into dst and checks it.
func fetchJavaDB(ctx context.Context, s scan.Settings, repo, dst string) error {
	img, err := openDBArtifact(ctx, s, repo)
	if err != nil {
		return err
	}
	s.Log.Infof("scan: downloading the Java DB from %s", repo)
	art := oci.NewArtifact(repo, ftypes.RegistryOptions{}, oci.WithImage(progressImage{Image: img, log: s.Log, what: "Java DB"}))
	// The file name is ours, not the artifact's title annotation.
	if err := art.Download(ctx, dst, oci.DownloadOption{MediaType: JavaDBMediaType, Filename: JavaDBTitle, Quiet: true}); err != nil {
		return err
	}
	meta, err := cachedJavaDB(dst)
	if err != nil {
		return fmt.Errorf("the downloaded Java DB is not usable: %w", err)
	}
	meta.DownloadedAt = time.Now().UTC()
	mc := javadbfile.NewMetadata(dst)
	if err := mc.Update(meta); err != nil {
		return fmt.Errorf("record the Java DB's download time: %w", err)
	}
	s.Log.Infof("scan: Java DB downloaded (updated %s)", meta.UpdatedAt.UTC().Format(time.RFC3339))
	return nil
}

// jarAnalyzer takes the place of Trivy's JAR analyser, which the scan
// disables: it reads Java archives with Trivy's parser the same way, but
// before the first one it prepares the scan's Java DB, which the context
// carries, instead of expecting one downloaded before the analysis. Its
// packages are reported as analysed by Trivy's (reportAsJar).
type jarAnalyzer struct{ parallel int }

// typeJarOnDemand is jarAnalyzer's type: Trivy refuses a second analyser
// of its own JAR type.
const typeJarOnDemand analyzer.Type = "jar-java-db-on-demand"

// jarExtensions are the archives Trivy's JAR analyser reads.
var jarExtensions = []string{".jar", ".war", ".ear", ".par"}

// jarAnalyzerVersion is Trivy's: the results are the same.
const jarAnalyzerVersion = 1

func init() {
	analyzer.RegisterPostAnalyzer(typeJarOnDemand, func(o analyzer.AnalyzerOptions) (analyzer.PostAnalyzer, error) {
		return jarAnalyzer{parallel: o.Parallel}, nil
	})
}

func (jarAnalyzer) Type() analyzer.Type { return typeJarOnDemand }
func (jarAnalyzer) Version() int        { return jarAnalyzerVersion }

func (jarAnalyzer) Required(path string, _ os.FileInfo) bool {
	ext := filepath.Ext(path)
	for _, e := range jarExtensions {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}

func (a jarAnalyzer) PostAnalyze(ctx context.Context, in analyzer.PostAnalysisInput) (*analyzer.AnalysisResult, error) {
	j, _ := ctx.Value(javaDBKey{}).(*javaDB)
	if j == nil {
		return nil, errors.New("the JAR analysis ran outside a scan: no Java DB was set up")
	}
	client, err := j.open(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = client.Close() }()
	res := &analyzer.AnalysisResult{}
	parse := func(path string, fi os.FileInfo, r xio.ReadSeekerAt) (*ftypes.Application, error) {
		p := jarparser.NewParser(client, jarparser.WithSize(fi.Size()), jarparser.WithFilePath(path))
		return language.ParsePackage(ctx, ftypes.Jar, path, r, p, in.Options.FileChecksum)
	}
	collect := func(app *ftypes.Application) error {
		if app != nil {
			res.Applications = append(res.Applications, *app)
		}
		return nil
	}
	if err := parallel.WalkDir(ctx, in.FS, ".", a.parallel, parse, collect); err != nil {
		return nil, fmt.Errorf("read the Java archives: %w", err)
	}
	return res, nil
}

// reportAsJar names Trivy's JAR analyser as the one that found the Java
// packages, as in the Trivy CLI's report.
func reportAsJar(r *types.Report) {
	for i := range r.Results {
		for j := range r.Results[i].Packages {
			if p := &r.Results[i].Packages[j]; p.AnalyzedBy == ftypes.AnalyzerType(typeJarOnDemand) {
				p.AnalyzedBy = ftypes.AnalyzerType(analyzer.TypeJar)
			}
		}
	}
}
