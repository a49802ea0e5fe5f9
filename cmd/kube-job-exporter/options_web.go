package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/kube-job-exporter/kube-job-exporter/exporter"
)

// defaultListen is the exporter's port, as allocated on the Prometheus
// default port allocations page convention (90xx-99xx for exporters).
const defaultListen = ":9847"

// webOptions say what the exporter serves, where, to whom and how much at
// once.
type webOptions struct {
	toolkit         *web.FlagConfig // listen addresses, TLS and auth
	telemetryPath   string
	maxRequests     int
	maxPageRequests int
	writeProgress   time.Duration
	pprof           bool
	healthListen    string
}

func (o *webOptions) register(s flagSet) {
	o.toolkit = kingpinflag.AddFlags(s, defaultListen)
	s.Flag("web.telemetry-path", "Path under which to expose metrics.").Default(exporter.DefaultTelemetryPath).StringVar(&o.telemetryPath)
	s.Flag("web.max-requests", "Concurrent scrapes served at most; more get 503. 0 means no limit.").Default("40").IntVar(&o.maxRequests)
	s.Flag("web.max-page-requests", "Runbook pages and /debug/pprof/ requests served at once (each may summarize a Job of many pods, or take a profile); more get 503.").
		Default(strconv.Itoa(exporter.DefaultMaxPageRequests)).IntVar(&o.maxPageRequests)
	s.Flag("web.write-progress-timeout", "Longest a client may take to accept each 16 KiB of a response; one that stops reading is cut off after this and frees its --web.max-requests slot, one that reads slowly keeps its response. Whole responses are bounded by 2m regardless. 0 disables (only the 2m bound).").
		Default(exporter.DefaultWriteProgressTimeout.String()).DurationVar(&o.writeProgress)
	s.Flag("web.enable-pprof", "Serve Go runtime profiles (heap, CPU, goroutines) under /debug/pprof/, behind the same web config as /metrics.").
		Default("false").BoolVar(&o.pprof)
	s.Flag("web.health-listen-address", "Also serve /healthz and /readyz, without TLS or auth, on this address (for kubelet probes when --web.config.file requires credentials). Empty: off.").
		StringVar(&o.healthListen)
}

func (o *webOptions) validate() error {
	if o.maxPageRequests < 1 {
		return fmt.Errorf("--web.max-page-requests must be at least 1, got %d", o.maxPageRequests)
	}
	if o.writeProgress < 0 {
		return fmt.Errorf("--web.write-progress-timeout must be >= 0 (0 disables), got %s", o.writeProgress)
	}
	if err := web.Validate(*o.toolkit.WebConfigFile); err != nil {
		return fmt.Errorf("invalid --web.config.file: %w", err)
	}
	return nil
}

func (o *webOptions) apply(cfg *exporter.Config) {
	cfg.TelemetryPath, cfg.MaxRequests, cfg.MaxPageRequests, cfg.Pprof = o.telemetryPath, o.maxRequests, o.maxPageRequests, o.pprof
}
