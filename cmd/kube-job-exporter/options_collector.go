package main

import (
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/podmetrics"
)

// collectorOptions turn on the optional collectors: metrics-server's
// pod metrics.
type collectorOptions struct {
	podMetrics         bool
	podMetricsInterval time.Duration
}

func (o *collectorOptions) register(s flagSet) {
	s.Flag("collector.pod-metrics", "Read the memory working set of running Job pods from metrics.k8s.io (metrics-server) into kubejob_container_memory_working_set_bytes.").
		Default("false").BoolVar(&o.podMetrics)
	s.Flag("collector.pod-metrics.interval", "How often to read pod metrics (metrics-server itself refreshes every 15s or more).").
		Default(podmetrics.DefaultInterval.String()).DurationVar(&o.podMetricsInterval)
}

// apply turns the collectors on that the flags ask for, reading through
// clients.
func (o *collectorOptions) apply(cfg *exporter.Config, clients kube.Clients) {
	if o.podMetrics {
		cfg.PodMetrics, cfg.PodMetricsInterval = clients.Metrics, o.podMetricsInterval
	}
}
