// Alerts, one file per concern. Names start with KubeJob/KubeCronJob but none
// is kubernetes-mixin's (KubeJobFailed, KubeJobNotCompleted, KubeJobCompletion),
// so both mixins load side by side.
//
// Which alert owns which state, so that one problem is one page:
// - a Job that failed for good (job_failed.libsonnet): one alert per
//   terminal reason, except for Jobs a CronJob owns, which
//   KubeCronJobLastRunFailed reports once per CronJob (cronjob.libsonnet);
// - a Job still running that heads for failure (job_at_risk.libsonnet):
//   resolves when the Job completes or fails (the terminal alert takes over);
// - a Job that neither fails nor progresses (job_stuck.libsonnet);
// - the exporter itself (exporter.libsonnet): down, absent, a shard missing
//   or unable to watch, so no silence is taken for health.
//
// The severity label and runbook_url are added here, in one pass (label
// values in the query URL-escaped): severity
// from _config.severity (per alert), runbook_url from
// _config.runbookURLPattern (the exporter's live pages, with the Job or
// CronJob in the query) or, for the exporter's own alerts,
// _config.staticRunbookURLPattern (the exporter may be the one that is
// down); every other alert also gets runbook_static_url, the same runbook
// without the live report, for when the exporter cannot be reached.
(import 'job_failed.libsonnet')
+ (import 'job_at_risk.libsonnet')
+ (import 'job_stuck.libsonnet')
+ (import 'cronjob.libsonnet')
+ (import 'exporter.libsonnet')
+ {
  local cfg = $._config,
  local query(name) =
    if !cfg.runbookURLQuery then ''
    else if std.startsWith(name, 'KubeCronJob') then '?namespace={{ $labels.namespace | urlquery }}&cronjob={{ $labels.cronjob | urlquery }}'
    else '?namespace={{ $labels.namespace | urlquery }}&job_name={{ $labels.job_name | urlquery }}',
  local runbooks(name) =
    if std.startsWith(name, 'KubeJobExporter') then { runbook_url: cfg.staticRunbookURLPattern % name }
    else { runbook_url: (cfg.runbookURLPattern % name) + query(name), runbook_static_url: cfg.staticRunbookURLPattern % name },
  local severity(name) =
    if std.objectHas(cfg.severity, name) then cfg.severity[name]
    else error 'no _config.severity for alert ' + name,

  prometheusAlerts+:: {
    groups: [
      group {
        rules: [
          rule {
            labels+: { severity: severity(rule.alert) },
            annotations+: runbooks(rule.alert),
          }
          for rule in super.rules
        ],
      }
      for group in super.groups
    ],
  },
}
