// What every alert file builds its rules with: the selectors, the label
// lists and the expression wrappers, from _config. Usage:
//   local a = (import '../lib/alerting.libsonnet')($._config);
//   a.rule('KubeJobX', expr, summary, description, for_='5m')
// runbook_url and the severity label are added in one pass by
// alerts/alerts.libsonnet, not here.
local p = import 'promql.libsonnet';

function(cfg) {
  local h = self,

  // The matchers of per-Job/per-CronJob series, and of the exporter's own.
  S(extra=[]):: p.jobMatchers(cfg, extra),
  X(extra=[]):: p.exporterMatchers(cfg, extra),
  by(labels):: p.by(cfg, labels),

  // The identity of a Job and of a CronJob, cluster label included.
  J:: self.by(['namespace', 'job_name']),
  C:: self.by(['namespace', 'cronjob']),

  // The owner of each Job, one series per Job, for a group_left
  // (owner_kind, owner_name) join. Exporter replicas may disagree on it
  // (one of a version before standalone Jobs had owners leaves the labels
  // empty; two with different --outcomes.owner-label name different
  // groups), and two series of one Job on the right of a join fail the
  // whole rule: the owned series wins over an empty one, topk keeps one of
  // two owners.
  owner:: |||
    (
      topk by (%(J)s) (1, max by (%(J)s, owner_kind, owner_name) (kubejob_info{%(owned)s}))
      or on (%(J)s)
      max by (%(J)s) (kubejob_info{%(S)s})
    )
  ||| % { J: h.J, S: h.S(), owned: h.S(['owner_kind!=""']) },

  // The CronJob of each of its runs (kubejob_info's owner when it is a
  // CronJob), as a cronjob label, one series per Job for a group_left
  // (cronjob) join: replicas that disagree on the owner (an upgrade) would
  // put two series of one Job on the right and fail the rule with a
  // many-to-many error, so topk keeps one (kubernetes-mixin's idiom).
  runCronJob:: |||
    topk by (%(J)s) (1, max by (%(J)s, cronjob) (label_replace(kubejob_info{%(owned)s}, "cronjob", "$1", "owner_name", "(.+)")))
  ||| % { J: h.J, owned: h.S(['owner_kind="CronJob"']) },

  // Adds owner_kind/owner_name of the Job (empty labels vanish) to each
  // series of a per-Job expression, for routing and for the reader.
  withOwner(expr):: |||
    (
    %s
    )
    * on (%s) group_left (owner_kind, owner_name)
    %s
  ||| % [std.stripChars(expr, '\n'), self.J, std.stripChars(self.owner, '\n')],

  // Drops Jobs that finished (complete or failed for good).
  unfinished(expr):: |||
    %s
    unless on (%s) (max by (%s) (kubejob_complete{%s}) == 1)
    unless on (%s) kubejob_failed{%s}
  ||| % [std.stripChars(expr, '\n'), self.J, self.J, self.S(), self.J, self.S()],

  // Drops suspended Jobs.
  notSuspended(expr):: |||
    %s
    unless on (%s) (max by (%s) (kubejob_suspended{%s}) == 1)
  ||| % [std.stripChars(expr, '\n'), self.J, self.J, self.S()],

  // Keeps only Jobs that exist now: an expression over a window (a
  // max_over_time) would otherwise outlive a deleted Job.
  existing(expr):: |||
    %s
    and on (%s) group by (%s) (kubejob_info{%s})
  ||| % [std.stripChars(expr, '\n'), self.J, self.J, self.S()],

  // Limits in seconds per series of `by` of a per-Job metric, from a
  // default and a list of overrides { selector, seconds } (seconds null:
  // no limit), the first override whose selector matches winning. One
  // definition for every alert with a configurable limit (run time,
  // queue wait).
  // unmatched(i, expr): expr without the series an override before the
  // i-th matched.
  local unmatched(metric, by, overrides, i, expr) =
    if i == 0 then expr
    else '(%s) unless on (%s) (%s)' % [expr, by, std.join(' or ', ['%s{%s}' % [metric, h.S([o.selector])] for o in overrides[0:i]])],
  // One expression of value `seconds` per series: an arm per override
  // with seconds, each of the series it is the first match of, then the
  // default's arm of the series no override matched. A series whose first
  // match says null is in no arm: it has no limit.
  limits(metric, by, overrides, seconds)::
    local limit(selector, i, s) = '(%s) * 0 + %d' % [unmatched(metric, by, overrides, i, 'max by (%s) (%s{%s})' % [by, metric, h.S(selector)]), s];
    std.join('\n  or\n  ', [
      limit([overrides[i].selector], i, overrides[i].seconds)
      for i in std.range(0, std.length(overrides) - 1)
      if overrides[i].seconds != null
    ] + [limit([], std.length(overrides), seconds)]),
  // The series whose first match says null (no limit), one expression per
  // such override, for an expression that adds limits of its own.
  unlimited(metric, by, overrides):: [
    unmatched(metric, by, overrides, i, '%s{%s}' % [metric, h.S([overrides[i].selector])])
    for i in std.range(0, std.length(overrides) - 1)
    if overrides[i].seconds == null
  ],

  // A rule. Annotations say what the labels and the value say, in a
  // sentence or two; the runbook page (runbook_url) has the live report of
  // the Job and what to do. keepFiringFor: fire on through a scrape gap
  // that long (an exporter restart, a refused scrape) instead of resolving
  // and paging again; null for never. runbookQuery: the labels the
  // runbook_url query carries (alerts/alerts.libsonnet), for an alert
  // that names something else than a Job (job_name) or CronJob (cronjob).
  rule(name, expr, summary, description, for_=null, keepFiringFor=cfg.keepFiringFor, runbookQuery=null):: {
                                                                                                            alert: name,
                                                                                                            expr: expr,
                                                                                                            annotations: { summary: summary, description: description },
                                                                                                          } + (if for_ != null then { 'for': for_ } else {})
                                                                                                          + (if keepFiringFor != null then { keep_firing_for: keepFiringFor } else {})
                                                                                                          + (if runbookQuery != null then { runbookQuery:: runbookQuery } else {}),

  // The share of its retries a Job has used: the Job fails when it
  // reaches 1. restartPolicy Never: failures / (backoffLimit + 1), the Job
  // fails at failure backoffLimit+1; OnFailure: restarts / backoffLimit,
  // the Job fails when its restarts reach backoffLimit; with
  // backoffLimitPerIndex (backoffLimit reads 2147483647 then) the worst
  // index's failures / (backoffLimitPerIndex + 1). One definition for the
  // alert and the recording rule of the dashboards.
  retryBudgetUsed:: |||
    (
      max by (%(J)s) (kubejob_retries{%(S)s})
      / on (%(J)s)
      (
        (max by (%(J)s) (kubejob_backoff_limit{%(S)s}) + 1) unless on (%(J)s) kubejob_info{%(onFailure)s}
        or
        max by (%(J)s) (kubejob_backoff_limit{%(S)s}) and on (%(J)s) kubejob_info{%(onFailure)s}
      )
    ) unless on (%(J)s) kubejob_backoff_limit_per_index{%(S)s}
    or
    max by (%(J)s) (kubejob_index_failures{%(S)s})
    / on (%(J)s)
    (max by (%(J)s) (kubejob_backoff_limit_per_index{%(S)s}) + 1)
  ||| % { J: h.J, S: h.S(), onFailure: h.S(['restart_policy="OnFailure"']) },

  // Template snippets.
  ns:: '{{ $labels.namespace }}',
  job:: '{{ $labels.job_name }}',
  cronjob:: '{{ $labels.cronjob }}',
  jobRef:: 'Job ' + self.ns + '/' + self.job,

  // A value inside a suggested command (the value of `.` in a template,
  // or of a label): only the characters a Kubernetes name can have, so
  // that whatever a label holds cannot become shell syntax for whoever
  // copies the command. A no-op for every name Kubernetes accepts.
  sanitized(value):: 'reReplaceAll "[^-a-z0-9.]" "" %s' % value,
  argOf(value):: '{{ %s }}' % self.sanitized(value),
  arg(label):: self.argOf('$labels.' + label),
  // Binds $name to a label's value as argOf makes it, for a template that
  // uses it several times.
  argVar(name, label):: '{{ $%s := %s }}' % [name, self.sanitized('$labels.' + label)],
  nsArg:: self.arg('namespace'),
  jobArg:: self.arg('job_name'),
}
