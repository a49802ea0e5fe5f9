// A standalone Job that failed and was gone before a per-Job alert
// (job_failed.libsonnet) fired for it: ttlSecondsAfterFinished 0, a
// deletion by hand or by tooling. The per-Job alerts read kubejob_failed,
// which exists only while the Job does, and fire only on what a rule
// evaluation sees: a Job scraped failed once, whose series goes stale at
// the next scrape, often falls between two evaluations (scrapes every
// 15-30s, evaluations every minute) and fires nothing. The exporter counts
// each finished Job under its owner when its watch sees it finish
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
// It leaves out every owner and reason a per-Job alert fired for (their
// ALERTS series, firing) within the window plus coverSlack: that Job
// paged, and must not page again once deleted, so no Alertmanager
// inhibition is needed between them. What fired, not what a scrape saw: a
// failed Job that no evaluation saw pages here. The slack: a clock ahead
// on the exporter (whose failure time is the condition's, at most its own
// now) must not end the cover before the failure's window ends. ALERTS
// carry the alerts' own labels (cluster, namespace, owner, reason), not
// the scrape's job label: no exporter selector on them.
//
// One page per owner and reason at a time: while a per-Job alert of an
// owner and reason fires (a failed Job left in place, or deleted less than
// its keep_firing_for ago), or fired within the window plus the slack,
// further failures of that owner and reason whose Jobs are gone do not
// page separately: that alert's page stands for them. One still within
// its window when the cover ends pages then. The rule cannot tell the
// failures apart: no per-Job failure time is exported.
//
// for (jobFailedAndDeletedFor): the per-Job alerts' group may evaluate up
// to one evaluation interval after this group; within that time a Job that
// was seen failed has its ALERTS series, which ends this alert while it is
// pending. The for also rides out a single inconsistent scrape.
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
            max by (%(O)s, reason) (max_over_time(ALERTS{%(fired)s}[%(cover)s]))
          ||| % {
            O: a.by(['namespace', 'owner_kind', 'owner_name']),
            owned: a.S(['owner_kind="Job"']),
            fired: p.matchers([
              'alertname=~"%s"' % std.join('|', $.jobFailedAlertNames),
              'alertstate="firing"',
              'owner_kind="Job"',
            ]),
            window: window,
            seconds: windowSeconds,
            cover: '%ds' % (windowSeconds + coverSlack),
          },
          'Job(s) of {{ $labels.owner_name }} in {{ $labels.namespace }} failed ({{ $labels.reason }}) and were deleted — by their TTL, or by hand — before they could page.',
          'The newest failed at {{ $value | humanizeTimestamp }}; the exporter keeps the last report of each for an hour after its deletion (the runbook says where to read it).',
          for_=cfg.jobFailedAndDeletedFor,
          keepFiringFor=null,
          runbookQuery=['namespace', 'owner_name'],
        ),
      ],
    }],
  },
}
