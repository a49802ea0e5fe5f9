// Alerts, one file per concern. Names start with KubeJob/KubeCronJob but none
// is kubernetes-mixin's (KubeJobFailed, KubeJobNotCompleted, KubeJobCompletion),
// so both mixins load side by side.
//
// Which alert owns which state, so that one problem is one page:
// - a Job that failed for good (job_failed.libsonnet): one alert per
//   terminal reason, except for Jobs a CronJob owns, which
//   KubeCronJobLastRunFailed reports once per CronJob (cronjob.libsonnet);
// - a standalone Job that failed and was deleted before a scrape showed
//   it failed (job_gone.libsonnet): one alert per owner and reason;
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
+ (import 'job_gone.libsonnet')
+ (import 'job_at_risk.libsonnet')
+ (import 'job_stuck.libsonnet')
+ (import 'cronjob.libsonnet')
+ (import 'exporter.libsonnet')
+ {
  local cfg = $._config,
  // The labels of the query: the rule's own (a.rule's runbookQuery, e.g.
  // namespace and owner_name for an alert about a standalone Job's owner),
  // else the CronJob's or the Job's.
  local queryLabels(rule) =
    if std.objectHasAll(rule, 'runbookQuery') then rule.runbookQuery
    else if std.startsWith(rule.alert, 'KubeCronJob') then ['namespace', 'cronjob']
    else ['namespace', 'job_name'],
  local query(rule) =
    if !cfg.runbookURLQuery then ''
    else '?' + std.join('&', ['%s={{ $labels.%s | urlquery }}' % [l, l] for l in queryLabels(rule)]),
  local runbooks(rule) =
    local name = rule.alert;
    if std.startsWith(name, 'KubeJobExporter') then { runbook_url: cfg.staticRunbookURLPattern % name }
    else { runbook_url: (cfg.runbookURLPattern % name) + query(rule), runbook_static_url: cfg.staticRunbookURLPattern % name },
  local severity(name) =
    if std.objectHas(cfg.severity, name) then cfg.severity[name]
    else error 'no _config.severity for alert ' + name,

  prometheusAlerts+:: {
    groups: [
      group {
        rules: [
          rule {
            labels+: { severity: severity(rule.alert) },
            annotations+: runbooks(rule),
          }
          for rule in super.rules
        ],
      }
      for group in super.groups
    ],
  },
}
