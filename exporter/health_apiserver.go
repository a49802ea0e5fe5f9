package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kubeversion "k8s.io/apimachinery/pkg/version"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// apiServerHealth is the exporter's health before the API server first
// answers: the watches cannot start yet (the Job controller's backoff
// depends on the server's version), so nothing else reports. A restart
// does not bring an API server back, so the exporter waits, serving its
// own metrics, /healthz ok and a /readyz that says why it is not ready,
// and its failed attempts show where a failing watch would show:
// kubejob_exporter_watch_up 0 and kubejob_exporter_watch_errors_total by
// reason, for every resource (none can be listed), which is what
// KubeJobExporterWatchFailing pages on and tells people to read. Once the
// server has answered, WatchHealth takes over.
type apiServerHealth struct {
	logger    *slog.Logger
	metrics   *SelfMetrics
	resources []string

	mu       sync.Mutex
	answered bool
	failures int       // failed attempts
	since    time.Time // the first failed attempt
	reason   string    // the last attempt's class of error (watcher.ClassifyError)
	err      error     // the last attempt's error, as the client saw it
	logged   map[string]bool
}

func newAPIServerHealth(logger *slog.Logger, resources []string, metrics *SelfMetrics) *apiServerHealth {
	return &apiServerHealth{logger: logger, metrics: metrics, resources: resources, logged: map[string]bool{}}
}

// failed records a failed attempt. Each class of error is logged once,
// not each attempt: an outage of an hour is one line per kind of trouble
// (refused, then a certificate error, say), and the counters say how often.
func (h *apiServerHealth) failed(err error) {
	reason := watcher.ClassifyError(err)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures == 0 {
		h.since = time.Now()
	}
	h.failures++
	h.reason, h.err = reason, err
	for _, r := range h.resources {
		h.metrics.watchErrors.WithLabelValues(r, reason).Inc()
		h.metrics.watchUp.WithLabelValues(r).Set(0)
	}
	if !h.logged[reason] {
		h.logged[reason] = true
		h.logger.Error("cannot reach the Kubernetes API server: "+reason+"; serving /metrics and /healthz, not ready, asking again with backoff",
			"reason", reason, "err", err)
	}
}

// ok records the server's first answer; the watches' own health decides
// from now on (their first list sets kubejob_exporter_watch_up again).
func (h *apiServerHealth) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures > 0 {
		h.logger.Info("the Kubernetes API server answered", "failed_attempts", h.failures,
			"waited", time.Since(h.since).Round(time.Millisecond))
	}
	h.answered = true
	h.err = nil
}

// ready is nil once the server has answered, else why not: brief leaves
// out the client's error text (the address, the server's message), as
// WatchHealth.ReadyBrief does, for a listener without authentication.
func (h *apiServerHealth) ready(brief bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.answered:
		return nil
	case h.err == nil:
		return errors.New("waiting for the Kubernetes API server's first answer")
	case brief:
		return fmt.Errorf("cannot reach the Kubernetes API server: %s", h.reason)
	}
	return fmt.Errorf("cannot reach the Kubernetes API server: %s: %v", h.reason, h.err)
}

// connect returns the API server's version: Config.APIServer when the
// caller has read it, else the server's first answer, asked for with
// capped exponential backoff (kube.WaitReachable) for as long as
// Config.ConnectTimeout allows (0: until ctx is done).
func (e *Exporter) connect(ctx context.Context) (kubeversion.Info, error) {
	if e.cfg.APIServer != (kubeversion.Info{}) {
		e.apiServer.ok()
		return e.cfg.APIServer, nil
	}
	if e.cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.ConnectTimeout)
		defer cancel()
	}
	backoff := e.cfg.ConnectBackoff
	if backoff.Duration <= 0 {
		backoff = kube.ConnectBackoff
	}
	server, err := kube.WaitReachable(ctx, e.cfg.Client, backoff, e.apiServer.failed, time.After)
	if err != nil {
		return kubeversion.Info{}, fmt.Errorf("cannot reach the Kubernetes API server: no answer within --kube.connect-timeout (%s): %w", e.cfg.ConnectTimeout, err)
	}
	e.apiServer.ok()
	return server, nil
}

// ready is the exporter's readiness: the API server answered, and then the
// watches' (WatchHealth); brief as in apiServerHealth.ready.
func (e *Exporter) ready(brief bool) error {
	if err := e.apiServer.ready(brief); err != nil {
		return err
	}
	if brief {
		return e.health.ReadyBrief()
	}
	return e.health.Ready()
}
