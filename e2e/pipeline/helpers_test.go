package pipeline

import (
	"context"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const (
	// pageWindow bounds the time from a Job's terminal failure (as the
	// test sees it in the API) to the page at the webhook: scrape 2s,
	// evaluation 1s, Alertmanager group_wait 1s, plus the exporter's and
	// the processes' latency on a loaded 2-core CI machine. Failing
	// scenarios must page within it (they take a few seconds); the
	// scenarios that must not page are watched for the same window after
	// Prometheus has seen their final state.
	pageWindow = 30 * time.Second
)

// env is one scenario: its own namespace in the shared cluster.
type env struct{ *harness.Env }

func newEnv(t *testing.T, ns string) *env {
	t.Helper()
	return &env{harness.NewEnv(t, cluster.Client(), ns)}
}

func ptr[T any](v T) *T { return &v }

// inNamespace matches the alerts (firing or resolved) of namespace ns.
func inNamespace(ns string) func(harness.ReceivedAlert) bool {
	return func(a harness.ReceivedAlert) bool { return a.Labels["namespace"] == ns }
}

// alertMatch matches alerts of status with every given label value.
func alertMatch(status string, labels map[string]string) func(harness.ReceivedAlert) bool {
	return func(a harness.ReceivedAlert) bool {
		return a.Status == status && hasLabels(a.Labels, labels)
	}
}

// hasLabels tells whether got has each label value of want.
func hasLabels(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// waitPrometheus waits until the suite's Prometheus answers expr with a
// series.
func waitPrometheus(t *testing.T, expr string, timeout time.Duration) {
	t.Helper()
	waitPrometheusOf(t, pipe.Prometheus, expr, timeout)
}

// waitPrometheusOf waits until prom answers expr with a series.
func waitPrometheusOf(t *testing.T, prom *harness.Prometheus, expr string, timeout time.Duration) {
	t.Helper()
	err := harness.Eventually(context.Background(), timeout, func(ctx context.Context) (bool, string, error) {
		r, err := prom.Query(ctx, expr, time.Time{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(r.Samples) > 0, "no series for " + expr, nil
	})
	if err != nil {
		t.Fatalf("Prometheus: %v", err)
	}
}

// httpGet fetches u and returns the status code and body.
func httpGet(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// latencies collects the failure-to-page times for the report at the end.
type latency struct {
	alert, where string
	d            time.Duration
}

func sortedLatencies(ls []latency) []latency {
	out := append([]latency(nil), ls...)
	sort.Slice(out, func(i, k int) bool { return out[i].alert+out[i].where < out[k].alert+out[k].where })
	return out
}
