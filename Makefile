# Switchboard — build and test.
#
#   make test    install what the tests need (scripts/deps.sh), then gofmt,
#                go vet, staticcheck, go test -race over everything, and a
#                short run of every fuzz target. This is what CI runs.
#   make build   build bin/switchboard
#   make run     run the server on its defaults (same as `go run ./cmd/switchboard`)
#
# Steps run in order; a failing step does not stop the later ones (one CI run
# shows every problem), but makes `make test` fail. Tunables:
#   PKGS (./...), GOTEST_TIMEOUT (12m), GOTEST_FLAGS (extra go test flags, e.g. -v or -run=X),
#   FUZZTIME (3s a target), FUZZ_BUDGET (120 s of fuzzing in all).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go
GOBIN := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN),)
GOBIN := $(shell $(GO) env GOPATH)/bin
endif
export PATH := $(GOBIN):$(PATH)

PKGS ?= ./...
GOTEST_TIMEOUT ?= 12m
GOTEST_FLAGS ?=

# Go files that gofmt checks: everything but vendored or generated trees.
GOFILES_CMD := find . \( -name node_modules -o -path './.*' -o -name testdata \) -prune -o -name '*.go' -print

.PHONY: test deps fmt-check vet staticcheck gotest fuzz build run clean

test:
	@start=$$(date +%s); failed=""; \
	for step in deps fmt-check vet staticcheck gotest fuzz; do \
		echo "== make $$step"; t0=$$(date +%s); \
		$(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
		echo "== make $$step: $$(( $$(date +%s) - t0 ))s"; \
	done; \
	took=$$(( $$(date +%s) - start )); \
	if [ -n "$$failed" ]; then echo "== make test: FAILED:$$failed (in $${took}s)"; exit 1; fi; \
	echo "== make test: all steps passed in $${took}s"

deps:
	scripts/deps.sh

fmt-check:
	@out=$$(gofmt -l $$($(GOFILES_CMD))); \
	if [ -n "$$out" ]; then echo "gofmt: these files need gofmt -w:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: ok"

vet:
	$(GO) vet ./...

staticcheck:
	staticcheck ./...

gotest:
	$(GO) test -race -count=1 -timeout $(GOTEST_TIMEOUT) $(GOTEST_FLAGS) $(PKGS)

fuzz:
	scripts/fuzz.sh

build:
	$(GO) build -o bin/switchboard ./cmd/switchboard

run:
	$(GO) run ./cmd/switchboard

clean:
	rm -rf bin
