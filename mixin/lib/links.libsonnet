// Every link the mixin puts in alerts and dashboards, from _config (one
// definition for both). Usage:
//   local l = (import '../lib/links.libsonnet')($._config);
//   l.runbook('KubeJobOOMKilled')           the published runbook
//   l.live('KubeJobOOMKilled', query)       the live report, or null
//   l.report('KubeJobOOMKilled', query)     live when configured, else the runbook
// `query` is a query string without '?' (e.g. 'namespace=${namespace}&job_name=${job}'),
// or '' for none.
function(cfg) {
  local withQuery(url, query) = if query == '' then url else url + '?' + query,
  runbook(alert):: cfg.runbookURLPattern % alert,
  hasLive:: cfg.exporterURL != '',
  live(alert, query=''):: if self.hasLive then withQuery(std.rstripChars(cfg.exporterURL, '/') + '/runbooks/' + alert, query) else null,
  report(alert, query=''):: if self.hasLive then self.live(alert, query) else self.runbook(alert),
  // The index of the runbooks: the exporter's list when configured, else
  // the published directory.
  index:: if self.hasLive then std.rstripChars(cfg.exporterURL, '/') + '/runbooks/' else std.strReplace(cfg.runbookURLPattern, '%s.md', ''),
}
