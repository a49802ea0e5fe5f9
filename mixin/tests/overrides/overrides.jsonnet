// The rules with _config overrides that the default rule files cannot
// show, one file per test file of this directory: per-namespace and
// per-Job run-time limits (the first match wins, null means none) and no
// CronJob-relative limit, per-namespace and per-queue limits of the wait
// for Kueue's admission (overrides-alerts.yaml); KubeJobFailureCostHigh
// with the suggested thresholds (off by default), with the recording rules
// it reads and no other alert, which would only slow its day-long test
// down (failure-cost-rules.yaml). `make mixin-check` writes them
// (jsonnet -m) next to a copy of the tests.
local mixin = (import '../../mixin.libsonnet') + {
  _config+:: {
    jobRunTimeLimitOverrides: [
      { selector: 'namespace="ml",job_name="reindex"', seconds: null },
      { selector: 'namespace="ml"', seconds: 3 * 3600 },
      { selector: 'namespace="ml",job_name="train"', seconds: 3600 },
      // Shadowed by the namespace's 3h above: still 3h, not none.
      { selector: 'namespace="ml",job_name="evaluate"', seconds: null },
    ],
    cronJobRunTimeFactor: 0,
    queueWaitLimitOverrides: [
      { selector: 'namespace="research",queue="urgent"', seconds: 600 },
      { selector: 'namespace="research"', seconds: null },
      { selector: 'queue="gpu-batch"', seconds: 4 * 3600 },
      // Shadowed by the namespace's null above: still no alert.
      { selector: 'namespace="research",queue="gpu-batch"', seconds: 600 },
    ],
    failureCostThresholds: self.failureCostSuggestedThresholds,
  },
};
local failureCost = 'kube-job-exporter-failure-cost';
{
  'overrides-alerts.yaml': std.manifestYamlDoc({ groups: [g for g in mixin.prometheusAlerts.groups if g.name != failureCost] }, quote_keys=false),
  'failure-cost-rules.yaml': std.manifestYamlDoc({ groups: [g for g in mixin.prometheusAlerts.groups if g.name == failureCost] + mixin.prometheusRules.groups }, quote_keys=false),
}
