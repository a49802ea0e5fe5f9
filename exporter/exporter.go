// Package exporter wires the watcher, the metric stores and the exporter's
// own metrics behind an HTTP handler: /metrics, /healthz, /readyz, the
// runbooks and the landing page.
package exporter

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/cache"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
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
	// it counts as waiting (--pods.start-timeout).
	StartTimeout time.Duration
	// Events watches the Job controller's FailedCreate events
	// (--watch.events).
	Events bool
	// CronJobs watches the CronJob objects (--watch.cronjobs).
	CronJobs bool
	// MissedGrace is how late a CronJob's run may start before the runbook
	// pages call it missed (--cronjob.missed-grace); 0 means
	// diagnose.DefaultMissedGrace.
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
	// MaxPageRequests bounds the runbook and profile requests served at
	// once; 0 means DefaultMaxPageRequests.
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

// The defaults of Config.KeepDeleted and KeepDeletedFor: an hour covers
// the time from a page to someone opening it; a kept report costs 11–17 KB
// (50 attempts, with or without 20 departed pods: TestDeletedJobMemory),
// so a thousand cost at most about 16 MiB (docs/scale.md).
const (
	DefaultKeepDeleted    = 1000
	DefaultKeepDeletedFor = time.Hour
)

// Exporter is one running exporter.
type Exporter struct {
	Jobs       *collectors.Jobs
	Crons      *collectors.CronJobs
	Outcomes   *collectors.Outcomes
	Watcher    *watcher.Watcher
	Self       *SelfMetrics
	Health     *WatchHealth
	PodMetrics *podmetrics.Poller // nil unless enabled
	PodMemory  *collectors.PodMemory
	// failing is what the failing-now page lists, kept from the same
	// Summaries as the metrics.
	failing *failingBoard
	// apiServer is the health until the API server first answers; then
	// Health's.
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
		cfg.TelemetryPath = "/metrics"
	}
	e := &Exporter{Jobs: collectors.NewJobs(cfg.Collectors), Crons: collectors.NewCronJobs(),
		Outcomes: collectors.NewOutcomes(cfg.OutcomeRetention, cfg.MaxOwners),
		failing:  newFailingBoard(cfg.KeepDeleted, cfg.KeepDeletedFor), cfg: cfg}
	wcfg := cfg.WatchConfig()
	e.Self = NewSelfMetrics(wcfg.Resources(), e.objects, cfg.Shard)
	e.Self.registerEvidence(func() int { return e.failing.deletedKept(time.Now()) }, e.Outcomes.Owners, e.Outcomes.Dropped)
	e.Health = NewWatchHealth(cfg.Logger, wcfg.Resources(), e.Self)
	e.apiServer = newAPIServerHealth(cfg.Logger, wcfg.Resources(), e.Self)
	wcfg.Recorder = e.Health
	w, err := watcher.New(wcfg, failingSink{Sink: collectors.Sink{Jobs: e.Jobs, Crons: e.Crons, Outcomes: e.Outcomes}, board: e.failing})
	if err != nil {
		return nil, err
	}
	e.Watcher = w
	if cfg.PodMetrics != nil {
		e.PodMemory = collectors.NewPodMemory()
		e.PodMemory.MaxSeries = cfg.Collectors.MaxContainerSeries
		e.PodMetrics = podmetrics.New(podmetrics.Config{
			Client:     cfg.PodMetrics,
			Namespaces: cfg.Namespaces,
			Interval:   cfg.PodMetricsInterval,
			Owns:       w.Tracks,
			Logger:     cfg.Logger,
			Up:         e.Self.enablePodMetricsUp(),
			Render:     e.PodMemory.Replace,
		})
	}
	return e, nil
}

// WatchConfig is the watcher's part of the configuration; Validate on it
// checks the flags before anything connects.
func (cfg Config) WatchConfig() watcher.Config {
	return watcher.Config{
		Client:            cfg.Client,
		Namespaces:        cfg.Namespaces,
		ExcludeNamespaces: cfg.ExcludeNamespaces,
		JobSelector:       cfg.JobSelector,
		OwnerLabel:        cfg.OwnerLabel,
		Events:            cfg.Events,
		CronJobs:          cfg.CronJobs,
		Summarize: job.Options{Backoff: cfg.Backoff, StartTimeout: cfg.StartTimeout,
			// The summary keeps at least the index series the collectors show.
			MaxIndexFailures: max(cfg.Collectors.MaxIndexSeries, job.DefaultMaxIndexFailures),
			MaxContainers:    cfg.Collectors.MaxContainers},
		Shard:  cfg.Shard,
		Logger: cfg.Logger,

		PermissionCheckInterval: cfg.PermissionCheckInterval,
	}
}

func (e *Exporter) objects() map[string]int {
	objs := map[string]int{
		watcher.ResourceJobs: e.Jobs.Store.Len(),
		watcher.ResourcePods: e.Watcher.Pods(),
		"cronjobs":           e.Crons.Len(),
	}
	if e.cfg.Events {
		objs[watcher.ResourceEvents] = e.Watcher.Events()
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
	e.Watcher.SetBackoff(backoff)
	e.Self.registerAPIServerInfo(server)
	var wg sync.WaitGroup
	if e.PodMetrics != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// It reports only Jobs the watcher tracks: wait for the Jobs.
			if cache.WaitForCacheSync(ctx.Done(), e.Watcher.JobsSynced) {
				e.PodMetrics.Run(ctx)
			}
		}()
	}
	e.Watcher.Run(ctx)
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
	stores := []*metricstore.Store{e.Outcomes.Store, e.Jobs.Store, e.Crons.Store}
	if e.PodMetrics != nil {
		stores = append(stores, e.PodMemory.Store)
	}
	return stores
}

