// A Job that failed for good: one alert per terminal reason, except for
// Jobs a CronJob owns, which KubeCronJobLastRunFailed reports once per
// CronJob however many of its runs failed. The state is final until the
// Job is deleted, so these fire on through a scrape gap (keep_firing_for).
{
  local a = (import '../lib/alerting.libsonnet')($._config),

  // The failed Jobs of one reason, with value from valueOf (a per-Job
  // series: the limit the Job hit) where the exporter has it, else 1.
  local failed(reason, valueOf=null) =
    local jobs = |||
      max by (%s, reason) (kubejob_failed{%s} == 1)
      unless on (%s) kubejob_info{%s}
    ||| % [a.J, a.S(['reason="%s"' % reason]), a.J, a.S(['owner_kind="CronJob"'])];
    a.withOwner(
      if valueOf == null then jobs
      else '(\n%s) * on (%s) group_left () max by (%s) (%s{%s})\nor\n%s' % [jobs, a.J, a.J, valueOf, a.S(), jobs]
    ),

  local end = ' Kubernetes will not run it again: fix the cause and create the Job anew. The runbook says how to find how its pods failed and what to do.',

  local rules = [
    a.rule(
      'KubeJobBackoffLimitExceeded',
      failed('BackoffLimitExceeded', 'kubejob_backoff_limit'),
      a.jobRef + ' failed: its pods failed more often than backoffLimit={{ $value }} allows (BackoffLimitExceeded).',
      a.jobRef + ' failed for good after its retries were spent.' + end,
    ),
    a.rule(
      'KubeJobDeadlineExceeded',
      failed('DeadlineExceeded', 'kubejob_active_deadline_seconds'),
      a.jobRef + ' failed: it ran longer than activeDeadlineSeconds ({{ $value | humanizeDuration }}) (DeadlineExceeded).',
      a.jobRef + ' was stopped at its deadline, whatever retries remained.' + end,
    ),
    a.rule(
      'KubeJobFailedByPodFailurePolicy',
      failed('PodFailurePolicy'),
      a.jobRef + ' failed: a podFailurePolicy FailJob rule matched a failed pod (PodFailurePolicy).',
      a.jobRef + ' stopped at once instead of retrying, as its policy says for this failure.' + end,
    ),
    a.rule(
      'KubeJobFailedIndexes',
      failed('FailedIndexes', 'kubejob_failed_indexes'),
      'Indexed ' + a.jobRef + ' failed: {{ $value }} index(es) used up backoffLimitPerIndex (FailedIndexes).',
      'Indexed ' + a.jobRef + ' finished with indexes that failed for good; the others may have succeeded.' + end,
    ),
    a.rule(
      'KubeJobMaxFailedIndexesExceeded',
      failed('MaxFailedIndexesExceeded', 'kubejob_failed_indexes'),
      'Indexed ' + a.jobRef + ' failed: {{ $value }} failed indexes exceeded maxFailedIndexes (MaxFailedIndexesExceeded).',
      'Indexed ' + a.jobRef + ' was stopped because too many indexes failed: a common cause (image, command, memory, a dependency) is likely.' + end,
    ),
    a.rule(
      'KubeJobFailedOtherReason',
      failed('Other'),
      a.jobRef + ' failed for a reason the exporter does not know.',
      a.jobRef + ' has a Failed condition with a reason none of the known ones; the condition message in kubectl describe job says why.' + end,
    ),
  ],

  // The names of these alerts, one definition: KubeJobFailedAndDeleted
  // (job_gone.libsonnet) leaves out every owner and reason one of them
  // fired for (their ALERTS).
  jobFailedAlertNames:: [r.alert for r in rules],

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-job-failed',
      rules: rules,
    }],
  },
}
