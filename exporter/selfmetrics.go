package exporter

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// SelfMetrics are the exporter's own metrics, in a registry of their own
// (as node_exporter keeps its own). The watch series follow WatchHealth.
type SelfMetrics struct {
	Registry *prometheus.Registry

	watchUp        *prometheus.GaugeVec
	watchSynced    *prometheus.GaugeVec
	watchErrors    *prometheus.CounterVec
	eventDelay     prometheus.Histogram
	scrapeDuration prometheus.Histogram
	scrapeRefused  prometheus.Counter
	writeTimeouts  prometheus.Counter
	// kueueAPI is kubejob_exporter_kueue_api, nil unless Kueue is
	// watched (enableKueueAPI).
	kueueAPI *prometheus.GaugeVec
}

// NewSelfMetrics creates and registers the exporter's own metrics for the
// resources watched. objects reports the number of tracked objects by
// resource.
func NewSelfMetrics(resources []string, objects func() map[string]int, shard watcher.Shard) *SelfMetrics {
	m := &SelfMetrics{
		Registry: prometheus.NewRegistry(),
		watchUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubejob_exporter_watch_up",
			Help: "1 when the last list or watch of the resource succeeded, 0 while it fails (see kubejob_exporter_watch_errors_total for why).",
		}, []string{"resource"}),
		watchSynced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubejob_exporter_watch_synced",
			Help: "1 once the informers of the resource have synced their initial list.",
		}, []string{"resource"}),
		watchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubejob_exporter_watch_errors_total",
			Help: "List and watch errors by resource and reason: forbidden, unauthorized, unreachable, expired (a normal re-list), other.",
		}, []string{"resource", "reason"}),
		eventDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubejob_exporter_event_processing_delay_seconds",
			Help:    "Time from a watch event of a Job, one of its Pods or a FailedCreate event about it to the Job's metrics being updated.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		scrapeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubejob_exporter_scrape_duration_seconds",
			Help:    "Time to write a /metrics response.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		scrapeRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubejob_exporter_scrapes_refused_total",
			Help: "Scrapes answered 503 because --web.max-requests were already in flight.",
		}),
		writeTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubejob_exporter_http_write_timeouts_total",
			Help: "HTTP responses cut off because the client stopped reading: a write made no progress for --web.write-progress-timeout, or the response outlasted the server's 2m write timeout.",
		}),
	}
	for _, r := range resources {
		m.watchUp.WithLabelValues(r).Set(1)
		m.watchSynced.WithLabelValues(r).Set(0)
		for _, reason := range watcher.ErrorReasons {
			m.watchErrors.WithLabelValues(r, reason)
		}
	}
	total, index := 1, 0
	if shard.Enabled() {
		total, index = shard.Total, shard.Index
	}
	shardOrdinal := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubejob_exporter_shard_ordinal",
		Help: "The shard of the Jobs this replica reports (--watch.shard); 0 when not sharded.",
	})
	shardOrdinal.Set(float64(index))
	totalShards := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubejob_exporter_total_shards",
		Help: "Replicas the Jobs are split across (--watch.total-shards); 1 when not sharded.",
	})
	totalShards.Set(float64(total))
	// Read at scrape time from where the records are made (job.Cuts,
	// counted per process), since this exporter was made (tests make
	// many in one process): every what, 0 included, so that rate() sees
	// the first cut.
	cutsBefore := job.Cuts()
	cutDesc := prometheus.NewDesc("kubejob_exporter_tenant_values_cut_total",
		fmt.Sprintf("Values from objects tenants write that the exporter cut to their bound or did not keep, counted each time a record is made (every change and re-list) or a Job rendered, by what: image (cut to %d bytes), container (beyond --job.max-containers), owner_reference (invalid name or UID), event_object (a FailedCreate event about an invalid name or UID), schedule (schedule or time zone cut to %d bytes), reason (condition reason cut to %d bytes), series (per-container series beyond --job.max-container-series), queue_message (a Kueue Workload condition's message cut to %d bytes).",
			job.MaxImageLength, job.MaxScheduleLength, job.MaxReasonLength, job.MaxQueueMessage),
		[]string{"what"}, nil)
	objectsDesc := prometheus.NewDesc("kubejob_exporter_objects", "Objects the exporter tracks, by resource: jobs, pods and FailedCreate events in its caches, cronjobs reported.", []string{"resource"}, nil)
	m.Registry.MustRegister(
		versioncollector.NewCollector("kubejob_exporter"),
		promcollectors.NewGoCollector(),
		promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}),
		m.watchUp, m.watchSynced, m.watchErrors, m.eventDelay, m.scrapeDuration, m.scrapeRefused, m.writeTimeouts,
		shardOrdinal, totalShards,
		funcCollector{desc: cutDesc, collect: func(ch chan<- prometheus.Metric) {
			for i, n := range job.Cuts() {
				ch <- prometheus.MustNewConstMetric(cutDesc, prometheus.CounterValue, float64(n-cutsBefore[i]), job.CutNames[i])
			}
		}},
		funcCollector{desc: objectsDesc, collect: func(ch chan<- prometheus.Metric) {
			for r, n := range objects() {
				ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n), r)
			}
		}},
	)
	return m
}

