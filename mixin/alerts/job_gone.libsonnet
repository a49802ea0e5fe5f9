// A standalone Job that failed and was gone before a scrape showed it
// failed: ttlSecondsAfterFinished 0, a deletion by hand or by tooling. The
// per-Job alerts (job_failed.libsonnet) read kubejob_failed, which exists
// only while the Job does, so nothing else pages for it. The exporter
// counts each finished Job under its owner when its watch sees it finish
// (kubejob_owner_*), and keeps per owner and reason the time of the newest
// failure: a new series at an owner's first failure, where increase() of
// the counter, which appears at 1, would see nothing.
//
// One alert per cluster, namespace, owner and reason, from the newest
// failure for jobFailedAndDeletedWindow, then it resolves: a burst of
// failures is one page, a failure after a quiet window a new one. Runs of
// a CronJob are left to KubeCronJobLastRunFailed, which the exporter feeds
// from deleted runs too.
//
// It does not fire when a failed Job of the same owner and reason was seen
// (kubejob_failed) in the window: that Job paged through its per-Job
// alert, and must not page again once someone deletes it. The visibility
// window is the firing window plus coverSlack, so that a clock ahead on
// the exporter (whose failure time is the condition's, at most its own
// now) cannot end the cover before the failure's window ends.
//
// No keep_firing_for: both sides read their window (max_over_time), so a
// scrape gap or an exporter restart (which loses the timestamp) changes
// nothing until the window ends; keep_firing_for would only carry the
// alert past it.
{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local p = import '../lib/promql.libsonnet',
  local cfg = $._config,

  local window = cfg.jobFailedAndDeletedWindow,
  local windowSeconds = p.durationSeconds(window),
  local coverSlack = 300,

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-job-gone',
      rules: [
        a.rule(
          'KubeJobFailedAndDeleted',
          |||
            max by (%(O)s, reason) (max_over_time(kubejob_owner_last_failure_timestamp_seconds{%(owned)s}[%(window)s]))
            > time() - %(seconds)d
            unless on (%(O)s, reason)
            max by (%(O)s, reason) (
              max by (%(J)s, reason) (max_over_time(kubejob_failed{%(S)s}[%(cover)s]))
              * on (%(J)s) group_left (owner_kind, owner_name)
              topk by (%(J)s) (1, max by (%(J)s, owner_kind, owner_name) (max_over_time(kubejob_info{%(owned)s}[%(cover)s])))
            )
          ||| % {
            O: a.by(['namespace', 'owner_kind', 'owner_name']),
            J: a.J,
            S: a.S(),
            owned: a.S(['owner_kind="Job"']),
            window: window,
            seconds: windowSeconds,
            cover: '%ds' % (windowSeconds + coverSlack),
          },
          'Job(s) of {{ $labels.owner_name }} in {{ $labels.namespace }} failed ({{ $labels.reason }}) and were deleted — by their TTL, or by hand — before they could page.',
          'The newest failed at {{ $value | humanizeTimestamp }}; the runbook page lists them with the last report the exporter kept of each, for an hour after its deletion.',
          keepFiringFor=null,
          runbookQuery=['namespace', 'owner_name'],
        ),
      ],
    }],
  },
}
