package exporter

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// SelfMetrics are the exporter's own metrics, in a registry of their own
// (as node_exporter keeps its own), and the watch health behind /readyz.
// It implements watcher.Recorder.
type SelfMetrics struct {
	Registry *prometheus.Registry

	logger         *slog.Logger
	watchUp        *prometheus.GaugeVec
	watchSynced    *prometheus.GaugeVec
	watchErrors    *prometheus.CounterVec
	eventDelay     prometheus.Histogram
	scrapeDuration prometheus.Histogram
	scrapeRefused  prometheus.Counter
	writeTimeouts  prometheus.Counter

	// required are the resources /readyz waits for.
	required []string

	mu     sync.Mutex
	up     map[string]bool            // resource → last list/watch succeeded
	synced map[string]bool            // resource → informers synced
	errs   map[string]string          // resource → last error, while down
	briefs map[string]string          // resource → "verb resource: reason" of errs, without the server's text
	logged map[string]map[string]bool // resource → "verb reason" logged during this outage
	denied map[string][]string        // resource → permissions RBAC denies now
}

// RequiredResources are the resources without which the exporter's numbers
// would be wrong: /readyz fails while they are not synced, denied or not
// watched. Events only add the cause of pods that cannot be created; their
// trouble shows in kubejob_exporter_watch_up and the log, not in /readyz.
var RequiredResources = []string{watcher.ResourceJobs, watcher.ResourcePods}

// NewSelfMetrics creates and registers the exporter's own metrics for the
// resources watched. objects reports the number of tracked objects by
// resource.
func NewSelfMetrics(logger *slog.Logger, resources []string, objects func() map[string]int, shard watcher.Shard) *SelfMetrics {
	m := &SelfMetrics{
		Registry: prometheus.NewRegistry(),
		logger:   logger,
		required: RequiredResources,
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
		up:     map[string]bool{},
		synced: map[string]bool{},
		errs:   map[string]string{},
		briefs: map[string]string{},
		logged: map[string]map[string]bool{},
		denied: map[string][]string{},
	}
	for _, r := range resources {
		m.watchUp.WithLabelValues(r).Set(1)
		m.watchSynced.WithLabelValues(r).Set(0)
		m.up[r] = true
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
		Help: "The shard of the Jobs this replica reports (--shard); 0 when not sharded.",
	})
	shardOrdinal.Set(float64(index))
	totalShards := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubejob_exporter_total_shards",
		Help: "Replicas the Jobs are split across (--total-shards); 1 when not sharded.",
	})
	totalShards.Set(float64(total))
	objectsDesc := prometheus.NewDesc("kubejob_exporter_objects", "Objects the exporter tracks, by resource: jobs, pods and FailedCreate events in its caches, cronjobs reported.", []string{"resource"}, nil)
	m.Registry.MustRegister(
		versioncollector.NewCollector("kubejob_exporter"),
		promcollectors.NewGoCollector(),
		promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}),
		m.watchUp, m.watchSynced, m.watchErrors, m.eventDelay, m.scrapeDuration, m.scrapeRefused, m.writeTimeouts,
		shardOrdinal, totalShards,
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

// ListWatchResult implements watcher.Recorder. Each distinct failure (verb
// and reason) of a required resource is logged once per outage, naming the
// verb, the resource and why, and the recovery once; retries are not logged
// again. An optional resource's trouble is one warning per outage, whatever
// the verb, saying what the exporter does without it.
func (m *SelfMetrics) ListWatchResult(resource, verb string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		if !m.up[resource] {
			m.logger.Info("list/watch recovered", "resource", resource, "verb", verb)
		}
		m.up[resource] = true
		delete(m.errs, resource)
		delete(m.briefs, resource)
		delete(m.logged, resource)
		if len(m.denied[resource]) == 0 {
			m.watchUp.WithLabelValues(resource).Set(1)
		}
		return
	}
	reason := watcher.ClassifyError(err)
	m.watchErrors.WithLabelValues(resource, reason).Inc()
	if reason == watcher.ErrExpired {
		// A watch that expired is re-listed by the informer: normal.
		m.logger.Debug("watch expired, re-listing", "resource", resource, "err", err)
		return
	}
	switch {
	case m.optional(resource):
		if m.logOnce(resource, "optional") {
			msg := fmt.Sprintf("cannot %s %s: %s", verb, resource, reason)
			if reason == watcher.ErrForbidden {
				msg += "; " + optionalHint[resource]
			}
			m.logger.Warn(msg, "resource", resource, "verb", verb, "reason", reason, "err", err)
		}
	case m.logOnce(resource, verb+" "+reason):
		m.logger.Error(fmt.Sprintf("cannot %s %s: %s", verb, resource, reason), "resource", resource, "verb", verb, "reason", reason, "err", err)
	}
	m.up[resource] = false
	m.errs[resource] = fmt.Sprintf("%s %s: %s: %v", verb, resource, reason, err)
	m.briefs[resource] = fmt.Sprintf("%s %s: %s", verb, resource, reason)
	m.watchUp.WithLabelValues(resource).Set(0)
}

