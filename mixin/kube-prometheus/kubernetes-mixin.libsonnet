// kube-job-exporter beside kubernetes-mixin (kube-prometheus): one page per
// failed or stuck Job instead of one from each mixin.
//
// kubernetes-mixin pages for Jobs from kube-state-metrics' series; this
// mixin pages for the same Jobs with their cause. The recipe leaves every
// Job to this mixin and every other workload to kubernetes-mixin:
//
// - KubeJobFailed (a failed Job, for 15m) and KubeJobNotCompleted (a Job
//   running over 12h) are dropped: the terminal alerts, KubeJobFailedAndDeleted,
//   KubeCronJobLastRunFailed and KubeJobRunningTooLong page for the same
//   Jobs, with the reason.
// - KubeContainerWaiting and KubePodCrashLooping stay for every pod except
//   those a Job owns (KubeJobPodsStuckWaiting pages for those, once per
//   Job, whatever the reason and the number of pods). They carry `pod`,
//   this mixin's alerts `job_name`: no Alertmanager inhibition can pair
//   them, and one on `namespace` would mute other workloads' pods.
// - KubePodNotReady already leaves out pods owned by Jobs: unchanged.
//
// Use, with kube-prometheus:
//
//   local jobs = import 'kube-job-exporter/mixin/kube-prometheus/kubernetes-mixin.libsonnet';
//   local kp = (import 'kube-prometheus/main.libsonnet') + jobs.kubePrometheus + { ... };
//
// with kubernetes-mixin alone: (import 'kubernetes-mixin/mixin.libsonnet') + jobs.mixin.
// Both selectors below must match your kubernetes-mixin _config
// (kubeStateMetricsSelector, clusterLabel); override them with
// `jobs { kubeStateMetricsSelector:: 'job="ksm"' }`.
// mixin/kube-prometheus/kube-prometheus-stack-values.yaml does the same for
// the kube-prometheus-stack Helm chart; e2e/stack proves both give the same
// rules and one page per Job on the real kube-state-metrics, Prometheus and
// Alertmanager.
{
  // kube-state-metrics' series, as kubernetes-mixin's kubeStateMetricsSelector.
  kubeStateMetricsSelector:: 'job="kube-state-metrics"',
  // The label that tells clusters apart, as kubernetes-mixin's clusterLabel.
  clusterLabel:: 'cluster',
  // How long a pod still counts as a Job's after its kube_pod_owner series
  // is gone: at least the longest range the restated expressions read
  // (KubePodCrashLooping's max_over_time over 5m keeps a deleted pod's
  // crash loop for 5m), so a Job's pod deleted while it crash-looped does
  // not page as someone else's.
  jobPodLookback:: '10m',

  // Alerts this mixin replaces for every Job.
  dropped:: ['KubeJobFailed', 'KubeJobNotCompleted'],
  // Alerts kept for every pod but those a Job owns.
  exceptJobPods:: ['KubeContainerWaiting', 'KubePodCrashLooping'],

  // exceptJobPodsExpr(expr) is expr without the series of pods a Job owns
  // (or owned within jobPodLookback).
  exceptJobPodsExpr(expr)::
    '(\n%s\n)\nunless on (%s, namespace, pod)\nlast_over_time(kube_pod_owner{%s, owner_kind="Job"}[%s])' % [
      std.stripChars(expr, '\n '),
      $.clusterLabel,
      $.kubeStateMetricsSelector,
      $.jobPodLookback,
    ],

  // groups(groups) is kubernetes-mixin's rule groups with the recipe applied.
  groups(groups):: [
    g {
      rules: [
        if std.objectHas(r, 'alert') && std.member($.exceptJobPods, r.alert)
        then r { expr: $.exceptJobPodsExpr(super.expr) }
        else r
        for r in super.rules
        if !(std.objectHas(r, 'alert') && std.member($.dropped, r.alert))
      ],
    }
    for g in groups
  ],

  // For kubernetes-mixin used as a mixin (prometheusAlerts).
  mixin:: {
    prometheusAlerts+:: { groups: $.groups(super.groups) },
  },

  // For kube-prometheus: its PrometheusRule of kubernetes-mixin's rules.
  kubePrometheus:: {
    kubernetesControlPlane+: {
      prometheusRule+: { spec+: { groups: $.groups(super.groups) } },
    },
  },
}
