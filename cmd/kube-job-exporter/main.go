// Command kube-job-exporter exports why Kubernetes Jobs fail, how close they
// are to giving up and when they retry next, as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"k8s.io/apimachinery/pkg/util/validation"
	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/exporter"
	"github.com/kube-job-exporter/kube-job-exporter/internal/memlimit"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// defaultListen is the exporter's port, as allocated on the Prometheus
// default port allocations page convention (90xx-99xx for exporters).
const defaultListen = ":9847"

func main() {
	// Under the kubectl plugin's name (a link made by make install-plugin),
	// the binary is `kubectl job-diagnose`: see plugin.go.
	if isPlugin(os.Args[0]) {
		os.Exit(runPlugin(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// serveFlags are the exporter's flags (the diagnose command has its own
// too, see diagnose.go).
type serveFlags struct {
	kubeconfig, kubeContext, namespaces, excludeNS, jobSelector *string
	backoff                                                     backoffFlags
	startTimeout, missedGrace, podMetricsInt                    *time.Duration
	writeProgress, permCheck, connectWait                       *time.Duration
	outcomeRetention, keepDeletedFor                            *time.Duration
	ownerLabel                                                  *string
	maxOwners, keepDeleted, maxContainers, maxContainerSeries   *int
	watchCronJobs, watchEvents, podMetrics, pprofOn             *bool
	maxIndexes, maxRequests, maxPages, totalShards              *int
	telemetryPath, shard, healthListen                          *string
	memLimitRatio                                               *float64
	toolkit                                                     *web.FlagConfig
}

// addServeFlags defines the flags on app.
func addServeFlags(app *kingpin.Application) *serveFlags {
	f := &serveFlags{}
	f.kubeconfig = app.Flag("kubeconfig", "Path to a kubeconfig file. Without it: the in-cluster config, else $KUBECONFIG or ~/.kube/config.").String()
	f.kubeContext = app.Flag("kube.context", "Context of the kubeconfig to use (default: its current context).").String()
	f.namespaces = app.Flag("namespaces", "Comma-separated namespaces to watch (default: all).").String()
	f.excludeNS = app.Flag("namespaces-exclude", "Comma-separated namespaces to leave out when watching all.").String()
	f.jobSelector = app.Flag("job.selector", "Label selector limiting the Jobs watched, e.g. team=data.").String()
	f.startTimeout = app.Flag("pods.start-timeout", "How long a pod may stay Pending in a normal start (ContainerCreating, PodInitializing, not yet scheduled) before kubejob_pods_waiting counts it as stuck.").Default(job.DefaultStartTimeout.String()).Duration()
	f.watchCronJobs = app.Flag("watch.cronjobs", "Watch the CronJob objects: schedules, next and missed runs, the controller's last success, and which CronJobs exist (a CronJob's series go with it). Needs list/watch on cronjobs; without it the CronJob series come from the runs alone.").Default("true").Bool()
	f.missedGrace = app.Flag("cronjob.missed-grace", "How late a CronJob's run may start before the runbook pages and diagnose cronjob/NAME call it missed (the mixin's cronJobMissedScheduleGraceSeconds).").Default(diagnose.DefaultMissedGrace.String()).Duration()
	f.watchEvents = app.Flag("watch.events", "Watch the Job controller's FailedCreate Warning events (pods the API server refuses to create: quota, Pod Security, admission, ServiceAccount, LimitRange) into kubejob_pod_create_failure_timestamp_seconds. Needs list/watch on events.").Default("true").Bool()
	f.maxIndexes = app.Flag("indexes.max-per-job", "Most kubejob_index_failures series per Job (worst indexes first): 1 or more (0 is refused: it would lift the bound).").Default("50").Int()
	f.maxContainers = app.Flag("job.max-containers", "Most containers (init containers first) the exporter keeps of a Job's pod template, for kubejob_container_memory_limit_bytes and the diagnosis: a pod may have thousands; the others are counted in kubejob_exporter_tenant_values_cut_total{what=\"container\"}. At least 1.").Default(strconv.Itoa(job.DefaultMaxContainers)).Int()
	f.maxContainerSeries = app.Flag("job.max-container-series", "Most series per Job of each per-container family (kubejob_pod_failures, the most failures first; kubejob_container_memory_limit_bytes; kubejob_container_memory_working_set_bytes); the others are counted in kubejob_exporter_tenant_values_cut_total{what=\"series\"}. At least 1.").Default(strconv.Itoa(collectors.DefaultMaxContainerSeries)).Int()
	f.telemetryPath = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	f.maxRequests = app.Flag("web.max-requests", "Concurrent scrapes served at most; more get 503. 0 means no limit.").Default("40").Int()
	f.maxPages = app.Flag("web.max-page-requests", "Runbook pages and /debug/pprof/ requests served at once (each may summarize a Job of many pods, or take a profile); more get 503.").Default(strconv.Itoa(exporter.DefaultMaxPageRequests)).Int()
	f.writeProgress = app.Flag("web.write-progress-timeout", "Longest a client may take to accept each 16 KiB of a response; one that stops reading is cut off after this and frees its --web.max-requests slot, one that reads slowly keeps its response. Whole responses are bounded by 2m regardless. 0 disables (only the 2m bound).").Default(exporter.DefaultWriteProgressTimeout.String()).Duration()
	f.shard = app.Flag("shard", "This replica's shard of the Jobs, 0-based; 'auto' takes the ordinal from a StatefulSet pod name ($HOSTNAME ending in -N).").Default("0").String()
	f.totalShards = app.Flag("total-shards", "Replicas the Jobs are split across by hash of namespace/name; 1 reports every Job.").Default("1").Int()
	f.podMetrics = app.Flag("collector.pod-metrics", "Read the memory working set of running Job pods from metrics.k8s.io (metrics-server) into kubejob_container_memory_working_set_bytes.").Default("false").Bool()
	f.podMetricsInt = app.Flag("collector.pod-metrics.interval", "How often to read pod metrics (metrics-server itself refreshes every 15s or more).").Default("30s").Duration()
	f.memLimitRatio = app.Flag("runtime.memory-limit-ratio", "Set the Go runtime's soft memory limit to this fraction of the container's cgroup memory limit, so the GC tightens before an OOM kill (go_gc_gomemlimit_bytes shows it). GOMEMLIMIT, when set, wins; 0 disables.").Default("0.9").Float64()
	f.pprofOn = app.Flag("web.enable-pprof", "Serve Go runtime profiles (heap, CPU, goroutines) under /debug/pprof/, behind the same web config as /metrics.").Default("false").Bool()
	f.healthListen = app.Flag("web.health-listen-address", "Also serve /healthz and /readyz, without TLS or auth, on this address (for kubelet probes when --web.config.file requires credentials). Empty: off.").String()
	f.permCheck = app.Flag("kube.permission-check-interval", "How often to ask RBAC (one SelfSubjectRulesReview per namespace watched; SelfSubjectAccessReviews cluster-wide, where rules reviews cannot answer, and to confirm a denial) whether the exporter may still list and watch Jobs and Pods: an open watch outlives a deleted RoleBinding. 0 disables.").Default("1m").Duration()
	f.ownerLabel = app.Flag("outcomes.owner-label", "Count the outcomes of standalone Jobs (kubejob_owner_*) under the value of this Job label, e.g. app.kubernetes.io/name; Jobs without it count under their generateName, else their name. A CronJob's runs always count under the CronJob.").Default("").String()
	f.outcomeRetention = app.Flag("outcomes.retention", "How long an owner's kubejob_owner_* series stay after its last Job went and its last outcome: longer than the owner's longest gap between runs, or its counters restart at each run.").Default(collectors.DefaultOutcomeRetention.String()).Duration()
	f.maxOwners = app.Flag("outcomes.max-owners", "Most owners with kubejob_owner_* series: a new owner takes the place of the one idle the longest without a Job; when every owner has a Job, further outcomes are counted only in kubejob_exporter_outcomes_dropped_total.").Default(strconv.Itoa(collectors.DefaultMaxOwners)).Int()
	f.keepDeletedFor = app.Flag("evidence.keep-for", "How long the last report of a deleted failed Job stays on the failing-now and runbook pages.").Default(exporter.DefaultKeepDeletedFor.String()).Duration()
	f.keepDeleted = app.Flag("evidence.max-jobs", "Most deleted failed Jobs whose last report is kept (the oldest deleted go first).").Default(strconv.Itoa(exporter.DefaultKeepDeleted)).Int()
	f.connectWait = app.Flag("kube.connect-timeout", "How long to wait at start-up for the API server's first answer before exiting 1. 0 waits as long as it takes, serving /metrics, /healthz ok and a /readyz that says why it is not ready: a restart does not bring the API server back. Set it only where a restart helps (a CA bundle read only at start).").Default("0s").Duration()
	f.toolkit = kingpinflag.AddFlags(app, defaultListen)
	f.backoff.add(app)
	return f
}

// check validates what can be checked without a cluster; it returns the
// log message and the error of the first flag that is wrong.
func (f *serveFlags) check() (string, error) {
	if err := f.backoff.check(job.DefaultBackoff); err != nil {
		return "invalid backoff flags", err
	}
	if *f.startTimeout < 0 {
		return "invalid flag", fmt.Errorf("--pods.start-timeout must be >= 0, got %s", *f.startTimeout)
	}
	if *f.maxIndexes < 1 {
		// 0 is what the collector takes for "no bound": an unbounded
		// series count per Job is what the flag exists to prevent.
		return "invalid flag", fmt.Errorf("--indexes.max-per-job must be at least 1, got %d: 0 would lift the bound (to see every failing index, set it to the largest .spec.completions of your Indexed Jobs)", *f.maxIndexes)
	}
	if *f.maxContainers < 1 || *f.maxContainerSeries < 1 {
		// 0 is what the record and the collectors take for "the default".
		return "invalid flag", fmt.Errorf("--job.max-containers and --job.max-container-series must be at least 1, got %d and %d", *f.maxContainers, *f.maxContainerSeries)
	}
	if *f.missedGrace < 0 {
		return "invalid flag", fmt.Errorf("--cronjob.missed-grace must be >= 0, got %s", *f.missedGrace)
	}
	if *f.maxPages < 1 {
		return "invalid flag", fmt.Errorf("--web.max-page-requests must be at least 1, got %d", *f.maxPages)
	}
	if *f.connectWait < 0 {
		return "invalid flag", fmt.Errorf("--kube.connect-timeout must be >= 0 (0 waits as long as it takes), got %s", *f.connectWait)
	}
	if *f.writeProgress < 0 {
		return "invalid flag", fmt.Errorf("--web.write-progress-timeout must be >= 0 (0 disables), got %s", *f.writeProgress)
	}
	if l := *f.ownerLabel; l != "" {
		if errs := validation.IsQualifiedName(l); len(errs) > 0 {
			return "invalid flag", fmt.Errorf("--outcomes.owner-label %q is not a label key: %s", l, strings.Join(errs, "; "))
		}
	}
	if *f.outcomeRetention <= 0 {
		return "invalid flag", fmt.Errorf("--outcomes.retention must be > 0, got %s", *f.outcomeRetention)
	}
	if *f.maxOwners < 1 {
		return "invalid flag", fmt.Errorf("--outcomes.max-owners must be at least 1, got %d", *f.maxOwners)
	}
	if *f.keepDeletedFor <= 0 || *f.keepDeleted < 1 {
		return "invalid flag", fmt.Errorf("--evidence.keep-for must be > 0 and --evidence.max-jobs at least 1, got %s and %d", *f.keepDeletedFor, *f.keepDeleted)
	}
	if err := memlimit.CheckRatio(*f.memLimitRatio); err != nil {
		return "invalid --runtime.memory-limit-ratio", err
	}
	return "", nil
}

// config is the exporter's configuration from the flags, without what
// needs the cluster (client, backoff from the server's version).
func (f *serveFlags) config(logger *slog.Logger) (exporter.Config, string, error) {
	shardIndex, err := parseShard(*f.shard, os.Getenv("HOSTNAME"))
	if err != nil {
		return exporter.Config{}, "invalid --shard", err
	}
	cfg := exporter.Config{
		Shard: watcher.Shard{Index: shardIndex, Total: *f.totalShards},

		PermissionCheckInterval: *f.permCheck,
		Namespaces:              splitList(*f.namespaces),
		ExcludeNamespaces:       splitList(*f.excludeNS),
		JobSelector:             *f.jobSelector,
		StartTimeout:            *f.startTimeout,
		Events:                  *f.watchEvents,
		CronJobs:                *f.watchCronJobs,
		MissedGrace:             *f.missedGrace,
		Collectors: collectors.Options{MaxIndexSeries: *f.maxIndexes,
			MaxContainers: *f.maxContainers, MaxContainerSeries: *f.maxContainerSeries},
		OwnerLabel:       *f.ownerLabel,
		OutcomeRetention: *f.outcomeRetention,
		MaxOwners:        *f.maxOwners,
		KeepDeleted:      *f.keepDeleted,
		KeepDeletedFor:   *f.keepDeletedFor,
		TelemetryPath:    *f.telemetryPath,
		MaxRequests:      *f.maxRequests,
		MaxPageRequests:  *f.maxPages,
		Pprof:            *f.pprofOn,
		Runbooks:         runbookFiles(),
		Version:          version.Info(),
		Logger:           logger,
	}
	// Everything that can be checked without a cluster is checked first.
	if err := cfg.WatchConfig().Validate(); err != nil {
		return cfg, "invalid flags", err
	}
	if err := web.Validate(*f.toolkit.WebConfigFile); err != nil {
		return cfg, "invalid --web.config.file", err
	}
	return cfg, "", nil
}

// run is main with its arguments and log output injected, for tests; it
// returns the exit code: 0 after a clean shutdown, 1 on a start-up or
// serving failure, 2 on unparsable flags.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("kube-job-exporter", "Prometheus exporter explaining why Kubernetes Jobs fail.")
	f := addServeFlags(app)
	serveCmd := app.Command("serve", "Run the exporter (the default).").Default()
	diag := addDiagnoseCommand(app)
	logConfig := &promslog.Config{Writer: stderr}
	flag.AddFlags(app, logConfig)
	app.Version(version.Print("kube-job-exporter"))
	app.HelpFlag.Short('h')
	command, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "kube-job-exporter: %v (see --help)\n", err)
		return 2
	}
	if command != serveCmd.FullCommand() {
		return diag.run(*f.kubeconfig, *f.kubeContext, &f.backoff, *f.startTimeout, *f.missedGrace, stdout, stderr)
	}
	logger := promslog.New(logConfig)
	fail := func(msg string, err error) int {
		logger.Error(msg, "err", err)
		return 1
	}
	if msg, err := f.check(); err != nil {
		return fail(msg, err)
	}
	cfg, msg, err := f.config(logger)
	if err != nil {
		return fail(msg, err)
	}
	logger.Info("starting kube-job-exporter", "version", version.Info(), "build_context", version.BuildContext())
	applyMemoryLimit(logger, *f.memLimitRatio, os.DirFS("/sys/fs/cgroup"))
	applyGCPercent(logger)

	// A kubeconfig that cannot be read is a configuration error: exit now.
	// An API server that does not answer is not: Run waits for it while
	// the handlers serve (see --kube.connect-timeout).
	clients, err := kube.NewClients(*f.kubeconfig, *f.kubeContext)
	if err != nil {
		return fail("cannot load Kubernetes client configuration", err)
	}
	host := clients.Host
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Client, cfg.ConnectTimeout = clients.Kubernetes, *f.connectWait
	cfg.BackoffFor = func(server kubeversion.Info) (job.Backoff, error) {
		bo, err := f.backoff.resolve(server)
		if err != nil {
			return bo, fmt.Errorf("invalid backoff flags for the API server's version %s: %w", server.GitVersion, err)
		}
		logger.Info("API server", "host", host, "version", server.GitVersion,
			"backoff_initial", bo.Initial, "backoff_max", bo.Max, "backoff_from", f.backoff.source(server))
		return bo, nil
	}
	if *f.podMetrics {
		cfg.PodMetrics, cfg.PodMetricsInterval = clients.Metrics, *f.podMetricsInt
	}
	exp, err := exporter.New(cfg)
	if err != nil {
		return fail("invalid configuration", err)
	}
	httpServer, err := exp.HTTPServer(*f.writeProgress)
	if err != nil {
		return fail("cannot build HTTP handlers", err)
	}
	logger.Info("connecting to the Kubernetes API server", "host", host, "timeout", *f.connectWait)
	return serve(ctx, stop, exp, httpServer, f, host, logger)
}

// serve runs the watcher and the HTTP servers until ctx is done (a
// signal), a server fails or the watcher cannot start (no answer within
// --kube.connect-timeout, backoff flags the server's version refutes),
// then shuts down; it returns the exit code.
func serve(ctx context.Context, stop func(), exp *exporter.Exporter, httpServer *http.Server, f *serveFlags, host string, logger *slog.Logger) int {
	watchDone := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() {
		defer close(watchDone)
		if err := exp.Run(ctx); err != nil {
			watchErr <- err
		}
	}()

	// The server's timeouts keep slow or stalled clients from holding
	// connections (slow-loris) and scrape slots: a client that stops
	// reading loses its response after --web.write-progress-timeout,
	// any response after 2m (exporter.HTTPServer).
	serveErr := make(chan error, 2)
	go func() { serveErr <- web.ListenAndServe(httpServer, f.toolkit, logger) }()
	servers := []*http.Server{httpServer}
	if *f.healthListen != "" {
		// Only the two probe paths, and nothing that reads the cluster's
		// data, are served here without the web config's protection.
		health := &http.Server{Addr: *f.healthListen, Handler: exp.HealthHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		servers = append(servers, health)
		logger.Info("serving health probes", "address", *f.healthListen)
		go func() { serveErr <- health.ListenAndServe() }()
	}

	code := 0
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "err", err)
			code = 1
		}
		stop()
		for _, srv := range servers {
			_ = srv.Close()
		}
	case err := <-watchErr:
		logger.Error("cannot watch the cluster at "+host, "err", err)
		code = 1
		stop()
		for _, srv := range servers {
			_ = srv.Close()
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				logger.Warn("HTTP shutdown incomplete", "err", err)
			}
		}
	}
	<-watchDone
	return code
}

