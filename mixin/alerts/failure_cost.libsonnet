// What failures cost: an owner (a CronJob, or a standalone Job's group)
// whose failed attempts (pods) held more of a resource within
// failureCostWindow than its threshold in failureCostThresholds: retries
// of a failure that repeats, each holding its GPUs, cores and memory for
// nothing. Off unless thresholds are set: with none the group is not in
// the rules at all, rather than a rule that cannot fire (which would look,
// in Prometheus' alert list, like a watch that is not kept, and would test
// an expression no one runs).
//
// It reads the recording rule of the failed resource-time per owner
// (rules/rules.libsonnet), which counts every finished attempt once
// whatever happened to its Job since (deleted, suspended, retried into a
// success) and forgets it when the window has passed: the alert resolves
// on its own once the owner stops failing for a window. One alert per
// owner and resource: the labels are the owner's and the resource's, so a
// failure reason that changes while it fires changes nothing but the
// description, which names the reason the owner's pods failed with most
// within the window (kubejob_owner_pod_failures_total, looked up when it
// fires).
//
// keep_firing_for: the recorded series reads a window, so a scrape gap or
// an exporter restart (a counter reset) does not end it; keepFiringFor
// covers a gap in the recording rule's own evaluation (a Prometheus
// restart).
local p = import '../lib/promql.libsonnet';
local r = import '../lib/resources.libsonnet';
local t = import '../lib/templates.libsonnet';

{
  local a = (import '../lib/alerting.libsonnet')($._config),
  local cfg = $._config,
  local thresholds = r.thresholds(cfg),
  local resources = std.objectFields(thresholds),
  local O = a.by(['namespace', 'owner_kind', 'owner_name', 'resource']),

  // Per resource: the failed resource-time in its hours, above its
  // threshold.
  local arm(res) =
    'max by (%s) (%s{%s}) / %d > %s' % [O, $.failureCostRecord, p.matchers(['outcome="failed"', 'resource="%s"' % res]), r.perHour(res), thresholds[res]],
  // A template choosing, by the alert's resource label, one of the texts
  // (a function of the resource name) of the configured resources.
  local byResource(text) =
    std.join('', ['{{ %sif eq $labels.resource "%s" }}%s' % [if i == 0 then '' else 'else ', resources[i], text(resources[i])] for i in std.range(0, std.length(resources) - 1)]) + '{{ end }}',
  local owner = '{{ $labels.owner_kind }} {{ $labels.namespace }}/{{ $labels.owner_name }}',
  // The reason (and exit code) the owner's pods failed with most within
  // the window; several replicas count the same failures, which changes no
  // ranking.
  local topCause = t.query(cfg, 'topk(1, sum by (reason, exit_code) (max_over_time(kubejob_owner_pod_failures_total{' + t.matchers(cfg, ['namespace=%q', 'owner_kind=%q', 'owner_name=%q']) + '}[' + cfg.failureCostWindow + '])))', ['$labels.namespace', '$labels.owner_kind', '$labels.owner_name']),

  prometheusAlerts+:: {
    groups+: if resources == [] then [] else [{
      name: 'kube-job-exporter-failure-cost',
      rules: [
        a.rule(
          'KubeJobFailureCostHigh',
          std.join('\nor\n', [arm(res) for res in resources]) + '\n',
          'Failed attempts of ' + owner + ' held {{ $value | printf "%.1f" }} ' + byResource(r.hours) + ' in the last ' + cfg.failureCostWindow + ', more than ' + byResource(function(res) '%s %s' % [thresholds[res], r.hours(res)]) + '.',
          '{{ with ' + topCause + ' }}{{ with first . }}Its pods failed mostly with {{ .Labels.reason }}{{ with .Labels.exit_code }} (exit code {{ . }}){{ end }}, and a failure that repeats holds as much again at every retry{{ end }}{{ else }}The exporter knows no reason its pods failed with (it restarted since, or they were deleted while running), and a failure that repeats holds as much again at every retry{{ end }}: fix its cause rather than raise backoffLimit.',
          for_=cfg.failureCostFor,
          runbookQuery=['namespace', 'owner_name'],
        ),
      ],
    }],
  },
}
