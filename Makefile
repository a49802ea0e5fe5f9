# kube-job-exporter build and test entry points, in two tiers:
#   make check     minutes, no cluster: vet (go vet, gofmt, golangci-lint, no
#                  tracked file over 1 MB), unit tests with -race, the golden
#                  /metrics file, the fuzzers briefly, the mixin's checks, and
#                  every generated file current (generate-check);
#   make test      check, then every e2e suite on real parts (e2e, e2e-skew):
#                  what CI runs (.ci/run).
# make generate rewrites every generated file from its sources. One part at a
# time: `make unit`, `make golden`, `make mixin-check`, `make e2e`.

GO        ?= go
BIN       := bin
EXPORTER  := $(BIN)/kube-job-exporter
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/prometheus/common/version.Version=$(VERSION) \
             -X github.com/prometheus/common/version.Revision=$(REVISION) \
             -X github.com/prometheus/common/version.Branch=main

.PHONY: all build check test unit vet golden golden-update bench fuzz fuzz-short generate generate-check
all: build

# Each part of the project keeps its own rules beside its sources. Included
# here, before the rules below, so that their variables ($(PROMTOOL), …) are
# set when prerequisites are read.
include tools/tools.mk
include mixin/mixin.mk
include e2e/e2e.mk
include e2e/skew.mk
include e2e/pipeline.mk
include e2e/scale.mk

build: $(EXPORTER)

$(EXPORTER): FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/kube-job-exporter

FORCE:

# make install-plugin: the exporter, and beside it the link
# kubectl-job_diagnose that makes it the kubectl plugin `kubectl job-diagnose`
# (cmd/kube-job-exporter/plugin.go), in $(PREFIX)/bin: ~/.local/bin by
# default, on PATH in most desktop setups; `sudo make install-plugin
# PREFIX=/usr/local` for every user. DESTDIR stages it for a package. The
# link is relative, so the staged tree works wherever it is unpacked.
PREFIX ?= $(HOME)/.local
BINDIR ?= $(PREFIX)/bin

.PHONY: install-plugin
install-plugin: build
	install -d '$(DESTDIR)$(BINDIR)'
	install -m 0755 '$(EXPORTER)' '$(DESTDIR)$(BINDIR)/kube-job-exporter'
	ln -sfn kube-job-exporter '$(DESTDIR)$(BINDIR)/kubectl-job_diagnose'
	@echo "installed $(DESTDIR)$(BINDIR)/kubectl-job_diagnose: run kubectl job-diagnose NAME (with $(BINDIR) on PATH)"

# go vet, and gofmt over every module of the repository (root, e2e, tools:
# every .go file git tracks or would add, uncommitted deletions skipped);
# no tracked file over 1 MB (a 74 MB binary sat in every clone once);
# golangci-lint over the exporter's module (.golangci.yml).
vet: $(GOLANGCI_LINT)
	$(GO) vet ./...
	@unformatted=$$(git ls-files -z --cached --others --exclude-standard '*.go' | xargs -0 -r ls -d 2>/dev/null | xargs -r gofmt -l); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted >&2; exit 1; fi
	@big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 1048576 {print $$2}'); \
	  if [ -n "$$big" ]; then echo "tracked files over 1 MB (a build output does not belong in git; .gitignore it):" $$big >&2; exit 1; fi
	$(GOLANGCI_LINT) run ./...

unit:
	$(GO) test -race -count=1 ./...

# The golden /metrics file of the fixture cluster must match the output and
# pass promtool's lint; `make golden-update` rewrites it.
golden: $(PROMTOOL)
	$(GO) test -count=1 -run 'TestGolden' ./exporter/...
	$(PROMTOOL) check metrics < exporter/testdata/metrics.golden

golden-update:
	$(GO) test -count=1 -run 'TestGolden' ./exporter/... -update

# Benchmarks, as a Markdown report printed and written to docs/benchmarks.md,
# then the scale run on the e2e harness's real API server (e2e/scale.mk):
# the quick size by default (report in .cache/scale-quick.md, about 2 min),
# `make bench SCALE=full` for 10k Jobs / 100k pods (docs/scale.md, ~25 min).
bench:
	@mkdir -p .cache
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $${BENCHTIME:-1s} ./... | tee .cache/bench.txt
	$(GO) run ./internal/benchreport < .cache/bench.txt | tee docs/benchmarks.md
	$(MAKE) --no-print-directory scale
	@cat $(SCALE_OUT)

# Every fuzzer, as package:Fuzzer; `make fuzz` runs each for $(FUZZTIME)
# (default 20s). One at a time: -fuzz takes a single target per package.
# `make fuzz FUZZERS=./job/:FuzzPodRecord FUZZTIME=10m` runs one for long.
FUZZERS := ./job/:FuzzCountIndexes ./job/:FuzzClassify ./job/:FuzzSummarize \
           ./job/:FuzzPodRecord ./job/:FuzzAggregate ./metricstore/:FuzzStoreRoundTrip \
           ./watcher/:FuzzOutcomes ./watcher/:FuzzPodFinished ./job/:FuzzRecordBounds \
           ./queue/:FuzzWorkloadRecord ./queue/:FuzzEvictionOf

fuzz:
	@for pf in $(FUZZERS); do \
	  pkg=$${pf%%:*}; f=$${pf##*:}; \
	  echo "fuzz $$pkg $$f ($(or $(FUZZTIME),20s))"; \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(or $(FUZZTIME),20s) $$pkg || exit 1; \
	done

# CI runs each fuzzer briefly, for a count of inputs rather than a time:
# with a time, Go 1.26's fuzzing coordinator can fail a target that found
# nothing with "context deadline exceeded" when a worker is still running
# an input as the time runs out on a loaded machine (golang/go#75804, fixed
# in Go 1.27); a count has no deadline to race. 3000 inputs take 1–8 s a
# fuzzer. `make fuzz FUZZTIME=10m` for long runs.
fuzz-short:
	$(MAKE) --no-print-directory fuzz FUZZTIME=3000x

# make generate: every generated file from its sources, in this module
# (neither the e2e module nor k8s.io/kubernetes is built): the mixin's output
# (make mixin), then its copies in deploy/ and the Helm chart, listed in
# internal/mixincopies/copies.txt (which e2e/deploy reads to compare them).
# Not the golden files of tests (make golden-update, go test ./diagnose
# -update: they are what a test expects, rewritten only when a change is
# meant), the screenshots in docs/img/ (cd e2e && go test ./browser/
# -update: they need Chromium) nor the reports of make bench and make scale
# (measurements).
generate: mixin
	$(GO) run ./internal/mixincopies

# Every committed generated file equals what make generate writes: fails,
# naming make generate, when one is stale.
generate-check: mixin-output-check
	$(GO) run ./internal/mixincopies -check

# The quick checks first, so that a slip fails in seconds rather than after
# the race-enabled unit tests.
check: vet generate-check golden mixin-check unit fuzz-short

test: check e2e e2e-skew
