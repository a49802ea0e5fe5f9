package exporter

import (
	"bytes"
	"context"
	"io"
	"log/slog"
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
func runExporter(t *testing.T, exp *Exporter) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); exp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}
