# The monitoring mixin: sources in mixin/, generated files committed in
# alerts/ (Prometheus rule files, a PrometheusRule) and dashboards/ (Grafana),
# and whatever else mixin/build.jsonnet writes (mixin/runbooks/alerts.json).
# `make generate` (Makefile) runs `make mixin`, then refreshes the copies of
# these files in deploy/ and the Helm chart.
#
#   make mixin                      regenerate the mixin's output, format the sources
#   make mixin EXPORTER_URL=u       the same with live_report_url at u/runbooks/<Alert> and
#                                   the dashboards' runbook links at u (u: the address
#                                   people's browsers reach the exporter at)
#   make mixin-build OUT=dir        generate into dir only (e.g. with EXPORTER_URL=u;
#                                   MIXIN_CONFIG='{"podsWaitingFor":"30m"}' overrides _config)
#   make mixin-output-check         fail if a committed file of the mixin's output is stale
#   make mixin-check                that, and fail if the sources are unformatted;
#                                   promtool check + test rules (also of rules generated
#                                   with _config overrides, tests/overrides/); the Go
#                                   tests of the generated files

MIXIN_DIR     := mixin
MIXIN_SRCS    := $(shell find $(MIXIN_DIR) -name '*.libsonnet' -o -name '*.jsonnet' 2>/dev/null)
# Directories holding nothing but the mixin's output: `make mixin` empties
# them first, so that a file the mixin no longer writes goes.
MIXIN_OUTPUTS := alerts dashboards
RULE_FILES     = alerts/kube-job-exporter-alerts.yaml alerts/kube-job-exporter-rules.yaml
EXPORTER_URL  ?=
MIXIN_CONFIG  ?=
OUT           ?= .
# The one command line that builds the mixin; add -m <dir> and options.
MIXIN_JSONNET  = $(JSONNET) -J $(MIXIN_DIR) -S -c $(MIXIN_DIR)/build.jsonnet

.PHONY: mixin mixin-build mixin-fmt mixin-check mixin-output-check

mixin: mixin-fmt
	rm -rf $(MIXIN_OUTPUTS)
	$(MAKE) --no-print-directory mixin-build OUT=.

mixin-build: $(JSONNET)
	mkdir -p $(OUT)
	$(MIXIN_JSONNET) -m $(OUT) $(if $(EXPORTER_URL),--tla-str exporterURL=$(EXPORTER_URL)) $(if $(MIXIN_CONFIG),--tla-str config='$(MIXIN_CONFIG)') >/dev/null

mixin-fmt: $(JSONNETFMT)
	$(JSONNETFMT) -i $(MIXIN_SRCS)

# Every file the mixin writes (what mixin/build.jsonnet lists, wherever it
# puts it) must equal the committed one, and MIXIN_OUTPUTS must hold no
# other file; the diff of each stale file is shown. Built with the
# defaults whatever EXPORTER_URL and MIXIN_CONFIG say: those are committed.
mixin-output-check: $(JSONNET)
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(MIXIN_JSONNET) -m $$tmp >/dev/null && \
	  stale=$$( { (cd $$tmp && find . -type f); find $(MIXIN_OUTPUTS) -type f 2>/dev/null; } | sed 's|^\./||' | sort -u | \
	    while read -r f; do cmp -s "$$tmp/$$f" "$$f" || echo "$$f"; done ) && \
	  if [ -n "$$stale" ]; then \
	    for f in $$stale; do \
	      if [ ! -e "$$tmp/$$f" ]; then echo "$$f: the mixin does not write it"; \
	      elif [ ! -e "$$f" ]; then echo "$$f: missing"; \
	      else diff -u "$$f" "$$tmp/$$f"; fi; \
	    done; \
	    echo "mixin-output-check: stale:" $$stale >&2; \
	    echo "mixin-output-check: the mixin's output is out of date: run 'make generate' and commit the result" >&2; exit 1; \
	  fi

# Every step fails the build on its own: stale output, unformatted source,
# a rule promtool rejects, a failing rule unit test, a failing Go test.
mixin-check: mixin-output-check $(JSONNET) $(JSONNETFMT) $(PROMTOOL)
	@$(JSONNETFMT) --test $(MIXIN_SRCS) || { echo "mixin-check: unformatted jsonnet: run 'make generate'" >&2; exit 1; }
	$(PROMTOOL) check rules $(RULE_FILES)
	$(PROMTOOL) test rules $(MIXIN_DIR)/tests/*.yaml
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(JSONNET) -J $(MIXIN_DIR) -S -m $$tmp $(MIXIN_DIR)/tests/overrides/overrides.jsonnet >/dev/null && \
	  cp $(MIXIN_DIR)/tests/overrides/*_test.yaml $$tmp/ && \
	  $(PROMTOOL) test rules $$tmp/*_test.yaml
	$(GO) test -count=1 ./$(MIXIN_DIR)/...
	$(MAKE) --no-print-directory tools-test
