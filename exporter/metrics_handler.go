package exporter

import (
	"bufio"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// contentType is the exposition format served: the text format 0.0.4, which
// every Prometheus accepts whatever it asks for first (Prometheus 3 lists it
// in its default Accept header after protobuf and OpenMetrics).
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// metricsHandler writes the pre-rendered stores, then the exporter's own
// metrics. At most maxInFlight scrapes run at once; more get 503 at once
// rather than queueing and piling up memory.
type metricsHandler struct {
	stores   []*metricstore.Store
	self     *SelfMetrics
	logger   *slog.Logger
	inFlight chan struct{}
}

func newMetricsHandler(stores []*metricstore.Store, self *SelfMetrics, maxInFlight int, logger *slog.Logger) *metricsHandler {
	h := &metricsHandler{stores: stores, self: self, logger: logger}
	if maxInFlight > 0 {
		h.inFlight = make(chan struct{}, maxInFlight)
	}
	return h
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			h.self.scrapeRefused.Inc()
			http.Error(w, "too many concurrent scrapes, see --web.max-requests", http.StatusServiceUnavailable)
			return
		}
	}
	start := time.Now()
	w.Header().Set("Content-Type", contentType)
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		// BestSpeed: exposition text compresses well at any level, and
		// at 10k Jobs the default level made compression most of the
		// scrape. Writers are pooled: each holds ~1 MiB of state.
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			gz.Close()
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	if err := h.write(out); err != nil {
		// Headers are gone: all we can do is log; the scraper sees a
		// truncated body and fails the scrape, which is the truth.
		h.logger.Debug("writing /metrics failed", "err", err)
	}
	h.self.scrapeDuration.Observe(time.Since(start).Seconds())
}

func (h *metricsHandler) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, s := range h.stores {
		if _, err := s.WriteTo(bw); err != nil {
			return err
		}
	}
	if err := writeRegistry(bw, h.self.Registry); err != nil {
		return err
	}
	return bw.Flush()
}

func writeRegistry(w io.Writer, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

var gzipWriters = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return gz
}}

// acceptsGzip tells whether an Accept-Encoding header allows gzip (a
// "q=0" weight refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); k == "q" {
				q, _ = strconv.ParseFloat(v, 64)
			}
		}
		return q > 0
	}
	return false
}