// backoffFlags are --backoff.initial and --backoff.max. The Job
// controller's cap depends on its version (job.ControllerBackoff), so an
// unset flag takes the value of the API server's version; a flag set by
// hand always wins (a patched or managed control plane may differ).
type backoffFlags struct {
	initial, max       *time.Duration
	initialSet, maxSet bool
}

func (b *backoffFlags) add(app *kingpin.Application) {
	b.initial = app.Flag("backoff.initial", "The Job controller's first pod-failure backoff (DefaultJobPodFailureBackOff). Default: from the API server's version (10s).").
		IsSetByUser(&b.initialSet).Default(job.DefaultBackoff.Initial.String()).Duration()
	b.max = app.Flag("backoff.max", "The Job controller's backoff cap (MaxJobPodFailureBackOff). Default: from the API server's version: 10m since Kubernetes v1.28, 6m before.").
		IsSetByUser(&b.maxSet).Default(job.DefaultBackoff.Max.String()).Duration()
}

// check validates the flags with the unset ones at their defaults.
func (b *backoffFlags) check(defaults job.Backoff) error {
	bo := b.with(defaults)
	if bo.Initial <= 0 || bo.Max < bo.Initial {
		return fmt.Errorf("need 0 < --backoff.initial (%s) <= --backoff.max (%s)", bo.Initial, bo.Max)
	}
	return nil
}

