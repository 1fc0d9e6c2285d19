package config

// Kind says how an input's text is read.
type Kind int

// Input kinds.
const (
	String Kind = iota
	Bool
	Enum
	List     // one item per line or comma-separated
	LineList // one item per line (items may contain commas, e.g. tag rules)
	Secret   // a string that is masked as soon as it is read
)

// Input describes one action input. The table below is the single source of
// action.yml's inputs, the CLI flags and the README's inputs table (tests
// keep the three in step).
type Input struct {
	Name        string
	Default     string // as written in action.yml
	Description string
	Kind        Kind
	Values      []string // accepted values of an Enum
	// Group orders the README table and the --help text.
	Group string
}

// Inputs lists every input, in the order of action.yml.
var Inputs = []Input{
	{Name: "image", Group: "general", Kind: LineList,
		Description: "Image names, one per line or comma-separated (docker/metadata-action `images` syntax, e.g. `ghcr.io/owner/app` or `name=registry.example.com/app,enable=true`). Default: `ghcr.io/<owner>/<repository>` in lower case."},
	{Name: "images", Group: "general", Kind: LineList,
		Description: "docker/metadata-action's name for `image`, accepted so that pasted steps keep working; set one of the two, not both."},
	{Name: "context", Default: ".", Group: "general", Kind: String,
		Description: "Build context directory, relative to the workspace."},
	{Name: "file", Group: "general", Kind: String,
		Description: "Dockerfile path, relative to the workspace. Default: `<context>/Dockerfile`."},
	{Name: "push", Default: "auto", Group: "general", Kind: Enum, Values: []string{"auto", "true", "false"},
		Description: "Push the image: `auto` pushes except for pull requests from forks or when no credentials are available; `true` always (fails without credentials); `false` never."},
	{Name: "github-token", Default: "${{ github.token }}", Group: "general", Kind: Secret,
		Description: "Token used to push to ghcr.io (as `github.actor`). Never printed."},
	{Name: "registry-username", Group: "push", Kind: String,
		Description: "User name for the target registries that have no `registries` line (and for ghcr.io when `github-token` is empty)."},
	{Name: "registry-password", Group: "push", Kind: Secret,
		Description: "Password or access token that goes with `registry-username`. Never printed."},
	{Name: "registries", Group: "push", Kind: Secret,
		Description: "One login per line, `host=username:password` (e.g. `docker.synapse.org=<user>:<token>`, with the user and token taken from the workflow's secrets); splits at the first `=` and the first `:`. Never printed."},
	{Name: "push-timeout", Default: "10m", Group: "push", Kind: String,
		Description: "Bound on the whole push, retries included: a Go duration (`90s`, `10m`) or a number of seconds."},
	{Name: "overwrite-release-tags", Default: "false", Group: "push", Kind: Bool,
		Description: "Allow moving an existing release tag (`1.2.3`) to a different digest. Moving `1.2`, `1`, `latest`, branch and review tags is always allowed."},
	{Name: "tags", Group: "tags", Kind: LineList,
		Description: "Tag rules, one per line, in docker/metadata-action `tags` syntax (`type=semver,pattern={{version}}`, `type=ref,event=branch`, …) plus `type=review`, `{{pr}}` and `{{short_sha N}}`. Empty: the default rules in docs/tags.md (branch + full SHA; `pr-<N>` + review tag; semver tags + `latest`)."},
	{Name: "flavor", Group: "tags", Kind: LineList,
		Description: "docker/metadata-action `flavor` lines: `latest=auto|true|false`, `prefix=…[,onlatest=true]`, `suffix=…[,onlatest=true]`."},
	{Name: "labels", Group: "tags", Kind: LineList,
		Description: "Extra image labels, `key=value` one per line, merged over the generated OCI labels (expressions allowed)."},
	{Name: "annotations", Group: "tags", Kind: LineList,
		Description: "Extra OCI annotations, `key=value` one per line, merged over the generated OCI keys as in docker/metadata-action; written into the pushed manifest (and index) at the levels of `DOCKER_METADATA_ANNOTATIONS_LEVELS` (default `manifest`)."},
	{Name: "target", Group: "build", Kind: String,
		Description: "Dockerfile stage to build as the final image. Default: the last stage."},
	{Name: "builder-target", Group: "build", Kind: String,
		Description: "Builder stage built in the same session and pushed as `builder-<branch>` cache. Default: a stage named `builder` if there is one; `none` to disable."},
	{Name: "build-args", Group: "build", Kind: LineList,
		Description: "Build arguments, `NAME=value` one per line. Not for secrets: use `secrets`."},
	{Name: "secrets", Group: "build", Kind: Secret,
		Description: "Build secrets, `id=value` one per line, for `RUN --mount=type=secret,id=…`. Sent through BuildKit's secret session: never in a layer, the history or the log."},
	{Name: "secret-envs", Group: "build", Kind: LineList,
		Description: "Build secrets read from environment variables, `id=ENVVAR` one per line."},
	{Name: "secret-files", Group: "build", Kind: LineList,
		Description: "Build secrets read from files, `id=path` one per line (a file in the workspace or `RUNNER_TEMP`). Not passed to a fork's build."},
	{Name: "build-contexts", Group: "build", Kind: LineList,
		Description: "Extra named build contexts (`COPY --from=name`, `FROM name`), `name=docker-image://image:tag`, `name=https://…` or `name=path` (a directory in the workspace), one per line."},
	{Name: "ssh", Group: "build", Kind: LineList,
		Description: "SSH agents forwarded to `RUN --mount=type=ssh`: `default` (the agent at `SSH_AUTH_SOCK`, which must be under `RUNNER_TEMP` to reach the action's container) or `id=path` of an agent socket or key file. Not passed to a fork's build."},
	{Name: "add-hosts", Group: "build", Kind: List,
		Description: "Extra `/etc/hosts` entries for RUN steps, `host:ip` (comma or newline separated)."},
	{Name: "network", Group: "build", Kind: String,
		Description: "Network of RUN steps: `default`, `none` or `host` (host needs a builder that allows the `network.host` entitlement)."},
	{Name: "shm-size", Group: "build", Kind: String,
		Description: "Size of `/dev/shm` for RUN steps, e.g. `128m` or `1g`."},
	{Name: "platforms", Group: "build", Kind: List,
		Description: "Target platforms, comma-separated (`linux/amd64,linux/arm64`). More than one needs `buildkit-address` (a remote BuildKit) or the containerd image store. Default: the builder's platform."},
	{Name: "provenance", Default: "false", Group: "build", Kind: String,
		Description: "Attach BuildKit's SLSA provenance attestation to the image: `false`, `true` (= `mode=min`: no build-arg values), `mode=min` or `mode=max` (build-arg values and the build's steps too). Needs `buildkit-address` or the Docker Engine's containerd image store; the image is then pushed as an index."},
	{Name: "allow-untrusted-build", Default: "false", Group: "build", Kind: Bool,
		Description: "Allow a `pull_request_target` run to build a fork's code (the pull request's head checked out). It is then built as a fork's: no credentials, no build secrets, nothing pushed or signed. Without it such a run stops before building."},
	{Name: "no-cache", Default: "false", Group: "build", Kind: Bool,
		Description: "Run every build step; read no cache."},
	{Name: "pull", Default: "false", Group: "build", Kind: Bool,
		Description: "Always look up newer base images in the registry."},
	{Name: "cache", Default: "branch", Group: "build", Kind: Enum, Values: []string{"branch", "registry", "inline", "none"},
		Description: "How the build cache is kept: `branch` (the branch/builder cache ladder: inline cache on `builder-<branch>` and `<branch>` with the Docker Engine, registry cache `mode=max` on a remote BuildKit), `registry`, `inline`, or `none`."},
	{Name: "buildkit-address", Group: "build", Kind: String,
		Description: "Use this BuildKit daemon (`unix:///path`, `tcp://host:port`) instead of the Docker Engine's."},
	{Name: "buildkit-tls-ca", Group: "build", Kind: String,
		Description: "CA certificate (PEM file) of a `tcp://` BuildKit daemon."},
	{Name: "buildkit-tls-cert", Group: "build", Kind: String,
		Description: "Client certificate (PEM file) for a `tcp://` BuildKit daemon."},
	{Name: "buildkit-tls-key", Group: "build", Kind: String,
		Description: "Client key (PEM file) for a `tcp://` BuildKit daemon."},
	{Name: "cache-image", Group: "build", Kind: String,
		Description: "Repository that holds the branch cache tags (`builder-<branch>`, `<branch>`). Default: the first image's name plus `-cache`, so the image's own repository gets only the tags the tag plan pushes; name the image itself to keep the cache tags there."},
	{Name: "cache-scope", Default: "auto", Group: "build", Kind: String,
		Description: "Keeps the caches of variants apart (a matrix of build args, targets or platforms): the cache tags become `<branch>-<scope>`. `auto` makes it from the target (unless it is the last stage), the build args (but values naming the commit, the run or the ref) and the platforms; empty: no scope. Letters, digits, `.`, `_`, `-`."},
	{Name: "plan", Default: "false", Group: "tags", Kind: Bool,
		Description: "Only compute and print the tags, cache refs and labels (and set the outputs); build and push nothing."},
	{Name: "scan", Default: "true", Group: "scan", Kind: Bool,
		Description: "Scan the built image with the embedded Trivy (one analysis for vulnerabilities and the SBOM) before pushing."},
	{Name: "fail-on", Default: "critical", Group: "scan", Kind: Enum, Values: []string{"critical", "high", "medium", "low", "unknown", "none"},
		Description: "Lowest vulnerability severity that fails the run and stops the push (after every report is written); `none` only reports."},
	{Name: "dependency-snapshot", Default: "false", Group: "scan", Kind: Bool,
		Description: "Submit the scan's packages to the repository's dependency graph (Dependabot alerts for what the image ships), also when the scan gate fails. Needs `permissions: contents: write`; a refusal is a warning. One snapshot per workflow, job, image and cache scope."},
	{Name: "severity", Default: "CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN", Group: "scan", Kind: List,
		Description: "Severities reported, counted and seen by the gate, comma-separated."},
	{Name: "ignore-unfixed", Default: "false", Group: "scan", Kind: Bool,
		Description: "Drop vulnerabilities that have no fixed version yet."},
	{Name: "trivyignores", Group: "scan", Kind: List,
		Description: "Trivy ignore files (`.trivyignore`, `.trivyignore.yaml`), comma- or newline-separated. Default: those at the workspace root, when present."},
	{Name: "pkg-types", Default: "os,library", Group: "scan", Kind: List,
		Description: "Package types scanned and listed in the SBOM: `os`, `library`, or both."},
	{Name: "sbom-format", Default: "cyclonedx", Group: "scan", Kind: Enum, Values: []string{"cyclonedx", "spdx-json"},
		Description: "SBOM format: CycloneDX JSON or SPDX JSON."},
	{Name: "sbom-file", Group: "scan", Kind: String,
		Description: "Where the SBOM is written, relative to the workspace. Default: `<reports-dir>/sbom.cdx.json` (`sbom.spdx.json` for SPDX)."},
	{Name: "scan-json", Group: "scan", Kind: String,
		Description: "Where Trivy's JSON vulnerability report is written. Default: `<reports-dir>/scan.json`."},
	{Name: "scan-sarif", Group: "scan", Kind: String,
		Description: "Where the SARIF 2.1.0 vulnerability report is written, for `github/codeql-action/upload-sarif`. Default: `<reports-dir>/scan.sarif`."},
	{Name: "trivy-db-repository", Group: "scan", Kind: List,
		Description: "OCI references of the vulnerability DB, comma- or newline-separated; the first that answers wins. Default: Trivy's own list (`mirror.gcr.io/aquasec/trivy-db:2`, `ghcr.io/aquasecurity/trivy-db:2`)."},
	{Name: "trivy-java-db-repository", Group: "scan", Kind: List,
		Description: "OCI references of Trivy's Java DB, which names the Maven artifact of a JAR file; downloaded, and cached like the vulnerability DB, only when the image holds a Java archive (`.jar`, `.war`, `.ear`, `.par`). `none` leaves Java archives unanalysed. Default: Trivy's own list (`mirror.gcr.io/aquasec/trivy-java-db:1`, `ghcr.io/aquasecurity/trivy-java-db:1`)."},
	{Name: "trivy-cache-dir", Default: "~/.cache/trivy", Group: "scan", Kind: String,
		Description: "Cache of the vulnerability DB, the Java DB and the analyses of layers, so that unchanged layers are not analysed again (`~` is `$HOME`); keep it between runs with actions/cache (see docs/scan.md)."},
	{Name: "trivy-db-max-age", Default: "3d", Group: "scan", Kind: String,
		Description: "How old a cached vulnerability or Java DB may be and still be used, with a warning, when no repository answers (`3d`, `36h`)."},
	{Name: "sign", Default: "auto", Group: "sign", Kind: Enum, Values: []string{"auto", "true", "false"},
		Description: "Sign the pushed digest with cosign: `auto` signs tag and default-branch builds (not pull requests) when a key or an OIDC token (`permissions: id-token: write`) is available, never a fork's pull request; `true` always (fails without a key or token); `false` never."},
	{Name: "cosign-key", Group: "sign", Kind: Secret,
		Description: "cosign private key: PEM contents, a file path, or `env://VAR`. Empty: keyless signing with the workflow's OIDC token (Fulcio + Rekor). Never printed."},
	{Name: "cosign-password", Group: "sign", Kind: Secret,
		Description: "Password of `cosign-key`. Never printed."},
	{Name: "cosign-tlog", Default: "true", Group: "sign", Kind: Bool,
		Description: "Record signatures in the Rekor transparency log. `false` works fully offline, with a key only."},
	{Name: "attest-sbom", Default: "true", Group: "sign", Kind: Bool,
		Description: "Attest the scan's SBOM (CycloneDX or SPDX in-toto predicate) on the signed digest."},
	{Name: "sign-annotations", Group: "sign", Kind: LineList,
		Description: "Annotations of the signature's payload (`cosign sign -a`), `key=value` per line. Every signature carries `commit`, `repository`, `ref` and `run` (the run's URL) unless a line `key=` drops one. Consumers check them with `cosign verify -a key=value`."},
	{Name: "signature-format", Default: "legacy", Group: "sign", Kind: Enum, Values: []string{"legacy", "bundle"},
		Description: "`legacy`: `.sig`/`.att` tags, verified by cosign v2 and v3 alike (and on ghcr.io, which has no referrers API); `bundle`: Sigstore bundles as OCI 1.1 referrers."},
	{Name: "fulcio-url", Group: "sign", Kind: String,
		Description: "Fulcio URL of a private Sigstore. Default: the public instance."},
	{Name: "rekor-url", Group: "sign", Kind: String,
		Description: "Rekor URL of a private Sigstore. Default: the public instance."},
	{Name: "oidc-issuer", Group: "sign", Kind: String,
		Description: "OIDC issuer expected in keyless certificates. Default: `https://token.actions.githubusercontent.com`."},
	{Name: "sigstore-trusted-root", Group: "sign", Kind: String,
		Description: "Path of a `trusted_root.json` for a private Sigstore (needed to verify with a private Fulcio or Rekor)."},
	{Name: "lint", Default: "true", Group: "lint", Kind: Bool,
		Description: "Lint the Dockerfile with the hadolint-compatible rules (DL codes) and ours (IP codes) before building."},
	{Name: "lint-failure-threshold", Group: "lint", Kind: Enum, Values: []string{"", "error", "warning", "info", "style", "none"},
		Description: "Fail the run (after every report is written) when a finding is at or above this severity: `error`, `warning`, `info`, `style` or `none`. Default: the config file's `failure-threshold`, else `info` (as hadolint)."},
	{Name: "lint-ignore", Group: "lint", Kind: List,
		Description: "Rule codes to ignore, comma- or newline-separated (`DL3008, DL3015`); added to the config file's `ignored`."},
	{Name: "lint-config", Group: "lint", Kind: String,
		Description: "hadolint config file (`.hadolint.yaml` syntax). Default: `.hadolint.yaml` or `.hadolint.yml` at the workspace root, if present."},
	{Name: "lint-trusted-registries", Group: "lint", Kind: List,
		Description: "Registries base images may come from (DL3026), comma- or newline-separated; added to the config file's `trustedRegistries`."},
	{Name: "reports-dir", Default: "image-pipeline-reports", Group: "reports", Kind: String,
		Description: "Directory, relative to the workspace, for the SARIF, JSON and SBOM files (`lint.sarif`, …). It is left out of the build context."},
	{Name: "summary", Default: "true", Group: "reports", Kind: Bool,
		Description: "Write a job summary (GITHUB_STEP_SUMMARY)."},
	{Name: "report-json", Group: "reports", Kind: String,
		Description: "Write a machine-readable JSON report of the run (stages and outputs) to this path."},
}

// Lookup returns an input's spec by name.
func Lookup(name string) (Input, bool) {
	for _, in := range Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}
