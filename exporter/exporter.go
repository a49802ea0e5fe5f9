// Package exporter wires the watcher, the metric stores, the failing-now
// board and the exporter's own metrics behind an HTTP handler and server:
// /metrics, /healthz, /readyz, the landing page, and the pages of package
// pages (/failing, /runbooks/). It keeps the exporter's self metrics, the
// health of its watches and of the API server.
package exporter

import (
	"context"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/cache"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
	"github.com/kube-job-exporter/kube-job-exporter/podmetrics"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// Config configures an Exporter.
type Config struct {
	Client            kube.Client
	Namespaces        []string
	ExcludeNamespaces []string
	JobSelector       string
	// Backoff is the Job controller's backoff, unless BackoffFor is set.
	Backoff job.Backoff
	// BackoffFor, if set, chooses the backoff from the API server's
	// version once the server has answered (the flags weighed against the
	// version, cmd/kube-job-exporter); its error stops Run: a
	// configuration that no retry fixes.
	BackoffFor func(kubeversion.Info) (job.Backoff, error)
	// StartTimeout: how long a pod may be pending in a normal start before
	// it counts as waiting (--job.pod-start-timeout).
	StartTimeout time.Duration
	// Events watches the Job controller's FailedCreate events
	// (--watch.events).
	Events bool
	// CronJobs watches the CronJob objects (--watch.cronjobs).
	CronJobs bool
	// Kueue watches Kueue's Workloads and LocalQueues once its API is
	// served (--collector.kueue): kubejob_queue_*, the evictions per
	// owner and kubejob_exporter_kueue_api.
	Kueue bool
	// KueueDiscoveryInterval is how often Kueue's API is looked for while
	// it is not served (--collector.kueue.discovery-interval; 0: the
	// watcher's default).
	KueueDiscoveryInterval time.Duration
	// MissedGrace is how late a CronJob's run may start before the runbook
	// pages call it missed (--cronjob.missed-grace, whose default is
	// diagnose.DefaultMissedGrace); 0: as soon as it is due, as in diagnose.
	MissedGrace time.Duration
	Collectors  collectors.Options
	// OwnerLabel groups standalone Jobs' outcomes by this label's value
	// (--outcomes.owner-label; job.OwnerOf).
	OwnerLabel string
	// OutcomeRetention: how long an owner's outcome series stay after its
	// last Job went (--outcomes.retention; 0: the default). MaxOwners
	// bounds the owners with series (--outcomes.max-owners; 0: the
	// default).
	OutcomeRetention time.Duration
	MaxOwners        int
	// ExtendedResources are the extended resources whose resource-time
	// kubejob_attempt_resource_seconds_total counts besides cpu and memory
	// (--outcomes.extended-resources; nil: job.DefaultExtendedResources).
	ExtendedResources []corev1.ResourceName
	// KeepDeleted and KeepDeletedFor bound the deleted failed Jobs whose
	// last Summary the failing-now page and the runbook pages keep
	// (--evidence.max-jobs, --evidence.keep-for; 0: the defaults).
	KeepDeleted    int
	KeepDeletedFor time.Duration
	Shard          watcher.Shard
	// PermissionCheckInterval: how often to ask RBAC whether the watches
	// are still allowed (0: never; --kube.permission-check-interval).
	PermissionCheckInterval time.Duration
	// PodMetrics, if set, is polled for the memory working set of Job
	// pods every PodMetricsInterval (--collector.pod-metrics).
	PodMetrics         metricsv1beta1.PodMetricsesGetter
	PodMetricsInterval time.Duration

	TelemetryPath string // default /metrics
	MaxRequests   int    // concurrent scrapes; 0 means unlimited
	// MaxPageRequests bounds the page (/failing, /runbooks/) and profile
	// requests served at once; 0 means DefaultMaxPageRequests.
	MaxPageRequests int
	// Pprof serves the Go runtime profiles under /debug/pprof/
	// (--web.enable-pprof): where the heap goes in a real cluster.
	Pprof    bool
	Runbooks fs.FS // Markdown runbooks, <Alert>.md; nil serves none
	Version  string
	// APIServer is the API server's /version when the caller has read it
	// already (tests); the zero value makes Run ask the server first,
	// until it answers. Either way it is
	// kubejob_exporter_kube_apiserver_info.
	APIServer kubeversion.Info
	// ConnectTimeout is how long Run waits for the API server's first
	// answer before it fails (--kube.connect-timeout); 0 waits as long as
	// it takes. ConnectBackoff spaces the attempts (zero value:
	// kube.ConnectBackoff).
	ConnectTimeout time.Duration
	ConnectBackoff wait.Backoff
	Logger         *slog.Logger
}

// DefaultTelemetryPath is where /metrics is served unless
// Config.TelemetryPath says otherwise.
const DefaultTelemetryPath = "/metrics"

// Exporter is one running exporter.
type Exporter struct {
	jobs       *collectors.Jobs
	crons      *collectors.CronJobs
	outcomes   *collectors.Outcomes
	watcher    *watcher.Watcher
	self       *SelfMetrics
	health     *WatchHealth
	podMetrics *podmetrics.Poller // nil unless enabled
	podMemory  *collectors.PodMemory
	// board is what the failing-now page lists and the runbook pages'
	// kept evidence, kept from the same Summaries as the metrics.
	board *failing.Board
	// apiServer is the health until the API server first answers; then
	// health's.
	apiServer *apiServerHealth
	cfg       Config
}

// New builds an exporter; it fails on invalid configuration (bad selector,
// conflicting namespace flags) before anything starts. It does not talk to
// the API server: Run does, so that the handlers serve before it answers.
func New(cfg Config) (*Exporter, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TelemetryPath == "" {
		cfg.TelemetryPath = DefaultTelemetryPath
	}
	e := &Exporter{jobs: collectors.NewJobs(cfg.Collectors), crons: collectors.NewCronJobs(),
		outcomes: collectors.NewOutcomes(cfg.OutcomeRetention, cfg.MaxOwners),
		board:    failing.NewBoard(cfg.KeepDeleted, cfg.KeepDeletedFor), cfg: cfg}
	wcfg := cfg.WatchConfig()
	e.self = NewSelfMetrics(wcfg.Resources(), e.objects, cfg.Shard)
	e.self.registerEvidence(func() int { return e.board.DeletedKept(time.Now()) }, e.outcomes.Owners, e.outcomes.Dropped)
	if cfg.Kueue {
		e.self.enableKueueAPI()
	}
	e.health = NewWatchHealth(cfg.Logger, wcfg.Resources(), e.self)
	e.apiServer = newAPIServerHealth(cfg.Logger, wcfg.Resources(), e.self)
	wcfg.Recorder = e.health
	metrics := collectors.Sink{Jobs: e.jobs, Crons: e.crons, Outcomes: e.outcomes}
	w, err := watcher.New(wcfg, failing.Sink{Sink: metrics, Board: e.board})
	if err != nil {
		return nil, err
	}
	e.watcher = w
	if cfg.PodMetrics != nil {
		e.podMemory = collectors.NewPodMemory()
		e.podMemory.MaxSeries = cfg.Collectors.MaxContainerSeries
		e.podMetrics = podmetrics.New(podmetrics.Config{
			Client:     cfg.PodMetrics,
			Namespaces: cfg.Namespaces,
			Interval:   cfg.PodMetricsInterval,
			Owns:       w.Tracks,
			Logger:     cfg.Logger,
			Up:         e.self.enablePodMetricsUp(),
			Render:     e.podMemory.Replace,
		})
	}
	return e, nil
}

// WatchConfig is the watcher's part of the configuration; Validate on it
// checks the flags before anything connects.
func (cfg Config) WatchConfig() watcher.Config {
	return watcher.Config{
		Client:                 cfg.Client,
		Namespaces:             cfg.Namespaces,
		ExcludeNamespaces:      cfg.ExcludeNamespaces,
		JobSelector:            cfg.JobSelector,
		OwnerLabel:             cfg.OwnerLabel,
		Events:                 cfg.Events,
		CronJobs:               cfg.CronJobs,
		Kueue:                  cfg.Kueue,
		KueueDiscoveryInterval: cfg.KueueDiscoveryInterval,
		Summarize: job.Options{Backoff: cfg.Backoff, StartTimeout: cfg.StartTimeout,
			// The summary keeps at least the index series the collectors show.
			MaxIndexFailures:  max(cfg.Collectors.MaxIndexSeries, job.DefaultMaxIndexFailures),
			MaxContainers:     cfg.Collectors.MaxContainers,
			ExtendedResources: cfg.ExtendedResources},
		Shard:  cfg.Shard,
		Logger: cfg.Logger,

		PermissionCheckInterval: cfg.PermissionCheckInterval,
	}
}

func (e *Exporter) objects() map[string]int {
	objs := map[string]int{
		watcher.ResourceJobs: e.jobs.Store.Len(),
		watcher.ResourcePods: e.watcher.Pods(),
		"cronjobs":           e.crons.Len(),
	}
	if e.cfg.Events {
		objs[watcher.ResourceEvents] = e.watcher.Events()
	}
	if e.cfg.Kueue {
		objs[watcher.ResourceWorkloads], objs[watcher.ResourceLocalQueues] = e.watcher.KueueObjects()
	}
	return objs
}

// Run waits for the API server's first answer (connect), takes the Job
// controller's backoff for its version, then watches the cluster (and
// polls pod metrics, if enabled) until ctx is done. Meanwhile the handlers
// serve the exporter's own metrics and a /readyz that says why it is not
// ready. It returns nil when ctx is done, an error when the server did not
// answer within ConnectTimeout or BackoffFor refused its version.
func (e *Exporter) Run(ctx context.Context) error {
	server, err := e.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // shutting down
		}
		return err
	}
	backoff := e.cfg.Backoff
	if e.cfg.BackoffFor != nil {
		if backoff, err = e.cfg.BackoffFor(server); err != nil {
			return err
		}
	}
	e.watcher.SetBackoff(backoff)
	e.self.registerAPIServerInfo(server)
	var wg sync.WaitGroup
	if e.podMetrics != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// It reports only Jobs the watcher tracks: wait for the Jobs.
			if cache.WaitForCacheSync(ctx.Done(), e.watcher.JobsSynced) {
				e.podMetrics.Run(ctx)
			}
		}()
	}
	e.watcher.Run(ctx)
	wg.Wait()
	return nil
}

// Stores are the metric stores written on a scrape, in order.
func (e *Exporter) Stores() []*metricstore.Store {
	// The outcomes first: a scrape copies each store in turn, and an
	// outcome is counted only after its Job's state was rendered, so a
	// scrape may show a failed Job without its count, never the count
	// without the failed Job (which KubeJobFailedAndDeleted would take for
	// a Job gone unseen).
	stores := []*metricstore.Store{e.outcomes.Store, e.jobs.Store, e.crons.Store}
	if e.podMetrics != nil {
		stores = append(stores, e.podMemory.Store)
	}
	return stores
}
