// A Job that neither fails nor progresses: pods the API server refuses,
// pods that do not start, a run that does not end. One alert per Job,
// whatever its pod count; the expression selects the condition and `for`
// carries the patience (only the run-time limit is in the expression).
// Like the at-risk alerts they ride out a short scrape gap only.
local t = import '../lib/templates.libsonnet';

{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local rule(name, expr, summary, description, for_) =
    a.rule(name, expr, summary, description, for_, keepFiringFor=cfg.keepFiringForAtRisk),

  // Pods that wait, per Job over every reason: the kubelet flips a pod
  // between ErrImagePull and ImagePullBackOff, which a per-reason alert
  // would take for a new problem and restart its `for`. A crash loop
  // (restartPolicy OnFailure) waits only between runs: the window bridges
  // them. The reasons now are named in the summary (one small query: the
  // identity must not carry what flips).
  local podsWaiting = rule(
    'KubeJobPodsStuckWaiting',
    a.withOwner(a.notSuspended(a.unfinished(a.existing(|||
      group by (%(J)s) (
        kubejob_pods_waiting{%(waiting)s}
        or
        max_over_time(kubejob_pods_waiting{%(crash)s}[%(window)s])
      )
    ||| % { J: a.J, waiting: a.S(['reason!="CrashLoopBackOff"']), crash: a.S(['reason="CrashLoopBackOff"']), window: cfg.crashLoopWindow })))),
    a.jobRef + ': pods stuck before running ('
    + '{{ range $i, $r := ' + t.query(cfg, 'sort_desc(max by (reason) (kubejob_pods_waiting{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '}))', ['$labels.namespace', '$labels.job_name']) + ' }}{{ if $i }}, {{ end }}{{ $r.Labels.reason }} ×{{ $r.Value }}{{ else }}crash loop between runs{{ end }}).',
    'Its pods have not run their work for ' + cfg.podsWaitingFor + " (an image that cannot be pulled, a missing ConfigMap or Secret, no node, a volume that does not mount, an init container that hangs, a crash loop): they never fail, so only activeDeadlineSeconds ends the Job. The runbook says how to read the pods' events and what to fix.",
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
  // first 25), so a Job that gets no new pod shows continuously. The cause
  // is named from a small query: it changes to "none" when the events
  // expire, which must not start a new alert.
  local createCause = '{{ $cause := "" }}{{ with ' + t.query(cfg, 'topk(1, kubejob_pod_create_failure_timestamp_seconds{' + t.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '})', ['$labels.namespace', '$labels.job_name']) + ' }}{{ $cause = (first .).Labels.cause }}{{ end }}',
  // The command that shows the cause ($ns: the namespace as a command
  // argument, bound once by the description).
  local createCommand =
    '{{ if eq $cause "Quota" }}kubectl describe resourcequota -n {{ $ns }}'
    + '{{ else if eq $cause "LimitRange" }}kubectl describe limitrange -n {{ $ns }}'
    + '{{ else if eq $cause "PodSecurity" }}kubectl get namespace {{ $ns }} --show-labels'
    + '{{ else if eq $cause "AdmissionPolicy" }}kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings'
    + '{{ else if eq $cause "AdmissionWebhook" }}kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations'
    + '{{ else if eq $cause "ServiceAccount" }}kubectl get serviceaccounts -n {{ $ns }}'
    + '{{ else }}kubectl describe job ' + a.jobArg + ' -n {{ $ns }}{{ end }}',
  local cannotCreatePods = rule(
    'KubeJobCannotCreatePods',
    a.withOwner(a.notSuspended(a.unfinished(a.existing(|||
      group by (%(J)s) (
        kubejob_pod_create_failure_timestamp_seconds{%(S)s}
        or
        kubejob_without_pods{%(S)s}
      )
    ||| % { J: a.J, S: a.S() })))),
    createCause + a.jobRef + ' cannot create its pods{{ with $cause }}: {{ . }}{{ end }}.',
    createCause + a.argVar('ns', 'namespace') + '{{ if $cause }}For ' + cfg.jobCannotCreatePodsFor + ' the API server has refused every new pod of the Job ({{ $cause }})'
    + '{{ else }}The Job has started but has had no pod for ' + cfg.jobCannotCreatePodsFor + ' and no FailedCreate event (left) says why{{ end }}'
    + ': ' + createCommand + '. It does not fail for it (only activeDeadlineSeconds ends it); the Job controller creates the pods once they are allowed.',
    cfg.jobCannotCreatePodsFor,
  ),

  // Runs that do not end: running longer than the run-time limit (per
  // namespace or Job from _config), or, for a CronJob run, longer than a
  // multiple of its CronJob's last successful run.
  local J = a.J,
  local overrides = cfg.jobRunTimeLimitOverrides,
  // The absolute limits exclude each other (first match wins) and carry
  // the labels J; the CronJob limit carries J and cronjob: min by (J)
  // takes the lower of the two.
  local absoluteLimits = a.limits('kubejob_start_timestamp_seconds', J, overrides, cfg.jobRunTimeLimitSeconds),
  // The Jobs whose first matching override says no limit.
  local noLimit = a.unlimited('kubejob_start_timestamp_seconds', J, overrides),
  local cronLimit = |||
    %(runCronJob)s * 0
    + on (%(C)s) group_left ()
    clamp_min(%(factor)g * max by (%(C)s) (kubejob_cronjob_last_success_duration_seconds{%(S)s}), %(min)d)
  ||| % { C: a.C, S: a.S(), runCronJob: std.stripChars(a.runCronJob, '\n'), factor: cfg.cronJobRunTimeFactor, min: cfg.cronJobRunTimeMinSeconds },
  local runTimeLimit =
    local limits = absoluteLimits + (if cfg.cronJobRunTimeFactor > 0 then '\n  or\n  ' + std.stripChars(cronLimit, '\n') else '');
    local all = 'min by (%s) (\n  %s\n)' % [J, limits];
    if std.length(noLimit) == 0 then all
    else '%s\nunless on (%s) (%s)' % [all, J, std.join(' or ', ['(%s)' % n for n in noLimit])],
  local runningTooLong = rule(
    'KubeJobRunningTooLong',
    a.withOwner(a.notSuspended(a.unfinished(|||
      (time() - max by (%(J)s) (kubejob_start_timestamp_seconds{%(S)s}))
      > on (%(J)s)
      (
      %(limit)s
      )
    ||| % { J: J, S: a.S(), limit: runTimeLimit }))),
    a.jobRef + ' has been running for {{ $value | humanizeDuration }}.',
    'It started {{ $value | humanizeDuration }} ago and has not finished, longer than its run-time limit' + (if cfg.cronJobRunTimeFactor > 0 then '{{ if eq $labels.owner_kind "CronJob" }} or ' + std.toString(cfg.cronJobRunTimeFactor) + ' times the last successful run of CronJob {{ $labels.owner_name }}{{ end }}' else '') + ': it may hang (a program that waits forever, pods that never start). Without activeDeadlineSeconds nothing ends it; under concurrencyPolicy Forbid it also blocks the next runs.',
    cfg.jobRunningTooLongFor,
  ),

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-job-stuck',
      rules: [cannotCreatePods, podsWaiting, runningTooLong],
    }],
  },
}
