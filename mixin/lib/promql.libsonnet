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
}
