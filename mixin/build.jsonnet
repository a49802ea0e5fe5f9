// What `make mixin` writes (jsonnet -S -m <top-level dir>): the Prometheus
// rule files in alerts/, a PrometheusRule with both for prometheus-operator,
// the Grafana dashboards in dashboards/, and the index of the alerts
// (mixin/runbooks/alerts.json), embedded beside their runbooks: the names
// the exporter's pages and `diagnose` use are checked against it.
// exporterURL overrides _config.exporterURL (jsonnet --tla-str), so a
// deployment can add its live report links without editing sources;
// config (a JSON object, --tla-str) is merged into _config as a JSON merge
// patch (nested objects too), e.g. '{"podsWaitingFor": "30m"}' or
// '{"severity": {"jobStuck": "critical"}}' (make mixin-build MIXIN_CONFIG=...).
function(exporterURL='', config='{}')
  local base = (import 'mixin.libsonnet') + (
    if exporterURL == '' then {} else { _config+:: { exporterURL: exporterURL } }
  );
  local mixin = base { _config:: std.mergePatch(base._config, std.parseJson(config)) };
  local header = '# Generated from mixin/ by `make mixin`: do not edit.\n';
  local prometheusRule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'kube-job-exporter',
      labels: { 'app.kubernetes.io/name': 'kube-job-exporter', 'app.kubernetes.io/component': 'alerting' },
    },
    spec: { groups: mixin.prometheusAlerts.groups + mixin.prometheusRules.groups },
  };
  // One entry per alert, by name: its group and severity as the rules
  // give them. An alert that is off unless _config turns it on
  // (KubeJobFailureCostHigh, without failureCostThresholds) is listed
  // too, as the build with the suggested settings gives it, marked
  // off_by_default: its runbook is served and checked like every other.
  local alertsOf(m) = {
    [rule.alert]: { name: rule.alert, group: group.name, severity: rule.labels.severity }
    for group in m.prometheusAlerts.groups
    for rule in group.rules
    if std.objectHas(rule, 'alert')
  };
  local enabled = alertsOf(mixin);
  local everyAlert = alertsOf(mixin { _config+:: { failureCostThresholds: mixin._config.failureCostSuggestedThresholds } });
  local alertIndex = [
    if std.objectHas(enabled, name) then enabled[name] else everyAlert[name] { off_by_default: true }
    for name in std.objectFields(everyAlert)
  ];
  {
    'mixin/runbooks/alerts.json': std.manifestJsonEx(alertIndex, '  ') + '\n',
    'alerts/kube-job-exporter-alerts.yaml': header + std.manifestYamlDoc(mixin.prometheusAlerts, quote_keys=false),
    'alerts/kube-job-exporter-rules.yaml': header + std.manifestYamlDoc(mixin.prometheusRules, quote_keys=false),
    'alerts/kube-job-exporter-prometheusrule.yaml': header + std.manifestYamlDoc(prometheusRule, quote_keys=false),
  } + {
    ['dashboards/' + name]: std.manifestJsonEx(mixin.grafanaDashboards[name], '  ') + '\n'
    for name in std.objectFields(mixin.grafanaDashboards)
  }
