// Minimal helpers for Grafana dashboard JSON (schemaVersion 39), in place
// of grafonnet: a dashboard, template variables, a few panel types, and a
// layout function that places panels left to right, top to bottom.
{
  local ds = { type: 'prometheus', uid: '${datasource}' },

  dashboard(uid, title, cfg, description='', panels=[], variables=[], links=[]):: {
    uid: uid,
    title: title,
    description: description,
    tags: cfg.dashboardTags,
    timezone: cfg.dashboardTimezone,
    refresh: cfg.dashboardRefresh,
    schemaVersion: 39,
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    annotations: { list: [] },
    links: links,
    templating: { list: variables },
    panels: $.layout(panels),
  },

  // ---- template variables -------------------------------------------
  datasourceVariable(cfg):: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: { text: cfg.grafanaDatasourceName, value: cfg.grafanaDatasourceName },
    hide: 0,
    regex: '',
  },

  // With _config.showMultiCluster, a cluster variable (listing the clusters
  // an exporter reports from) and the matcher every query of both
  // dashboards carries, recorded series and ALERTS included; without it,
  // neither.
  clusterVariables(cfg):: if cfg.showMultiCluster then [
    $.queryVariable('cluster', 'Cluster', 'kubejob_exporter_build_info{%s}' % cfg.kubeJobExporterSelector, cfg.clusterLabel),
  ] else [],
  clusterMatchers(cfg):: if cfg.showMultiCluster then [cfg.clusterLabel + '=~"$cluster"'] else [],

  // The matcher that leaves out of pod failures the pods deleted while
  // their Job ran (kubejob_pod_failures and kubejob_owner_pod_failures_total
  // reason="Deleted": by a person, a tool, or the deletion of the Job
  // itself). The Job controller counts them against backoffLimit (the
  // retries panels show them), but nothing in them failed: a failure
  // panel that counted them would show every cancelled Job as failing.
  notDeletedPods:: 'reason!="Deleted"',

  // The query string of a link to the other dashboard: it keeps the data
  // source and the cluster (the links add the time range themselves).
  keepVariables(cfg):: '?var-datasource=${datasource}' + (if cfg.showMultiCluster then '&var-cluster=${cluster}' else ''),

  // A variable from label_values(<selector>, <label>).
  queryVariable(name, label, selector, labelName, includeAll=false, allValue=null, multi=false, hide=0):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: { query: 'label_values(%s, %s)' % [selector, labelName], refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    definition: 'label_values(%s, %s)' % [selector, labelName],
    refresh: 2,
    sort: 1,
    includeAll: includeAll,
    multi: multi,
    current: {},
    hide: hide,
    regex: '',
    options: [],
  } + (if allValue != null then { allValue: allValue } else {}),

  // ---- targets and panels --------------------------------------------
  target(expr, legend='', instant=false, format='time_series'):: {
    datasource: ds,
    expr: expr,
    legendFormat: legend,
    range: !instant,
    instant: instant,
    format: format,
  },

  local withRefIds(targets) = [
    targets[i] { refId: std.char(std.codepoint('A') + i) }
    for i in std.range(0, std.length(targets) - 1)
  ],

  panel(type, title, description, targets, unit='short', w=12, h=8, links=[]):: {
    type: type,
    title: title,
    description: description,
    datasource: ds,
    targets: withRefIds(targets),
    links: links,
    fieldConfig: { defaults: { unit: unit }, overrides: [] },
    options: {},
    gridPos: { w: w, h: h },
  },

  stat(title, description, targets, unit='short', w=4, h=4, links=[], thresholds=null, mappings=[], colorMode='value')::
    self.panel('stat', title, description, targets, unit, w, h, links) + {
      fieldConfig+: { defaults+: {
        mappings: mappings,
        thresholds: if thresholds != null then thresholds else $.thresholds([['green', null], ['red', 1]]),
        color: { mode: 'thresholds' },
      } },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: colorMode,
        graphMode: 'none',
        textMode: 'auto',
        justifyMode: 'auto',
        orientation: 'auto',
      },
    },

  timeseries(title, description, targets, unit='short', w=12, h=8, links=[], stack=false, drawStyle='line')::
    self.panel('timeseries', title, description, targets, unit, w, h, links) + {
      fieldConfig+: { defaults+: {
        custom: {
          drawStyle: drawStyle,
          lineWidth: 1,
          fillOpacity: if stack then 40 else 10,
          showPoints: 'never',
          stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
          spanNulls: false,
        },
        color: { mode: 'palette-classic' },
      } },
      options: {
        legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'], showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  table(title, description, targets, w=24, h=8, links=[], overrides=[], organize={}, sortBy=[])::
    self.panel('table', title, description, [t { instant: true, range: false, format: 'table' } for t in targets], 'short', w, h, links) + {
      fieldConfig+: { overrides: overrides },
      options: { showHeader: true, cellHeight: 'sm', footer: { show: false }, sortBy: sortBy },
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: organize },
      ],
    },

  gauge(title, description, targets, unit='percentunit', w=6, h=8, links=[], max=1, thresholds=null)::
    self.panel('gauge', title, description, targets, unit, w, h, links) + {
      fieldConfig+: { defaults+: {
        min: 0,
        max: max,
        thresholds: if thresholds != null then thresholds else $.thresholds([['green', null], ['orange', 0.5], ['red', 0.85]]),
        color: { mode: 'thresholds' },
      } },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showThresholdLabels: false, showThresholdMarkers: true },
    },

  bargauge(title, description, targets, unit='short', w=12, h=8, links=[], thresholds=null)::
    self.panel('bargauge', title, description, targets, unit, w, h, links) + {
      fieldConfig+: { defaults+: {
        min: 0,
        thresholds: if thresholds != null then thresholds else $.thresholds([['orange', null], ['red', 3]]),
        color: { mode: 'thresholds' },
      } },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
    },

  row(title):: { type: 'row', title: title, collapsed: false, panels: [], gridPos: { w: 24, h: 1 } },

  thresholds(steps):: { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in steps] },

  link(title, url):: { title: title, url: url, targetBlank: true },

  // A panel link to an alert's runbook page (links.libsonnet: the live
  // report when _config.exporterURL is set, else the published runbook).
  // The alert must be one of the mixin's (_config.severity names them
  // all), so that renaming an alert fails the build instead of leaving a
  // dead link on a dashboard.
  runbookLink(cfg, links, alert, query='')::
    assert std.objectHas(cfg.severity, alert) : 'dashboard link to %s, which is no alert of the mixin' % alert;
    $.link('Runbook: ' + alert, links.report(alert, query)),

  // Places panels in order on the 24-column grid, wrapping when a row is
  // full, and numbers them: stable ids and positions for stable JSON.
  layout(panels)::
    local step(acc, p) =
      local w = p.gridPos.w;
      local h = p.gridPos.h;
      local wrap = acc.x + w > 24 || p.type == 'row';
      local x = if wrap then 0 else acc.x;
      local y = if wrap then acc.y + acc.rowH else acc.y;
      local rowH = if wrap then h else std.max(acc.rowH, h);
      {
        x: if p.type == 'row' then 24 else x + w,
        y: y,
        rowH: rowH,
        out: acc.out + [p { id: std.length(acc.out) + 1, gridPos: { x: x, y: y, w: w, h: h } }],
      };
    std.foldl(step, panels, { x: 0, y: 0, rowH: 0, out: [] }).out,
}
