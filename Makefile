# image-pipeline — developer entry points. See README.md.
# Trivy (linked by internal/scan) needs the jsonv2 experiment at build time.
export GOEXPERIMENT := jsonv2
export GOFLAGS ?= -mod=mod

GO ?= go
TESTENV := scripts/testenv

.PHONY: test demo build testenv-up testenv-down testenv-env unit lint-go

build:
	$(GO) build -o bin/image-pipeline .

testenv-up:
	bash $(TESTENV) up

testenv-down:
	bash $(TESTENV) down

testenv-env:
	@bash $(TESTENV) env