// optionalHint says, per optional resource, what the exporter does
// without it and how to stop asking.
var optionalHint = map[string]string{
	watcher.ResourceEvents:   "serving everything else; a Job whose pods the API server refuses shows as kubejob_without_pods but without its cause (grant list and watch on events, or set --watch.events=false)",
	watcher.ResourceCronJobs: "serving everything else; the kubejob_cronjob_* series come from the CronJobs' runs alone, without schedules, so KubeCronJobMissedSchedule, KubeCronJobNotSucceeding and KubeCronJobRunOutlastsInterval cannot fire (grant list and watch on cronjobs, or set --watch.cronjobs=false)",
}

func (m *SelfMetrics) optional(resource string) bool { return !slices.Contains(m.required, resource) }

// logOnce reports whether what has not been logged for resource during
// this outage, and marks it logged. Callers hold m.mu.
func (m *SelfMetrics) logOnce(resource, what string) bool {
	if m.logged[resource] == nil {
		m.logged[resource] = map[string]bool{}
	}
	if m.logged[resource][what] {
		return false
	}
	m.logged[resource][what] = true
	return true
}

// Permissions implements watcher.Recorder: a denial marks the watch down
// (an open watch keeps streaming after its RoleBinding is gone, so the
// watch itself would not say so for minutes), counts a forbidden error and
// is logged once; when everything is allowed again the watch's own state
// decides.
func (m *SelfMetrics) Permissions(resource string, denied []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	was := strings.Join(m.denied[resource], "; ")
	now := strings.Join(denied, "; ")
	switch {
	case now == was:
		return
	case now != "":
		m.denied[resource] = denied
		m.watchErrors.WithLabelValues(resource, watcher.ErrForbidden).Inc()
		m.watchUp.WithLabelValues(resource).Set(0)
		switch {
		case m.optional(resource):
			if m.logOnce(resource, "optional") {
				m.logger.Warn("RBAC denies the exporter: cannot "+now+"; "+optionalHint[resource], "resource", resource, "reason", watcher.ErrForbidden)
			}
		default:
			m.logger.Error("RBAC denies the exporter: cannot "+now, "resource", resource, "reason", watcher.ErrForbidden)
		}
	default:
		delete(m.denied, resource)
		m.logger.Info("RBAC allows the exporter again", "resource", resource)
		if m.up[resource] {
			m.watchUp.WithLabelValues(resource).Set(1)
		}
	}
}

// Synced implements watcher.Recorder.
func (m *SelfMetrics) Synced(resource string, synced bool) {
	m.mu.Lock()
	m.synced[resource] = synced
	m.mu.Unlock()
	m.watchSynced.WithLabelValues(resource).Set(boolFloat(synced))
}

// EventProcessed implements watcher.Recorder.
func (m *SelfMetrics) EventProcessed(d time.Duration) { m.eventDelay.Observe(d.Seconds()) }

// Ready returns nil once every required resource has synced and is being
// watched successfully, else why not. A failing watch makes the exporter
// unready: it would otherwise serve stale numbers that look healthy.
func (m *SelfMetrics) Ready() error { return m.ready(false) }

// ReadyBrief is Ready naming only what is not ready and why, in the
// exporter's own words (the resource, the denied permissions, the class of
// error): for a listener without authentication, which must not hand the
// API server's error text to whoever asks.
func (m *SelfMetrics) ReadyBrief() error { return m.ready(true) }

func (m *SelfMetrics) ready(brief bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var problems []string
	for _, r := range m.required {
		if d := m.denied[r]; len(d) > 0 {
			problems = append(problems, "forbidden, RBAC denies: "+strings.Join(d, "; "))
		}
		if e, down := m.errs[r]; down {
			if brief {
				e = m.briefs[r]
			}
			problems = append(problems, "watch failing: "+e)
		}
	}
	for _, r := range m.required {
		if !m.synced[r] && len(problems) == 0 {
			problems = append(problems, r+" not synced yet")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
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
