// Package stack proves kube-job-exporter beside the monitoring stack
// nearly every cluster already runs (kube-prometheus,
// kube-prometheus-stack): the real kube-state-metrics, built from the pin
// in tools/ksm, and the exporter scraped by one Prometheus that evaluates
// kubernetes-mixin's Job and pod alerts and this repository's mixin, with
// the mixin's example Alertmanager configuration paging a webhook.
//
// Two such stacks watch the same cluster at once: one with the recipe of
// mixin/kube-prometheus (kubernetes-mixin's Job alerts dropped, its
// container alerts without the pods of Jobs), one without. The tests
// prove one page per failed Job, per stuck Job and per failed CronJob run
// with the recipe, and the duplicates without it.
package stack
