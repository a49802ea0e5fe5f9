// The resources kubejob_attempt_resource_seconds_total counts, in the
// units people read: its `resource` label is cpu (core-seconds), memory
// (byte-seconds) or an extended resource (unit-seconds: one GPU for a
// second is a GPU-second). One definition for the alert's thresholds and
// text and the dashboards' panels.
{
  // The resource-seconds in one of the hours below.
  perHour(resource):: if resource == 'memory' then 3600 * std.pow(2, 30) else 3600,
  // The name of that hour.
  hours(resource)::
    if resource == 'cpu' then 'core-hours'
    else if resource == 'memory' then 'GiB-hours'
    else resource + ' hours',
  // The thresholds of KubeJobFailureCostHigh that are set, by resource
  // (null is none): no alert when empty.
  thresholds(cfg):: {
    [res]: cfg.failureCostThresholds[res]
    for res in std.objectFields(cfg.failureCostThresholds)
    if cfg.failureCostThresholds[res] != null
  },
  // The matcher of the extended resources (the GPUs, by default).
  extended:: 'resource!~"cpu|memory"',
}
