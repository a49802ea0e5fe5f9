package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// An exporter started while the API server's port is closed (a restart
// during a control-plane outage) does not exit: it serves its own metrics
// with the watches down and the reason counted, /healthz ok (a restart
// would not help) and /readyz 503 saying why, logs the trouble once
// however often it retries, and when the API server answers it catches
// up: ready, and equal to a fresh exporter, Jobs that failed while it
// waited included.
func TestStartBeforeAPIServer(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	ns := "startup"
	suite.CreateNamespace(t, ns)
	suite.CreateJobs(t,
		NewJob(ns, "before-fail", "exit=2", 0),
		NewJob(ns, "before-ok", "succeed", 0),
		NewJob(ns, "running", "run=forever", 0),
	)
	if err := suite.WaitJobsFinished(ctx, time.Minute, ns, map[string]batchv1.JobConditionType{
		"before-fail": batchv1.JobFailed, "before-ok": batchv1.JobComplete,
	}); err != nil {
		t.Fatal(err)
	}

	if err := suite.Cluster.SetAPIServerOutage(harness.OutageRefused); err != nil {
		t.Fatal(err)
	}
	restored := false
	defer func() {
		if !restored {
			_ = suite.Cluster.SetAPIServerOutage(harness.OutageNone)
		}
	}()
	e := suite.StartExporterNotReady(t, "startup")
	started := time.Now()

	// Several attempts refused, each counted, the watches down.
	m, err := e.WaitMetrics(ctx, 30*time.Second, nil, func(m *harness.Metrics) (bool, string) {
		refused, _ := m.Value("kubejob_exporter_watch_errors_total", harness.Labels{"resource": "jobs", "reason": "unreachable"})
		up := WatchUp(m)
		return refused >= 3 && up == 0, fmt.Sprintf("watch_errors_total{resource=jobs,reason=unreachable} = %v, sum(watch_up) = %v; want >= 3 and 0", refused, up)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, Tail(e.Logs(), 3000))
	}
	attempts, _ := m.Value("kubejob_exporter_watch_errors_total", harness.Labels{"resource": "jobs", "reason": "unreachable"})
	if _, ok := m.Value("kubejob_exporter_build_info", harness.Labels{}); !ok {
		t.Error("/metrics without kubejob_exporter_build_info while the API server is away")
	}
	if _, ok := m.Value("kubejob_exporter_kube_apiserver_info", harness.Labels{}); ok {
		t.Error("kubejob_exporter_kube_apiserver_info before the API server ever answered")
	}
	for _, r := range harness.WatchedResources {
		if v, _ := m.Value("kubejob_exporter_watch_synced", harness.Labels{"resource": r}); v != 0 {
			t.Errorf("kubejob_exporter_watch_synced{resource=%q} = %v before the API server answered", r, v)
		}
	}
	if series := PerJob(m, true); len(series) != 0 {
		t.Errorf("%d per-Job series before the API server answered", len(series))
	}
	if code, body, err := e.Get(ctx, "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz: %d %q %v, want 200", code, body, err)
	}
	code, body, err := e.Get(ctx, "/readyz")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot reach the Kubernetes API server: unreachable") {
		t.Errorf("/readyz: %d %q %v, want 503 saying the API server is unreachable", code, strings.TrimSpace(body), err)
	}
	t.Logf("%s after start: %v attempts refused, serving; /readyz %d %q", time.Since(started).Round(time.Millisecond), attempts, code, strings.TrimSpace(body))

	// Meanwhile a Job fails, which the exporter has never seen.
	suite.CreateJobs(t, NewJob(ns, "while-away", "exit=1", 0))
	if err := suite.WaitJobsFinished(ctx, time.Minute, ns, map[string]batchv1.JobConditionType{"while-away": batchv1.JobFailed}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Exited():
		t.Fatalf("the exporter exited while the API server was away: %v\n%s", e.Err(), Tail(e.Logs(), 3000))
	default:
	}
	if n := strings.Count(e.Logs(), "cannot reach the Kubernetes API server"); n != 1 {
		t.Errorf("the refusal logged %d times over %v+ attempts, want once:\n%s", n, attempts, Tail(e.Logs(), 3000))
	}

	if err := suite.Cluster.SetAPIServerOutage(harness.OutageNone); err != nil {
		t.Fatal(err)
	}
	restored = true
	back := time.Now()
	if err := WaitHealthy(ctx, 30*time.Second, e); err != nil {
		t.Fatalf("not ready after the API server came back: %v\n%s", err, Tail(e.Logs(), 3000))
	}
	t.Logf("ready %s after the API server answered (%s after start)", time.Since(back).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))

	fresh := suite.StartExporter(t, "startup-fresh")
	got, err := WaitEqual(ctx, 30*time.Second, fresh, e, true)
	if err != nil {
		t.Fatalf("the exporter that started first and a fresh one disagree: %v", err)
	}
	final, err := e.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := final.Value("kubejob_failed", Labels(ns, "while-away", "reason", "BackoffLimitExceeded")); v != 1 {
		t.Errorf("kubejob_failed of the Job that failed while the exporter waited = %v, want 1", v)
	}
	if _, ok := final.Value("kubejob_exporter_kube_apiserver_info", harness.Labels{}); !ok {
		t.Error("no kubejob_exporter_kube_apiserver_info after the API server answered")
	}
	t.Logf("equal to a fresh exporter %s after the API server came back (%d series); the test took %s",
		time.Since(back).Round(time.Millisecond), len(got), time.Since(began).Round(time.Millisecond))
}
