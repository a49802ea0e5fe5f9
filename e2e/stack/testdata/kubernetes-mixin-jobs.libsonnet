// kubernetes-mixin's alerts that fire for Jobs or their pods, as users run
// them (kube-prometheus renders these; kube-prometheus-stack ships them in
// its kubernetes-apps PrometheusRule), written in kubernetes-mixin's own
// shape (prometheusAlerts, _config) so that the recipe's jsonnet applies to
// it as it does to the real mixin. Expressions and `for` are those of
// github.com/kubernetes-monitoring/kubernetes-mixin alerts/apps_alerts.libsonnet
// at commit aa38e2bfa7ea6ec6870420b483046afe790a6411 (2026-08-06) with its
// default _config (config.libsonnet: kubeStateMetricsSelector
// job="kube-state-metrics", clusterLabel cluster, kubeJobTimeoutDuration
// 12h, no namespace selector, no join labels); annotations are short
// stand-ins (the tests compare what fires, not its wording).
// KubeDeploymentReplicasMismatch stands for the rest of the group, which the
// recipe must leave alone.
{
  _config+:: {
    kubeStateMetricsSelector: 'job="kube-state-metrics"',
    clusterLabel: 'cluster',
    prefixedNamespaceSelector: '',
    kubeJobTimeoutDuration: 12 * 60 * 60,
  },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'kubernetes-apps',
        rules: [
          {
            alert: 'KubePodCrashLooping',
            expr: |||
              max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", %(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}[5m]) >= 1
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: { summary: 'Pod is crash looping.', description: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash looping.' },
          },
          {
            alert: 'KubePodNotReady',
            expr: |||
              sum by (namespace, pod, job, %(clusterLabel)s) (
                max by(namespace, pod, job, %(clusterLabel)s) (
                  kube_pod_status_phase{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s, phase=~"Pending|Unknown"}
                  or
                  (
                    kube_pod_status_phase{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s, phase="Running"} == 1
                    and on(namespace, pod, %(clusterLabel)s)
                    kube_pod_status_ready{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s, condition="true"} == 0
                  )
                ) * on(namespace, pod, %(clusterLabel)s) group_left() topk by(namespace, pod, %(clusterLabel)s) (
                  1, max by(namespace, pod, owner_kind, %(clusterLabel)s) (kube_pod_owner{owner_kind!="Job"})
                )
              ) > 0
              unless on(namespace, pod, %(clusterLabel)s)
              kube_pod_status_reason{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s, reason="SchedulingGated"} == 1
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: { summary: 'Pod not ready.', description: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} is not ready.' },
          },
          {
            alert: 'KubeDeploymentReplicasMismatch',
            expr: |||
              (
                kube_deployment_spec_replicas{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}
                  >
                kube_deployment_status_replicas_available{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}
              ) and (
                changes(kube_deployment_status_replicas_updated{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}[10m])
                  ==
                0
              )
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: { summary: 'Deployment replicas mismatch.', description: 'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} lacks replicas.' },
          },
          {
            alert: 'KubeContainerWaiting',
            expr: |||
              kube_pod_container_status_waiting_reason{reason!="CrashLoopBackOff", %(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s} > 0
            ||| % $._config,
            'for': '1h',
            labels: { severity: 'warning' },
            annotations: { summary: 'Container waiting.', description: 'pod/{{ $labels.pod }} in namespace {{ $labels.namespace }} has waited over an hour ({{ $labels.reason }}).' },
          },
          {
            alert: 'KubeJobNotCompleted',
            expr: |||
              time() - max by(namespace, job_name, %(clusterLabel)s) (kube_job_status_start_time{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}
                and
              kube_job_status_active{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s} > 0) > %(kubeJobTimeoutDuration)s
            ||| % $._config,
            labels: { severity: 'warning' },
            annotations: { summary: 'Job did not complete in time.', description: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} runs too long.' },
          },
          {
            alert: 'KubeJobFailed',
            expr: |||
              kube_job_failed{%(prefixedNamespaceSelector)s%(kubeStateMetricsSelector)s}  > 0
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: { summary: 'Job failed to complete.', description: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed to complete.' },
          },
        ],
      },
    ],
  },
}
