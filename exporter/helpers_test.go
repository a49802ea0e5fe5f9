package exporter

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

func metav1DeleteOptions() metav1.DeleteOptions { return metav1.DeleteOptions{} }

func parseBody(body []byte) ([]*dto.MetricFamily, error) {
	return metricstore.ParseText(bytes.NewReader(body))
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: w}, nil))
}

// lockedWriter serializes writes from the watcher's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func testutilCounter(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }

// runExporter runs exp until the test ends; its context is the run's.
// serveExporter builds an exporter from cfg, runs it until the test ends
// and serves its handler; it returns the exporter and the server's URL.
func serveExporter(t testing.TB, cfg Config) (*Exporter, string) {
	t.Helper()
	exp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	h, err := exp.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return exp, srv.URL
}

func runExporter(t testing.TB, exp *Exporter) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}
