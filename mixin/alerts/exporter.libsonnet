// The exporter itself: when it is down, missing a shard or cannot watch
// Jobs and Pods, no Job alert can fire, so that silence pages on its own.
// Their runbook links go to the runbooks in the repository
// (staticRunbookURLPattern): the exporter that serves the others is the
// one that is down. No keep_firing_for: a gap is what they are about.
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
        // No target up at all: not deployed, or the ServiceMonitor selects
        // nothing (absent), or every replica of a cluster gone (the
        // clusters that had one within exporterAbsentLookback).
        rule(
          'KubeJobExporterAbsent',
          |||
            absent(up{%(X)s} == 1)
            or
            (
              group by (%(by)s) (max_over_time(up{%(X)s}[%(lookback)s]))
              unless on (%(by)s)
              group by (%(by)s) (up{%(X)s} == 1)
            )
          ||| % { X: X(), by: byCluster, lookback: cfg.exporterAbsentLookback },
          'No kube-job-exporter is scraped successfully{{ with $labels.' + cfg.clusterLabel + ' }} in cluster {{ . }}{{ end }}: no Job failure is being seen.',
          'Until one is back, no Job or CronJob alert can fire: silence is not health. Check that it runs (kubectl get pods -n ' + cfg.exporterNamespace + ' -l app.kubernetes.io/name=kube-job-exporter) and that the scrape config or ServiceMonitor selects it (' + cfg.kubeJobExporterSelector + ').',
          cfg.exporterDownFor,
        ),
        // Sharded (--total-shards N): fewer replicas up than shards.
        rule(
          'KubeJobExporterShardsMissing',
          |||
            count by (%(by)s) (up{%(X)s} == 1)
            < on (%(by)s)
            max by (%(by)s) (kubejob_exporter_total_shards{%(X)s})
          ||| % { X: X(), by: byCluster },
          'Only {{ $value }} kube-job-exporter shard(s) are up{{ with $labels.' + cfg.clusterLabel + ' }} in cluster {{ . }}{{ end }}: the Jobs of the others are not being seen.',
          'Each replica reports the Jobs of one shard (--shard, --total-shards); the missing ones are blind spots. Check the StatefulSet (kubectl get statefulset -n ' + cfg.exporterNamespace + ' -l app.kubernetes.io/name=kube-job-exporter) and the Prometheus targets.',
          cfg.exporterDownFor,
        ),
        // Jobs and Pods: without them the Job metrics are stale. Events
        // only add the cause of pods that cannot be created (a Job without
        // pods still shows): their trouble is a warning in the exporter's
        // log, not a page.
        rule(
          'KubeJobExporterWatchFailing',
          |||
            kubejob_exporter_watch_up{%s} == 0
            or
            kubejob_exporter_watch_synced{%s} == 0
          ||| % [X(['resource!~"events|cronjobs"']), X(['resource!~"events|cronjobs"'])],
          'kube-job-exporter {{ $labels.instance }} cannot watch {{ $labels.resource }}: its Job metrics are stale or missing.',
          'Its kubejob_exporter_watch_errors_total says why: forbidden (RBAC: kubectl auth can-i watch ' + a.arg('resource') + ' --all-namespaces --as=system:serviceaccount:' + exporterNs + ':' + cfg.exporterDeployment + '), unauthorized (its token), unreachable (the API server or a NetworkPolicy); expired alone is normal.',
          cfg.exporterWatchFailingFor,
        ),
      ],
    }],
  },
}
