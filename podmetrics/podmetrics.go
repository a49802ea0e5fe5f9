// Package podmetrics reads the metrics.k8s.io API (metrics-server) for the
// running pods of Jobs and hands, per Job and container, the highest
// memory working set among them to a renderer (collectors.PodMemory, next
// to kubejob_container_memory_limit_bytes), so an alert can say "this Job
// is about to be OOM-killed" before it is.
//
// The metrics API has no watch, so it is polled. It is optional
// (--collector.pod-metrics): without metrics-server the poller says so once
// in the log, sets kubejob_exporter_pod_metrics_up to 0 and keeps trying
// quietly.
package podmetrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// DefaultInterval is how often a Poller reads pod metrics unless
// Config.Interval says otherwise: metrics-server itself refreshes every
// 15s or more.
const DefaultInterval = 30 * time.Second

// Config configures a Poller.
type Config struct {
	Client     metricsv1beta1.PodMetricsesGetter
	Namespaces []string // empty: all
	Interval   time.Duration
	// Owns tells whether this replica reports the Job "namespace/name"
	// (every filter of the Jobs: namespaces, selector, shard); nil means
	// every Job.
	Owns   func(jobKey string) bool
	Logger *slog.Logger
	// Up reports whether the last poll succeeded.
	Up func(bool)
	// Render receives each poll's reading: per "namespace/name" of a
	// Job, per container, the highest working set in bytes; nil after a
	// failed poll.
	Render func(usage map[string]map[string]int64)
}

// Poller polls PodMetrics and hands each reading to Config.Render.
type Poller struct {
	cfg Config

	mu   sync.Mutex
	down bool // the last poll failed and that was logged
}

// New returns a poller; Run starts it.
func New(cfg Config) *Poller {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Owns == nil {
		cfg.Owns = func(string) bool { return true }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Up == nil {
		cfg.Up = func(bool) {}
	}
	if cfg.Render == nil {
		cfg.Render = func(map[string]map[string]int64) {}
	}
	return &Poller{cfg: cfg}
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the metrics once and hands the reading to Render, nil on
// failure: stale usage next to a limit would mislead.
func (p *Poller) Poll(ctx context.Context) {
	usage, err := p.read(ctx)
	p.mu.Lock()
	wasDown := p.down
	p.down = err != nil
	p.mu.Unlock()
	p.cfg.Up(err == nil)
	if err != nil {
		if !wasDown {
			p.cfg.Logger.Warn("cannot read pod metrics (is metrics-server installed?); kubejob_container_memory_working_set_bytes stays empty until it answers", "err", err)
		}
		usage = nil
	} else if wasDown {
		p.cfg.Logger.Info("pod metrics available again")
	}
	p.cfg.Render(usage)
}

// read returns, per Job key, per container, the highest working set.
func (p *Poller) read(ctx context.Context) (map[string]map[string]int64, error) {
	namespaces := p.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	out := map[string]map[string]int64{}
	for _, ns := range namespaces {
		list, err := p.cfg.Client.PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel})
		if err != nil {
			return nil, fmt.Errorf("listing pod metrics in %q: %w", ns, err)
		}
		for _, pm := range list.Items {
			jobName := pm.Labels[batchv1.JobNameLabel]
			if jobName == "" {
				continue
			}
			key := pm.Namespace + "/" + jobName
			if !p.cfg.Owns(key) {
				continue
			}
			for _, c := range pm.Containers {
				q, ok := c.Usage[corev1.ResourceMemory]
				if !ok {
					continue
				}
				if out[key] == nil {
					out[key] = map[string]int64{}
				}
				if v := q.Value(); v > out[key][c.Name] {
					out[key][c.Name] = v
				}
			}
		}
	}
	return out, nil
}
