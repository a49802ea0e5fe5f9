// Every link the mixin puts in alerts and dashboards, from _config (one
// definition for both). Usage:
//   local l = (import '../lib/links.libsonnet')($._config);
//   l.runbook('KubeJobOOMKilled')           the published runbook
//   l.live('KubeJobOOMKilled', query)       the live report, or null
//   l.report('KubeJobOOMKilled', query)     live when configured, else the runbook
// `query` is a query string without '?' (e.g. 'namespace=${namespace}&job_name=${job}'),
// or '' for none. tools/mixintest/links_test.go checks every link this
// gives, per configuration.
function(cfg) {
  local withQuery(url, query) = if query == '' then url else url + '?' + query,
  // exporterURL lands verbatim in YAML and JSON strings, Prometheus
  // templates and Grafana links: refuse what any of them would read
  // (quotes, braces, $, backslash, whitespace) and a query or fragment,
  // which the paths appended to it would end up inside.
  local exporterURL =
    local u = std.rstripChars(cfg.exporterURL, '/');
    local bad = [c for c in std.stringChars(u) if std.member(' \t\n"\'<>{}$`\\?#', c)];
    if u == '' || ((std.startsWith(u, 'https://') || std.startsWith(u, 'http://')) && bad == []) then u
    else error '_config.exporterURL must be an http(s) URL without a query, quotes, braces, $ or spaces: ' + cfg.exporterURL,
  runbook(alert):: cfg.runbookURLPattern % alert,
  hasLive:: exporterURL != '',
  live(alert, query=''):: if self.hasLive then withQuery(exporterURL + '/runbooks/' + alert, query) else null,
  report(alert, query=''):: if self.hasLive then self.live(alert, query) else self.runbook(alert),
  // The index of the runbooks: the exporter's list when configured, else
  // the published directory.
  index:: if self.hasLive then exporterURL + '/runbooks/' else std.strReplace(cfg.runbookURLPattern, '%s.md', ''),
}
