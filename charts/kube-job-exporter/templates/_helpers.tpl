{{/*
The chart's name (or nameOverride), as app.kubernetes.io/name: the
ServiceMonitor's default jobLabel, so it is also the job label the mixin's
alerts select (job="kube-job-exporter").
*/}}
{{- define "kube-job-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The objects' name: the release name when it already contains the chart's
name (release kube-job-exporter gives the names of deploy/), else
<release>-<name>; 63 characters at most (DNS labels).
*/}}
{{- define "kube-job-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kube-job-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "kube-job-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of a release (selectors are immutable). */}}
{{- define "kube-job-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-job-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "kube-job-exporter.labels" -}}
helm.sh/chart: {{ include "kube-job-exporter.chart" . }}
{{ include "kube-job-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-job-exporter
{{- if .Values.releaseLabel }}
release: {{ .Release.Name }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kube-job-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kube-job-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag[@digest]; the tag defaults to "v" + appVersion. */}}
{{- define "kube-job-exporter.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $tag := default (printf "v%s" .Chart.AppVersion) .Values.image.tag -}}
{{- $ref := printf "%s:%s" .Values.image.repository $tag -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" $registry $ref -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* global.imagePullSecrets then imagePullSecrets, names or {name: ...}. */}}
{{- define "kube-job-exporter.imagePullSecrets" -}}
{{- range (concat .Values.global.imagePullSecrets .Values.imagePullSecrets) }}
{{- if kindIs "map" . }}
- name: {{ .name }}
{{- else }}
- name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
What the exporter reads, and nothing else, as deploy/base/clusterrole.yaml
(which says why each; e2e/deploy compares the two): list and watch on Jobs,
CronJobs, Pods and Events; with podMetrics.enabled, which passes
--collector.pod-metrics, list on metrics.k8s.io pods (that API has no
watch), as deploy/components/pod-metrics adds it; with kueue.enabled,
which passes --collector.kueue, list and watch on Kueue's workloads and
localqueues, as deploy/components/kueue adds them. No get, no secrets, no
configmaps, no pods/log, no write verb.
*/}}
{{- define "kube-job-exporter.rules" -}}
- apiGroups: ["batch"]
  resources: ["jobs", "cronjobs"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["pods", "events"]
  verbs: ["list", "watch"]
{{- if .Values.podMetrics.enabled }}
- apiGroups: ["metrics.k8s.io"]
  resources: ["pods"]
  verbs: ["list"]
{{- end }}
{{- if .Values.kueue.enabled }}
- apiGroups: ["kueue.x-k8s.io"]
  resources: ["workloads", "localqueues"]
  verbs: ["list", "watch"]
{{- end }}
{{- with .Values.rbac.extraRules }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The name of the Secret holding the web config. */}}
{{- define "kube-job-exporter.webConfigSecret" -}}
{{- default (printf "%s-web-config" (include "kube-job-exporter.fullname" .)) .Values.webConfig.existingSecret -}}
{{- end -}}

{{/* The port the probes use: the health-only listener with a web config. */}}
{{- define "kube-job-exporter.probePort" -}}
{{- if .Values.webConfig.enabled -}}health{{- else -}}http-metrics{{- end -}}
{{- end -}}

{{/*
A file the mixin generated (path under files/, e.g. "prometheusrule.yaml"),
with its links for .Values.exporterURL. files/ holds the mixin's default
output (runbook_url only; dashboards link to the published runbooks);
files/live/ the same generated with exporterURL=https://exporter-url.invalid
(live_report_url; dashboards link to the live pages), whose address is
replaced here by exporterURL. Both are copies checked by e2e/deploy
(TestGeneratedCopiesChart); the schema admits only a URL with no character
that a YAML or JSON string, a Prometheus template or a Grafana variable
would read (quotes, braces, $, backslash, whitespace).
*/}}
{{- define "kube-job-exporter.mixinFile" -}}
{{- $url := regexReplaceAll "/+$" .root.Values.exporterURL "" -}}
{{- if $url -}}
{{- .root.Files.Get (printf "files/live/%s" .path) | replace "https://exporter-url.invalid" $url -}}
{{- else -}}
{{- .root.Files.Get (printf "files/%s" .path) -}}
{{- end -}}
{{- end -}}
