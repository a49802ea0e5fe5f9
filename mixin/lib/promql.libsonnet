// Small helpers to build selectors and label lists from _config.
{
  // Joins the non-empty matchers with commas: matchers(['a="b"', '', 'c=~"d"']).
  matchers(list):: std.join(',', [m for m in list if m != '']),

  // The matchers every per-Job / per-CronJob expression carries.
  jobMatchers(cfg, extra=[]):: self.matchers([cfg.kubeJobExporterSelector, cfg.jobSelector] + extra),

  // The matchers of the exporter's own series.
  exporterMatchers(cfg, extra=[]):: self.matchers([cfg.kubeJobExporterSelector] + extra),

  // Label lists for `by (...)` / `on (...)`.
  by(cfg, labels):: std.join(', ', [cfg.clusterLabel] + labels),

  // The seconds of a Prometheus duration such as '1h', '90m' or '1h30m'
  // (units ms, s, m, h, d, w, y), for comparisons with time().
  durationSeconds(d)::
    local units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
    local isDigit(c) = c >= '0' && c <= '9';
    local flush(acc) =
      if acc.num == '' && acc.unit == '' then acc
      else if acc.num == '' || !std.objectHas(units, acc.unit) then error 'invalid duration ' + std.toString(d)
      else acc { total: acc.total + std.parseInt(acc.num) * units[acc.unit], num: '', unit: '' };
    local step(acc, c) =
      if isDigit(c) then (if acc.unit != '' then flush(acc) else acc) { num+: c }
      else acc { unit+: c };
    local r = flush(std.foldl(step, std.stringChars(d), { num: '', unit: '', total: 0 }));
    if r.total <= 0 then error 'invalid duration ' + std.toString(d) else r.total,
}
