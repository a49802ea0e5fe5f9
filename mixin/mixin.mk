# The monitoring mixin: sources in mixin/, generated files committed in
# alerts/ (Prometheus rule files, a PrometheusRule) and dashboards/ (Grafana).
#
#   make mixin                      regenerate alerts/ and dashboards/, format the sources
#   make mixin EXPORTER_URL=u       the same with live_report_url at u/runbooks/<Alert> and
#                                   the dashboards' runbook links at u (u: the address
#                                   people's browsers reach the exporter at)
#   make mixin-build OUT=dir        generate into dir only (e.g. with EXPORTER_URL=u;
#                                   MIXIN_CONFIG='{"podsWaitingFor":"30m"}' overrides _config)
#   make mixin-check                fail if the committed output is stale or the
#                                   sources unformatted; promtool check + test rules
#                                   (also of rules generated with _config overrides,
#                                   tests/overrides/); the Go tests of the generated files

MIXIN_DIR     := mixin
MIXIN_SRCS    := $(shell find $(MIXIN_DIR) -name '*.libsonnet' -o -name '*.jsonnet' 2>/dev/null)
MIXIN_OUTPUTS := alerts dashboards
RULE_FILES     = alerts/kube-job-exporter-alerts.yaml alerts/kube-job-exporter-rules.yaml
EXPORTER_URL  ?=
MIXIN_CONFIG  ?=
OUT           ?= .

.PHONY: mixin mixin-build mixin-fmt mixin-check mixin-lint mixin-test

mixin: mixin-fmt
	rm -rf alerts dashboards
	$(MAKE) --no-print-directory mixin-build OUT=.

mixin-build: $(JSONNET)
	mkdir -p $(OUT)
	$(JSONNET) -J $(MIXIN_DIR) -S -c -m $(OUT) $(if $(EXPORTER_URL),--tla-str exporterURL=$(EXPORTER_URL)) $(if $(MIXIN_CONFIG),--tla-str config='$(MIXIN_CONFIG)') $(MIXIN_DIR)/build.jsonnet >/dev/null

mixin-fmt: $(JSONNETFMT)
	$(JSONNETFMT) -i $(MIXIN_SRCS)

# Every step fails the build on its own: stale output, unformatted source,
# a rule promtool rejects, a failing rule unit test, a failing Go test.
mixin-check: $(JSONNET) $(JSONNETFMT) $(PROMTOOL)
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(MAKE) --no-print-directory mixin-build OUT=$$tmp EXPORTER_URL= MIXIN_CONFIG= && \
	  for d in $(MIXIN_OUTPUTS); do \
	    diff -ru $$d $$tmp/$$d || { echo "mixin-check: $$d/ is stale: run 'make mixin' and commit the result" >&2; exit 1; }; \
	  done
	@$(JSONNETFMT) --test $(MIXIN_SRCS) || { echo "mixin-check: unformatted jsonnet: run 'make mixin'" >&2; exit 1; }
	$(PROMTOOL) check rules $(RULE_FILES)
	$(PROMTOOL) test rules $(MIXIN_DIR)/tests/*.yaml
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	  $(JSONNET) -J $(MIXIN_DIR) -S $(MIXIN_DIR)/tests/overrides/overrides.jsonnet > $$tmp/overrides-alerts.yaml && \
	  cp $(MIXIN_DIR)/tests/overrides/*_test.yaml $$tmp/ && \
	  $(PROMTOOL) test rules $$tmp/*_test.yaml
	$(GO) test -count=1 ./$(MIXIN_DIR)/...
	$(MAKE) --no-print-directory tools-test
