// Go-template snippets for alert annotations that look up one small series
// when the alert fires: the waiting reasons of KubeJobPodsStuckWaiting and
// the cause of KubeJobCannotCreatePods, which may change while the alert
// fires and so cannot be labels of its expression. Annotations put label
// values into commands only through alerting.libsonnet's sanitized helpers
// (argOf, arg, argVar); nothing here writes a command.
local p = import 'promql.libsonnet';

{
  // A PromQL query string built inside the template with printf; the
  // format verbs (%q) are filled with `args` (template expressions), in
  // order, quoted by %q, so a label value cannot end the string it is in.
  // CLUSTER in q stands for the alert's own cluster label value, so that
  // with several clusters in one Prometheus the annotations read the Job
  // of the alert's cluster (an absent label matches an absent label).
  query(cfg, q, args)::
    local parts = std.split(q, '%q');
    local last = std.length(parts) - 1;
    local indexed = std.join('', [
      parts[i] + (if i < last then '%[' + (i + 1) + ']q' else '')
      for i in std.range(0, last)
    ]);
    local clusterArg = std.length(args) + 1;
    'printf `' + std.strReplace(indexed, 'CLUSTER', '%[' + clusterArg + ']q') + '` '
    + std.join(' ', args + ['$labels.' + cfg.clusterLabel]) + ' | query',

  // The matchers of a per-Job series in a template query.
  matchers(cfg, extra):: p.jobMatchers(cfg, [cfg.clusterLabel + '=CLUSTER'] + extra),
}
