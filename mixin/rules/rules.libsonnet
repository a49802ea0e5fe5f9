// Recording rules: the aggregations the dashboards draw, precomputed.
// Alerts use the raw series, so they do not lag a rule evaluation behind.
local p = import '../lib/promql.libsonnet';

{
  _config+:: {},

  local cfg = $._config,
  local a = (import '../lib/alerting.libsonnet')(cfg),
  local S(extra=[]) = p.jobMatchers(cfg, extra),
  local J = p.by(cfg, ['namespace', 'job_name']),

  prometheusRules+:: {
    groups+: [
      {
        name: 'kube-job-exporter.rules',
        rules: [
          {
            // Share of the retry budget used: the Job fails when it reaches 1
            // (the same expression as KubeJobRetryBudgetNearlyExhausted).
            record: 'job_name:kubejob_retry_budget_used:ratio',
            expr: a.retryBudgetUsed,
          },
          {
            // Failed Jobs by terminal reason.
            record: 'namespace_reason:kubejob_failed:count',
            expr: |||
              count by (%s, reason) (max by (%s, reason) (kubejob_failed{%s}) == 1)
            ||| % [p.by(cfg, ['namespace']), J, S()],
          },
          {
            // Failed pods still present by failing reason and exit code.
            record: 'namespace_reason_exit_code:kubejob_pod_failures:sum',
            expr: |||
              sum by (%s, reason, exit_code) (
                max by (%s, container, reason, exit_code) (kubejob_pod_failures{%s})
              )
            ||| % [p.by(cfg, ['namespace']), J, S()],
          },
          {
            // Seconds until activeDeadlineSeconds ends a running Job.
            record: 'job_name:kubejob_deadline_remaining:seconds',
            expr: |||
              max by (%s) (kubejob_deadline_timestamp_seconds{%s}) - time()
            ||| % [J, S()],
          },
          {
            // Failed Jobs still present per CronJob.
            record: 'namespace_cronjob:kubejob_failed_jobs:count',
            expr: |||
              count by (%s) (
                max by (%s) (kubejob_failed{%s})
                * on (%s) group_left (cronjob)
                max by (%s, cronjob) (label_replace(kubejob_info{%s}, "cronjob", "$1", "owner_name", "(.+)"))
              )
            ||| % [p.by(cfg, ['namespace', 'cronjob']), J, S(), J, J, S(['owner_kind="CronJob"'])],
          },
        ],
      },
    ],
  },
}
