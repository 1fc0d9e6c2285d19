# The action's own image: the static binary, a CA bundle and an empty /tmp on
# an empty base. Nothing is pulled, so the release job and the test
# environment build this same file.
#
#   make dist VERSION=v1.2.3   # dist/rootfs: the binary (CGO_ENABLED=0,
#                              # -trimpath, -s -w, version stamped), the CA
#                              # bundle, /tmp
#
# The release job then builds and pushes it with image-pipeline itself
# (.github/workflows/release.yml); see docs/release.md.
FROM scratch
# The binary is the product (Trivy, cosign and BuildKit's client are linked
# in), not data to mount at run time.
# hadolint ignore=IP005
COPY dist/rootfs/ /
ENV TMPDIR=/tmp
# The runner starts docker actions without --user: the action must run as root
# to use the mounted Docker socket and to write GITHUB_OUTPUT.
# hadolint ignore=DL3002
USER 0:0
ENTRYPOINT ["/usr/local/bin/image-pipeline"]
