// Jobs that Kueue queues (the exporter's --collector.kueue): a Job that
// waits too long for admission, a Job admitted and not started, an owner
// whose Workloads are evicted again and again.
//
// The per-Job series exist only for a Job labelled
// kueue.x-k8s.io/queue-name whose Workload the exporter watches, and only
// in the state they name: a Job a person suspended (no queue label) has
// none, nor has a deactivated Workload (held on purpose) or a finished
// Job. When Kueue admits and starts the Job, or the Job is deleted, the
// series go and the alert resolves (after keep_firing_for, which, as for
// the stuck alerts, rides out a short scrape gap only). A waiting Job is
// suspended: none of these alerts leaves out suspended Jobs.
local t = import '../lib/templates.libsonnet';

{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,

  // A Job in its queue: the queue label is part of it (a Job names one).
  local Q = a.by(['namespace', 'job_name', 'queue']),
  local waitingSince = 'kubejob_queue_waiting_since_timestamp_seconds',
  local admittedSince = 'kubejob_queue_admitted_suspended_since_timestamp_seconds',

  // Template snippets that look up what may change while an alert fires
  // and so cannot be one of its labels: the ClusterQueue (unknown until
  // the LocalQueue or the admission names it) and why the Job waits
  // (Kueue's reason flips between attempts). $cq and $cause are "" when
  // the series is not there.
  local jobMatchers = t.matchers(cfg, ['namespace=%q', 'job_name=%q', 'queue=%q']),
  local jobArgs = ['$labels.namespace', '$labels.job_name', '$labels.queue'],
  local clusterQueue = '{{ $cq := "" }}{{ with ' + t.query(cfg, 'topk(1, max by (cluster_queue) (kubejob_queue_info{' + jobMatchers + ',cluster_queue!=""}))', jobArgs) + ' }}{{ $cq = (first .).Labels.cluster_queue }}{{ end }}',
  local waitCause = '{{ $cause := "" }}{{ with ' + t.query(cfg, 'topk(1, max by (cause) (' + waitingSince + '{' + jobMatchers + '}))', jobArgs) + ' }}{{ $cause = (first .).Labels.cause }}{{ end }}',
  local inQueue = 'queue {{ $labels.queue }}{{ with $cq }} (ClusterQueue {{ . }}){{ end }}',
  // Command arguments: only the characters a name can have.
  local bindArgs = a.argVar('ns', 'namespace') + '{{ $cqArg := ' + a.sanitized('$cq') + ' }}',
  local describeClusterQueue = '{{ if $cqArg }}kubectl describe clusterqueue {{ $cqArg }}{{ else }}kubectl get clusterqueues{{ end }}',
  local kueueLogs = 'kubectl logs -n kueue-system deployment/kueue-controller-manager',

  // Waiting for admission longer than its limit: the limit is in the
  // expression (per namespace or queue from _config, first match wins),
  // the wait counted from the series' value, so a scrape gap or an
  // exporter restart does not start it again; the identity leaves out the
  // cause, which flips.
  local waitLimits = a.limits(waitingSince, Q, cfg.queueWaitLimitOverrides, cfg.queueWaitLimitSeconds),
  local waiting = a.rule(
    'KubeJobWaitingForAdmission',
    a.withOwner(|||
      (time() - max by (%(Q)s) (%(m)s{%(S)s}))
      > on (%(Q)s)
      (
      %(limits)s
      )
    ||| % { Q: Q, m: waitingSince, S: a.S(), limits: waitLimits }),
    clusterQueue + waitCause + a.jobRef + ' has waited {{ $value | humanizeDuration }} for Kueue to admit it to ' + inQueue + '{{ with $cause }}: {{ . }}{{ end }}.',
    clusterQueue + bindArgs + 'It stays suspended, its pods not created, until Kueue admits its Workload: ' + describeClusterQueue + " and kubectl get workloads -n {{ $ns }}; the runbook says what each cause needs, the live report has Kueue's own message.",
    cfg.queueWaitFor,
    keepFiringFor=cfg.keepFiringForAtRisk,
  ),

  // Admitted and still suspended: Kueue should have unsuspended the Job
  // within seconds. The patience is the `for`. An eviction does not show
  // here: from the moment Kueue evicts, the exporter shows the Job
  // waiting again (cause Other until the quota is released), however
  // long its pods take to terminate. The value is the admission's age.
  local admittedNotStarted = a.rule(
    'KubeJobAdmittedNotStarted',
    a.withOwner('time() - max by (%s) (%s{%s})' % [Q, admittedSince, a.S()]),
    clusterQueue + a.jobRef + ' was admitted by Kueue to ' + inQueue + ' {{ $value | humanizeDuration }} ago and is still suspended.',
    a.argVar('ns', 'namespace') + 'Kueue has not unsuspended it for ' + cfg.queueAdmittedNotStartedFor + ' (its controller down or failing, an update of the Job refused by a webhook or a policy, someone suspending it again), and its Workload holds quota meanwhile: ' + kueueLogs + ' and kubectl get workloads -n {{ $ns }}.',
    cfg.queueAdmittedNotStartedFor,
    keepFiringFor=cfg.keepFiringForAtRisk,
  ),

  // One owner's Workloads evicted again and again within the window, from
  // the recording rule of the per-owner counter (rules/rules.libsonnet,
  // lib/counters.libsonnet: an owner's first evictions counted, replicas
  // once, shards summed, an exporter restart a counter reset), which also
  // names the reasons in the description. One alert per owner. No
  // keep_firing_for: the recorded series reads its window, which rides
  // out gaps and restarts.
  local O = 'namespace, owner_kind, owner_name',
  local ownerArgs = ['$labels.namespace', '$labels.owner_kind', '$labels.owner_name'],
  local reasonsQuery = t.query(cfg, 'sort_desc(%s{%s=CLUSTER,namespace=%%q,owner_kind=%%q,owner_name=%%q} > 0)' % [$.queueEvictionsRecord, cfg.clusterLabel], ownerArgs),
  local evictedRepeatedly = a.rule(
    'KubeJobEvictedRepeatedly',
    'sum by (%s) (%s)\n>= %d\n' % [a.by([O]), $.queueEvictionsRecord, cfg.queueEvictionsThreshold],
    'Kueue evicted the Workloads of {{ $labels.owner_kind }} {{ $labels.namespace }}/{{ $labels.owner_name }} {{ $value | printf "%.0f" }} times in the last ' + cfg.queueEvictionsWindow + '.',
    'Reasons: {{ range $i, $r := ' + reasonsQuery + ' }}{{ if $i }}, {{ end }}{{ $r.Labels.reason }} ×{{ printf "%.0f" $r.Value }}{{ end }}. Each eviction stops its pods and requeues the Job, losing the work since its last checkpoint; the runbook says what to check per reason.',
    keepFiringFor=null,
    runbookQuery=['namespace', 'owner_name'],
  ),
  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-queue',
      rules: [waiting, admittedNotStarted, evictedRepeatedly],
    }],
  },
}
