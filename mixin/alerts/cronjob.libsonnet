// CronJobs: one alert per CronJob, however many of its runs failed. The
// per-CronJob state is the exporter's memory of the runs it saw; an alert
// needs a run of the CronJob to exist now, so that a deleted CronJob (its
// runs go with it) resolves instead of paging forever.
{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local C = a.C,
  local S = a.S,

  // The CronJobs that have a run (Job) now.
  local withRuns(expr) = |||
    %s
    and on (%s)
    count by (%s) (label_replace(kubejob_info{%s}, "cronjob", "$1", "owner_name", "(.+)"))
  ||| % [std.stripChars(expr, '\n'), C, C, S(['owner_kind="CronJob"'])],

  // Newest failure newer than the newest success (or no success).
  local lastRunFailed = |||
    max by (%(C)s) (kubejob_cronjob_last_failure_timestamp_seconds{%(S)s})
    > on (%(C)s)
    (
      max by (%(C)s) (kubejob_cronjob_last_success_timestamp_seconds{%(S)s})
      or
      max by (%(C)s) (kubejob_cronjob_last_failure_timestamp_seconds{%(S)s}) * 0
    )
  ||| % { C: C, S: S() },

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-cronjob',
      rules: [
        a.rule(
          'KubeCronJobLastRunFailed',
          withRuns(lastRunFailed),
          'CronJob ' + a.ns + '/' + a.cronjob + ': its last run failed at {{ $value | humanizeTimestamp }} and none succeeded since.',
          "One alert per CronJob however many runs failed; it resolves when a run succeeds (or the CronJob goes with its runs). The runbook page shows the newest failed run and why; fix the CronJob's template, then start a run by hand if it cannot wait for the schedule.",
        ),
        a.rule(
          'KubeCronJobNotSucceeding',
          withRuns(|||
            (
              (time() - max by (%(C)s) (kubejob_cronjob_last_success_timestamp_seconds{%(S)s}))
              or
              (time() - min by (%(C)s) (label_replace(kubejob_start_timestamp_seconds{%(S)s} * on (%(J)s) group_left (owner_name) max by (%(J)s, owner_name) (kubejob_info{%(owned)s}), "cronjob", "$1", "owner_name", "(.+)")))
              unless on (%(C)s) kubejob_cronjob_last_success_timestamp_seconds{%(S)s}
            ) > %(threshold)d
            unless on (%(C)s)
            (
            %(failed)s
            )
          ||| % { C: C, J: a.J, S: S(), owned: S(['owner_kind="CronJob"']), threshold: cfg.cronJobNotSucceededSeconds, failed: std.stripChars(lastRunFailed, '\n') }),
          'CronJob ' + a.ns + '/' + a.cronjob + ' has not succeeded for {{ $value | humanizeDuration }}.',
          'Its newest run did not fail either: a run hangs, or the CronJob no longer starts runs (suspended, schedule, startingDeadlineSeconds, concurrencyPolicy Forbid behind a hanging run). Expected for a CronJob that runs less often than every ' + std.toString(cfg.cronJobNotSucceededSeconds / 3600) + 'h: raise cronJobNotSucceededSeconds.',
          '10m',
        ),
      ],
    }],
  },
}
