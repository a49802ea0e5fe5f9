# The pipeline tests (e2e/pipeline): a real Prometheus (bin/prometheus, from
# the tools module's pin, 3.16.0) scrapes the exporter and evaluates the
# mixin's rules, a real Alertmanager (Debian prometheus-alertmanager 0.25)
# pages a webhook inside the test. They are part of `make e2e` (a Go test
# package under e2e/); these targets run them alone and install what a
# fresh machine lacks.
#
#   make pipeline-deps   install Alertmanager, and Chromium for e2e/browser, if missing (apt-get; idempotent)
#   make e2e-pipeline    only the pipeline tests, verbose (about 3 minutes warm)

.PHONY: pipeline-deps e2e-pipeline

pipeline-deps:
	bash e2e/pipeline/install-deps.sh

e2e-pipeline: $(PROMETHEUS)
	cd e2e && $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -v $(E2E_FLAGS) ./pipeline/
