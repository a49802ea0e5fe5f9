// kube-job-exporter monitoring mixin: alerts, recording rules, dashboards.
// Import it and override _config as needed:
//   local mixin = (import 'mixin.libsonnet') + { _config+:: { kubeJobExporterSelector: 'job="jobs"' } };
//   mixin.prometheusAlerts  // { groups: [...] }  (Prometheus rule file)
//   mixin.prometheusRules   // { groups: [...] }
//   mixin.grafanaDashboards // { 'name.json': {...} }
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