// enablePodMetricsUp registers kubejob_exporter_pod_metrics_up (only when
// the pod metrics collector is on) and returns its setter.
func (m *SelfMetrics) enablePodMetricsUp() func(bool) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubejob_exporter_pod_metrics_up",
		Help: "1 when the last read of metrics.k8s.io (metrics-server) succeeded, 0 when it failed; present only with --collector.pod-metrics.",
	})
	m.Registry.MustRegister(g)
	return func(up bool) { g.Set(boolFloat(up)) }
}

// enableKueueAPI registers kubejob_exporter_kueue_api (only when Kueue is
// watched, --collector.kueue); WatchHealth.KueueAPI sets it.
func (m *SelfMetrics) enableKueueAPI() {
	m.kueueAPI = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kubejob_exporter_kueue_api",
		Help: "1 with the version of kueue.x-k8s.io the exporter reads once the API server serves it; 0 with version=\"\" while it does not (looked for again every minute). Present only with --collector.kueue.",
	}, []string{"version"})
	m.Registry.MustRegister(m.kueueAPI)
}

// setKueueAPI makes kubejob_exporter_kueue_api say what discovery found.
func (m *SelfMetrics) setKueueAPI(version string, found bool) {
	if m.kueueAPI == nil {
		return
	}
	m.kueueAPI.Reset()
	if !found {
		m.kueueAPI.WithLabelValues("").Set(0)
		return
	}
	m.kueueAPI.WithLabelValues(version).Set(1)
}

// registerEvidence registers the sizes of what outlives Jobs: the deleted
// failed Jobs whose evidence the pages keep (deletedKept), and the owners
// with outcome series with the outcomes their bound turned away
// (collectors.Outcomes' Owners and Dropped), read at scrape time.
func (m *SelfMetrics) registerEvidence(deletedKept, owners func() int, dropped func() int64) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kubejob_exporter_deleted_jobs_kept",
			Help: "Deleted failed Jobs whose evidence (last report) the failing-now and runbook pages keep, for --evidence.keep-for after each deletion and at most --evidence.max-jobs.",
		}, func() float64 { return float64(deletedKept()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kubejob_exporter_outcome_owners",
			Help: "Owners (CronJobs, standalone Jobs' groups) with kubejob_owner_* outcome series; at most --outcomes.max-owners.",
		}, func() float64 { return float64(owners()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "kubejob_exporter_outcomes_dropped_total",
			Help: "Job outcomes, pod failures and finished pods' resource-time not counted in kubejob_owner_* or kubejob_attempt_resource_seconds_total because --outcomes.max-owners owners had series already.",
		}, func() float64 { return float64(dropped()) }),
	)
}

// maxGitVersionLength bounds the git_version label: the server writes it,
// and providers append their own build suffixes (v1.34.4-eks-1a2b3c4,
// v1.34.4-gke.1234000); 64 bytes keep every real one whole.
const maxGitVersionLength = 64

// registerAPIServerInfo registers kubejob_exporter_kube_apiserver_info:
// the API server's version as the exporter read it at start (/version,
// kube.CheckReachable), the version that chose the Job controller rules
// it mirrors (the backoff cap). One series, so a support question starts
// from the version without asking the cluster.
func (m *SelfMetrics) registerAPIServerInfo(server kubeversion.Info) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubejob_exporter_kube_apiserver_info",
		Help: "The Kubernetes API server the exporter talks to, as its /version said at start: git_version as reported, minor the Kubernetes minor version (empty when the server does not report 1.N). Always 1.",
		ConstLabels: prometheus.Labels{
			"git_version": job.Bounded(server.GitVersion, maxGitVersionLength),
			"minor":       minorLabel(server),
		},
	})
	g.Set(1)
	m.Registry.MustRegister(g)
}

// minorLabel is the minor version as digits ("28+", as some providers
// write it, gives "28"), or "" for a server that does not report 1.N:
// the same reading that picks the backoff (kube.MinorVersion).
func minorLabel(server kubeversion.Info) string {
	minor, ok := kube.MinorVersion(server)
	if !ok {
		return ""
	}
	return strconv.Itoa(minor)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// funcCollector collects through a function, for values read at scrape
// time from elsewhere (cache sizes).
type funcCollector struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c funcCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
