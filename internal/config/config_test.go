package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/org/image-pipeline/internal/registry"
	"github.com/org/image-pipeline/internal/scan"
	"github.com/org/image-pipeline/internal/sign"
	"github.com/org/image-pipeline/internal/testenv/wanterr"
)

func source(m map[string]string) Source {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(source(nil))
	if err != nil {
		t.Fatalf("Parse with no inputs: %v", err)
	}
	if c.Context != "." || c.File != "Dockerfile" || c.Push != registry.PushAuto || !c.Summary || c.GitHubToken != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse(source(map[string]string{
		"image":        "ghcr.io/a/b\n# a comment\nregistry.example.com/bb\nquay.io/cc",
		"context":      "app",
		"push":         "False",
		"summary":      "FALSE",
		"github-token": "ghp_secret",
		"report-json":  "out/report.json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range c.Images {
		names = append(names, im.Name)
	}
	if got := strings.Join(names, " "); got != "ghcr.io/a/b registry.example.com/bb quay.io/cc" {
		t.Errorf("images %q", got)
	}
	if c.File != "app/Dockerfile" {
		t.Errorf("file %q, want app/Dockerfile", c.File)
	}
	if c.Push != registry.PushFalse || c.Summary {
		t.Errorf("push %q summary %v", c.Push, c.Summary)
	}
	if len(c.Secrets) != 1 || c.Secrets[0] != "ghp_secret" {
		t.Errorf("secrets not collected for masking: %v", c.Secrets)
	}
}

// Values are read with the white space around them removed; white space
// alone is an empty value (what ghactions.Input used to do for the app).
func TestParseTrimsValues(t *testing.T) {
	c, err := Parse(source(map[string]string{"build-args": "  A=1\nB=2 \n", "context": " app ", "target": "   "}))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Build.BuildArgs) != "[{A 1} {B 2}]" || c.Context != "app" || c.Build.Target != "" {
		t.Errorf("build-args %+v, context %q, target %q", c.Build.BuildArgs, c.Context, c.Build.Target)
	}
}

// build-args, secrets, secret-envs and platforms are parsed here, once,
// into the values the build uses; their bad lines are configuration
// errors, and every secret value is masked.
func TestParseBuildInputs(t *testing.T) {
	c, err := Parse(source(map[string]string{"secrets": "npm=s3cr3t", "secret-envs": "gh=GH_TOKEN", "platforms": "linux/amd64, linux/arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Build.Secrets) != 2 || c.Build.Secrets[0].Value != "s3cr3t" || c.Build.Secrets[1].Env != "GH_TOKEN" || strings.Join(c.Build.Platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("secrets %+v platforms %q", c.Build.Secrets, c.Build.Platforms)
	}
	if !slices.Contains(c.Secrets, "npm=s3cr3t") {
		t.Errorf("the secrets input is not masked: %q", c.Secrets)
	}
	_, err = Parse(source(map[string]string{"build-args": "novalue", "secrets": "no-id", "platforms": "windows//"}))
	wanterr.Check(t, err, `input "build-args": line 1 has no NAME=`, `input "secrets": line 1 has no id=`, `input "platforms": "windows//" is not a platform`)
}

// provenance takes build-push-action's values; true is mode=min.
func TestParseProvenance(t *testing.T) {
	for in, want := range map[string]string{"": "", "false": "", "true": "min", "mode=min": "min", "mode=max": "max", "MODE=MAX": "max"} {
		c, err := Parse(source(map[string]string{"provenance": in}))
		if err != nil || c.Build.Provenance != want {
			t.Errorf("provenance %q: mode %q, err %v; want %q", in, c.Build.Provenance, err, want)
		}
	}
	_, err := Parse(source(map[string]string{"provenance": "mode=full,builder-id=x"}))
	wanterr.Check(t, err, `input "provenance": "mode=full,builder-id=x" is not a provenance setting; accepted values: false, true (mode=min), mode=min or mode=max`)
}

// cache-scope: auto (the default), empty, or a short tag fragment.
func TestParseCacheScope(t *testing.T) {
	for in, want := range map[string]string{"auto": "auto", "": "", "web": "web", "stack-dev.v2_x": "stack-dev.v2_x"} {
		c, err := Parse(source(map[string]string{"cache-scope": in}))
		if err != nil || c.CacheScope != want {
			t.Errorf("cache-scope %q: %q, err %v; want %q", in, c.CacheScope, err, want)
		}
	}
	if c, err := Parse(source(nil)); err != nil || c.CacheScope != CacheScopeAuto {
		t.Errorf("cache-scope unset: %q, err %v; want auto", c.CacheScope, err)
	}
	for _, bad := range []string{"-dev", "a b", "x/y", strings.Repeat("a", MaxCacheScope+1)} {
		_, err := Parse(source(map[string]string{"cache-scope": bad}))
		wanterr.Check(t, err, `input "cache-scope": "`+bad+`" is not a cache scope; accepted values: auto, empty for none, or up to 40 letters`)
	}
}

func TestParseLabels(t *testing.T) {
	c, err := Parse(source(map[string]string{"labels": "a=b\nc=d=e"}))
	if err != nil || strings.Join(c.Labels, ",") != "a=b,c=d=e" {
		t.Errorf("labels %q, err %v", c.Labels, err)
	}
	if _, err := Parse(source(map[string]string{"labels": "=x"})); err == nil || !strings.Contains(err.Error(), "labels") || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("a label without a key: err %v", err)
	}
}

// push-timeout and registries are parsed here, once, into the values the
// push stage uses; their bad values are configuration errors.
func TestParsePushInputs(t *testing.T) {
	c, err := Parse(source(map[string]string{"push-timeout": "90s", "registries": "a.example.com=me:pw1\n# b.example.com=me:pw2"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry.Timeout != 90*time.Second || len(c.Registry.Registries) != 1 || c.Registry.Registries[0].Registry != "a.example.com" {
		t.Errorf("timeout %v, registries %+v", c.Registry.Timeout, c.Registry.Registries)
	}
	for _, s := range []string{"pw1", "pw2"} {
		if !slices.Contains(c.Secrets, s) {
			t.Errorf("password %s is not masked: %q", s, c.Secrets)
		}
	}
	_, err = Parse(source(map[string]string{"push-timeout": "soon", "registries": "no-equals"}))
	wanterr.Check(t, err, `input "push-timeout": "soon" is not a duration`, `input "registries": line 1 has no "="`)
}

// The scan and sign inputs are parsed here into the scan and sign
// packages' types; their bad values are configuration errors, one per
// value, in the one input-error wording.
func TestParseScanAndSignInputs(t *testing.T) {
	c, err := Parse(source(map[string]string{
		"fail-on": "High", "severity": "critical, high", "pkg-types": "os", "sbom-format": "SPDX-JSON",
		"trivy-db-repository": "r.example/db:2", "trivy-db-max-age": "2d",
		"sign": "TRUE", "signature-format": "bundle", "fulcio-url": "https://fulcio.internal", "rekor-url": "http://127.0.0.1:3000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	sc := c.Scan
	if sc.FailOn != scan.FailOn("HIGH") || !slices.Equal(sc.Severities, []string{"CRITICAL", "HIGH"}) || !slices.Equal(sc.PkgTypes, []string{"os"}) ||
		sc.SBOMFormat != scan.FormatSPDXJSON || sc.SBOMFile != filepath.Join("image-pipeline-reports", "sbom.spdx.json") ||
		!slices.Equal(sc.DBRepositories, []string{"r.example/db:2"}) || sc.DBMaxAge != 48*time.Hour {
		t.Errorf("scan config %+v", sc)
	}
	if c.Sign.Mode != sign.SignTrue || c.Sign.Format != sign.FormatBundle || c.Sign.FulcioURL != "https://fulcio.internal" || c.Sign.RekorURL != "http://127.0.0.1:3000" {
		t.Errorf("sign config %+v", c.Sign)
	}
	d, err := Parse(source(nil))
	if err != nil || d.Scan.FailOn != "CRITICAL" || d.Scan.SBOMFormat != scan.FormatCycloneDX || d.Scan.DBMaxAge != 72*time.Hour || d.Sign.Mode != sign.SignAuto || d.Sign.Format != sign.FormatLegacy {
		t.Errorf("defaults: %v, scan %+v, sign %+v", err, d.Scan, d.Sign)
	}
	_, err = Parse(source(map[string]string{
		"fail-on": "severe", "severity": "HIGH,urgent", "pkg-types": "lib", "sbom-format": "syft",
		"trivy-db-repository": "Not A Ref", "trivy-db-max-age": "a week",
		"sign": "yes", "signature-format": "oci", "fulcio-url": "fulcio", "rekor-url": "ftp://rekor", "oidc-issuer": "https://token.actions.githubusercontent.com",
	}))
	wanterr.Check(t, err,
		`input "fail-on": "severe" is not accepted; accepted values: critical, high, medium, low, unknown, none`,
		`input "sbom-format": "syft" is not accepted; accepted values: cyclonedx, spdx-json`,
		`input "sign": "yes" is not accepted; accepted values: auto, true, false`,
		`input "signature-format": "oci" is not accepted; accepted values: legacy, bundle`,
		`input "fulcio-url": "fulcio" is not a URL; accepted values: an https:// URL`,
		`input "rekor-url": "ftp://rekor" is not a URL`,
		`input "severity": "urgent" is not a severity; accepted values: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN`,
		`input "pkg-types": "lib" is not a package type`,
		`input "trivy-db-repository": "Not A Ref" is not an OCI reference`,
		`input "trivy-db-max-age": "a week" is not a duration`,
	)
}

func TestParseErrorsAreAllReportedEachNamingItsInput(t *testing.T) {
	_, err := Parse(source(map[string]string{
		"push":    "yes please",
		"summary": "maybe",
		"tags":    "type=semver,pattern={{version}}\ntype=bogus",
		"flavor":  "latest=sometimes",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 4 {
		t.Fatalf("want 4 joined errors, got %v", err)
	}
	want := []string{
		`input "push": "yes please" is not accepted; accepted values: auto, true, false`,
		`input "summary": "maybe" is not a boolean; accepted values: true, false`,
		`tags`,
		`flavor`,
	}
	for i, e := range joined.Unwrap() {
		if i < 2 && e.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, e.Error(), want[i])
		}
		if !strings.Contains(e.Error(), want[i]) || strings.Contains(e.Error(), "\n") {
			t.Errorf("error %d = %q: want one line naming %s", i, e.Error(), want[i])
		}
	}
}

func TestEveryInputHasADescriptionAndAValidDefault(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range Inputs {
		if seen[in.Name] {
			t.Errorf("input %s listed twice", in.Name)
		}
		seen[in.Name] = true
		if in.Description == "" || in.Group == "" {
			t.Errorf("input %s lacks a description or group", in.Name)
		}
		if in.Kind == Enum {
			ok := false
			for _, v := range in.Values {
				ok = ok || v == in.Default
			}
			if !ok {
				t.Errorf("input %s: default %q is not one of %v", in.Name, in.Default, in.Values)
			}
		}
		if in.Kind == Bool && in.Default != "true" && in.Default != "false" {
			t.Errorf("input %s: boolean default %q", in.Name, in.Default)
		}
	}
}