// HealthHandler serves /healthz (the process answers) and /readyz (the
// API server answered, caches synced and watches working) alone, for a
// listener without TLS or auth for the kubelet's probes
// (--web.health-listen-address): /readyz names
// what is not ready in the exporter's own words, without the API server's
// error text. Handler serves the same with that text.
func (e *Exporter) HealthHandler() http.Handler {
	return e.healthHandler(func() error { return e.ready(true) })
}

func (e *Exporter) healthHandler(ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Handler returns the HTTP routes.
func (e *Exporter) Handler() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(e.cfg.TelemetryPath, newMetricsHandler(e.Stores(), e.Self, e.cfg.MaxRequests, e.cfg.Logger))
	ready := func() error { return e.ready(false) }
	health := e.healthHandler(ready)
	mux.Handle("/healthz", health)
	mux.Handle("/readyz", health)
	// Runbook pages and profiles share one in-flight limit: each can cost
	// a Job's worth of pods or a profile's worth of memory.
	maxPages := e.cfg.MaxPageRequests
	if maxPages <= 0 {
		maxPages = DefaultMaxPageRequests
	}
	pages := http.NewServeMux()
	limited := limitInFlight(maxPages, pages)
	if e.cfg.Pprof {
		pages.HandleFunc("/debug/pprof/", pprof.Index)
		pages.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		pages.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pages.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pages.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/debug/pprof/", limited)
	}
	missedGrace := e.cfg.MissedGrace
	if missedGrace <= 0 {
		missedGrace = diagnose.DefaultMissedGrace
	}
	failing := &failingHandler{board: e.failing, cronJobs: e.Crons.Summaries, missedGrace: missedGrace,
		// The brief readiness text: the page names what is not ready and
		// why, not the API server's full error (its addresses).
		shard: e.cfg.Shard, jobs: e.Jobs.Store.Len, ready: func() error { return e.ready(true) },
		metricsPath: strings.TrimPrefix(e.cfg.TelemetryPath, "/"), max: FailingPageMax}
	pages.Handle("/failing", securityHeaders(failing))
	mux.Handle("/failing", limited)
	links := []web.LandingLinks{
		{Address: "/failing", Text: "Failing now", Description: "The Jobs and CronJobs that failed, are failing or are stuck now, newest first, with their causes and live reports"},
		{Address: e.cfg.TelemetryPath, Text: "Metrics", Description: "Per-Job failure metrics and the exporter's own"},
		{Address: "/readyz", Text: "Readiness", Description: "Ready once the Job and Pod caches synced and the watches work"},
		{Address: "/healthz", Text: "Health"},
	}
	if e.cfg.Runbooks != nil {
		var events func(context.Context, job.Summary) ([]diagnose.Event, error)
		if e.cfg.Events {
			events = newEventReader(func(ctx context.Context, s job.Summary) ([]diagnose.Event, error) {
				return diagnose.FetchJobEvents(ctx, e.cfg.Client, s)
			}).read
		}
		rb, err := newRunbookHandler(e.cfg.Runbooks, pageSource{e.Watcher, e.Crons}, events)
		if err != nil {
			return nil, err
		}
		rb.missedGrace = missedGrace
		rb.evidence = e.failing
		failing.runbooks = func(alert string) bool { _, ok := rb.files[alert]; return ok }
		pages.Handle("/runbooks/", securityHeaders(rb))
		mux.Handle("/runbooks/", limited)
		mux.Handle("/runbooks", relativeRedirect("runbooks/"))
		links = append(links, web.LandingLinks{Address: "/runbooks/", Text: "Runbooks", Description: "What each alert means and what to do"})
	}
	// Every link of every page is relative ("./failing", "runbooks/X",
	// "./"), so the pages work behind a path prefix: an Ingress or gateway
	// serving the exporter under https://host/prefix/ (the mixin's
	// exporterURL), or the API server's service proxy. The toolkit prefixes
	// the landing page's links with its route prefix, and serves the page
	// only at that path: "./" for the links, served at "/" below.
	landing, err := web.NewLandingPage(web.LandingConfig{
		RoutePrefix: "./",
		Name:        "kube-job-exporter",
		Description: "Why Kubernetes Jobs fail, how close they are to giving up, and what to do about it",
		Version:     e.cfg.Version,
		Links:       links,
		// The toolkit links the profiles by default: only when they are
		// served, or the page links two 404s.
		Profiling: strconv.FormatBool(e.cfg.Pprof),
	})
	if err != nil {
		return nil, err
	}
	// The landing page gets the pages' headers too: it has nothing but
	// links and an inline style.
	mux.Handle("/", securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path = "./"
		r2.URL = &u
		landing.ServeHTTP(w, &r2)
	})))
	return mux, nil
}

// relativeRedirect redirects to target relative to the request's URL as
// the browser sees it: http.Redirect would make it an absolute path,
// which leaves a path prefix the exporter does not see.
func relativeRedirect(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusMovedPermanently)
	})
}

// pageSource is what the runbook pages read: the Jobs from the watcher's
// caches, the CronJobs as reported.
type pageSource struct {
	*watcher.Watcher
	crons *collectors.CronJobs
}

func (p pageSource) CronJob(key string) (cronjob.Summary, bool) {
	return p.crons.Summary(key, time.Now())
}
