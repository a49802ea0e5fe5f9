package exporter

import (
	"net/http"
	"time"
)

// Server timeouts. A response may take at most ServerWriteTimeout in all,
// and, with a write-progress timeout, each piece of it must reach the
// client within that timeout (see RequireWriteProgress).
const (
	// DefaultWriteProgressTimeout is --web.write-progress-timeout's
	// default: Prometheus's default scrape_timeout. A write that makes
	// no progress for that long belongs to a scrape Prometheus has
	// already given up on, yet it is far above the pauses of a healthy
	// reader (GC, CPU throttling, TCP retransmission backoff).
	DefaultWriteProgressTimeout = 10 * time.Second

	// ServerWriteTimeout bounds a whole response, however steadily it is
	// read: no scrape outlives its scrape_timeout (at most the scrape
	// interval), and a client that reads just fast enough to satisfy
	// the progress timeout must not hold a --web.max-requests slot for
	// the better part of an hour on a large response.
	ServerWriteTimeout = 2 * time.Minute
)

// HTTPServer is the exporter's HTTP server for Handler: read timeouts
// against slow-loris clients, ServerWriteTimeout on every response and,
// when writeProgress > 0, RequireWriteProgress with the cut-off responses
// counted in kubejob_exporter_http_write_timeouts_total. Its Addr is
// unset; the caller serves it (web.ListenAndServe, Serve).
func (e *Exporter) HTTPServer(writeProgress time.Duration) (*http.Server, error) {
	handler, err := e.Handler()
	if err != nil {
		return nil, err
	}
	handler = RequireWriteProgress(handler, writeProgress, func(r *http.Request) {
		e.self.writeTimeouts.Inc()
		e.cfg.Logger.Debug("client stopped reading, response abandoned", "path", r.URL.Path, "remote", r.RemoteAddr, "write_progress_timeout", writeProgress)
	})
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}, nil
}
