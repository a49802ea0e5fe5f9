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
// - an owner whose failed attempts held too much of a resource
//   (failure_cost.libsonnet), off unless thresholds are set;
// - a Job Kueue queues (queue.libsonnet): waiting too long for admission,
//   admitted and not started; an owner whose Workloads are evicted again
//   and again. A waiting Job is suspended, so no stuck alert covers it;
// - the exporter itself (exporter.libsonnet): down, absent, a shard missing
//   or unable to watch, so no silence is taken for health.
//
// The severity label and the links are added here, in one pass: severity
// from _config.severity (per alert); runbook_url, the published runbook
// (_config.runbookURLPattern), on every alert; and, when _config.exporterURL
// is set, live_report_url on every Job and CronJob alert: the exporter's
// runbook page with the live report, the Job or CronJob in the query (label
// values URL-escaped). The exporter's own alerts get none: the exporter may
// be the one that is down.
(import 'job_failed.libsonnet')
+ (import 'job_gone.libsonnet')
+ (import 'job_at_risk.libsonnet')
+ (import 'job_stuck.libsonnet')
+ (import 'cronjob.libsonnet')
+ (import 'failure_cost.libsonnet')
+ (import 'queue.libsonnet')
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
  local l = (import '../lib/links.libsonnet')(cfg),
  local query(rule) = std.join('&', ['%s={{ $labels.%s | urlquery }}' % [q, q] for q in queryLabels(rule)]),
  local runbooks(rule) =
    local name = rule.alert;
    { runbook_url: l.runbook(name) }
    + (if l.hasLive && !std.startsWith(name, 'KubeJobExporter') then { live_report_url: l.live(name, query(rule)) } else {}),
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
