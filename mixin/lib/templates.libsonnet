// Go-template snippets for alert annotations. Prometheus expands them when
// an alert fires; `query` runs PromQL against the same Prometheus, so an
// alert can name what its own expression had to aggregate away (the
// causes of the failed pods, the limits that were hit).
//
// Each helper takes the template expressions that yield the namespace and
// the Job name, e.g. '$labels.namespace' or '$job'.
local p = import 'promql.libsonnet';

{
  // A PromQL query string built inside the template with printf; the
  // format verbs (%q) are filled with `args` (template expressions), in
  // order. CLUSTER in q stands for the alert's own cluster label value, so
  // that with several clusters in one Prometheus the annotations read the
  // Job of the alert's cluster (an absent label matches an absent label).
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

  // First value of an instant query, formatted with `fmt` ('' = as is).
  value(cfg, q, args, fmt='', else_='?')::
    '{{ with ' + self.query(cfg, q, args) + ' }}{{ . | first | value' + (if fmt == '' then '' else ' | ' + fmt) + ' }}{{ else }}' + else_ + '{{ end }}',

  // Job-level numbers, by name.
  jobValue(cfg, metric, ns, job, fmt='', else_='?')::
    self.value(cfg, 'max(' + metric + '{' + self.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '})', [ns, job], fmt, else_),

  // What an exit code or reason means, and what to do about it. `.` is a
  // sample of kubejob_pod_failures (by container, reason, exit_code).
  hint(cfg, ns, job)::
    '{{ if eq .Labels.reason "OOMKilled" }}out of memory'
    + '{{ with ' + self.query(cfg, 'max(kubejob_container_memory_limit_bytes{' + self.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container=%q']) + '})', [ns, job, '.Labels.container']) + ' }}, killed at its memory limit of {{ . | first | value | humanize1024 }}: raise resources.limits.memory{{ else }}, and no memory limit is set: the node ran out of memory, set requests/limits.memory{{ end }}'
    + '{{ else if eq .Labels.exit_code "127" }}command not found: fix command/args or the image, retrying cannot help'
    + '{{ else if eq .Labels.exit_code "126" }}command found but not executable: fix its permissions (chmod +x) or the path, retrying cannot help'
    + '{{ else if or (eq .Labels.reason "ContainerCannotRun") (eq .Labels.reason "StartError") }}the container could not start: check the image, command and mounts in kubectl describe pod'
    + '{{ else if eq .Labels.exit_code "137" }}killed with SIGKILL but not for memory: preempted, evicted or killed after its grace period'
    + '{{ else if eq .Labels.exit_code "143" }}stopped with SIGTERM: the pod was deleted, preempted or drained'
    + '{{ else if eq .Labels.exit_code "139" }}segmentation fault in the program'
    + '{{ else if eq .Labels.reason "Evicted" }}evicted by the kubelet under node pressure: check kubectl describe node'
    + '{{ else if eq .Labels.reason "DeadlineExceeded" }}stopped by activeDeadlineSeconds'
    + '{{ else if .Labels.container }}the program exited with an error: read its logs'
    + '{{ else }}the pod failed as a whole: read its events{{ end }}',

  // One line per failing container/reason/exit code of a Job's failed pods,
  // each with its meaning; `else_` when no failed pod is left.
  causes(cfg, ns, job, else_='No failed pod of the Job is left to inspect (deleted by the Job controller, a TTL or by hand); the Job events still say why.')::
    '{{ with ' + self.query(cfg, 'sum by (container, reason, exit_code) (kubejob_pod_failures{' + self.matchers(cfg, ['namespace=%q', 'job_name=%q']) + '} > 0)', [ns, job]) + ' }}Failed pods by cause:'
    + '{{ range sortByLabel "container" (sortByLabel "reason" (sortByLabel "exit_code" .)) }}\n'
    + '- {{ if .Labels.container }}container {{ .Labels.container }}{{ else }}pod{{ end }}: {{ .Labels.reason }}{{ with .Labels.exit_code }}, exit code {{ . }}{{ end }}, {{ .Value }} pod(s): '
    + self.hint(cfg, ns, job)
    + '{{ end }}{{ else }}' + else_ + '{{ end }}',

  // The first commands for a Job: describe, list pods, logs of the failed
  // containers (the previous instance with restartPolicy OnFailure).
  // `first`: lines (commands, with their indent) to put before them.
  jobCommands(cfg, ns, job, first=[])::
    'First commands:\n'
    + std.join('', [l + '\n' for l in first])
    + '  kubectl describe job {{ ' + job + ' }} -n {{ ' + ns + ' }}\n'
    + '  kubectl get pods -n {{ ' + ns + ' }} -l job-name={{ ' + job + ' }} -o wide\n'
    + '{{ range sortByLabel "container" (' + self.query(cfg, 'sum by (container) (kubejob_pod_failures{' + self.matchers(cfg, ['namespace=%q', 'job_name=%q', 'container!=""']) + '} > 0)', [ns, job]) + ') }}'
    + '  kubectl logs -n {{ ' + ns + ' }} -l job-name={{ ' + job + ' }} -c {{ .Labels.container }} --prefix --tail=50 (add --previous for a restarted container)\n'
    + '{{ end }}'
    + '  kubectl get events -n {{ ' + ns + ' }} --field-selector involvedObject.name={{ ' + job + ' }}',

  // How many more failures the Job tolerates.
  retriesLine(cfg, ns, job)::
    'Retries: ' + self.jobValue(cfg, 'kubejob_retries', ns, job) + ' of backoffLimit ' + self.jobValue(cfg, 'kubejob_backoff_limit', ns, job) + '.',
}
