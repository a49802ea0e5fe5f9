package exporter

import (
	"context"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/pages"
)

// DefaultMaxPageRequests is how many page and profile requests are
// served at once by default. Each may compute a Job's summary from every
// pod of the Job, or a profile: a few at a time keep the heap bounded
// whatever number of people or scripts open them.
const DefaultMaxPageRequests = 4

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
	mux.Handle(e.cfg.TelemetryPath, newMetricsHandler(e.Stores(), e.self, e.cfg.MaxRequests, e.cfg.Logger))
	ready := func() error { return e.ready(false) }
	health := e.healthHandler(ready)
	mux.Handle("/healthz", health)
	mux.Handle("/readyz", health)
	// The pages (/failing, /runbooks/) and the profiles share one
	// in-flight limit: each can cost a Job's worth of pods or a profile's
	// worth of memory.
	maxPages := e.cfg.MaxPageRequests
	if maxPages <= 0 {
		maxPages = DefaultMaxPageRequests
	}
	limitedMux := http.NewServeMux()
	limited := limitInFlight(maxPages, limitedMux)
	if e.cfg.Pprof {
		limitedMux.HandleFunc("/debug/pprof/", pprof.Index)
		limitedMux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		limitedMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		limitedMux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		limitedMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/debug/pprof/", limited)
	}
	p, err := pages.New(e.pagesConfig())
	if err != nil {
		return nil, err
	}
	limitedMux.Handle("/failing", p.Failing())
	mux.Handle("/failing", limited)
	links := []web.LandingLinks{
		{Address: "/failing", Text: "Failing now", Description: "The Jobs and CronJobs that failed, are failing or are stuck now, newest first, with their causes and live reports"},
		{Address: e.cfg.TelemetryPath, Text: "Metrics", Description: "Per-Job failure metrics and the exporter's own"},
		{Address: "/readyz", Text: "Readiness", Description: "Ready once the Job and Pod caches synced and the watches work"},
		{Address: "/healthz", Text: "Health"},
	}
	if rb := p.Runbooks(); rb != nil {
		limitedMux.Handle("/runbooks/", rb)
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
	mux.Handle("/", pages.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// pagesConfig is what the pages read: the Jobs from the watcher's caches,
// the CronJobs as reported, the board, the events read from the API
// server (--watch.events).
func (e *Exporter) pagesConfig() pages.Config {
	cfg := pages.Config{
		Runbooks:    e.cfg.Runbooks,
		Jobs:        e.watcher,
		CronJobs:    e.crons,
		Board:       e.board,
		MissedGrace: e.cfg.MissedGrace,
		Shard:       e.cfg.Shard,
		JobCount:    e.jobs.Store.Len,
		// The brief readiness text: the page names what is not ready and
		// why, not the API server's full error (its addresses).
		Ready:       func() error { return e.ready(true) },
		MetricsPath: strings.TrimPrefix(e.cfg.TelemetryPath, "/"),
	}
	if e.cfg.Events {
		cfg.Events = func(ctx context.Context, s job.Summary) ([]diagnose.Event, error) {
			return diagnose.FetchJobEvents(ctx, e.cfg.Client, s)
		}
	}
	return cfg
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

// limitInFlight serves at most n requests at once; the others get 503 at
// once (with Retry-After), rather than queueing memory and goroutines.
func limitInFlight(n int, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many page requests in flight, retry in a moment", http.StatusServiceUnavailable)
		}
	})
}