// with is the backoff of the flags, unset ones from defaults.
func (b *backoffFlags) with(defaults job.Backoff) job.Backoff {
	bo := defaults
	if b.initialSet {
		bo.Initial = *b.initial
	}
	if b.maxSet {
		bo.Max = *b.max
	}
	return bo
}

// resolve is the backoff for the API server that answered.
func (b *backoffFlags) resolve(server kubeversion.Info) (job.Backoff, error) {
	defaults := job.DefaultBackoff
	if minor, ok := kube.MinorVersion(server); ok {
		defaults = job.ControllerBackoff(minor)
	}
	if err := b.check(defaults); err != nil {
		return job.Backoff{}, err
	}
	return b.with(defaults), nil
}

// source says where the backoff came from, for the start-up log.
func (b *backoffFlags) source(server kubeversion.Info) string {
	switch _, known := kube.MinorVersion(server); {
	case b.initialSet && b.maxSet:
		return "flags"
	case known:
		return "server version"
	}
	return "defaults (server version unknown)"
}

// parseShard reads --shard: a number, or "auto" for the ordinal at the end
// of a StatefulSet pod's hostname (kube-job-exporter-2 → 2).
func parseShard(flag, hostname string) (int, error) {
	if flag == "auto" {
		i := strings.LastIndexByte(hostname, '-')
		n, err := strconv.Atoi(hostname[i+1:])
		if i < 0 || err != nil || n < 0 {
			return 0, fmt.Errorf("--shard=auto needs a StatefulSet pod name ending in -<ordinal> in $HOSTNAME, got %q", hostname)
		}
		return n, nil
	}
	n, err := strconv.Atoi(flag)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number nor 'auto'", flag)
	}
	return n, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// defaultGCPercent is the exporter's GOGC unless the environment sets one.
