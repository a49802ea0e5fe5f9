// The exporter itself: when it is down, missing a shard or cannot watch
// Jobs and Pods, no Job alert can fire, so that silence pages on its own.
// They get no live_report_url (alerts.libsonnet): the exporter that serves
// the live pages may be the one that is down. No keep_firing_for: a gap is
// what they are about.
{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local X = a.X,
  local byCluster = a.by([]),
  local rule(name, expr, summary, description, for_) = a.rule(name, expr, summary, description, for_, keepFiringFor=null),
  local exporterNs = '{{ with $labels.namespace }}' + a.argOf('.') + '{{ else }}' + cfg.exporterNamespace + '{{ end }}',

  prometheusAlerts+:: {
    groups+: [{
      name: 'kube-job-exporter-exporter',
      rules: [
        // One per scrape target that fails: one of N shards down is a
        // blind spot as much as all of them.
        rule(
          'KubeJobExporterDown',
          'up{%s} == 0' % X(),
          'kube-job-exporter {{ $labels.instance }} is not scraped successfully: the Jobs it watches are not being seen.',
          'Its Job alerts cannot fire until it is back. Check its pod and logs (kubectl logs -n ' + exporterNs + ' {{ with $labels.pod }}pod/' + a.argOf('.') + '{{ else }}deployment/' + cfg.exporterDeployment + '{{ end }}) and the scrape error on the Prometheus targets page.',
          cfg.exporterDownFor,
        ),
        // No target up in a cluster that had one (the clusters recorded by
        // cluster:kubejob_exporter_up:last_timestamp_seconds, rules.libsonnet,
        // which outlives the exporter), each with its cluster label, which
        // the example's inhibition pairs with that cluster's Job alerts.
        // absent(): no exporter was ever up in this Prometheus (a new
        // install, a ServiceMonitor that selects nothing); it has no
        // cluster but the external labels', and stays quiet once any
        // cluster was recorded, so it never pages beside the per-cluster
        // alert. Without the recording rules loaded only absent() works.
        rule(
          'KubeJobExporterAbsent',
          |||
            (
              group by (%(by)s) (cluster:kubejob_exporter_up:last_timestamp_seconds)
              unless on (%(by)s)
              group by (%(by)s) (up{%(X)s} == 1)
            )
            or
            (
              absent(up{%(X)s} == 1)
              unless on ()
              cluster:kubejob_exporter_up:last_timestamp_seconds
            )
          ||| % { X: X(), by: byCluster },
          'No kube-job-exporter is scraped successfully{{ with $labels.' + cfg.clusterLabel + ' }} in cluster {{ . }}{{ end }}: no Job failure is being seen.',
          'Until one is back, no Job or CronJob alert can fire: silence is not health. Check that it runs (kubectl get pods -n ' + cfg.exporterNamespace + ' -l app.kubernetes.io/name=kube-job-exporter) and that the scrape config or ServiceMonitor selects it (' + cfg.kubeJobExporterSelector + ').',
          cfg.exporterDownFor,
        ),
        // Sharded (--watch.total-shards N): fewer scrape targets than shards. It
        // counts targets, whatever their up: a target that is there but
        // fails is KubeJobExporterDown's (one page per target), a target
        // that is not there at all (a replica deleted, a StatefulSet
        // scaled down, service discovery that lost it) is this one's.
        rule(
          'KubeJobExporterShardsMissing',
          |||
            count by (%(by)s) (up{%(X)s})
            < on (%(by)s)
            max by (%(by)s) (kubejob_exporter_total_shards{%(X)s})
          ||| % { X: X(), by: byCluster },
          'Only {{ $value }} kube-job-exporter target(s) are scraped{{ with $labels.' + cfg.clusterLabel + ' }} in cluster {{ . }}{{ end }}, fewer than its shards: the Jobs of the others are not being seen.',
          'Each replica reports the Jobs of one shard (--watch.shard, --watch.total-shards); the missing ones are blind spots. Check the StatefulSet (kubectl get statefulset -n ' + cfg.exporterNamespace + ' -l app.kubernetes.io/name=kube-job-exporter) and the Prometheus targets.',
          cfg.exporterDownFor,
        ),
        // Jobs and Pods: without them the Job metrics are stale. Events
        // only add the cause of pods that cannot be created (a Job without
        // pods still shows), CronJobs the schedules: their trouble is a
        // warning in the exporter's log, not a page. Kueue's Workloads and
        // LocalQueues (--collector.kueue) page only while Kueue's API is
        // served (kubejob_exporter_kueue_api 1): without them every queue
        // alert is blind; without Kueue they are never synced, and rightly
        // so. Per instance, and no inhibition source in
        // alertmanager.example.yaml: the Job alerts carry no instance or
        // shard to pair with, so muting would reach every other replica's.
        rule(
          'KubeJobExporterWatchFailing',
          |||
            kubejob_exporter_watch_up{%(core)s} == 0
            or
            kubejob_exporter_watch_synced{%(core)s} == 0
            or
            (
              kubejob_exporter_watch_up{%(kueue)s} == 0
              or
              kubejob_exporter_watch_synced{%(kueue)s} == 0
            )
            and on (%(by)s)
            kubejob_exporter_kueue_api{%(served)s} == 1
          ||| % { core: X(['resource!~"events|cronjobs|workloads|localqueues"']), kueue: X(['resource=~"workloads|localqueues"']), served: X(['version!=""']), by: byCluster + ', instance' },
          'kube-job-exporter {{ $labels.instance }} cannot watch {{ $labels.resource }}: its Job metrics are stale or missing.',
          'Its kubejob_exporter_watch_errors_total says why: forbidden (RBAC: kubectl auth can-i watch ' + a.arg('resource') + ' --all-namespaces --as=system:serviceaccount:' + exporterNs + ':' + cfg.exporterDeployment + '), unauthorized (its token), unreachable (the API server or a NetworkPolicy); expired alone is normal.',
          cfg.exporterWatchFailingFor,
        ),
      ],
    }],
  },
}
