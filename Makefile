# image-pipeline — developer entry points. See README.md.
# Trivy (linked by internal/scan/trivy) needs the jsonv2 experiment at build time.
export GOEXPERIMENT := jsonv2
export GOFLAGS ?= -mod=mod
SHELL := /bin/bash

GO ?= go
TESTENV := scripts/testenv
CACHE_DIR ?= $(HOME)/.cache/image-pipeline
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CACHE_DIR)/bin/staticcheck-$(STATICCHECK_VERSION)
# The version is tools/actionlint/go.mod's, so that a bump there names a new binary.
ACTIONLINT_VERSION := $(shell awk '$$1 == "require" && $$2 == "github.com/rhysd/actionlint" { print $$3 }' tools/actionlint/go.mod)
ACTIONLINT := $(CACHE_DIR)/bin/actionlint-$(ACTIONLINT_VERSION)
BIN := bin/image-pipeline

.PHONY: test demo build dist check unit testenv-up testenv-down testenv-env

build:
	$(GO) build -o $(BIN) .

# The action image's root file system (the Dockerfile copies dist/rootfs):
# a static, stripped, version-stamped binary, the build machine's CA bundle
# (Debian's and Ubuntu's ca-certificates) and an empty /tmp.
VERSION ?= dev
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
dist:
	@test -r $(CA_BUNDLE) || { echo "make dist: no CA bundle at $(CA_BUNDLE): install ca-certificates or set CA_BUNDLE"; exit 1; }
	rm -rf dist/rootfs
	mkdir -p dist/rootfs/usr/local/bin dist/rootfs/etc/ssl/certs dist/rootfs/tmp
	chmod 1777 dist/rootfs/tmp
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X github.com/org/image-pipeline/internal/app.Version=$(VERSION)" \
	  -o dist/rootfs/usr/local/bin/image-pipeline .
	cp $(CA_BUNDLE) dist/rootfs/etc/ssl/certs/ca-certificates.crt

# Every test against the real services, then vet, staticcheck and gofmt.
test: testenv-up check
	IMAGE_PIPELINE_REQUIRE_SERVICES=1 bash scripts/gotest ./...

# The fast tests only (services are skipped when not running).
unit:
	$(GO) test ./...

check: $(STATICCHECK) $(ACTIONLINT)
	@files=$$(git ls-files -co --exclude-standard '*.go'); out=$$(gofmt -l $$files); \
	  if [ -n "$$out" ]; then echo "gofmt -w needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	ACTIONLINT=$(ACTIONLINT) bash scripts/lint-workflows

$(STATICCHECK):
	mkdir -p $(CACHE_DIR)/bin
	cd tools/staticcheck && $(GO) build -o $(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

$(ACTIONLINT):
	mkdir -p $(CACHE_DIR)/bin
	cd tools/actionlint && $(GO) build -o $(ACTIONLINT) github.com/rhysd/actionlint/cmd/actionlint

demo: testenv-up build
	bash scripts/demo

# Services, then the peer CLIs the side-by-side tests run and nektos/act
# for the action suite (built once from pinned modules into $(CACHE_DIR),
# never rebuilt when present), and the action image's root file system.
testenv-up:
	bash $(TESTENV) up
	bash scripts/tools-cosign
	bash scripts/tools-trivy
	bash scripts/tools-act
	$(MAKE) dist VERSION=actsuite
	. <(bash $(TESTENV) env) && $(GO) run ./internal/scan/fixturedb/cmd/push-fixture-db \
	  -fixtures internal/scan/testdata/db -ref "$$TESTENV_REGISTRY/testenv/trivy-db:2" \
	  -jars internal/scan/testdata/jars -java-ref "$$TESTENV_REGISTRY/testenv/trivy-java-db:1"

testenv-down:
	bash $(TESTENV) down

testenv-env:
	@bash $(TESTENV) env
