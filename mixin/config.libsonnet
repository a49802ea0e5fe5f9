// Every knob of the mixin. Override any of them the usual way:
//   (import 'mixin.libsonnet') + { _config+:: { exporterURL: 'https://jobs.example.com' } }
// or, for the generated files, `make mixin EXPORTER_URL=...`.
{
  _config+:: {
    // Selects the series scraped from kube-job-exporter. Every expression
    // carries it, so nothing else that happens to export kubejob_* metrics
    // (or a second copy of the exporter in another scrape job) is mixed in.
    // It must match the scrape job name in your Prometheus config, or the
    // `job` label your ServiceMonitor/PodMonitor produces.
    kubeJobExporterSelector: 'job="kube-job-exporter"',

    // Optional extra matchers for the per-Job and per-CronJob series, e.g.
    // 'namespace=~"batch-.*"' to alert only on some namespaces. Empty: all.
    jobSelector: '',

    // The label that tells clusters apart when one Prometheus (or Thanos,
    // Mimir) holds several. Alerts keep it in their `by` clauses; the
    // dashboards get a cluster variable when showMultiCluster is true.
    clusterLabel: 'cluster',
    showMultiCluster: false,

    // Links in pages. runbook_url of every alert is its runbook as
    // published with the project: static Markdown that opens wherever a
    // page is read (a phone, Slack), with or without the exporter.
    runbookURLPattern: 'https://github.com/kube-job-exporter/kube-job-exporter/blob/main/mixin/runbooks/%s.md',
    // The address people's browsers reach the exporter at: an Ingress or
    // gateway URL such as 'https://jobs.example.com' (no trailing slash).
    // Set, every Job and CronJob alert also carries live_report_url, the
    // exporter's runbook page with the live report of that Job or CronJob
    // (<exporterURL>/runbooks/<Alert>?namespace=..&job_name=..), and the
    // dashboards link to those live pages. Empty (the default): no live
    // link, and the dashboards link to the static runbooks; an in-cluster
    // Service address opens nowhere people read their pages.
    exporterURL: '',

    // Where the exporter runs, for the commands in its own alerts (used
    // when the scraped series carry no namespace/pod target labels).
    exporterNamespace: 'monitoring',
    exporterDeployment: 'kube-job-exporter',

    // Severity label of each alert. Only the exporter's own alerts are
    // critical: while it is blind no other alert can fire, and that must
    // wake someone. A failed or stuck Job is a warning (a ticket for its
    // owners), as in kubernetes-mixin; route the Jobs that must wake
    // someone by their namespace or owner in Alertmanager, or raise their
    // alert here.
    severity: {
      // A Job failed for good.
      KubeJobBackoffLimitExceeded: 'warning',
      KubeJobDeadlineExceeded: 'warning',
      KubeJobFailedByPodFailurePolicy: 'warning',
      KubeJobFailedIndexes: 'warning',
      KubeJobMaxFailedIndexesExceeded: 'warning',
      KubeJobFailedOtherReason: 'warning',
      // A standalone Job failed and was deleted before it could page.
      KubeJobFailedAndDeleted: 'warning',
      // A running Job heads for failure or wastes retries.
      KubeJobRetryBudgetNearlyExhausted: 'warning',
      KubeJobFailingEveryAttempt: 'warning',
      KubeJobOOMKilled: 'warning',
      KubeJobMemoryNearLimit: 'warning',
      KubeJobDeadlineApproaching: 'warning',
      KubeJobIndexesFailing: 'warning',
      // An owner's failed attempts hold too much (off unless
      // failureCostThresholds are set).
      KubeJobFailureCostHigh: 'warning',
      // A Job neither fails nor progresses.
      KubeJobCannotCreatePods: 'warning',
      KubeJobPodsStuckWaiting: 'warning',
      KubeJobRunningTooLong: 'warning',
      // A Job that Kueue does not admit, or admits and does not start;
      // an owner whose Workloads Kueue keeps evicting.
      KubeJobWaitingForAdmission: 'warning',
      KubeJobAdmittedNotStarted: 'warning',
      KubeJobEvictedRepeatedly: 'warning',
      // A CronJob's runs fail or do not succeed.
      KubeCronJobLastRunFailed: 'warning',
      KubeCronJobMissedSchedule: 'warning',
      KubeCronJobNotSucceeding: 'warning',
      KubeCronJobRunsOverlap: 'warning',
      // The exporter cannot see the cluster.
      KubeJobExporterDown: 'critical',
      KubeJobExporterAbsent: 'critical',
      KubeJobExporterShardsMissing: 'critical',
      KubeJobExporterWatchFailing: 'critical',
    },

    // A scrape gap (an exporter restart, a refused scrape) makes every
    // series stale and would resolve every firing alert, to page again
    // moments later. Alerts about a state that lasts (a failed Job, a
    // CronJob) fire on through a gap this long: longer than
    // KubeJobExporterAbsent waits (exporterDownFor), so that when the
    // exporter is gone for good the absent alert fires before any of them
    // could resolve for lack of data (and, with the inhibition rules of
    // alertmanager.example.yaml, holds back those false resolutions).
    // Alerts about running Jobs use the shorter one, so that they hand
    // over to the terminal alert soon when the Job fails. null: never.
    keepFiringFor: '10m',
    keepFiringForAtRisk: '2m',

    // KubeJobFailedAndDeleted: a standalone Job that failed and was gone
    // before a per-Job alert fired for it (ttlSecondsAfterFinished 0, a
    // deletion by hand) pages for this long after its owner's newest
    // failure of that reason, then resolves; failures within it are one
    // page. A per-Job alert of the same owner and reason firing within it
    // (plus 5m) holds it back: one page per owner and reason at a time.
    // The exporter keeps the deleted Jobs' reports for an hour
    // (--evidence.keep-for).
    jobFailedAndDeletedWindow: '1h',
    // Its `for`. The per-Job alerts' group may evaluate up to one
    // evaluation interval after this alert's group; within that time a Job
    // that was seen failed has its per-Job alert's ALERTS series, which
    // ends this alert while it is pending. It also rides out a single
    // inconsistent scrape (the owner's failure time before the failed Job).
    // Keep it longer than the rule evaluation interval (2m: twice the
    // usual 1m). It delays the page of a gone Job by as much.
    jobFailedAndDeletedFor: '2m',

    // Retry budget: warn when retries / (backoffLimit + 1) of a running
    // Job is above this ratio (the Job fails when it reaches 1).
    retryBudgetThreshold: 0.5,

    // A failure retrying cannot fix: every failed pod of a running Job so
    // far shows the same one of these exit codes or reasons, at least
    // nonRetriableMinFailures times.
    nonRetriableExitCodes: ['126', '127'],
    nonRetriableReasons: ['OOMKilled', 'ContainerCannotRun', 'StartError'],
    nonRetriableMinFailures: 2,

    // Warn when less than this fraction of activeDeadlineSeconds remains.
    deadlineRemainingRatio: 0.1,

    // How long pods may wait (image pull, config error, unschedulable,
    // crash loop; pods pending in a normal start count as waiting only
    // after the exporter's --job.pod-start-timeout, 5m by default) before it
    // is an alert.
    podsWaitingFor: '15m',
    // A crash loop (restartPolicy OnFailure) shows as waiting only between
    // runs; this window bridges the runs, so the alert neither restarts
    // its `for` on every run nor resolves before the loop stops.
    crashLoopWindow: '5m',

    // Pods that cannot be created (quota, Pod Security, admission, a
    // missing ServiceAccount) with none created since, or a started Job
    // without any pod: how long before it is an alert.
    jobCannotCreatePodsFor: '15m',

    // Run time. A Job still running this long after status.startTime is
    // an alert (kubernetes-mixin's KubeJobNotCompleted also uses 12h).
    jobRunTimeLimitSeconds: 12 * 3600,
    // Per namespace or Job, the first matching selector wins: seconds, or
    // null for no run-time alert at all for those Jobs. Examples:
    //   { selector: 'namespace="ml-training"', seconds: 3 * 24 * 3600 },
    //   { selector: 'namespace="batch",job_name="reindex"', seconds: null },
    jobRunTimeLimitOverrides: [],
    // CronJob runs are also too long past this many times the duration of
    // the CronJob's last successful run, but never below the minimum (a run
    // that usually takes seconds may take minutes). 0 turns it off.
    cronJobRunTimeFactor: 3,
    cronJobRunTimeMinSeconds: 3600,
    jobRunningTooLongFor: '1m',

    // Kueue (the exporter's --collector.kueue; the series exist only for
    // Jobs labelled kueue.x-k8s.io/queue-name, so a Job a person suspended
    // pages nothing, nor does a Workload deactivated on purpose).
    // KubeJobWaitingForAdmission: a Job waiting for admission longer than
    // this, counted from its Workload's creation, or from its newest
    // eviction when it was evicted and requeued. A queue in front of scarce
    // GPUs may hold a Job for hours by design: raise it per namespace or
    // queue. Overrides, the first matching selector wins: seconds, or null
    // for no such alert for those Jobs. Examples:
    //   { selector: 'queue="gpu-batch"', seconds: 12 * 3600 },
    //   { selector: 'namespace="research"', seconds: null },
    queueWaitLimitSeconds: 3600,
    queueWaitLimitOverrides: [],
    // Its `for`: the wait is in the expression (it survives scrape gaps
    // and exporter restarts); this rides out a scrape that saw the Job's
    // and its Workload's watches disagree for a moment.
    queueWaitFor: '1m',
    // KubeJobAdmittedNotStarted: a Workload admitted with its Job still
    // suspended this long. Kueue unsuspends an admitted Job within
    // seconds, and while it evicts one the Job is suspended before the
    // admission is withdrawn (its pods terminating): a `for`, not the
    // admission's age, which an eviction would show as old at once.
    queueAdmittedNotStartedFor: '10m',
    // KubeJobEvictedRepeatedly: one owner's (a CronJob's, a standalone Job
    // group's) Workloads evicted at least this many times within the
    // window: preempted over and over, or never ready in time.
    queueEvictionsThreshold: 3,
    queueEvictionsWindow: '1h',

    // KubeJobOOMKilled waits this long after a container's first OOM kill:
    // the Job retries, and a retry that succeeds within it pages nothing
    // (the alert drops finished Jobs). When every failure so far is that
    // kill, a second one pages at once as KubeJobFailingEveryAttempt (no
    // `for`), and this alert, still pending, stops matching: one page. A
    // kill among other failures pages after it. A scrape gap while it is
    // pending starts it again (Prometheus keeps no pending state through
    // a gap).
    oomKilledFor: '15m',

    // Memory before OOM (needs the exporter's --collector.pod-metrics and
    // metrics-server): warn when a running Job's container has a working
    // set above this fraction of its memory limit for memoryNearLimitFor.
    // Containers without a limit are not compared.
    memoryNearLimitRatio: 0.9,
    memoryNearLimitFor: '5m',

    // CronJobs (the alerts that read the schedule need the exporter to
    // watch CronJob objects, --watch.cronjobs and list/watch on cronjobs).
    // A run is missed when it has not started this long after it was due
    // (the controller starts runs within seconds; a failover of
    // kube-controller-manager can take a minute or two).
    cronJobMissedScheduleGraceSeconds: 300,
    // A CronJob is not succeeding when its last success (or its creation,
    // if it never succeeded) is more than this many schedule intervals
    // ago, and at least cronJobNotSucceedingMinSeconds.
    cronJobNotSucceedingIntervals: 3,
    cronJobNotSucceedingMinSeconds: 3600,

    // What failures cost: the resource-time held by the finished attempts
    // (pods) of each owner, kubejob_attempt_resource_seconds_total. The
    // recording rules count it over this window: the failed part per owner
    // and resource, and its share of the whole (failed and succeeded).
    // KubeJobFailureCostHigh compares the failed part with its thresholds.
    failureCostWindow: '24h',
    // KubeJobFailureCostHigh: one owner's failed attempts held more than
    // this much of a resource within failureCostWindow. Per resource, in
    // resource-hours: core-hours for cpu, GiB-hours for memory, unit-hours
    // for an extended resource the exporter counts (--outcomes.extended-
    // resources; one GPU for an hour is a GPU-hour). Empty, the default:
    // no such alert in the rules at all (its cost is a judgement of each
    // cluster: a GPU-hour is dear on one and spare on another). To turn it
    // on with the suggested thresholds below:
    //   failureCostThresholds: self.failureCostSuggestedThresholds,
    // or some of your own: { 'nvidia.com/gpu': 8, cpu: 200 }.
    failureCostThresholds: {},
    // Suggested: 4 GPU-hours (any of the default GPU resources), 100
    // core-hours, 400 GiB-hours (100 cores' worth at 4 GiB a core) burnt
    // by failures within the window.
    failureCostSuggestedThresholds: {
      'nvidia.com/gpu': 4,
      'amd.com/gpu': 4,
      'gpu.intel.com/i915': 4,
      cpu: 100,
      memory: 400,
    },
    // Its `for`: the recorded window moves a little at each evaluation; a
    // threshold crossed for this long is not a rounding of the window's
    // edge.
    failureCostFor: '15m',

    // How long the exporter may be down or unable to watch before paging.
    // exporterAbsentLookback: how long the recording rule
    // cluster:kubejob_exporter_up:last_timestamp_seconds, which remembers
    // every cluster that had an exporter up (for KubeJobExporterAbsent),
    // survives a gap in its own evaluation: a Prometheus down longer than
    // this forgets the clusters (then only the "no exporter anywhere" case
    // pages). An exporter down does not shorten it: the rule carries its
    // clusters on whatever the exporters do.
    exporterDownFor: '5m',
    exporterAbsentLookback: '1d',
    // A cluster whose exporter has not been up for this long is forgotten
    // (KubeJobExporterAbsent stops paging for it): a cluster taken down
    // for good pages for a week, not forever. Silence it meanwhile.
    exporterAbsentForgetAfter: '7d',
    exporterWatchFailingFor: '10m',

    // Dashboards.
    dashboardTags: ['kube-job-exporter', 'kubernetes', 'jobs'],
    dashboardTimezone: 'utc',
    dashboardRefresh: '1m',
    dashboardUIDs: {
      overview: 'kubejob-fleet-overview',
      job: 'kubejob-job-drilldown',
    },
    grafanaDatasourceName: 'prometheus',
  },
}
