// CronJobs: one alert per CronJob, however many of its runs failed. The
// exporter reports a CronJob while its object exists (or, without the
// CronJob objects, while one of its runs does), so a deleted CronJob
// resolves. A suspended CronJob starts no runs: none of these page for it
// (each expression ends in notSuspended). MissedSchedule, NotSucceeding and
// RunsOverlap read the schedule, which needs the CronJob objects
// (--watch.cronjobs, list/watch on cronjobs); LastRunFailed works from the
// runs alone.
//
// A run still active at the next due time, per concurrencyPolicy, is one
// alert's: under Forbid the controller starts no run while it is active and
// lastScheduleTime stays, so the next due time passes unmet:
// MissedSchedule; under Allow the next run starts alongside it:
// RunsOverlap; under Replace the controller deletes it unfinished and
// starts the next. Nothing the exporter exports shows that deletion (a
// replaced run never finishes, so kubejob_owner_jobs_finished_total does
// not count it, and it leaves no series): when runs keep being replaced,
// none succeeds and NotSucceeding pages; a single replaced run is not seen.
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

  // The runs of a CronJob that started before the scheduled time of its
  // newest run (lastScheduleTime) and are still running, unsuspended: each
  // was still active when the next run was due. The newest run itself
  // started at or after that time. Runs, not schedule intervals: right for
  // any schedule (0 9,17 * * *, weekdays only), with no interval to
  // compare a run's age with.
  local runsPastNextDue = |||
    count by (%(C)s) (
      (
      %(runs)s
      )
      * on (%(J)s) group_left (cronjob)
      %(runCronJob)s
      < on (%(C)s) group_left ()
      max by (%(C)s) (kubejob_cronjob_last_schedule_timestamp_seconds{%(S)s})
    )
  ||| % {
    C: C,
    J: a.J,
    S: S(),
    runs: std.stripChars(a.notSuspended(a.unfinished('max by (%s) (kubejob_start_timestamp_seconds{%s})' % [a.J, S()])), '\n'),
    runCronJob: std.stripChars(a.runCronJob, '\n'),
  },

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
          "One alert per CronJob however many runs failed; it resolves when a run succeeds, or the CronJob is suspended or deleted. The runbook says how to find the newest failed run and why; fix the CronJob's template, then start a run by hand if it cannot wait for the schedule.",
        ),
        rule(
          'KubeCronJobMissedSchedule',
          notSuspended(missed),
          cronRef + ': the run due {{ $value | humanizeDuration }} ago has not started.',
          'The CronJob controller starts no run while an earlier one is active under concurrencyPolicy Forbid, once a run is later than startingDeadlineSeconds, or while it does not run itself. The runbook says how to tell which applies and which run blocks it.',
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
          'Its runs start but none succeeds, and the newest did not fail either: they hang, or are replaced (concurrencyPolicy Replace) or deleted before they finish. The runbook says how to list the runs and how they ended.',
          '5m',
        ),
        // Allow only: under Forbid the same run is MissedSchedule's (the
        // next run does not start), under Replace it is deleted (see the
        // header). `and` is a set operation: replicas that disagree on the
        // policy (an edit one saw first) cannot fail it.
        rule(
          'KubeCronJobRunsOverlap',
          notSuspended(|||
            %(runs)s
            and on (%(C)s) kubejob_cronjob_info{%(allow)s}
          ||| % { C: C, runs: std.stripChars(runsPastNextDue, '\n'), allow: S(['concurrency_policy="Allow"']) }),
          cronRef + ': {{ $value }} run(s) still running after the next run was due, which started alongside.',
          'Under concurrencyPolicy Allow runs overlap when one outlasts the time to the next: they compete for the same data and resources, and pile up if every run does. The runbook says how to find the run that hangs and what to change.',
          keepFiringFor=cfg.keepFiringForAtRisk,
        ),
      ],
    }],
  },
}
