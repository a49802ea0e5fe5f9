// Package pipeline proves the exporter on the pipeline its users run: a real
// Prometheus (built from the tools module's pin) scrapes the exporter, which
// watches the in-process cluster of package harness, and evaluates the
// mixin's generated rules; a real Alertmanager routes the alerts to a
// webhook receiver inside the test, which records every page.
//
// The tests (pipeline_test.go, dashboards_test.go) run with `make e2e`.
// They need an Alertmanager binary: install-deps.sh installs Debian's
// prometheus-alertmanager; $KJE_E2E_ALERTMANAGER names another one.
package pipeline
