package main

import (
	"fmt"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/podmetrics"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// collectorOptions turn on the optional collectors: metrics-server's
// pod metrics, Kueue's queues.
type collectorOptions struct {
	podMetrics         bool
	podMetricsInterval time.Duration
	kueue              bool
	kueueDiscovery     time.Duration
}

func (o *collectorOptions) register(s flagSet) {
	s.Flag("collector.pod-metrics", "Read the memory working set of running Job pods from metrics.k8s.io (metrics-server) into kubejob_container_memory_working_set_bytes.").
		Default("false").BoolVar(&o.podMetrics)
	s.Flag("collector.pod-metrics.interval", "How often to read pod metrics (metrics-server itself refreshes every 15s or more).").
		Default(podmetrics.DefaultInterval.String()).DurationVar(&o.podMetricsInterval)
	s.Flag("collector.kueue", "Read where the Jobs Kueue manages (label "+job.QueueLabel+") stand in their queues, and their Workloads' evictions, from Kueue's Workloads and LocalQueues into kubejob_queue_* and kubejob_owner_queue_evictions_total. Needs list/watch on workloads and localqueues in "+kube.KueueGroup+", and Kueue installed: while its API is not served the exporter serves everything else and looks for it again every --collector.kueue.discovery-interval (kubejob_exporter_kueue_api).").
		Default("false").BoolVar(&o.kueue)
	s.Flag("collector.kueue.discovery-interval", "How often to look for Kueue's API while the API server does not serve it (one small discovery request each time): how soon a Kueue installed after the exporter is watched.").
		Default(watcher.DefaultKueueDiscoveryInterval.String()).DurationVar(&o.kueueDiscovery)
}

func (o *collectorOptions) validate() error {
	if o.kueueDiscovery <= 0 {
		return fmt.Errorf("--collector.kueue.discovery-interval must be > 0, got %s", o.kueueDiscovery)
	}
	return nil
}

// apply turns on the collectors that need no client.
func (o *collectorOptions) apply(cfg *exporter.Config) {
	cfg.Kueue, cfg.KueueDiscoveryInterval = o.kueue, o.kueueDiscovery
}

// applyClients turns the collectors on that the flags ask for and that
// read through clients of their own.
func (o *collectorOptions) applyClients(cfg *exporter.Config, clients kube.Clients) {
	if o.podMetrics {
		cfg.PodMetrics, cfg.PodMetricsInterval = clients.Metrics, o.podMetricsInterval
	}
}
