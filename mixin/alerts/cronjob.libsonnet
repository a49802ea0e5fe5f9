// CronJobs: one alert per CronJob, however many of its runs failed. The
// exporter reports a CronJob while its object exists (or, without the
// CronJob objects, while one of its runs does), so a deleted CronJob
// resolves. A suspended CronJob starts no runs: none of these page for it.
// MissedSchedule, NotSucceeding and RunOutlastsInterval read the schedule,
// which needs the CronJob objects (--watch.cronjobs, list/watch on
// cronjobs); LastRunFailed works from the runs alone.
{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local C = a.C,
  local S = a.S,

  local notSuspended(expr) = |||
    %s
    unless on (%s) (max by (%s) (kubejob_cronjob_suspended{%s}) == 1)
  ||| % [std.stripChars(expr, '\n'), C, C, S()],

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

  // How late the next run is (negative while it is not due yet).
  local late = 'time() - max by (%s) (kubejob_cronjob_next_schedule_timestamp_seconds{%s})' % [C, S()],
  local missed = '%s > %d' % [late, cfg.cronJobMissedScheduleGraceSeconds],

  // The schedule interval, with the concurrency policy.
  local interval(policies) = |||
    max by (%(C)s) (kubejob_cronjob_schedule_interval_seconds{%(S)s})
    * on (%(C)s) group_left (concurrency_policy)
      max by (%(C)s, concurrency_policy) (kubejob_cronjob_info{%(policy)s})
  ||| % { C: C, S: S(), policy: S(['concurrency_policy=~"%s"' % policies]) },

  local rule(name, expr, summary, description, for_=null, keepFiringFor=cfg.keepFiringFor) =
    a.rule(name, expr, summary, description, for_, keepFiringFor),
  local cronRef = 'CronJob ' + a.ns + '/' + a.cronjob,

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-cronjob',
      rules: [
        rule(
          'KubeCronJobLastRunFailed',
          notSuspended(lastRunFailed),
          cronRef + ': its last run failed at {{ $value | humanizeTimestamp }} and none succeeded since.',
          "One alert per CronJob however many runs failed; it resolves when a run succeeds, or the CronJob is suspended or deleted. The runbook page shows the newest failed run and why; fix the CronJob's template, then start a run by hand if it cannot wait for the schedule.",
        ),
        rule(
          'KubeCronJobMissedSchedule',
          notSuspended(missed),
          cronRef + ': the run due {{ $value | humanizeDuration }} ago has not started.',
          'The CronJob controller starts no run while an earlier one is active under concurrencyPolicy Forbid, once a run is later than startingDeadlineSeconds, or while it does not run itself. The runbook page says which applies and which run blocks it.',
          keepFiringFor=cfg.keepFiringForAtRisk,
        ),
        rule(
          'KubeCronJobNotSucceeding',
          notSuspended(|||
            (
              (time() - max by (%(C)s) (kubejob_cronjob_last_success_timestamp_seconds{%(S)s}))
              or
              (time() - max by (%(C)s) (kubejob_cronjob_created_timestamp_seconds{%(S)s}))
              unless on (%(C)s) kubejob_cronjob_last_success_timestamp_seconds{%(S)s}
            )
            > on (%(C)s)
            (
              (%(k)d * max by (%(C)s) (kubejob_cronjob_schedule_interval_seconds{%(S)s})) > %(min)d
              or
              max by (%(C)s) (kubejob_cronjob_schedule_interval_seconds{%(S)s}) * 0 + %(min)d
            )
            unless on (%(C)s) (%(failed)s)
            unless on (%(C)s) (%(missed)s)
          ||| % { C: C, S: S(), k: cfg.cronJobNotSucceedingIntervals, min: cfg.cronJobNotSucceedingMinSeconds, failed: std.stripChars(lastRunFailed, '\n'), missed: missed }),
          cronRef + ' has not succeeded for {{ $value | humanizeDuration }}' + ', more than ' + std.toString(cfg.cronJobNotSucceedingIntervals) + ' schedule intervals.',
          'Its runs start but none succeeds, and the newest did not fail either: they hang, or are replaced (concurrencyPolicy Replace) or deleted before they finish. The runbook page shows the runs and how they ended.',
          '5m',
        ),
        rule(
          'KubeCronJobRunOutlastsInterval',
          |||
            max by (%(C)s) (
              label_replace(
                (time() - max by (%(J)s) (kubejob_start_timestamp_seconds{%(S)s}))
                * on (%(J)s) group_left (owner_name) max by (%(J)s, owner_name) (kubejob_info{%(owned)s})
                unless on (%(J)s) (max by (%(J)s) (kubejob_complete{%(S)s}) == 1)
                unless on (%(J)s) kubejob_failed{%(S)s},
                "cronjob", "$1", "owner_name", "(.+)"
              )
            )
            > on (%(C)s) group_left (concurrency_policy)
            (
            %(interval)s
            )
          ||| % { C: C, J: a.J, S: S(), owned: S(['owner_kind="CronJob"']), interval: std.stripChars(interval('Forbid|Replace'), '\n') },
          cronRef + ': a run has been running for {{ $value | humanizeDuration }}, longer than the schedule interval.',
          'Under concurrencyPolicy {{ $labels.concurrency_policy }} the next run {{ if eq $labels.concurrency_policy "Forbid" }}cannot start while it runs{{ else }}replaces it: it is deleted unfinished{{ end }}. Make the runs faster, the schedule sparser, or set activeDeadlineSeconds so that a hanging run ends.',
          keepFiringFor=cfg.keepFiringForAtRisk,
        ),
      ],
    }],
  },
}
