// The dashboards, by file name. Stable UIDs from _config.dashboardUIDs.
{
  grafanaDashboards+:: {
    'kube-job-exporter-overview.json': (import 'overview.libsonnet')($._config),
    'kube-job-exporter-job.json': (import 'job.libsonnet')($._config),
  },
}
