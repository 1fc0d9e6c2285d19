# syntax=docker/dockerfile:1
# The action's own image. The published action references a prebuilt image
# (docker://…); this file is what builds it.
#
# Base images are selected by build argument so that release builds pin them
# by digest (GO_IMAGE=golang:1.26-bookworm@sha256:…, RUNTIME_IMAGE=
# gcr.io/distroless/static-debian12@sha256:…): the digests are resolved by the
# release job, which has registry access; the development machines have none.
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12

FROM ${GO_IMAGE} AS builder
# Trivy needs the jsonv2 experiment at build time.
ENV GOEXPERIMENT=jsonv2 CGO_ENABLED=0 GOFLAGS=-mod=mod
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X github.com/org/image-pipeline/internal/app.Version=${VERSION}" -o /out/image-pipeline .

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.source="https://github.com/org/image-pipeline" \
      org.opencontainers.image.description="Lint, build, scan, push and sign a container image in one step"
COPY --from=builder /out/image-pipeline /usr/local/bin/image-pipeline
# The runner starts docker actions without --user: the action must run as root
# to use the mounted Docker socket and to write GITHUB_OUTPUT.
USER 0:0
ENTRYPOINT ["/usr/local/bin/image-pipeline"]
