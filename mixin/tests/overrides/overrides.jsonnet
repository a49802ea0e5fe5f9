// The alerts with _config overrides that the default rule files cannot
// show: per-namespace and per-Job run-time limits (the first match wins,
// null means none) and no CronJob-relative limit. `make mixin-check`
// generates them next to a copy of run_time_overrides_test.yaml.
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
  },
};
std.manifestYamlDoc(mixin.prometheusAlerts, quote_keys=false)
