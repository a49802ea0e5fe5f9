// Recording rules: the aggregations the dashboards draw, precomputed.
// Alerts use the raw series, so they do not lag a rule evaluation behind.
local p = import '../lib/promql.libsonnet';

{
  _config+:: {},

  local cfg = $._config,
  local a = (import '../lib/alerting.libsonnet')(cfg),
  local S(extra=[]) = p.jobMatchers(cfg, extra),
  local J = p.by(cfg, ['namespace', 'job_name']),
  local c = (import '../lib/counters.libsonnet')(cfg),
  // An owner, and a series of kubejob_attempt_resource_seconds_total.
  local O = 'namespace, owner_kind, owner_name',
  local attempt = O + ', outcome, resource',

  // The recorded resource-time per owner, outcome and resource within
  // failureCostWindow (the alert reads it too).
  failureCostRecord:: 'namespace_owner_outcome_resource:kubejob_attempt_resource_seconds:increase',
  // The recorded evictions of an owner's Kueue Workloads per reason
  // within queueEvictionsWindow (KubeJobEvictedRepeatedly reads it).
  queueEvictionsRecord:: 'namespace_owner_reason:kubejob_owner_queue_evictions:increase',

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
            // The clusters that had an exporter target up, with the last
            // time one was (a scrape's timestamp): KubeJobExporterAbsent
            // reads it to know which clusters should have one. It carries
            // itself on (last_over_time of its own series) when no
            // exporter of a cluster is up, so it outlives the exporter; it
            // survives a Prometheus restart shorter than
            // exporterAbsentLookback (the TSDB keeps it), until no
            // exporter of the cluster was up for exporterAbsentForgetAfter
            // (a cluster retired for good). Recorded, not read from up
            // over a window: a window of up forgets a cluster once the
            // exporter has been gone that long.
            record: 'cluster:kubejob_exporter_up:last_timestamp_seconds',
            expr: |||
              max by (%(by)s) (timestamp(up{%(X)s} == 1))
              or
              max by (%(by)s) (last_over_time(cluster:kubejob_exporter_up:last_timestamp_seconds[%(lookback)s]))
              > time() - %(forget)d
            ||| % { by: p.by(cfg, []), X: p.exporterMatchers(cfg), lookback: cfg.exporterAbsentLookback, forget: p.durationSeconds(cfg.exporterAbsentForgetAfter) },
          },
          {
            // The resource-time held by an owner's finished attempts
            // (pods) within failureCostWindow, by outcome (failed,
            // succeeded) and resource (cpu core-seconds, memory
            // byte-seconds, extended resources unit-seconds): counted when
            // the exporter saw each pod finish, so also those of Jobs
            // deleted since; an owner's first attempt included, replicas
            // once, shards summed (lib/counters.libsonnet). Read by
            // KubeJobFailureCostHigh and the share below.
            record: '%s' % $.failureCostRecord,
            expr: |||
              %s
            ||| % c.overRange(p.by(cfg, [attempt]), attempt, 'kubejob_attempt_resource_seconds_total', S(), cfg.failureCostWindow, p.exporterMatchers(cfg)),
          },
          {
            // The evictions of an owner's Kueue Workloads within
            // queueEvictionsWindow, by reason: counted when the exporter
            // saw each eviction, an owner's first included, replicas once,
            // shards summed (lib/counters.libsonnet). Read by
            // KubeJobEvictedRepeatedly, whose description names the
            // reasons from it.
            record: '%s' % $.queueEvictionsRecord,
            expr: |||
              %s
            ||| % c.overRange(p.by(cfg, [O + ', reason']), O + ', reason', 'kubejob_owner_queue_evictions_total', S(), cfg.queueEvictionsWindow, p.exporterMatchers(cfg)),
          },
          {
            // The share of an owner's resource-time within
            // failureCostWindow that its failed attempts held: 1, every
            // attempt failed; 0, none did.
            record: 'namespace_owner_resource:kubejob_attempt_resource_seconds_failed:ratio',
            expr: |||
              sum by (%(by)s) (%(r)s{outcome="failed"} or %(r)s * 0)
              /
              (sum by (%(by)s) (%(r)s) > 0)
            ||| % { by: p.by(cfg, [O, 'resource']), r: $.failureCostRecord },
          },
          {
            // Failed Jobs still present per CronJob.
            record: 'namespace_cronjob:kubejob_failed_jobs:count',
            expr: |||
              count by (%s) (
                max by (%s) (kubejob_failed{%s})
                * on (%s) group_left (cronjob)
                %s
              )
            ||| % [p.by(cfg, ['namespace', 'cronjob']), J, S(), J, std.stripChars(a.runCronJob, '\n')],
          },
        ],
      },
    ],
  },
}
