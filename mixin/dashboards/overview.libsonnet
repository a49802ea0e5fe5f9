// Fleet overview: whether the exporter sees the cluster at all, which Jobs
// fail now and why, which alerts fire, how failures evolve, how the Jobs of
// each owner finished (deleted ones included), what their failed attempts
// held (GPU-, core- and GiB-hours), which Jobs wait in Kueue's queues
// and which owners Kueue evicts, which Jobs are about to fail
// (retry budget, waiting pods, backoff, deadlines), which CronJobs keep
// failing. Tables link to the Job drill-down and panels to
// runbooks.
//
// Exporter replicas expose the same series: every sum or count runs over
// `max by` the series' identity first, so two replicas do not double it.
// Every query carries the exporter's scrape selector and, with
// showMultiCluster, the cluster variable (the exporter's own panels too);
// tools/mixintest/dashboards_lint_test.go holds both.
// A stat that counts shows 0 only while every exporter target is up;
// otherwise "No data" (and the Exporter stat says why), never a false
// green 0.
local counters = import '../lib/counters.libsonnet';
local g = import '../lib/grafana.libsonnet';
local links = import '../lib/links.libsonnet';
local p = import '../lib/promql.libsonnet';
local r = import '../lib/resources.libsonnet';

function(cfg)
  local l = links(cfg);
  local cl = g.clusterMatchers(cfg);
  local S(extra=[]) = p.jobMatchers(cfg, cl + ['namespace=~"$namespace"'] + extra);
  local R(extra=[]) = p.matchers(cl + ['namespace=~"$namespace"'] + extra);  // recorded series
  local J = 'namespace, job_name';
  // The exporter's own series (up, kubejob_exporter_*).
  local E(extra=[]) = p.exporterMatchers(cfg, cl + extra);
  local upSel = E();
  // 0 where a count found nothing, but only while every exporter is up.
  local orZero = ' or on () (0 * (min(up{%s}) == 1))' % upSel;
  local rb(alert) = g.runbookLink(cfg, l, alert);
  // Drill-down links keep the data source, the cluster and the time range.
  local keep = g.keepVariables(cfg);
  local linkOverride(field, title, url) = {
    matcher: { id: 'byName', options: field },
    properties: [{ id: 'links', value: [{ title: title, url: url }] }],
  };
  local jobLinkOverride = linkOverride('job_name',
                                       'Open the Job',
                                       '/d/' + cfg.dashboardUIDs.job + keep + '&var-namespace=${__data.fields.namespace}&var-job=${__data.fields.job_name}&${__url_time_range}');
  local cronJobLinkOverride = linkOverride('cronjob',
                                           "Open the CronJob's runs",
                                           '/d/' + cfg.dashboardUIDs.job + keep + '&var-namespace=${__data.fields.namespace}&var-cronjob=${__data.fields.cronjob}&${__url_time_range}');
  local seconds(field) = { matcher: { id: 'byName', options: field }, properties: [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }] };
  local unfinished(expr) =
    '%s unless on (%s) (max by (%s) (kubejob_complete{%s}) == 1) unless on (%s) kubejob_failed{%s}' % [expr, J, J, S(), J, S()];
  local hideTime = { excludeByName: { Time: true } };
  // The per-owner counters over a range (lib/counters.libsonnet): deleted
  // Jobs included, an owner's first outcome included, replicas once,
  // shards summed.
  local c = counters(cfg);
  local counted(by, identity, metric, extra, range) = c.overRange(by, identity, metric, S(extra), range, upSel);
  local O = 'namespace, owner_kind, owner_name';
  local finished(outcome, by) =
    counted(by, O + ', outcome, reason', 'kubejob_owner_jobs_finished_total', if outcome == '' then [] else ['outcome="%s"' % outcome], '$__range');
  // Pod failures within each rate interval, from the owners' counters:
  // counted when the exporter saw the pod fail, so also those of Jobs
  // deleted since (a TTL, a CronJob's history limit), every pod once (two
  // pods of one Job failing within an interval are two), pods deleted
  // while their Job ran left out (g.notDeletedPods). The Jobs' own series
  // could do none of this: kubejob_last_failure_timestamp_seconds counts
  // a Job once per change, moves when a pod is deleted, and goes with
  // the Job.
  local podFailures(by) =
    counted(by, O + ', reason, exit_code', 'kubejob_owner_pod_failures_total', [g.notDeletedPods], '$__rate_interval');
  // The resource-time held by failed attempts over the time range, per
  // owner and resource, in the resource's hours (lib/resources.libsonnet):
  // counted when the exporter saw each pod finish, deleted Jobs included.
  local failedHours(resource, matcher) =
    '%s / %d' % [counted(O + ', resource', O + ', outcome, resource', 'kubejob_attempt_resource_seconds_total', ['outcome="failed"', matcher], '$__range'), r.perHour(resource)];
  local gpuHours = failedHours('nvidia.com/gpu', r.extended);
  local coreHours = failedHours('cpu', 'resource="cpu"');
  local gibHours = failedHours('memory', 'resource="memory"');
  // The alert's runbook, where the rules have the alert (it is off
  // unless _config.failureCostThresholds is set): a link to an alert that
  // cannot page would promise a watch no one keeps.
  local costRunbook = if r.thresholds(cfg) != {} then [rb('KubeJobFailureCostHigh')] else [];
  local costBar(title, what, expr) =
    g.bargauge(title, 'The %s held by the failed attempts (pods) of each owner over the time range: their running time times their requests, counted when the exporter saw each pod finish, also those of Jobs deleted since. The 15 owners that burnt the most.' % what, [
      g.target('topk(15, %s > 0)' % expr, '{{namespace}}/{{owner_name}} {{resource}}', instant=true),
    ], w=8, thresholds=g.thresholds([['orange', null]]), links=costRunbook);

  // Kueue (the exporter's --collector.kueue): the Jobs waiting for
  // admission with their wait, queue, cause and ClusterQueue; those
  // admitted and not started; the evictions per owner.
  local Q = J + ', queue';
  local waitingSince = 'kubejob_queue_waiting_since_timestamp_seconds{%s}' % S();
  local admittedSince = 'kubejob_queue_admitted_suspended_since_timestamp_seconds{%s}' % S();
  // The ClusterQueue of each queued Job, one series per Job and queue for
  // a group_left: replicas may disagree on it for a moment (one knows it,
  // one does not yet).
  local clusterQueue = 'topk by (%s) (1, max by (%s, cluster_queue) (kubejob_queue_info{%s}))' % [Q, Q, S()];
  local evictionsPerOwner =
    counted(O + ', reason', O + ', reason', 'kubejob_owner_queue_evictions_total', [], '$__rate_interval');

  g.dashboard(
    cfg.dashboardUIDs.overview,
    'kube-job-exporter / Overview',
    cfg,
    description='Why batch Jobs fail, across the cluster. Data from kube-job-exporter.',
    variables=[g.datasourceVariable(cfg)]
              + g.clusterVariables(cfg)
              + [
                g.queryVariable('namespace', 'Namespace', 'kubejob_info{%s}' % p.jobMatchers(cfg, cl), 'namespace', includeAll=true, allValue='.+', multi=true),
                g.queryVariable('cronjob', 'CronJob', 'kubejob_info{%s}' % S(['owner_kind="CronJob"']), 'owner_name', includeAll=true, allValue='.*', multi=true),
              ],
    links=[
      { title: 'Job drill-down', type: 'link', url: '/d/' + cfg.dashboardUIDs.job + keep, icon: 'dashboard', targetBlank: false, keepTime: true },
      { title: 'Runbooks', type: 'link', url: l.index, icon: 'doc', targetBlank: true },
    ],
    panels=[
      g.row('Now'),
      g.stat('Exporter', 'Whether Prometheus scrapes every kube-job-exporter target (up). Down or absent: the other panels show old or no data, and no Job alert can fire.', [
        g.target('min(up{%s})' % upSel, instant=true),
      ], w=3, mappings=[{ type: 'value', options: {
        '0': { text: 'DOWN', color: 'red', index: 0 },
        '1': { text: 'up', color: 'green', index: 1 },
      } }], thresholds=g.thresholds([['red', null], ['green', 1]]), colorMode='background', links=[rb('KubeJobExporterDown'), rb('KubeJobExporterAbsent')]) {
        fieldConfig+: { defaults+: { noValue: 'ABSENT' } },
      },
      g.stat('Failed Jobs', 'Jobs that failed for good and still exist.', [
        g.target('count(max by (%s) (kubejob_failed{%s}) == 1)' % [J, S()] + orZero, instant=true),
      ], links=[rb('KubeJobBackoffLimitExceeded')]),
      g.stat('Failing CronJobs', 'CronJobs whose newest run failed, with no success since.', [
        g.target(('count(max by (namespace, cronjob) (kubejob_cronjob_last_failure_timestamp_seconds{%s}) > on (namespace, cronjob) (max by (namespace, cronjob) (kubejob_cronjob_last_success_timestamp_seconds{%s}) or max by (namespace, cronjob) (kubejob_cronjob_last_failure_timestamp_seconds{%s}) * 0))' + orZero) % [S(['cronjob=~"$cronjob"']), S(['cronjob=~"$cronjob"']), S(['cronjob=~"$cronjob"'])], instant=true),
      ], w=3, links=[rb('KubeCronJobLastRunFailed')]),
      g.stat('Running Jobs', 'Jobs neither complete nor failed.', [
        g.target('count(%s)' % unfinished('max by (%s) (kubejob_info{%s})' % [J, S()]) + orZero, instant=true),
      ], w=3, thresholds=g.thresholds([['blue', null]])),
      g.stat('Jobs in backoff', 'Running Jobs waiting out the Job controller backoff delay before their next pod.', [
        g.target('count(max by (%s) (kubejob_backoff_next_retry_timestamp_seconds{%s}) > time())' % [J, S()] + orZero, instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobRetryBudgetNearlyExhausted')]),
      g.stat('Pods waiting', 'Pods stuck before running: image pull, config error, unschedulable, crash loop, a volume that does not mount, an init container that hangs.', [
        g.target('sum(max by (%s, reason) (kubejob_pods_waiting{%s}))' % [J, S()] + orZero, instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobPodsStuckWaiting')]),
      g.stat('Jobs without pods', 'Running Jobs whose new pods the API server refuses (quota, Pod Security, admission), or that have no pod at all.', [
        g.target('count(group by (%s) (kubejob_pod_create_failure_timestamp_seconds{%s} or kubejob_without_pods{%s}))' % [J, S(), S()] + orZero, instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobCannotCreatePods')]),
      g.stat('Exporter watching', 'Jobs and Pods the exporter lists and watches successfully. Below 2: its data is stale.', [
        g.target('sum(min by (resource) (kubejob_exporter_watch_up{%s}))' % E(['resource=~"jobs|pods"']), instant=true),
      ], w=3, thresholds=g.thresholds([['red', null], ['green', 2]]), links=[rb('KubeJobExporterWatchFailing')]),

      g.table('Failing Jobs now', 'Every failed Job, by terminal reason, with how its failed pods died (container, reason, exit code; pods deleted while the Job ran are not failures and are left out). Click a Job for its drill-down.', [
        g.target('(max by (%s, container, pod_reason, exit_code) (label_replace(kubejob_pod_failures{%s} > 0, "pod_reason", "$1", "reason", "(.*)")) * on (%s) group_left (reason) max by (%s, reason) (kubejob_failed{%s})) or on (%s) max by (%s, reason) (kubejob_failed{%s})' % [J, S([g.notDeletedPods]), J, J, S(), J, J, S()]),
      ], h=9, overrides=[jobLinkOverride], organize=hideTime {
        indexByName: { namespace: 0, job_name: 1, reason: 2, container: 3, pod_reason: 4, exit_code: 5, Value: 6 },
        renameByName: { reason: 'job failed', pod_reason: 'pod failure', exit_code: 'exit code', Value: 'failed pods' },
      }, links=[rb('KubeJobBackoffLimitExceeded'), rb('KubeJobDeadlineExceeded'), rb('KubeJobFailedByPodFailurePolicy'), rb('KubeJobFailingEveryAttempt')]),

      g.table('Alerts firing', "The mixin's alerts firing now (ALERTS of the Prometheus that evaluates the rules, as the data source), with their runbooks. Click an alert for its runbook, a Job for its drill-down.", [
        g.target('max by (alertname, severity, namespace, job_name, cronjob, owner_name, container) (ALERTS{%s})' % p.matchers(cl + ['alertstate="firing"', 'alertname=~"KubeJob.+|KubeCronJob.+"'])),
      ], w=12, overrides=[
        jobLinkOverride,
        cronJobLinkOverride,
        linkOverride('alertname', 'Runbook', l.report('${__data.fields.alertname}', 'namespace=${__data.fields.namespace}&job_name=${__data.fields.job_name}&cronjob=${__data.fields.cronjob}&owner_name=${__data.fields.owner_name}')),
      ], organize=hideTime { excludeByName+: { Value: true }, indexByName: { alertname: 0, severity: 1, namespace: 2, job_name: 3, cronjob: 4, owner_name: 5, container: 6 } }),
      g.table('Jobs at risk now', 'Running Jobs that may fail or hang: retries used of their budget, pods waiting to run, pods the API server refuses, time left before activeDeadlineSeconds. Click a Job for its drill-down.', [
        g.target(unfinished('max by (%s) (job_name:kubejob_retry_budget_used:ratio{%s}) > 0' % [J, R()])),
        g.target('sum by (%s) (max by (%s, reason) (kubejob_pods_waiting{%s}))' % [J, J, S()]),
        g.target('count by (%s) (max by (%s, cause) (kubejob_pod_create_failure_timestamp_seconds{%s}))' % [J, J, S()]),
        g.target(unfinished('max by (%s) (job_name:kubejob_deadline_remaining:seconds{%s})' % [J, R()])),
      ], w=12, overrides=[
        jobLinkOverride,
        { matcher: { id: 'byName', options: 'retry budget used' }, properties: [{ id: 'unit', value: 'percentunit' }] },
        seconds('deadline in'),
      ], organize=hideTime {
        excludeByName+: { 'Time 1': true, 'Time 2': true, 'Time 3': true, 'Time 4': true },
        renameByName: { 'Value #A': 'retry budget used', 'Value #B': 'pods waiting', 'Value #C': 'pod creation refused (causes)', 'Value #D': 'deadline in' },
      }, sortBy=[{ displayName: 'retry budget used', desc: true }], links=[rb('KubeJobRetryBudgetNearlyExhausted'), rb('KubeJobPodsStuckWaiting'), rb('KubeJobCannotCreatePods'), rb('KubeJobDeadlineApproaching')]),

      g.row('Failures over time'),
      g.timeseries('Failed Jobs by reason', 'Jobs failed for good, by terminal reason.', [
        g.target('sum by (reason) (namespace_reason:kubejob_failed:count{%s})' % R(), '{{reason}}'),
      ], stack=true, links=[rb('KubeJobBackoffLimitExceeded'), rb('KubeJobDeadlineExceeded')]),
      g.timeseries('Failed pods by reason and exit code', "Failed pods still present, by the failing container's reason and exit code (OOMKilled/137, Error/127 command not found, 126 not executable, …). Pods deleted while their Job ran are not failures and are left out.", [
        g.target('sum by (reason, exit_code) (namespace_reason_exit_code:kubejob_pod_failures:sum{%s})' % R([g.notDeletedPods]), '{{reason}} {{exit_code}}'),
      ], stack=true, links=[rb('KubeJobFailingEveryAttempt'), rb('KubeJobOOMKilled')]),
      g.timeseries('New pod failures', "Pods that failed, per namespace, within the rate interval before each point; counted when the exporter saw them fail, so also those of Jobs deleted since. Pods deleted while their Job ran (by a person, a tool, the Job's deletion) are not failures and are not counted.", [
        g.target(podFailures('namespace') + ' > 0', '{{namespace}}'),
      ], drawStyle='bars', stack=true, links=[rb('KubeJobFailingEveryAttempt')]),
      g.timeseries('Pods waiting by reason', 'Pods that cannot start. They never fail, so they never use up backoffLimit: only a deadline ends such a Job.', [
        g.target('sum by (reason) (max by (%s, reason) (kubejob_pods_waiting{%s}))' % [J, S()], '{{reason}}'),
      ], stack=true, links=[rb('KubeJobPodsStuckWaiting')]),

      g.row('Waiting in queues (Kueue)'),
      g.stat('Jobs waiting for admission', 'Jobs Kueue keeps suspended until it admits their Workloads (only Jobs with a kueue.x-k8s.io/queue-name label, with the exporter watching Kueue: --collector.kueue).', [
        g.target('count(max by (%s) (%s))' % [Q, waitingSince] + orZero, instant=true),
      ], w=4, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobWaitingForAdmission')]),
      g.stat('Admitted, not started', 'Jobs whose Workloads Kueue admitted while the Job is still suspended: Kueue should have started them within seconds.', [
        g.target('count(max by (%s) (%s))' % [Q, admittedSince] + orZero, instant=true),
      ], w=4, thresholds=g.thresholds([['green', null], ['red', 1]]), links=[rb('KubeJobAdmittedNotStarted')]),
      g.timeseries('Jobs waiting per queue and cause', 'Jobs waiting for admission, per namespace, LocalQueue and the cause Kueue gives (InsufficientQuota, NoFlavorFits, a queue missing or inactive, AdmissionChecks, Queued, NoWorkload).', [
        g.target('count by (namespace, queue, cause) (max by (%s, cause) (%s))' % [Q, waitingSince], '{{namespace}}/{{queue}} {{cause}}'),
      ], w=16, stack=true, links=[rb('KubeJobWaitingForAdmission')]),
      g.table('Longest waits', "The Jobs waiting longest for admission, with their LocalQueue, ClusterQueue and the cause now: the wait counts from the Workload's creation, or from its newest eviction. Click a Job for its drill-down.", [
        g.target('topk(20, (time() - max by (%s, cause) (%s)) * on (%s) group_left (cluster_queue) %s)' % [Q, waitingSince, Q, clusterQueue]),
      ], w=12, overrides=[jobLinkOverride, seconds('waiting for')], organize=hideTime {
        indexByName: { namespace: 0, job_name: 1, queue: 2, cluster_queue: 3, cause: 4, Value: 5 },
        renameByName: { queue: 'LocalQueue', cluster_queue: 'ClusterQueue', Value: 'waiting for' },
      }, sortBy=[{ displayName: 'waiting for', desc: true }], links=[rb('KubeJobWaitingForAdmission')]),
      g.table('Admitted, not started', 'Jobs whose Workloads are admitted while the Job is still suspended, and since when. Click a Job for its drill-down.', [
        g.target('(time() - max by (%s) (%s)) * on (%s) group_left (cluster_queue) %s' % [Q, admittedSince, Q, clusterQueue]),
      ], w=12, overrides=[jobLinkOverride, seconds('admitted for')], organize=hideTime {
        indexByName: { namespace: 0, job_name: 1, queue: 2, cluster_queue: 3, Value: 4 },
        renameByName: { queue: 'LocalQueue', cluster_queue: 'ClusterQueue', Value: 'admitted for' },
      }, sortBy=[{ displayName: 'admitted for', desc: true }], links=[rb('KubeJobAdmittedNotStarted')]),
      g.timeseries('Evictions per owner', "Kueue's evictions of Workloads within the rate interval before each point, per owner (a CronJob, or a standalone Job's group) and reason: preemptions (InClusterQueue, InCohortReclamation, InCohortFairSharing, …), pods not ready in time (PodsReadyTimeout), stopped queues. Counted when the exporter saw each eviction.", [
        g.target(evictionsPerOwner + ' > 0', '{{namespace}}/{{owner_name}} {{reason}}'),
      ], w=24, drawStyle='bars', stack=true, links=[rb('KubeJobEvictedRepeatedly')]),

      g.row('Jobs that finished'),
      g.table('Failed Jobs per owner', "Jobs that failed over the time range, per owner (a CronJob, or a standalone Job's group) and terminal reason, counted when the exporter saw them fail: Jobs deleted at once (ttlSecondsAfterFinished 0, by hand) count too. Jobs that finished while no exporter ran are not counted.", [
        g.target('round(%s) > 0' % finished('failed', O + ', reason')),
      ], w=12, organize=hideTime {
        indexByName: { namespace: 0, owner_kind: 1, owner_name: 2, reason: 3, Value: 4 },
        renameByName: { owner_kind: 'owner kind', owner_name: 'owner', Value: 'failed Jobs' },
      }, sortBy=[{ displayName: 'failed Jobs', desc: true }], links=[rb('KubeJobFailedAndDeleted'), rb('KubeCronJobLastRunFailed')]),
      g.table('Success ratio per owner', 'Jobs that succeeded of those that finished over the time range, per owner, lowest first; and how many finished and failed.', [
        g.target('(%s or %s * 0) / (%s > 0)' % [finished('succeeded', O), finished('', O), finished('', O)]),
        g.target('round(%s) > 0' % finished('', O)),
        g.target('round(%s)' % finished('failed', O)),
      ], w=12, overrides=[
        { matcher: { id: 'byName', options: 'success ratio' }, properties: [{ id: 'unit', value: 'percentunit' }] },
      ], organize=hideTime {
        excludeByName+: { 'Time 1': true, 'Time 2': true, 'Time 3': true },
        indexByName: { namespace: 0, owner_kind: 1, owner_name: 2, 'Value #A': 3, 'Value #B': 4, 'Value #C': 5 },
        renameByName: { owner_kind: 'owner kind', owner_name: 'owner', 'Value #A': 'success ratio', 'Value #B': 'finished', 'Value #C': 'failed' },
      }, sortBy=[{ displayName: 'success ratio', desc: false }], links=[rb('KubeJobFailedAndDeleted')]),
      g.timeseries('Pod failures per owner', "Pods that failed within the rate interval before each point, per owner and by the failing container's reason and exit code, counted when the exporter saw them fail, whether or not their Job is still there. Pods deleted while their Job ran are not failures and are not counted.", [
        g.target(podFailures(O + ', reason, exit_code') + ' > 0', '{{namespace}}/{{owner_name}} {{reason}} {{exit_code}}'),
      ], w=24, drawStyle='bars', stack=true, links=[rb('KubeJobFailedAndDeleted'), rb('KubeJobFailingEveryAttempt')]),

      g.row('Cost of failures'),
      costBar('Failed GPU-hours per owner', 'GPU-hours (hours of each extended resource the exporter counts, --outcomes.extended-resources)', gpuHours),
      costBar('Failed core-hours per owner', 'CPU core-hours', coreHours),
      costBar('Failed GiB-hours per owner', 'memory GiB-hours', gibHours),
      g.table('Owners whose failures cost most', 'Per owner, the resources its failed attempts held over the time range (GPU-hours of every extended resource together, core-hours, GiB-hours), and the share of its core-hours that failed attempts held (1: nothing it ran succeeded). Retries of a failure that repeats hold as much again each time: fix the cause rather than raise backoffLimit.', [
        g.target('sum by (%s) (%s) > 0' % [O, gpuHours]),
        g.target('sum by (%s) (%s) > 0' % [O, coreHours]),
        g.target('sum by (%s) (%s) > 0' % [O, gibHours]),
        g.target('(sum by (%s) (%s) > 0) / (sum by (%s) (%s) > 0)' % [
          O,
          failedHours('cpu', 'resource="cpu"'),
          O,
          '%s / %d' % [counted(O + ', resource', O + ', outcome, resource', 'kubejob_attempt_resource_seconds_total', ['resource="cpu"'], '$__range'), r.perHour('cpu')],
        ]),
      ], overrides=[
        { matcher: { id: 'byName', options: 'failed share of core-hours' }, properties: [{ id: 'unit', value: 'percentunit' }] },
      ], organize=hideTime {
        excludeByName+: { 'Time 1': true, 'Time 2': true, 'Time 3': true, 'Time 4': true },
        indexByName: { namespace: 0, owner_kind: 1, owner_name: 2, 'Value #A': 3, 'Value #B': 4, 'Value #C': 5, 'Value #D': 6 },
        renameByName: { owner_kind: 'owner kind', owner_name: 'owner', 'Value #A': 'GPU-hours', 'Value #B': 'core-hours', 'Value #C': 'GiB-hours', 'Value #D': 'failed share of core-hours' },
      }, sortBy=[{ displayName: 'GPU-hours', desc: true }], links=costRunbook + [rb('KubeJobFailedAndDeleted'), rb('KubeCronJobLastRunFailed')]),

      g.row('At risk'),
      g.bargauge('Retry budget used', 'Running Jobs by retries / (backoffLimit + 1); at 100% the Job fails with BackoffLimitExceeded.', [
        g.target('topk(15, %s)' % unfinished('job_name:kubejob_retry_budget_used:ratio{%s} > 0' % R()), '{{namespace}}/{{job_name}}', instant=true),
      ], unit='percentunit', thresholds=g.thresholds([['green', null], ['orange', cfg.retryBudgetThreshold], ['red', 0.85]]), links=[rb('KubeJobRetryBudgetNearlyExhausted')]) {
        fieldConfig+: { defaults+: { max: 1 } },
      },
      g.table('Jobs in backoff', 'Running Jobs whose last pod failed and that wait before the next pod. The delay doubles with each failure.', [
        g.target('max by (%s) (kubejob_backoff_next_retry_timestamp_seconds{%s}) - time()' % [J, S()]),
        g.target('max by (%s) (kubejob_backoff_delay_seconds{%s}) > 0' % [J, S()]),
        g.target('max by (%s) (kubejob_retries{%s}) and on (%s) kubejob_backoff_next_retry_timestamp_seconds{%s}' % [J, S(), J, S()]),
      ], w=12, overrides=[jobLinkOverride, seconds('next retry in'), seconds('backoff delay')], organize=hideTime {
        excludeByName+: { 'Time 1': true, 'Time 2': true, 'Time 3': true },
        renameByName: { 'Value #A': 'next retry in', 'Value #B': 'backoff delay', 'Value #C': 'retries' },
      }, links=[rb('KubeJobRetryBudgetNearlyExhausted')]),
      g.table('Deadlines', 'Running Jobs with activeDeadlineSeconds, soonest first. When it runs out the Job fails with DeadlineExceeded, whatever retries remain.', [
        g.target('bottomk(15, job_name:kubejob_deadline_remaining:seconds{%s})' % R()),
      ], w=12, overrides=[
        jobLinkOverride,
        { matcher: { id: 'byName', options: 'time left' }, properties: [{ id: 'unit', value: 's' }] },
      ], organize=hideTime { renameByName: { Value: 'time left' } }, sortBy=[{ displayName: 'time left', desc: false }], links=[rb('KubeJobDeadlineApproaching')]),
      g.timeseries('Deadline breaches', 'Jobs failed by activeDeadlineSeconds (DeadlineExceeded) over time.', [
        g.target('sum by (namespace) (namespace_reason:kubejob_failed:count{%s})' % R(['reason="DeadlineExceeded"']), '{{namespace}}'),
      ], links=[rb('KubeJobDeadlineExceeded')]),
      g.timeseries('Indexes lost', 'Failed indexes of Indexed Jobs with backoffLimitPerIndex.', [
        g.target('max by (%s) (kubejob_failed_indexes{%s}) > 0' % [J, S()], '{{namespace}}/{{job_name}}'),
      ], links=[rb('KubeJobIndexesFailing')]),

      g.row('CronJobs'),
      g.table('CronJobs', 'Every CronJob: its schedule and concurrency policy, when the next run is due (negative: overdue by that much), runs active now, since when it last succeeded and failed (and why), failed runs in a row, failed Jobs present, suspended. Schedules need the exporter to watch CronJob objects. Click a CronJob for its runs.', [
        g.target('max by (namespace, cronjob, schedule, timezone, concurrency_policy) (kubejob_cronjob_info{' + S(['cronjob=~"$cronjob"']) + '})'),
        g.target('max by (namespace, cronjob) (kubejob_cronjob_next_schedule_timestamp_seconds{' + S(['cronjob=~"$cronjob"']) + '}) - time()'),
        g.target('max by (namespace, cronjob) (kubejob_cronjob_active_runs{' + S(['cronjob=~"$cronjob"']) + '})'),
        g.target('time() - max by (namespace, cronjob) (kubejob_cronjob_last_success_timestamp_seconds{' + S(['cronjob=~"$cronjob"']) + '})'),
        g.target('time() - max by (namespace, cronjob, reason) (kubejob_cronjob_last_failure_timestamp_seconds{' + S(['cronjob=~"$cronjob"']) + '})'),
        g.target('max by (namespace, cronjob) (kubejob_cronjob_consecutive_failed_runs{' + S(['cronjob=~"$cronjob"']) + '})'),
        g.target('max by (namespace, cronjob) (namespace_cronjob:kubejob_failed_jobs:count{' + R(['cronjob=~"$cronjob"']) + '})'),
        g.target('max by (namespace, cronjob) (kubejob_cronjob_suspended{' + S(['cronjob=~"$cronjob"']) + '})'),
      ], h=10, overrides=[cronJobLinkOverride, seconds('next run in'), seconds('last success'), seconds('last failure')], organize=hideTime {
        excludeByName+: { 'Time 1': true, 'Time 2': true, 'Time 3': true, 'Time 4': true, 'Time 5': true, 'Time 6': true, 'Time 7': true, 'Time 8': true, 'Value #A': true },
        indexByName: { namespace: 0, cronjob: 1, schedule: 2, timezone: 3, concurrency_policy: 4, 'Value #B': 5, 'Value #C': 6, 'Value #D': 7, 'Value #E': 8, reason: 9, 'Value #F': 10, 'Value #G': 11, 'Value #H': 12 },
        renameByName: { concurrency_policy: 'policy', 'Value #B': 'next run in', 'Value #C': 'active runs', 'Value #D': 'last success', 'Value #E': 'last failure', reason: 'failure reason', 'Value #F': 'failed in a row', 'Value #G': 'failed Jobs', 'Value #H': 'suspended' },
      }, links=[rb('KubeCronJobLastRunFailed'), rb('KubeCronJobMissedSchedule'), rb('KubeCronJobNotSucceeding'), rb('KubeCronJobRunsOverlap')], sortBy=[{ displayName: 'failed in a row', desc: true }]),

      g.row('Exporter'),
      g.timeseries('Watch errors', 'List/watch errors of the exporter by reason. forbidden: RBAC; unreachable: API server or network; expired alone is normal.', [
        g.target('sum by (resource, reason) (rate(kubejob_exporter_watch_errors_total{%s}[$__rate_interval]))' % E(), '{{resource}} {{reason}}'),
      ], unit='ops', links=[rb('KubeJobExporterWatchFailing')]),
      g.timeseries('Event processing delay (p99)', 'From a Job/Pod watch event to updated metrics.', [
        g.target('histogram_quantile(0.99, sum by (le) (rate(kubejob_exporter_event_processing_delay_seconds_bucket{%s}[$__rate_interval])))' % E(), 'p99'),
        g.target('histogram_quantile(0.99, sum by (le) (rate(kubejob_exporter_scrape_duration_seconds_bucket{%s}[$__rate_interval])))' % E(), 'scrape p99'),
      ], unit='s', links=[rb('KubeJobExporterDown')]),
      g.stat('Pod metrics', 'Whether the exporter reads memory working sets from metrics.k8s.io (--collector.pod-metrics). Unavailable: metrics-server absent or forbidden, so KubeJobMemoryNearLimit cannot fire (OOM kills are still reported). Off: the collector is not enabled.', [
        g.target('min(kubejob_exporter_pod_metrics_up{%s})' % E(), instant=true),
      ], w=24, mappings=[{ type: 'value', options: {
        '0': { text: 'unavailable', color: 'orange', index: 0 },
        '1': { text: 'ok', color: 'green', index: 1 },
      } }], thresholds=g.thresholds([['orange', null], ['green', 1]]), links=[rb('KubeJobMemoryNearLimit')]) {
        fieldConfig+: { defaults+: { noValue: 'off' } },
      },
    ],
  )
