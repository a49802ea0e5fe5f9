// A running Job heading for failure. These resolve when the Job completes
// (a retry that succeeded ends them, and nothing pages for a Job that
// retried and then succeeded) or fails (the terminal alert takes over;
// Alertmanager can inhibit the one with the other, see
// alertmanager.example.yaml). They ride out a short scrape gap
// (keepFiringForAtRisk) but not the terminal alert's longer one, so that
// they hand over soon.
{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local rule(name, expr, summary, description, for_=null) =
    a.rule(name, expr, summary, description, for_, keepFiringFor=cfg.keepFiringForAtRisk),

  local K = a.by(['namespace', 'job_name', 'container']),

  // The failed pods of a Job whose cause retrying cannot change, when every
  // failed pod of the Job shows that one cause.
  local nonRetriable = |||
    (
      max by (%(J)s, container, reason, exit_code) (
        kubejob_pod_failures{%(codes)s}
        or
        kubejob_pod_failures{%(reasons)s}
      ) >= %(min)d
    )
    and on (%(J)s)
    (
      count by (%(J)s) (
        max by (%(J)s, container, reason, exit_code) (kubejob_pod_failures{%(S)s} > 0)
      ) == 1
    )
  ||| % {
    J: a.J,
    S: a.S(),
    codes: a.S(['exit_code=~"%s"' % std.join('|', cfg.nonRetriableExitCodes)]),
    reasons: a.S(['reason=~"%s"' % std.join('|', cfg.nonRetriableReasons)]),
    min: cfg.nonRetriableMinFailures,
  },

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-job-at-risk',
      rules: [
        rule(
          'KubeJobRetryBudgetNearlyExhausted',
          a.withOwner(a.notSuspended(a.unfinished('(\n%s) > %g' % [std.stripChars(a.retryBudgetUsed, '\n'), cfg.retryBudgetThreshold]))),
          a.jobRef + ' has used {{ $value | humanizePercentage }} of its retries.',
          a.jobRef + ' is still running, but at 100% it fails for good (BackoffLimitExceeded, or FailedIndexes for an index with backoffLimitPerIndex). If every failure has the same cause, fix it instead of waiting; backoffLimit of a running Job can be raised (kubectl patch job), which helps only transient failures.',
          '1m',
        ),
        // No `for`: it takes over from KubeJobOOMKilled (pending, or
        // firing on through its keep_firing_for) as soon as every failure
        // is one non-retriable cause: no gap between the two.
        rule(
          'KubeJobFailingEveryAttempt',
          a.withOwner(a.notSuspended(a.unfinished(nonRetriable))),
          a.jobRef + ': every failed pod failed the same way, {{ $value }} times (container {{ $labels.container }}, {{ $labels.reason }}{{ with $labels.exit_code }}, exit code {{ . }}{{ end }}): retrying cannot fix it.',
          'The Job keeps creating pods that fail identically until backoffLimit is spent. Do not raise backoffLimit: fix the image, the command or the memory limit. A podFailurePolicy FailJob rule on this exit code would stop at the first failure.',
        ),
        // Waits oomKilledFor: a retry that succeeds within it pages
        // nothing (a `for`, not a rule: no series says a later pod is
        // doing fine until the Job completes). When a second pod is killed
        // the same way within it, KubeJobFailingEveryAttempt pages at once
        // and this one, pending, stops matching: one page.
        rule(
          'KubeJobOOMKilled',
          a.withOwner(a.notSuspended(a.unfinished(|||
            sum by (%(K)s) (
              max by (%(J)s, container, exit_code) (kubejob_pod_failures{%(oom)s})
            ) > 0
            unless on (%(J)s)
            (
            %(nonRetriable)s
            )
          ||| % { K: K, J: a.J, oom: a.S(['reason="OOMKilled"']), nonRetriable: std.stripChars(nonRetriable, '\n') }))),
          'Container {{ $labels.container }} of ' + a.jobRef + ' was OOMKilled in {{ $value }} pod(s).',
          'It used more memory than its limit and the kernel killed it (exit code 137); the retries get the same limit. Raise resources.limits.memory of the container in the Job template (a new Job), or make the program use less.',
          cfg.oomKilledFor,
        ),
        // Memory before OOM: the working set (metrics-server, via the
        // exporter's opt-in pod-metrics collector) of a running Job's
        // container close to its limit. A container already OOMKilled is
        // KubeJobOOMKilled's.
        rule(
          'KubeJobMemoryNearLimit',
          a.withOwner(a.notSuspended(a.unfinished(|||
            (
              max by (%(K)s) (kubejob_container_memory_working_set_bytes{%(S)s})
              / on (%(K)s)
              (max by (%(K)s) (kubejob_container_memory_limit_bytes{%(S)s}) > 0)
            ) > %(ratio)g
            unless on (%(K)s)
            (max by (%(K)s) (kubejob_pod_failures{%(oom)s}) > 0)
          ||| % { K: K, S: a.S(), ratio: cfg.memoryNearLimitRatio, oom: a.S(['reason="OOMKilled"']) }))),
          'Container {{ $labels.container }} of ' + a.jobRef + ' uses {{ $value | humanizePercentage }} of its memory limit.',
          'At the limit the kernel kills it (OOMKilled, exit code 137) and the failed pod counts toward backoffLimit. Raise resources.limits.memory of the container in the Job template, or make the program use less.',
          cfg.memoryNearLimitFor,
        ),
        rule(
          'KubeJobDeadlineApproaching',
          a.withOwner(a.notSuspended(a.unfinished(|||
            (max by (%(J)s) (kubejob_deadline_timestamp_seconds{%(S)s}) - time())
            < on (%(J)s)
            (%(ratio)g * max by (%(J)s) (kubejob_active_deadline_seconds{%(S)s}))
          ||| % { J: a.J, S: a.S(), ratio: cfg.deadlineRemainingRatio }))),
          a.jobRef + ' reaches its activeDeadlineSeconds in {{ $value | humanizeDuration }}.',
          'Then Kubernetes stops all its pods and fails it (DeadlineExceeded), whatever retries remain. If the work legitimately needs longer, raise activeDeadlineSeconds of the running Job: kubectl patch job ' + a.jobArg + ' -n ' + a.nsArg + ' --type=merge -p \'{"spec":{"activeDeadlineSeconds":N}}\'.',
        ),
        rule(
          'KubeJobIndexesFailing',
          a.withOwner(a.notSuspended(a.unfinished(|||
            max by (%(J)s) (kubejob_failed_indexes{%(S)s}) > 0
          ||| % { J: a.J, S: a.S() }))),
          'Indexed ' + a.jobRef + ' lost {{ $value }} index(es): they used up backoffLimitPerIndex.',
          'The Job runs on, but will end Failed (FailedIndexes), or sooner (MaxFailedIndexesExceeded) if more than maxFailedIndexes fail. The runbook says how to find the indexes that failed and why.',
          '1m',
        ),
      ],
    }],
  },
}
