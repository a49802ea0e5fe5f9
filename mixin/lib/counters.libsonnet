// The exporter's per-owner counters (kubejob_owner_*,
// kubejob_attempt_resource_seconds_total) read over a range, one
// definition for the dashboards and the recording rules. Usage:
//   local c = (import '../lib/counters.libsonnet')(cfg);
//   c.overRange(identity, metric, selector, range, exporterSelector)
// identity: the labels of one series of the metric, comma-separated,
// cluster label excluded (it is added here); by: the labels to sum by.
local p = import 'promql.libsonnet';

function(cfg) {
  // The increase of a series that existed when the range began, and the
  // whole value of one that began within it (an owner's first outcome
  // appears at its value, which increase() alone would miss), per
  // exporter series. A counter reset within the range (an exporter
  // restart) is increase()'s to handle.
  counted(metric, selector, range)::
    '(increase(%(m)s{%(s)s}[%(r)s]) and %(m)s{%(s)s} offset %(r)s) or (max_over_time(%(m)s{%(s)s}[%(r)s]) unless %(m)s{%(s)s} offset %(r)s)'
    % { m: metric, s: selector, r: range },

  // Then one value per cluster, series identity and shard: replicas of
  // one shard count the same Jobs (max), shards count different Jobs of
  // one owner (the sum that follows), and an owner of the same name in
  // two clusters is two owners. An instance's shard is the last it
  // reported within the range, so that a series still counts through a
  // scrape gap and after its replica is gone (a restart under another
  // address).
  perShard(identity, expr, range, exporterSelector)::
    'max by (%s, shard) ((%s) * on (%s) group_left (shard) count_values by (%s) ("shard", last_over_time(kubejob_exporter_shard_ordinal{%s}[%s])))'
    % [p.by(cfg, [identity]), expr, p.by(cfg, ['instance']), p.by(cfg, ['instance']), exporterSelector, range],

  // Both, summed by `by` (the labels as given: a rule keeps the cluster
  // label, a dashboard filtered by its cluster variable need not).
  overRange(by, identity, metric, selector, range, exporterSelector)::
    'sum by (%s) (%s)' % [by, self.perShard(identity, self.counted(metric, selector, range), range, exporterSelector)],
}