// Its live heap is small and grows only with the cluster (compact records
// of Jobs and pods, rendered series), while every watch event and scrape
// allocates garbage; with Go's default of 100 the heap grows to twice the
// live heap before each collection, and the process keeps those pages. At
// 2,500 Jobs / 10,000 pods (docs/scale.md, issue 17) 25 took the peak RSS
// from 60–62 to 50 MiB (steady from 47.5–47.8 to 44.8–45.5), the margin
// the ⅕-of-kube-state-metrics target needed (35 peaked at 51.6), for more
// CPU: a third to four fifths more in the initial list, a quarter to two
// thirds more per pod event (0.3 instead of 0.2 ms). GOGC=100 in the
// environment restores Go's default.
const defaultGCPercent = 25

// applyGCPercent sets the GC target to defaultGCPercent unless GOGC is
// set (the runtime has read it then).
func applyGCPercent(logger *slog.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		logger.Debug("GC target from GOGC", "GOGC", v)
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}

// applyMemoryLimit sets the runtime's memory limit from the container's
// (see internal/memlimit) and says what it did.
func applyMemoryLimit(logger *slog.Logger, ratio float64, cgroupFS fs.FS) {
	res, err := memlimit.Apply(ratio, cgroupFS)
	switch {
	case err != nil:
		logger.Warn("cannot read the container's memory limit; the Go runtime keeps no memory limit of its own (set GOMEMLIMIT)", "err", err)
	case res.Source == "GOMEMLIMIT":
		logger.Info("Go runtime memory limit from GOMEMLIMIT", "limit_bytes", res.Limit)
	case res.Cgroup > 0:
		logger.Info("Go runtime memory limit set from the container's", "limit_bytes", res.Limit, "container_limit_bytes", res.Cgroup, "ratio", ratio, "cgroup_file", res.Source)
	}
}
