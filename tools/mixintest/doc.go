// Package mixintest holds the tests of the generated mixin files (alerts/,
// dashboards/) that need Prometheus' own PromQL parser, which lives in the
// tools module so that the exporter's module does not depend on Prometheus.
package mixintest
