// Every knob of the mixin. Override any of them the usual way:
//   (import 'mixin.libsonnet') + { _config+:: { runbookBaseURL: 'https://docs.example.com/runbooks' } }
// or, for the generated files, `make mixin RUNBOOK_BASE_URL=...`.
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

    // Runbooks. runbook_url of each alert is
    //   runbookURLPattern % <AlertName>  +  ?namespace=..&job_name=..
    // The default points at the exporter, which serves the runbooks
    // embedded in its binary at /runbooks/<AlertName> and fills the
    // commands in from the query parameters. Point runbookBaseURL at any
    // docs site instead (set runbookURLQuery false if it would choke on
    // the query string).
    runbookBaseURL: 'http://kube-job-exporter.monitoring.svc:9847/runbooks',
    runbookURLPattern: self.runbookBaseURL + '/%s',
    runbookURLQuery: true,

    // Where the exporter runs, for the commands in its own alerts (used
    // when the scraped series carry no namespace/pod target labels).
    exporterNamespace: 'monitoring',
    exporterDeployment: 'kube-job-exporter',

    // Severity label of each alert.
    severity: {
      jobFailed: 'critical',  // a Job failed for good
      cronJobFailing: 'critical',  // a CronJob's runs fail / do not succeed
      jobAtRisk: 'warning',  // a running Job heads for failure or wastes retries
      jobStuck: 'warning',  // a Job neither fails nor progresses: no pods, pods not starting, a run that does not end
      exporter: 'critical',  // the exporter cannot see the cluster
    },

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
    // after the exporter's --pods.start-timeout, 5m by default) before it
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

    // Memory before OOM (needs the exporter's --collector.pod-metrics and
    // metrics-server): warn when a running Job's container has a working
    // set above this fraction of its memory limit for memoryNearLimitFor.
    // Containers without a limit are not compared.
    memoryNearLimitRatio: 0.9,
    memoryNearLimitFor: '5m',

    // A CronJob that succeeded before but has not for this long (while its
    // last run did not fail, which KubeCronJobLastRunFailed reports).
    // Keep it above the longest schedule interval of your CronJobs.
    cronJobNotSucceededSeconds: 26 * 3600,

    // How long the exporter may be down or unable to watch before paging.
    exporterDownFor: '5m',
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
