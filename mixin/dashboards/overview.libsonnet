// Fleet overview: which Jobs fail now and why, how failures evolve, which
// Jobs are about to fail (retry budget, backoff, deadlines), which CronJobs
// keep failing. Tables link to the Job drill-down and panels to runbooks.
local g = import '../lib/grafana.libsonnet';
local p = import '../lib/promql.libsonnet';

function(cfg)
  local cl = if cfg.showMultiCluster then [cfg.clusterLabel + '=~"$cluster"'] else [];
  local S(extra=[]) = p.jobMatchers(cfg, cl + ['namespace=~"$namespace"'] + extra);
  local R(extra=[]) = p.matchers(cl + ['namespace=~"$namespace"'] + extra);  // recorded series
  local J = 'namespace, job_name';
  local rb(alert) = g.link('Runbook: ' + alert, cfg.runbookBaseURL + '/' + alert);
  local jobLink = {
    title: 'Open the Job',
    url: '/d/' + cfg.dashboardUIDs.job + '?var-datasource=${datasource}&var-namespace=${__data.fields.namespace}&var-job=${__data.fields.job_name}&${__url_time_range}',
  };
  local jobLinkOverride = {
    matcher: { id: 'byName', options: 'job_name' },
    properties: [{ id: 'links', value: [jobLink] }],
  };
  local unfinished(expr) =
    '%s unless on (%s) (max by (%s) (kubejob_complete{%s}) == 1) unless on (%s) kubejob_failed{%s}' % [expr, J, J, S(), J, S()];
  local hideTime = { excludeByName: { Time: true } };

  g.dashboard(
    cfg.dashboardUIDs.overview,
    'kube-job-exporter / Overview',
    cfg,
    description='Why batch Jobs fail, across the cluster. Data from kube-job-exporter.',
    variables=[g.datasourceVariable(cfg)]
              + (if cfg.showMultiCluster then [g.queryVariable('cluster', 'Cluster', 'kubejob_exporter_build_info{%s}' % cfg.kubeJobExporterSelector, cfg.clusterLabel)] else [])
              + [
                g.queryVariable('namespace', 'Namespace', 'kubejob_info{%s}' % p.jobMatchers(cfg, cl), 'namespace', includeAll=true, allValue='.+', multi=true),
                g.queryVariable('cronjob', 'CronJob', 'kubejob_info{%s}' % S(['owner_kind="CronJob"']), 'owner_name', includeAll=true, allValue='.*', multi=true),
              ],
    links=[
      { title: 'Job drill-down', type: 'link', url: '/d/' + cfg.dashboardUIDs.job, icon: 'dashboard', targetBlank: false, keepTime: true },
      { title: 'Runbooks', type: 'link', url: cfg.runbookBaseURL + '/', icon: 'doc', targetBlank: true },
    ],
    panels=[
      g.row('Now'),
      g.stat('Failed Jobs', 'Jobs that failed for good and still exist.', [
        g.target('count(max by (%s) (kubejob_failed{%s}) == 1) or vector(0)' % [J, S()], instant=true),
      ], links=[rb('KubeJobBackoffLimitExceeded')]),
      g.stat('Failing CronJobs', 'CronJobs whose newest run failed, with no success since.', [
        g.target('count(max by (namespace, cronjob) (kubejob_cronjob_last_failure_timestamp_seconds{%s}) > on (namespace, cronjob) (max by (namespace, cronjob) (kubejob_cronjob_last_success_timestamp_seconds{%s}) or max by (namespace, cronjob) (kubejob_cronjob_last_failure_timestamp_seconds{%s}) * 0)) or vector(0)' % [S(['cronjob=~"$cronjob"']), S(['cronjob=~"$cronjob"']), S(['cronjob=~"$cronjob"'])], instant=true),
      ], links=[rb('KubeCronJobLastRunFailed')]),
      g.stat('Running Jobs', 'Jobs neither complete nor failed.', [
        g.target('count(%s) or vector(0)' % unfinished('max by (%s) (kubejob_info{%s})' % [J, S()]), instant=true),
      ], w=3, thresholds=g.thresholds([['blue', null]])),
      g.stat('Jobs in backoff', 'Running Jobs waiting out the Job controller backoff delay before their next pod.', [
        g.target('count(max by (%s) (kubejob_backoff_next_retry_timestamp_seconds{%s}) > time()) or vector(0)' % [J, S()], instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobRetryBudgetNearlyExhausted')]),
      g.stat('Pods waiting', 'Pods stuck before running: image pull, config error, unschedulable, crash loop, a volume that does not mount, an init container that hangs.', [
        g.target('sum(max by (%s, reason) (kubejob_pods_waiting{%s})) or vector(0)' % [J, S()], instant=true),
      ], w=3, thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobPodsStuckWaiting')]),
      g.stat('Jobs without pods', 'Running Jobs whose new pods the API server refuses (quota, Pod Security, admission), or that have no pod at all.', [
        g.target('count(group by (%s) (kubejob_pod_create_failure_timestamp_seconds{%s} or kubejob_without_pods{%s})) or vector(0)' % [J, S(), S()], instant=true),
      ], thresholds=g.thresholds([['green', null], ['orange', 1]]), links=[rb('KubeJobCannotCreatePods')]),
      g.stat('Exporter watching', 'Jobs and Pods the exporter lists and watches successfully. Below 2: its data is stale.', [
        g.target('sum(min by (resource) (kubejob_exporter_watch_up{%s}))' % p.exporterMatchers(cfg, ['resource=~"jobs|pods"']), instant=true),
      ], w=3, thresholds=g.thresholds([['red', null], ['green', 2]]), links=[rb('KubeJobExporterWatchFailing')]),

      g.table('Failing Jobs now', 'Every failed Job, by terminal reason, with how its failed pods died (container, reason, exit code). Click a Job for its drill-down.', [
        g.target('(max by (%s, container, pod_reason, exit_code) (label_replace(kubejob_pod_failures{%s} > 0, "pod_reason", "$1", "reason", "(.*)")) * on (%s) group_left (reason) max by (%s, reason) (kubejob_failed{%s})) or on (%s) max by (%s, reason) (kubejob_failed{%s})' % [J, S(), J, J, S(), J, J, S()]),
      ], h=9, overrides=[jobLinkOverride], organize=hideTime {
        indexByName: { namespace: 0, job_name: 1, reason: 2, container: 3, pod_reason: 4, exit_code: 5, Value: 6 },
        renameByName: { reason: 'job failed', pod_reason: 'pod failure', exit_code: 'exit code', Value: 'failed pods' },
      }, links=[rb('KubeJobBackoffLimitExceeded'), rb('KubeJobDeadlineExceeded'), rb('KubeJobFailedByPodFailurePolicy'), rb('KubeJobFailingEveryAttempt')]),

      g.row('Failures over time'),
      g.timeseries('Failed Jobs by reason', 'Jobs failed for good, by terminal reason.', [
        g.target('sum by (reason) (namespace_reason:kubejob_failed:count{%s})' % R(), '{{reason}}'),
      ], stack=true, links=[rb('KubeJobBackoffLimitExceeded'), rb('KubeJobDeadlineExceeded')]),
      g.timeseries('Failed pods by reason and exit code', "Failed pods still present, by the failing container's reason and exit code (OOMKilled/137, Error/127 command not found, 126 not executable, …).", [
        g.target('sum by (reason, exit_code) (namespace_reason_exit_code:kubejob_pod_failures:sum{%s})' % R(), '{{reason}} {{exit_code}}'),
      ], stack=true, links=[rb('KubeJobFailingEveryAttempt'), rb('KubeJobOOMKilled')]),
      g.timeseries('New pod failures', 'Jobs whose newest pod failure changed, per interval: the rate at which pods fail.', [
        g.target('sum by (namespace) (changes(kubejob_last_failure_timestamp_seconds{%s}[$__rate_interval]))' % S(), '{{namespace}}'),
      ], drawStyle='bars', stack=true),
      g.timeseries('Pods waiting by reason', 'Pods that cannot start. They never fail, so they never use up backoffLimit: only a deadline ends such a Job.', [
        g.target('sum by (reason) (kubejob_pods_waiting{%s})' % S(), '{{reason}}'),
      ], stack=true, links=[rb('KubeJobPodsStuckWaiting')]),

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
      ], w=12, overrides=[
        jobLinkOverride,
        { matcher: { id: 'byName', options: 'next retry in' }, properties: [{ id: 'unit', value: 's' }] },
        { matcher: { id: 'byName', options: 'backoff delay' }, properties: [{ id: 'unit', value: 's' }] },
      ], links=[rb('KubeJobRetryBudgetNearlyExhausted')]) {
        transformations: [
          { id: 'joinByField', options: { byField: 'job_name', mode: 'inner' } },
          { id: 'organize', options: { excludeByName: { 'Time 1': true, 'Time 2': true, 'Time 3': true, 'namespace 2': true, 'namespace 3': true }, renameByName: { 'namespace 1': 'namespace', 'Value #A': 'next retry in', 'Value #B': 'backoff delay', 'Value #C': 'retries' } } },
        ],
      },
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
        g.target('sum by (%s) (kubejob_failed_indexes{%s}) > 0' % [J, S()], '{{namespace}}/{{job_name}}'),
      ], links=[rb('KubeJobIndexesFailing')]),

      g.row('CronJobs'),
      g.table('Top failing CronJobs', 'CronJobs by failed Jobs still present, with their newest failure and success.', [
        g.target('topk(15, namespace_cronjob:kubejob_failed_jobs:count{%s})' % R(['cronjob=~"$cronjob"'])),
        g.target('time() - max by (namespace, cronjob) (kubejob_cronjob_last_failure_timestamp_seconds{%s})' % S(['cronjob=~"$cronjob"'])),
        g.target('time() - max by (namespace, cronjob) (kubejob_cronjob_last_success_timestamp_seconds{%s})' % S(['cronjob=~"$cronjob"'])),
      ], overrides=[
        { matcher: { id: 'byName', options: 'last failure' }, properties: [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }] },
        { matcher: { id: 'byName', options: 'last success' }, properties: [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }] },
      ], links=[rb('KubeCronJobLastRunFailed'), rb('KubeCronJobNotSucceeding')], sortBy=[{ displayName: 'failed Jobs', desc: true }]) {
        transformations: [
          { id: 'joinByField', options: { byField: 'cronjob', mode: 'outer' } },
          { id: 'organize', options: { excludeByName: { 'Time 1': true, 'Time 2': true, 'Time 3': true, 'namespace 2': true, 'namespace 3': true }, renameByName: { 'namespace 1': 'namespace', 'Value #A': 'failed Jobs', 'Value #B': 'last failure', 'Value #C': 'last success' } } },
        ],
      },

      g.row('Exporter'),
      g.timeseries('Watch errors', 'List/watch errors of the exporter by reason. forbidden: RBAC; unreachable: API server or network; expired alone is normal.', [
        g.target('sum by (resource, reason) (rate(kubejob_exporter_watch_errors_total{%s}[$__rate_interval]))' % cfg.kubeJobExporterSelector, '{{resource}} {{reason}}'),
      ], unit='ops', links=[rb('KubeJobExporterWatchFailing')]),
      g.timeseries('Event processing delay (p99)', 'From a Job/Pod watch event to updated metrics.', [
        g.target('histogram_quantile(0.99, sum by (le) (rate(kubejob_exporter_event_processing_delay_seconds_bucket{%s}[$__rate_interval])))' % cfg.kubeJobExporterSelector, 'p99'),
        g.target('histogram_quantile(0.99, sum by (le) (rate(kubejob_exporter_scrape_duration_seconds_bucket{%s}[$__rate_interval])))' % cfg.kubeJobExporterSelector, 'scrape p99'),
      ], unit='s', links=[rb('KubeJobExporterDown')]),
      g.stat('Pod metrics', 'Whether the exporter reads memory working sets from metrics.k8s.io (--collector.pod-metrics). Unavailable: metrics-server absent or forbidden, so KubeJobMemoryNearLimit cannot fire (OOM kills are still reported). Off: the collector is not enabled.', [
        g.target('min(kubejob_exporter_pod_metrics_up{%s})' % cfg.kubeJobExporterSelector, instant=true),
      ], w=24, mappings=[{ type: 'value', options: {
        '0': { text: 'unavailable', color: 'orange', index: 0 },
        '1': { text: 'ok', color: 'green', index: 1 },
      } }], thresholds=g.thresholds([['orange', null], ['green', 1]]), links=[rb('KubeJobMemoryNearLimit')]) {
        fieldConfig+: { defaults+: { noValue: 'off' } },
      },
    ],
  )
