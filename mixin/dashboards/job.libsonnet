// One Job in detail: state, retries against backoffLimit, the backoff
// timeline, how its pods failed (container, reason, exit code), indexes,
// the deadline countdown, memory limits against OOM kills and against the
// working set (memory before OOM), what its owner's failed attempts held,
// its place in its Kueue queue, and the alerts firing for it.
//
// Exporter replicas expose the same series: `max` first, so two replicas
// do not double a sum. A Job that is gone (deleted, or not seen because the
// exporter is down) shows "not found", not a state it no longer has.
local counters = import '../lib/counters.libsonnet';
local g = import '../lib/grafana.libsonnet';
local links = import '../lib/links.libsonnet';
local p = import '../lib/promql.libsonnet';
local r = import '../lib/resources.libsonnet';

function(cfg)
  local l = links(cfg);
  local cl = g.clusterMatchers(cfg);
  local S(extra=[]) = p.jobMatchers(cfg, cl + ['namespace="$namespace"', 'job_name="$job"'] + extra);
  local rb(alert) = g.runbookLink(cfg, l, alert, 'namespace=${namespace}&job_name=${job}');
  local hideTime = { excludeByName: { Time: true, Value: true } };
  local keep = g.keepVariables(cfg);
  // Only while the Job exists: a deleted Job has no state.
  local ifExists = ' and on () max(kubejob_info{%s})' % S();
  // What the failed attempts of the Job's owner held over the time range
  // (the counter is per owner: a CronJob's runs add up under it), in the
  // resource's hours; while the Job exists (its kubejob_info names the
  // owner), 0 when they held nothing.
  local O = 'namespace, owner_kind, owner_name';
  local c = counters(cfg);
  local ownerFailedHours(resource, matcher) =
    '(sum(%s and on (%s) kubejob_info{%s}) / %d) or on () (0 * max(kubejob_info{%s}))' % [
      c.overRange(O, O + ', outcome, resource', 'kubejob_attempt_resource_seconds_total', p.jobMatchers(cfg, cl + ['namespace="$namespace"', 'outcome="failed"', matcher]), '$__range', p.exporterMatchers(cfg, cl)),
      O,
      S(),
      r.perHour(resource),
      S(),
    ];
  local ownerCost(title, what, resource, matcher) =
    g.stat(title, "The %s held by the failed attempts (pods) of this Job's owner (its CronJob, or its group of standalone Jobs: see the Job table) over the time range, this Job's and its siblings', deleted ones included." % what, [
      g.target(ownerFailedHours(resource, matcher), instant=true),
    ], w=8, thresholds=g.thresholds([['text', null]])) {
      fieldConfig+: { defaults+: { decimals: 1 } },
    };

  // The Job's place in its Kueue queue (the exporter's
  // --collector.kueue): series only for a Job labelled with a queue name.
  local waiting = 'kubejob_queue_waiting_since_timestamp_seconds{%s}' % S();
  local admitted = 'kubejob_queue_admitted_suspended_since_timestamp_seconds{%s}' % S();
  local queueInfo = 'kubejob_queue_info{%s}' % S();
  // The evictions of the Job's owner's Workloads over the time range, per
  // reason (the counter is per owner), while the Job exists.
  local ownerEvictions =
    'sum by (reason) (%s and on (%s) kubejob_info{%s})' % [
      c.overRange(O + ', reason', O + ', reason', 'kubejob_owner_queue_evictions_total', p.jobMatchers(cfg, cl + ['namespace="$namespace"']), '$__range', p.exporterMatchers(cfg, cl)),
      O,
      S(),
    ];

  g.dashboard(
    cfg.dashboardUIDs.job,
    'kube-job-exporter / Job',
    cfg,
    description='One Job: retries against its limit, backoff, why its pods fail, indexes, deadline, memory.',
    variables=[g.datasourceVariable(cfg)]
              + g.clusterVariables(cfg)
              + [
                g.queryVariable('namespace', 'Namespace', 'kubejob_info{%s}' % p.jobMatchers(cfg, cl), 'namespace'),
                g.queryVariable('cronjob', 'CronJob', 'kubejob_info{%s}' % p.jobMatchers(cfg, cl + ['namespace="$namespace"', 'owner_kind="CronJob"']), 'owner_name', includeAll=true, allValue='.*'),
                g.queryVariable('job', 'Job', 'kubejob_info{%s}' % p.jobMatchers(cfg, cl + ['namespace="$namespace"', 'owner_name=~"$cronjob"']), 'job_name'),
              ],
    links=[
      { title: 'Overview', type: 'link', url: '/d/' + cfg.dashboardUIDs.overview + keep, icon: 'dashboard', targetBlank: false, keepTime: true },
      { title: 'Runbooks', type: 'link', url: l.index, icon: 'doc', targetBlank: true },
    ],
    panels=[
      g.row('State'),
      g.stat('Status', 'Running, Suspended, Complete, or Failed (for good). Not found: the Job was deleted, or the exporter does not see it (down, or another shard).', [
        g.target('((max(kubejob_complete{%s}) or vector(0)) + 2 * (max(kubejob_failed{%s}) or vector(0)) + 3 * (max(kubejob_suspended{%s}) or vector(0)))' % [S(), S(), S()] + ifExists, instant=true),
      ], mappings=[{ type: 'value', options: {
        '0': { text: 'Running', color: 'blue', index: 0 },
        '1': { text: 'Complete', color: 'green', index: 1 },
        '2': { text: 'Failed', color: 'red', index: 2 },
        '3': { text: 'Suspended', color: 'purple', index: 3 },
      } }], colorMode='background', links=[rb('KubeJobBackoffLimitExceeded')]) {
        fieldConfig+: { defaults+: { noValue: 'not found' } },
      },
      g.stat('Failed reason', 'The terminal reason once the Job failed.', [
        g.target('max by (reason) (kubejob_failed{%s})' % S(), '{{reason}}', instant=true),
      ], w=5, thresholds=g.thresholds([['red', null]])) { options+: { textMode: 'name' } },
      g.stat('Retries', 'Failures counted against backoffLimit, as the Job controller counts them (pods deleted while the Job ran included).', [
        g.target('max(kubejob_retries{%s})' % S(), instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]])),
      g.stat('backoffLimit', 'spec.backoffLimit: the Job fails when retries exceed it.', [
        g.target('max(kubejob_backoff_limit{%s})' % S(), instant=true),
      ], w=3, thresholds=g.thresholds([['text', null]])),
      g.stat('Deadline in', 'Time left until activeDeadlineSeconds fails the Job (while it runs).', [
        g.target('max(kubejob_deadline_timestamp_seconds{%s}) - time()' % S(), instant=true),
      ], unit='s', w=5, thresholds=g.thresholds([['red', null], ['orange', 60], ['green', 600]]), links=[rb('KubeJobDeadlineApproaching')]),
      g.stat('Pods waiting', 'Pods stuck before running.', [
        g.target('(sum(max by (reason) (kubejob_pods_waiting{%s})) or vector(0))' % S() + ifExists, instant=true),
      ], thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobPodsStuckWaiting')]),
      g.table('Job', 'Owner, completion mode, restart policy, limits.', [
        g.target('max by (namespace, job_name, owner_kind, owner_name, completion_mode, restart_policy) (kubejob_info{%s})' % S()),
      ], h=4, organize=hideTime),
      g.table('Alerts firing', "The mixin's alerts firing for this Job (ALERTS of the Prometheus that evaluates the rules, as the data source). Click one for its runbook with this Job's report.", [
        g.target('max by (alertname, severity, container) (ALERTS{%s})' % p.matchers(cl + ['alertstate="firing"', 'namespace="$namespace"', 'job_name="$job"'])),
      ], h=4, overrides=[{
        matcher: { id: 'byName', options: 'alertname' },
        properties: [{ id: 'links', value: [{ title: 'Runbook', url: l.report('${__data.fields.alertname}', 'namespace=${namespace}&job_name=${job}') }] }],
      }], organize=hideTime),

      g.row('Retries and backoff'),
      g.timeseries('Retries vs limit', 'Failures counted against backoffLimit; the Job fails when they exceed the limit.', [
        g.target('max(kubejob_retries{%s})' % S(), 'retries'),
        g.target('max(kubejob_backoff_limit{%s})' % S(), 'backoffLimit'),
      ], links=[rb('KubeJobRetryBudgetNearlyExhausted')]),
      g.gauge('Retry budget used', 'retries / (backoffLimit + 1).', [
        g.target('max(job_name:kubejob_retry_budget_used:ratio{%s})' % p.matchers(cl + ['namespace="$namespace"', 'job_name="$job"']), instant=true),
      ], thresholds=g.thresholds([['green', null], ['orange', cfg.retryBudgetThreshold], ['red', 0.85]]), links=[rb('KubeJobRetryBudgetNearlyExhausted')]),
      g.timeseries('Backoff timeline', 'The Job controller delay before the next pod (doubling per failure), and the time until that retry.', [
        g.target('max(kubejob_backoff_delay_seconds{%s})' % S(), 'backoff delay'),
        g.target('max(kubejob_backoff_next_retry_timestamp_seconds{%s}) - time()' % S(), 'next retry in'),
      ], unit='s', w=6),
      g.timeseries('Pods by state', 'Pods of the Job: active, ready, succeeded, failed, terminating.', [
        g.target('max by (state) (kubejob_pods{%s})' % S(), '{{state}}'),
      ]),
      g.timeseries('Pods waiting by reason', 'Image pull, config error, unschedulable, crash loop.', [
        g.target('max by (reason) (kubejob_pods_waiting{%s})' % S(), '{{reason}}'),
      ], links=[rb('KubeJobPodsStuckWaiting')]),

      g.row('Why pods fail'),
      g.timeseries('Pod failures by container, reason, exit code', 'Failed pods still present, by failing container (init containers by name), reason and exit code. 137 OOMKilled: memory limit; 127: command not found; 126: not executable; 1: application error. Pods deleted while the Job ran are not failures and are left out (Retries counts them, as the Job controller does).', [
        g.target('max by (container, reason, exit_code) (kubejob_pod_failures{%s})' % S([g.notDeletedPods]), '{{container}} {{reason}} {{exit_code}}'),
      ], stack=true, links=[rb('KubeJobFailingEveryAttempt'), rb('KubeJobBackoffLimitExceeded')]),
      g.table('Failures now', 'The same, as a table: failed pods still present, pods deleted while the Job ran left out.', [
        g.target('max by (container, reason, exit_code) (kubejob_pod_failures{%s})' % S([g.notDeletedPods])),
      ], w=12, organize={ excludeByName: { Time: true }, renameByName: { Value: 'failed pods', exit_code: 'exit code' } }, links=[rb('KubeJobFailingEveryAttempt')]),
      g.timeseries('Memory limit vs OOM kills', 'Memory limit of each container (left) and its OOMKilled pods (right, bars).', [
        g.target('max by (container) (kubejob_container_memory_limit_bytes{%s})' % S(), 'limit {{container}}'),
        g.target('sum by (container) (max by (container, exit_code) (kubejob_pod_failures{%s}))' % S(['reason="OOMKilled"']), 'OOMKilled {{container}}'),
      ], unit='bytes', links=[rb('KubeJobOOMKilled')]) {
        fieldConfig+: { overrides: [{
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'unit', value: 'short' },
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'custom.drawStyle', value: 'bars' },
            { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
          ],
        }] },
      },
      g.timeseries('Memory working set vs limit', "Highest memory working set of each container among the running pods (metrics-server, needs the exporter's --collector.pod-metrics; empty without it) against its memory limit (dashed). At the limit the container is OOMKilled (exit code 137) and the pod counts toward backoffLimit.", [
        g.target('max by (container) (kubejob_container_memory_working_set_bytes{%s})' % S(), 'working set {{container}}'),
        g.target('max by (container) (kubejob_container_memory_limit_bytes{%s})' % S(), 'limit {{container}}'),
      ], unit='bytes', links=[rb('KubeJobMemoryNearLimit'), rb('KubeJobOOMKilled')]) {
        fieldConfig+: { overrides: [{
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
            { id: 'custom.fillOpacity', value: 0 },
          ],
        }] },
      },
      g.stat('Last pod failure', 'When the newest failed pod finished.', [
        g.target('max(kubejob_last_failure_timestamp_seconds{%s}) * 1000' % S(), instant=true),
      ], unit='dateTimeFromNow', w=6, h=8, thresholds=g.thresholds([['text', null]])),
      g.stat('Started / completed', 'status.startTime and status.completionTime.', [
        g.target('max(kubejob_start_timestamp_seconds{%s}) * 1000' % S(), 'started', instant=true),
        g.target('max(kubejob_completion_timestamp_seconds{%s}) * 1000' % S(), 'completed', instant=true),
      ], unit='dateTimeAsIso', w=6, h=8, thresholds=g.thresholds([['text', null]])),

      g.row("Cost of failures (the Job's owner)"),
      ownerCost("Owner's failed GPU-hours", 'GPU-hours (of every extended resource the exporter counts)', 'nvidia.com/gpu', r.extended),
      ownerCost("Owner's failed core-hours", 'CPU core-hours', 'cpu', 'resource="cpu"'),
      ownerCost("Owner's failed GiB-hours", 'memory GiB-hours', 'memory', 'resource="memory"'),

      g.row('Queue (Kueue)'),
      g.stat('Queue state', 'Where the Job stands in its Kueue queue: waiting for admission, admitted but still suspended (Kueue should have started it), admitted and running, or held (its Workload deactivated). Not queued: the Job has no kueue.x-k8s.io/queue-name label, has finished, or the exporter does not watch Kueue (--collector.kueue).', [
        g.target('(max(%s) * 0 + 1) or (max(%s) * 0 + 2) or (max(%s) * 0 + 4 and on () max(kubejob_suspended{%s}) == 1) or (max(%s) * 0 + 3)' % [waiting, admitted, queueInfo, S(), queueInfo], instant=true),
      ], w=5, mappings=[{ type: 'value', options: {
        '1': { text: 'Waiting', color: 'orange', index: 0 },
        '2': { text: 'Admitted, not started', color: 'red', index: 1 },
        '3': { text: 'Admitted, running', color: 'green', index: 2 },
        '4': { text: 'Held (deactivated)', color: 'purple', index: 3 },
      } }], colorMode='background', links=[rb('KubeJobWaitingForAdmission'), rb('KubeJobAdmittedNotStarted')]) {
        fieldConfig+: { defaults+: { noValue: 'not queued' } },
      },
      g.stat('Waiting for', 'How long the Job has waited for admission: since its Workload was created, or since its newest eviction.', [
        g.target('time() - max(%s)' % waiting, instant=true),
      ], unit='s', w=4, thresholds=g.thresholds([['green', null], ['orange', cfg.queueWaitLimitSeconds]]), links=[rb('KubeJobWaitingForAdmission')]),
      g.stat('Why it waits', "The cause Kueue gives now (InsufficientQuota, NoFlavorFits, a queue missing or inactive, AdmissionChecks, Queued, NoWorkload); it may change between attempts. Kueue's own message is on the runbook page.", [
        g.target('max by (cause) (%s)' % waiting, '{{cause}}', instant=true),
      ], w=5, thresholds=g.thresholds([['orange', null]]), links=[rb('KubeJobWaitingForAdmission')]) { options+: { textMode: 'name' } },
      g.stat('Admitted, suspended for', 'How long ago Kueue admitted the Workload while the Job is still suspended.', [
        g.target('time() - max(%s)' % admitted, instant=true),
      ], unit='s', w=4, thresholds=g.thresholds([['orange', null]]), links=[rb('KubeJobAdmittedNotStarted')]),
      g.table('Queue', 'The LocalQueue the Job asks for and the ClusterQueue that admits it (empty while unknown: no such LocalQueue).', [
        g.target('max by (queue, cluster_queue) (%s)' % queueInfo),
      ], w=6, h=4, organize=hideTime { renameByName: { queue: 'LocalQueue', cluster_queue: 'ClusterQueue' } }),
      g.bargauge("Owner's evictions by reason", "Kueue's evictions of the Workloads of this Job's owner (its CronJob, or its group of standalone Jobs) over the time range, by reason: preemptions, pods not ready in time (PodsReadyTimeout), stopped queues.", [
        g.target(ownerEvictions + ' > 0', '{{reason}}', instant=true),
      ], w=24, h=5, links=[rb('KubeJobEvictedRepeatedly')]),

      g.row('Indexes (Indexed Jobs)'),
      g.bargauge('Failures per index', 'Indexes with failures, worst first.', [
        g.target('sort_desc(max by (index) (kubejob_index_failures{%s}))' % S(), 'index {{index}}', instant=true),
      ], links=[rb('KubeJobIndexesFailing')]),
      g.timeseries('Indexes', 'Completed and failed indexes; limits per index and of failed indexes.', [
        g.target('max(kubejob_completed_indexes{%s})' % S(), 'completed'),
        g.target('max(kubejob_failed_indexes{%s})' % S(), 'failed'),
        g.target('max(kubejob_max_failed_indexes{%s})' % S(), 'maxFailedIndexes'),
        g.target('max(kubejob_backoff_limit_per_index{%s})' % S(), 'backoffLimitPerIndex'),
      ], links=[rb('KubeJobFailedIndexes'), rb('KubeJobMaxFailedIndexesExceeded')]),

      g.row('Deadline'),
      g.timeseries('Deadline countdown', 'Seconds left of activeDeadlineSeconds while the Job runs.', [
        g.target('max(kubejob_deadline_timestamp_seconds{%s}) - time()' % S(), 'time left'),
        g.target('max(kubejob_active_deadline_seconds{%s})' % S(), 'activeDeadlineSeconds'),
      ], unit='s', w=24, links=[rb('KubeJobDeadlineApproaching'), rb('KubeJobDeadlineExceeded')]),
    ],
  )
