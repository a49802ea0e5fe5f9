// Alerts. Names start with KubeJob/KubeCronJob but none is kubernetes-mixin's
// (KubeJobFailed, KubeJobNotCompleted, KubeJobCompletion), so both mixins
// load side by side.
//
// Which alert owns which state, so that one problem is one page:
// - a Job that failed for good: one alert per terminal reason, except for
//   Jobs a CronJob owns, which KubeCronJobLastRunFailed reports once per
//   CronJob however many of its runs failed;
// - a Job still running that heads for failure: the at-risk alerts, which
//   resolve when the Job completes (so a retry that succeeds ends them)
//   or fails (the terminal alert takes over);
// - the exporter itself: down or unable to watch, so no silence is taken
//   for health.
local p = import '../lib/promql.libsonnet';
local t = import '../lib/templates.libsonnet';

{
  _config+:: {},

  local cfg = $._config,
  local S(extra=[]) = p.jobMatchers(cfg, extra),
  local X(extra=[]) = p.exporterMatchers(cfg, extra),
  local by(labels) = p.by(cfg, labels),
  local J = by(['namespace', 'job_name']),
  local ns = '$labels.namespace',
  local job = '$labels.job_name',

  local runbook(name, kind) =
    (cfg.runbookURLPattern % name) + (
      if !cfg.runbookURLQuery then ''
      else if kind == 'job' then '?namespace={{ $labels.namespace }}&job_name={{ $labels.job_name }}'
      else if kind == 'cronjob' then '?namespace={{ $labels.namespace }}&cronjob={{ $labels.cronjob }}'
      else ''
    ),

  // Adds owner_kind/owner_name of the Job (empty labels vanish) to each
  // series of a per-Job expression, for routing and for the reader.
  local withOwner(expr) = |||
    (
    %s
    )
    * on (%s) group_left (owner_kind, owner_name)
      max by (%s, owner_kind, owner_name) (kubejob_info{%s})
  ||| % [std.stripChars(expr, '\n'), J, J, S()],

  // Drops Jobs that finished (complete or failed for good).
  local unfinished(expr) = |||
    %s
    unless on (%s) (max by (%s) (kubejob_complete{%s}) == 1)
    unless on (%s) kubejob_failed{%s}
  ||| % [std.stripChars(expr, '\n'), J, J, S(), J, S()],

  local notSuspended(expr) = |||
    %s
    unless on (%s) (max by (%s) (kubejob_suspended{%s}) == 1)
  ||| % [std.stripChars(expr, '\n'), J, J, S()],

  // Failed pods of a Job whose causes retrying cannot change, when every
  // failed pod of the Job shows that one cause.
  local nonRetriable = |||
    (
      max by (%(by)s, container, reason, exit_code) (
        kubejob_pod_failures{%(codes)s}
        or
        kubejob_pod_failures{%(reasons)s}
      ) >= %(min)d
    )
    and on (%(J)s)
    (
      count by (%(J)s) (
        max by (%(by)s, container, reason, exit_code) (kubejob_pod_failures{%(S)s} > 0)
      ) == 1
    )
  ||| % {
    by: J,
    J: J,
    S: S(),
    codes: S(['exit_code=~"%s"' % std.join('|', cfg.nonRetriableExitCodes)]),
    reasons: S(['reason=~"%s"' % std.join('|', cfg.nonRetriableReasons)]),
    min: cfg.nonRetriableMinFailures,
  },

  // The CronJobs whose newest failure is newer than their newest success
  // (or that never succeeded).
  local C = by(['namespace', 'cronjob']),
  local cronJobLastRunFailed = |||
    max by (%(C)s) (kubejob_cronjob_last_failure_timestamp_seconds{%(S)s})
    > on (%(C)s)
    (
      max by (%(C)s) (kubejob_cronjob_last_success_timestamp_seconds{%(S)s})
      or
      max by (%(C)s) (kubejob_cronjob_last_failure_timestamp_seconds{%(S)s}) * 0
    )
  ||| % { C: C, S: S() },

  local jobAlert(name, severity, expr, summary, description, for_=null, kind='job') = {
    alert: name,
    expr: expr,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: runbook(name, kind),
    },
  } + (if for_ != null then { 'for': for_ } else {}),

  // ---- a Job failed for good -------------------------------------------
  local failed(name, reason, summary, meaning, advice) = jobAlert(
    name,
    cfg.severity.jobFailed,
    withOwner(|||
      max by (%s, reason) (kubejob_failed{%s} == 1)
      unless on (%s) kubejob_info{%s}
    ||| % [J, S(['reason="%s"' % reason]), J, S(['owner_kind="CronJob"'])]),
    summary,
    std.join('\n', [
      meaning + ' Kubernetes will not run it again: the Job stays Failed until it is deleted (and recreated once the cause is fixed).',
      t.causes(cfg, ns, job),
      advice,
      t.jobCommands(cfg, ns, job),
    ]),
  ),

  local backoffLimitExceeded = failed(
    'KubeJobBackoffLimitExceeded',
    'BackoffLimitExceeded',
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed: ' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failed attempts exceeded backoffLimit=' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + '.',
    'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} failed with BackoffLimitExceeded: its pods failed more often than its backoffLimit of ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ' allows.',
    'Fix the cause above, then recreate the Job. Raise backoffLimit only if the failures were transient (network, node, API); for a bug, a bad command or a too small limit it only wastes more pods.',
  ),

  local deadlineExceeded = failed(
    'KubeJobDeadlineExceeded',
    'DeadlineExceeded',
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed: it ran longer than activeDeadlineSeconds=' + t.jobValue(cfg, 'kubejob_active_deadline_seconds', ns, job) + '.',
    'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} failed with DeadlineExceeded: it was still running ' + t.jobValue(cfg, 'kubejob_active_deadline_seconds', ns, job, 'humanizeDuration') + ' after it started, its activeDeadlineSeconds, so Kubernetes killed its pods whatever backoffLimit remained (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failures of backoffLimit ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ').',
    'Find out whether the work was slow (a bigger input, throttled CPU: kubectl top pods), stuck (pods waiting for an image, a volume or a node) or retried too often; then raise activeDeadlineSeconds or fix the cause and recreate the Job.',
  ),

  local podFailurePolicy = failed(
    'KubeJobFailedByPodFailurePolicy',
    'PodFailurePolicy',
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed: a podFailurePolicy FailJob rule matched a failed pod.',
    'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} failed with PodFailurePolicy: a pod failure matched a rule with action FailJob, so the Job stopped at once instead of retrying (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failures, backoffLimit ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ').',
    'The policy did its job: the failure was declared non-retriable. Fix the program, the image or the command that exits this way, then recreate the Job; the rule (kubectl get job {{ $labels.job_name }} -n {{ $labels.namespace }} -o jsonpath={.spec.podFailurePolicy}) says which exit codes or conditions it stops on.',
  ),

  local failedIndexes = failed(
    'KubeJobFailedIndexes',
    'FailedIndexes',
    'Indexed Job {{ $labels.namespace }}/{{ $labels.job_name }} failed: ' + t.jobValue(cfg, 'kubejob_failed_indexes', ns, job) + ' index(es) failed (backoffLimitPerIndex=' + t.jobValue(cfg, 'kubejob_backoff_limit_per_index', ns, job) + ').',
    'Indexed Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} finished with FailedIndexes: ' + t.jobValue(cfg, 'kubejob_failed_indexes', ns, job) + ' index(es) used up their backoffLimitPerIndex of ' + t.jobValue(cfg, 'kubejob_backoff_limit_per_index', ns, job) + ' while ' + t.jobValue(cfg, 'kubejob_completed_indexes', ns, job) + ' succeeded.',
    'The failed indexes are in kubectl get job {{ $labels.job_name }} -n {{ $labels.namespace }} -o jsonpath={.status.failedIndexes}; their pods carry the label batch.kubernetes.io/job-completion-index. Fix the input or code of those indexes, then rerun them (a new Job).',
  ),

  local maxFailedIndexes = failed(
    'KubeJobMaxFailedIndexesExceeded',
    'MaxFailedIndexesExceeded',
    'Indexed Job {{ $labels.namespace }}/{{ $labels.job_name }} failed: ' + t.jobValue(cfg, 'kubejob_failed_indexes', ns, job) + ' failed indexes exceeded maxFailedIndexes=' + t.jobValue(cfg, 'kubejob_max_failed_indexes', ns, job) + '.',
    'Indexed Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} failed with MaxFailedIndexesExceeded: more than maxFailedIndexes=' + t.jobValue(cfg, 'kubejob_max_failed_indexes', ns, job) + ' indexes failed (each after backoffLimitPerIndex=' + t.jobValue(cfg, 'kubejob_backoff_limit_per_index', ns, job) + ' retries), so Kubernetes stopped the remaining indexes.',
    'So many indexes failing points at a common cause (image, command, memory limit, a dependency) rather than bad input: fix it and recreate the Job.',
  ),

  local failedOther = failed(
    'KubeJobFailedOtherReason',
    'Other',
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed for a reason the exporter does not know.',
    'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has a Failed condition whose reason is none of BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, FailedIndexes or MaxFailedIndexesExceeded (a newer Kubernetes, or a controller that sets its own).',
    'The condition message in kubectl describe job says why.',
  ),

  // ---- a running Job at risk ---------------------------------------------
  local retryBudget = jobAlert(
    'KubeJobRetryBudgetNearlyExhausted',
    cfg.severity.jobAtRisk,
    withOwner(unfinished(|||
      max by (%s) (kubejob_retries{%s})
      / on (%s)
      (max by (%s) (kubejob_backoff_limit{%s}) + 1)
      > %g
    ||| % [J, S(), J, J, S(), cfg.retryBudgetThreshold])),
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} has used {{ $value | humanizePercentage }} of its retries (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failures, backoffLimit ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ').',
    std.join('\n', [
      'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} is still running but its pods failed ' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' times; one more failure than backoffLimit=' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ' and it fails for good (BackoffLimitExceeded). Current backoff delay before the next pod: ' + t.jobValue(cfg, 'kubejob_backoff_delay_seconds', ns, job, 'humanizeDuration') + '.',
      t.causes(cfg, ns, job),
      'If every failure has the same cause, the remaining retries will fail the same way: fix the cause instead of waiting. Raise backoffLimit only for transient failures.',
      t.jobCommands(cfg, ns, job),
    ]),
    '1m',
  ),

  local failingEveryAttempt = jobAlert(
    'KubeJobFailingEveryAttempt',
    cfg.severity.jobAtRisk,
    withOwner(notSuspended(unfinished(nonRetriable))),
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} fails every attempt the same way ({{ $labels.reason }}{{ with $labels.exit_code }}, exit code {{ . }}{{ end }} in container {{ $labels.container }}): retrying cannot fix it.',
    std.join('\n', [
      'All {{ $value }} failed pods of Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} failed the same way: container {{ $labels.container }}, {{ $labels.reason }}{{ with $labels.exit_code }}, exit code {{ . }}{{ end }}. '
      + '{{ if eq $labels.reason "OOMKilled" }}It runs out of memory at its limit of ' + t.value(cfg, 'max(kubejob_container_memory_limit_bytes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})', [ns, job, '$labels.container'], 'humanize1024', 'none') + '.'
      + '{{ else if eq $labels.exit_code "127" }}Exit code 127: the command is not found in the image.'
      + '{{ else if eq $labels.exit_code "126" }}Exit code 126: the command exists but cannot be executed (permissions, not a binary).'
      + '{{ else }}The container cannot start (image entrypoint, command or mounts).{{ end }}',
      'The Job keeps creating pods that fail identically until its backoffLimit is spent (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' of ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ' used). Do not raise backoffLimit: fix the image, the command or the memory limit and recreate the Job. A podFailurePolicy rule with action FailJob on this exit code would stop such waste at the first failure.',
      t.jobCommands(cfg, ns, job),
    ]),
    '1m',
  ),

  local oomKilled = jobAlert(
    'KubeJobOOMKilled',
    cfg.severity.jobAtRisk,
    withOwner(unfinished(|||
      sum by (%s, container) (
        max by (%s, container, exit_code) (kubejob_pod_failures{%s})
      ) > 0
      unless on (%s)
      (
      %s
      )
    ||| % [J, J, S(['reason="OOMKilled"']), J, std.stripChars(nonRetriable, '\n')])),
    'Container {{ $labels.container }} of Job {{ $labels.namespace }}/{{ $labels.job_name }} was OOMKilled ({{ $value }} pod(s)); memory limit ' + t.value(cfg, 'max(kubejob_container_memory_limit_bytes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})', [ns, job, '$labels.container'], 'humanize1024', 'none set') + '.',
    std.join('\n', [
      'Container {{ $labels.container }} of Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} used more memory than its limit ('
      + t.value(cfg, 'max(kubejob_container_memory_limit_bytes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})', [ns, job, '$labels.container'], 'humanize1024', 'no limit set: the node itself ran out of memory')
      + ') and was killed (exit code 137). The Job retries (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failures of backoffLimit ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + '), but the next pod gets the same limit.',
      t.causes(cfg, ns, job),
      'Raise resources.limits.memory (and requests.memory) of the container in the Job template, or make the program use less; a running Job cannot be changed: recreate it. Check the usage with kubectl top pods -n {{ $labels.namespace }} -l job-name={{ $labels.job_name }} --containers.',
      t.jobCommands(cfg, ns, job),
    ]),
  ),

  // Memory before OOM: the working set (metrics-server, via the exporter's
  // opt-in pod-metrics collector) of a running Job's container close to its
  // limit. Containers without a limit have no ratio; without the collector
  // there is no working set and nothing fires. A container that was already
  // OOMKilled is KubeJobOOMKilled's (or KubeJobFailingEveryAttempt's).
  local memLimitQuery = 'max(kubejob_container_memory_limit_bytes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})',
  local memWorkingSetQuery = 'max(kubejob_container_memory_working_set_bytes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})',
  local memoryNearLimit = jobAlert(
    'KubeJobMemoryNearLimit',
    cfg.severity.jobAtRisk,
    withOwner(notSuspended(unfinished(|||
      (
        max by (%(K)s) (kubejob_container_memory_working_set_bytes{%(S)s})
        / on (%(K)s)
        (max by (%(K)s) (kubejob_container_memory_limit_bytes{%(S)s}) > 0)
      ) > %(ratio)g
      unless on (%(K)s)
      (max by (%(K)s) (kubejob_pod_failures{%(oom)s}) > 0)
    ||| % { K: by(['namespace', 'job_name', 'container']), S: S(), ratio: cfg.memoryNearLimitRatio, oom: S(['reason="OOMKilled"']) }))),
    'Container {{ $labels.container }} of Job {{ $labels.namespace }}/{{ $labels.job_name }} uses {{ $value | humanizePercentage }} of its memory limit ('
    + t.value(cfg, memWorkingSetQuery, [ns, job, '$labels.container'], 'humanize1024') + ' of ' + t.value(cfg, memLimitQuery, [ns, job, '$labels.container'], 'humanize1024') + ').',
    std.join('\n', [
      'Container {{ $labels.container }} of running Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has had a memory working set above ' + ('%g' % (cfg.memoryNearLimitRatio * 100)) + '% of its limit for ' + cfg.memoryNearLimitFor + ': now '
      + t.value(cfg, memWorkingSetQuery, [ns, job, '$labels.container'], 'humanize1024') + ' ({{ $value | humanizePercentage }}) of ' + t.value(cfg, memLimitQuery, [ns, job, '$labels.container'], 'humanize1024')
      + ' (the highest among its running pods, from metrics-server). If it reaches the limit the kernel kills it: OOMKilled, exit code 137, and the failed pod counts toward backoffLimit (' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failures of ' + t.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + ' so far); the retry gets the same limit.',
      'Raise resources.limits.memory and requests.memory of the container in the Job template (for a CronJob, in spec.jobTemplate); a running Job cannot be changed: recreate it. Or make the program use less (smaller batches, streaming, a runtime heap limit below the container limit).',
      t.jobCommands(cfg, ns, job, ['  kubectl top pods -n {{ $labels.namespace }} -l job-name={{ $labels.job_name }} --containers', '  kubectl describe pods -n {{ $labels.namespace }} -l job-name={{ $labels.job_name }}']),
    ]),
    cfg.memoryNearLimitFor,
  ),

  local deadlineApproaching = jobAlert(
    'KubeJobDeadlineApproaching',
    cfg.severity.jobAtRisk,
    withOwner(notSuspended(unfinished(|||
      (max by (%s) (kubejob_deadline_timestamp_seconds{%s}) - time())
      < on (%s)
      (%g * max by (%s) (kubejob_active_deadline_seconds{%s}))
    ||| % [J, S(), J, cfg.deadlineRemainingRatio, J, S()]))),
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} reaches its activeDeadlineSeconds in {{ $value | humanizeDuration }}.',
    std.join('\n', [
      'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has {{ $value | humanizeDuration }} left of its activeDeadlineSeconds=' + t.jobValue(cfg, 'kubejob_active_deadline_seconds', ns, job) + '. When it runs out, Kubernetes kills all its pods and marks it Failed (DeadlineExceeded), however many retries remain. Now: ' + t.value(cfg, 'max(kubejob_pods{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'state="active"']) + '})', [ns, job], '', '0') + ' active pod(s), ' + t.jobValue(cfg, 'kubejob_retries', ns, job) + ' failure(s).',
      t.causes(cfg, ns, job, 'No pod of the Job has failed: it is slow or stuck, not failing.'),
      'Check whether its pods make progress (logs), wait for something (kubectl get pods: Pending, ImagePullBackOff) or are throttled (kubectl top pods). A running Job cannot be given more time: if the work legitimately needs longer, raise activeDeadlineSeconds for the next run.',
      t.jobCommands(cfg, ns, job),
    ]),
  ),

  // ---- a Job that neither fails nor progresses --------------------------
  // One alert per Job whatever its pod count; the expression selects the
  // condition, `for` carries the patience.

  // Pods that wait, per Job over every reason: the kubelet flips a pod
  // between ErrImagePull and ImagePullBackOff, which a per-reason alert
  // would take for a new problem and restart its `for`. A crash loop
  // (restartPolicy OnFailure) waits only between runs: the window bridges
  // them. The current reasons are named in the text.
  local podsWaiting = jobAlert(
    'KubeJobPodsStuckWaiting',
    cfg.severity.jobStuck,
    withOwner(notSuspended(unfinished(|||
      group by (%(J)s) (
        kubejob_pods_waiting{%(waiting)s}
        or
        max_over_time(kubejob_pods_waiting{%(crash)s}[%(window)s])
      )
      and on (%(J)s) group by (%(J)s) (kubejob_info{%(S)s})
    ||| % { J: J, S: S(), waiting: S(['reason!="CrashLoopBackOff"']), crash: S(['reason="CrashLoopBackOff"']), window: cfg.crashLoopWindow }))),
    'Job {{ $labels.namespace }}/{{ $labels.job_name }}: pods stuck before running ('
    + '{{ range $i, $r := ' + t.query(cfg, 'sort_desc(max by (reason) (kubejob_pods_waiting{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '}))', [ns, job]) + ' }}{{ if $i }}, {{ end }}{{ $r.Labels.reason }} ×{{ $r.Value }}{{ else }}crash loop between runs{{ end }}).',
    'Pods of Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} have not run their work for ' + cfg.podsWaitingFor + " (an image that cannot be pulled, a missing ConfigMap or Secret, no node, a volume that does not mount, an init container that hangs, a crash loop): they never fail, so only activeDeadlineSeconds ends the Job. The runbook page shows the pods' events and what to fix.",
    cfg.podsWaitingFor,
  ),

  // Pods the API server refuses (the Job controller's FailedCreate events,
  // by cause, while no pod was created since), or a started Job without
  // any pod (also once the events expired or cannot be read). A Job that
  // still gets some pods created makes progress, only slower: each new pod
  // ends the condition; one whose pods already running go on while every
  // new one is refused does page. The controller keeps retrying (at most
  // a minute apart since Kubernetes v1.28) and its event keeps the newest
  // refusal (the event recorder lets one through every 5 minutes after the
  // first 25), so a Job that gets no new pod shows continuously.
  // Sets $cause to the cause of the Job's newest refused pod, "" if none.
  local createCause = '{{ $cause := "" }}{{ with ' + t.query(cfg, 'topk(1, kubejob_pod_create_failure_timestamp_seconds{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '})', [ns, job]) + ' }}{{ $cause = (first .).Labels.cause }}{{ end }}',
  local createCommand =
    '{{ if eq $cause "Quota" }}a ResourceQuota has no room for its pods: kubectl describe resourcequota -n {{ $labels.namespace }}'
    + '{{ else if eq $cause "LimitRange" }}its pods break a LimitRange: kubectl describe limitrange -n {{ $labels.namespace }}'
    + '{{ else if eq $cause "PodSecurity" }}the namespace\'s Pod Security level rejects its pod template: kubectl get namespace {{ $labels.namespace }} --show-labels'
    + '{{ else if eq $cause "AdmissionPolicy" }}a ValidatingAdmissionPolicy denies its pods: kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings'
    + '{{ else if eq $cause "AdmissionWebhook" }}an admission webhook denies its pods: kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations'
    + '{{ else if eq $cause "ServiceAccount" }}its ServiceAccount does not exist: kubectl get serviceaccounts -n {{ $labels.namespace }}'
    + '{{ else if eq $cause "Invalid" }}its pod template is invalid: kubectl get job {{ $labels.job_name }} -n {{ $labels.namespace }} -o yaml'
    + '{{ else }}the API server refuses its pods: kubectl get events -n {{ $labels.namespace }} --field-selector involvedObject.name={{ $labels.job_name }},reason=FailedCreate{{ end }}',
  local cannotCreatePods = jobAlert(
    'KubeJobCannotCreatePods',
    cfg.severity.jobStuck,
    withOwner(notSuspended(unfinished(|||
      group by (%(J)s) (
        kubejob_pod_create_failure_timestamp_seconds{%(S)s}
        or
        kubejob_without_pods{%(S)s}
      )
      and on (%(J)s) group by (%(J)s) (kubejob_info{%(S)s})
    ||| % { J: J, S: S() }))),
    createCause + 'Job {{ $labels.namespace }}/{{ $labels.job_name }} cannot create its pods{{ with $cause }}: {{ . }}{{ end }}.',
    createCause + '{{ if $cause }}For ' + cfg.jobCannotCreatePodsFor + ' the API server has refused every pod the Job controller tried to create for Job {{ $labels.job_name }} in namespace {{ $labels.namespace }}: ' + createCommand
    + '{{ else }}Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has started but has had no pod for ' + cfg.jobCannotCreatePodsFor + ', and no FailedCreate event (left) says why: kubectl describe job {{ $labels.job_name }} -n {{ $labels.namespace }}{{ end }}'
    + '. It gets no new pod and does not fail for it (only activeDeadlineSeconds ends it); the Job controller creates the pods once they are allowed.',
    cfg.jobCannotCreatePodsFor,
  ),

  // Runs that do not end: running longer than the run-time limit (per
  // namespace or Job from _config), or, for a CronJob run, longer than a
  // multiple of its CronJob's last successful run.
  local overrides = cfg.jobRunTimeLimitOverrides,
  local overridden(n) = std.join(' or ', ['kubejob_start_timestamp_seconds{%s}' % S([o.selector]) for o in overrides[0:n]]),
  local except(n, expr) = if n == 0 then expr else '(%s) unless on (%s) (%s)' % [expr, J, overridden(n)],
  // The absolute limits exclude each other (first match wins) and carry
  // the labels J; the CronJob limit carries J and cronjob: min by (J)
  // takes the lower of the two.
  local absoluteLimit(selector, n, seconds) =
    '(%s) * 0 + %d' % [except(n, 'max by (%s) (kubejob_start_timestamp_seconds{%s})' % [J, S(selector)]), seconds],
  local absoluteLimits = std.join('\n  or\n  ', [
    absoluteLimit([overrides[i].selector], i, overrides[i].seconds)
    for i in std.range(0, std.length(overrides) - 1)
    if overrides[i].seconds != null
  ] + [absoluteLimit([], std.length(overrides), cfg.jobRunTimeLimitSeconds)]),
  // The Jobs whose first matching override says no limit.
  local noLimit = [
    except(i, 'kubejob_start_timestamp_seconds{%s}' % S([overrides[i].selector]))
    for i in std.range(0, std.length(overrides) - 1)
    if overrides[i].seconds == null
  ],
  local cronLimit = |||
    max by (%(J)s, cronjob) (label_replace(kubejob_info{%(owned)s}, "cronjob", "$1", "owner_name", "(.+)")) * 0
    + on (%(C)s) group_left ()
    clamp_min(%(factor)g * max by (%(C)s) (kubejob_cronjob_last_success_duration_seconds{%(S)s}), %(min)d)
  ||| % { J: J, C: C, S: S(), owned: S(['owner_kind="CronJob"']), factor: cfg.cronJobRunTimeFactor, min: cfg.cronJobRunTimeMinSeconds },
  local runTimeLimit =
    local limits = absoluteLimits + (if cfg.cronJobRunTimeFactor > 0 then '\n  or\n  ' + std.stripChars(cronLimit, '\n') else '');
    local all = 'min by (%s) (\n  %s\n)' % [J, limits];
    if std.length(noLimit) == 0 then all
    else '%s\nunless on (%s) (%s)' % [all, J, std.join(' or ', ['(%s)' % n for n in noLimit])],
  local runningTooLong = jobAlert(
    'KubeJobRunningTooLong',
    cfg.severity.jobStuck,
    withOwner(notSuspended(unfinished(|||
      (time() - max by (%(J)s) (kubejob_start_timestamp_seconds{%(S)s}))
      > on (%(J)s)
      (
      %(limit)s
      )
    ||| % { J: J, S: S(), limit: runTimeLimit }))),
    'Job {{ $labels.namespace }}/{{ $labels.job_name }} has been running for {{ $value | humanizeDuration }}.',
    'Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} started {{ $value | humanizeDuration }} ago and has not finished, longer than its run-time limit' + (if cfg.cronJobRunTimeFactor > 0 then '{{ if eq $labels.owner_kind "CronJob" }} or ' + std.toString(cfg.cronJobRunTimeFactor) + ' times the last successful run of CronJob {{ $labels.owner_name }}{{ end }}' else '') + ': it may hang (a program that waits forever, pods that never start). Without activeDeadlineSeconds nothing ends it; under concurrencyPolicy Forbid it also blocks the next runs.',
    cfg.jobRunningTooLongFor,
  ),

  local indexesFailing = jobAlert(
    'KubeJobIndexesFailing',
    cfg.severity.jobAtRisk,
    withOwner(unfinished(|||
      max by (%s) (kubejob_failed_indexes{%s}) > 0
    ||| % [J, S()])),
    'Indexed Job {{ $labels.namespace }}/{{ $labels.job_name }} lost {{ $value }} index(es) (backoffLimitPerIndex=' + t.jobValue(cfg, 'kubejob_backoff_limit_per_index', ns, job) + ', maxFailedIndexes=' + t.jobValue(cfg, 'kubejob_max_failed_indexes', ns, job, '', 'unset') + ').',
    std.join('\n', [
      'Indexed Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} is still running, but {{ $value }} of its indexes used up backoffLimitPerIndex=' + t.jobValue(cfg, 'kubejob_backoff_limit_per_index', ns, job) + ' and will not be retried; ' + t.jobValue(cfg, 'kubejob_completed_indexes', ns, job, '', '0') + ' succeeded so far. The Job will end Failed (FailedIndexes)'
      + '{{ with ' + t.query(cfg, 'max(kubejob_max_failed_indexes{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '})', [ns, job]) + ' }}, or sooner (MaxFailedIndexesExceeded) once more than maxFailedIndexes={{ . | first | value }} indexes fail{{ end }}.',
      'Indexes with the most failures:{{ range sortByLabel "index" (' + t.query(cfg, 'topk(5, max by (index) (kubejob_index_failures{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '}))', [ns, job]) + ') }} {{ .Labels.index }} ({{ .Value }}){{ end }}.',
      t.causes(cfg, ns, job),
      t.jobCommands(cfg, ns, job),
      '  kubectl get job {{ $labels.job_name }} -n {{ $labels.namespace }} -o jsonpath={.status.failedIndexes}',
      '  kubectl get pods -n {{ $labels.namespace }} -l job-name={{ $labels.job_name }},batch.kubernetes.io/job-completion-index=<index>',
    ]),
    '1m',
  ),

  // ---- CronJobs: one alert per CronJob ---------------------------------
  local cronJob = '$labels.cronjob',
  local newestFailedJob =
    t.query(cfg, 'topk(1, max by (namespace, job_name) (kubejob_start_timestamp_seconds{' + t.matchers(cfg, ['namespace=%q']) + '}) and on (namespace, job_name) kubejob_failed{' + t.matchers(cfg, ['namespace=%q']) + '} and on (namespace, job_name) kubejob_info{' + t.matchers(cfg, ['namespace=%q', 'owner_kind="CronJob"', 'owner_name=%q']) + '})', [ns, ns, ns, cronJob]),

  local cronJobFailed = jobAlert(
    'KubeCronJobLastRunFailed',
    cfg.severity.cronJobFailing,
    cronJobLastRunFailed,
    'CronJob {{ $labels.namespace }}/{{ $labels.cronjob }}: its last run failed ('
    + '{{ with ' + t.query(cfg, 'topk(1, kubejob_cronjob_last_failure_timestamp_seconds{' + t.matchers(cfg, ['namespace=%q', 'cronjob=%q']) + '})', [ns, cronJob]) + ' }}{{ (first .).Labels.reason }}{{ end }}'
    + ') and it has not succeeded since.',
    std.join('\n', [
      'The newest run of CronJob {{ $labels.cronjob }} in namespace {{ $labels.namespace }} failed at {{ $value | humanizeTimestamp }}; its last success was '
      + t.value(cfg, 'max(kubejob_cronjob_last_success_timestamp_seconds{' + t.matchers(cfg, ['namespace=%q', 'cronjob=%q']) + '})', [ns, cronJob], 'humanizeTimestamp', 'never (as far as the exporter knows)')
      + '. This is one alert per CronJob, however many of its runs failed; it resolves when a run succeeds.',
      '{{ with ' + newestFailedJob + ' }}{{ $job := (first .).Labels.job_name }}The newest failed Job still present is {{ $job }}. ' + t.causes(cfg, ns, '$job') + '\n' + t.jobCommands(cfg, ns, '$job')
      + '{{ else }}The failed Jobs are gone (failedJobsHistoryLimit, TTL).{{ end }}',
      'For the CronJob:',
      '  kubectl describe cronjob {{ $labels.cronjob }} -n {{ $labels.namespace }}',
      '  kubectl get jobs -n {{ $labels.namespace }} --sort-by=.metadata.creationTimestamp | grep {{ $labels.cronjob }}',
      'Fix the cause in the CronJob template (kubectl edit cronjob {{ $labels.cronjob }} -n {{ $labels.namespace }}); to run it again now: kubectl create job {{ $labels.cronjob }}-manual -n {{ $labels.namespace }} --from=cronjob/{{ $labels.cronjob }}',
    ]),
    kind='cronjob',
  ),

  local cronJobNotSucceeding = jobAlert(
    'KubeCronJobNotSucceeding',
    cfg.severity.cronJobFailing,
    |||
      (time() - max by (%(C)s) (kubejob_cronjob_last_success_timestamp_seconds{%(S)s})) > %(threshold)d
      and on (%(C)s)
      count by (%(C)s) (label_replace(kubejob_info{%(owned)s}, "cronjob", "$1", "owner_name", "(.+)"))
      unless on (%(C)s)
      (
      %(failed)s
      )
    ||| % { C: C, S: S(), threshold: cfg.cronJobNotSucceededSeconds, owned: S(['owner_kind="CronJob"']), failed: std.stripChars(cronJobLastRunFailed, '\n') },
    'CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} has not succeeded for {{ $value | humanizeDuration }}.',
    std.join('\n', [
      'CronJob {{ $labels.cronjob }} in namespace {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago, more than the ' + std.toString(cfg.cronJobNotSucceededSeconds / 3600) + 'h allowed, and its newest run did not fail either: a run hangs (pods waiting, a slow or stuck program), or the CronJob no longer starts runs (suspended, schedule, startingDeadlineSeconds, concurrencyPolicy: Forbid behind a hanging run).',
      'Jobs of the CronJob still running:{{ range sortByLabel "job_name" (' + t.query(cfg, 'max by (job_name) (kubejob_info{' + t.matchers(cfg, ['namespace=%q', 'owner_kind="CronJob"', 'owner_name=%q']) + '}) unless on (job_name) (max by (job_name) (kubejob_complete{' + t.matchers(cfg, ['namespace=%q']) + '}) == 1) unless on (job_name) max by (job_name) (kubejob_failed{' + t.matchers(cfg, ['namespace=%q']) + '})', [ns, cronJob, ns, ns]) + ') }} {{ .Labels.job_name }}{{ else }} none{{ end }}.',
      'First commands:',
      '  kubectl describe cronjob {{ $labels.cronjob }} -n {{ $labels.namespace }}',
      '  kubectl get cronjob {{ $labels.cronjob }} -n {{ $labels.namespace }} -o jsonpath="{.spec.suspend} {.spec.schedule} {.status.lastScheduleTime}"',
      '  kubectl get jobs -n {{ $labels.namespace }} --sort-by=.metadata.creationTimestamp | grep {{ $labels.cronjob }}',
      'If the CronJob runs less often than every ' + std.toString(cfg.cronJobNotSucceededSeconds / 3600) + 'h, this alert is expected: raise cronJobNotSucceededSeconds or silence it for that CronJob.',
    ]),
    '10m',
    kind='cronjob',
  ),

  // ---- the exporter itself ---------------------------------------------
  local exporterNs = '{{ with $labels.namespace }}{{ . }}{{ else }}' + cfg.exporterNamespace + '{{ end }}',
  local exporterDown = jobAlert(
    'KubeJobExporterDown',
    cfg.severity.exporter,
    'absent(up{%s} == 1)' % X(),
    'kube-job-exporter is down or not scraped: Job failures are not being seen.',
    std.join('\n', [
      'No target of the scrape selector {' + cfg.kubeJobExporterSelector + '} was scraped successfully for ' + cfg.exporterDownFor + '. Until it is back, no Job or CronJob alert can fire: silence here is not health.',
      'First commands:',
      '  kubectl get pods -n ' + cfg.exporterNamespace + ' -l app.kubernetes.io/name=kube-job-exporter -o wide',
      '  kubectl describe deployment ' + cfg.exporterDeployment + ' -n ' + cfg.exporterNamespace,
      '  kubectl logs -n ' + cfg.exporterNamespace + ' deployment/' + cfg.exporterDeployment + ' --tail=100',
      'Then check the Prometheus targets page for the scrape error (a wrong port, a NetworkPolicy, a ServiceMonitor that selects nothing).',
    ]),
    cfg.exporterDownFor,
    kind='exporter',
  ),

  // Jobs and Pods: without them the Job metrics are stale. Events only add
  // the cause of pods that cannot be created (a Job without pods still
  // shows): their trouble is a warning in the exporter's log, not a page.
  local exporterWatch = jobAlert(
    'KubeJobExporterWatchFailing',
    cfg.severity.exporter,
    |||
      kubejob_exporter_watch_up{%s} == 0
      or
      kubejob_exporter_watch_synced{%s} == 0
    ||| % [X(['resource!="events"']), X(['resource!="events"'])],
    'kube-job-exporter {{ $labels.instance }} cannot watch {{ $labels.resource }}: its Job metrics are stale or missing.',
    std.join('\n', [
      'The exporter at {{ $labels.instance }} has been unable to list/watch {{ $labels.resource }} (or has not finished its first list) for ' + cfg.exporterWatchFailingFor + '. Its per-Job metrics are stale or missing, so Job alerts may not fire.',
      'Errors in the last 15m by reason:{{ range sortByLabel "reason" (' + t.query(cfg, 'sum by (reason) (increase(kubejob_exporter_watch_errors_total{' + p.exporterMatchers(cfg, [cfg.clusterLabel + '=CLUSTER', 'instance=%q', 'resource=%q']) + '}[15m])) > 0', ['$labels.instance', '$labels.resource']) + ') }} {{ .Labels.reason }} ({{ .Value | printf "%.0f" }}){{ else }} none counted{{ end }}.',
      'forbidden: RBAC lacks list/watch on {{ $labels.resource }}: kubectl auth can-i watch {{ $labels.resource }} --all-namespaces --as=system:serviceaccount:' + exporterNs + ':' + cfg.exporterDeployment + '; unauthorized: the service account token is invalid; unreachable: the API server or a NetworkPolicy blocks the exporter; expired alone is normal (the watch re-lists).',
      '  kubectl logs -n ' + exporterNs + ' {{ with $labels.pod }}pod/{{ . }}{{ else }}deployment/' + cfg.exporterDeployment + '{{ end }} --tail=100',
      '  kubectl get clusterrolebinding -o wide | grep ' + cfg.exporterDeployment,
    ]),
    cfg.exporterWatchFailingFor,
    kind='exporter',
  ),

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'kube-job-exporter-job-failed',
        rules: [backoffLimitExceeded, deadlineExceeded, podFailurePolicy, failedIndexes, maxFailedIndexes, failedOther],
      },
      {
        name: 'kube-job-exporter-job-at-risk',
        rules: [retryBudget, failingEveryAttempt, oomKilled, memoryNearLimit, deadlineApproaching, indexesFailing],
      },
      {
        name: 'kube-job-exporter-job-stuck',
        rules: [cannotCreatePods, podsWaiting, runningTooLong],
      },
      {
        name: 'kube-job-exporter-cronjob',
        rules: [cronJobFailed, cronJobNotSucceeding],
      },
      {
        name: 'kube-job-exporter-exporter',
        rules: [exporterDown, exporterWatch],
      },
    ],
  },
}
