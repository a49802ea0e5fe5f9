package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// An API-server outage as the exporter sees it (the harness cuts the
// kubeconfig's proxy; the in-process Job controller keeps working): the
// watches report down and /readyz fails; after the outage the exporter
// catches up with a Job that failed meanwhile.
//
// Not parallel: Go runs it before the parallel scenarios start, so none of
// them sees the outage.
func TestAPIServerOutage(t *testing.T) {
	for _, o := range []harness.Outage{harness.OutageRefused, harness.OutageReset} {
		// With connections reset, client-go's Watch retries EOF for a while
		// and then returns an empty watch and no error; the exporter counts
		// a watch that closes within a second without events as a failure.
		t.Run(o.String(), func(t *testing.T) { outage(t, o) })
	}
}

func outage(t *testing.T, o harness.Outage) {
	ctx := context.Background()
	e := &env{&harness.Env{T: t, Ctx: ctx, NS: fmt.Sprintf("s11-outage-%d", nsSeq.Add(1)), Client: cluster.Client()}}
	if _, err := exporter.WaitMetrics(ctx, metricsTimeout, harness.Labels{}, func(m *harness.Metrics) (bool, string) {
		v, want := m.Sum("kubejob_exporter_watch_up", harness.Labels{}), float64(len(harness.WatchedResources))
		return v == want, fmt.Sprintf("sum(watch_up)=%v before the outage, want %v", v, want)
	}); err != nil {
		t.Fatal(err)
	}

	if err := cluster.SetAPIServerOutage(o); err != nil {
		t.Fatal(err)
	}
	restored := false
	defer func() {
		if !restored {
			_ = cluster.SetAPIServerOutage(harness.OutageNone)
		}
	}()

	if _, err := exporter.WaitMetrics(ctx, 90*time.Second, harness.Labels{}, func(m *harness.Metrics) (bool, string) {
		up := m.Sum("kubejob_exporter_watch_up", harness.Labels{})
		errs := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"reason": "unreachable"})
		return up == 0 && errs > 0, fmt.Sprintf("during the outage: sum(watch_up)=%v, sum(watch_errors_total{reason=unreachable})=%v", up, errs)
	}); err != nil {
		t.Fatal(err)
	}
	if code, body, err := exporter.Get(ctx, "/readyz"); err != nil || code == http.StatusOK {
		t.Errorf("/readyz during the outage: %d %q %v, want a failure", code, body, err)
	}

	// Meanwhile a Job fails; the exporter cannot see it yet.
	e.CreateNamespace()
	job := e.NewJob("while-away", "oom")
	job.Spec.BackoffLimit = ptr(int32(0))
	e.Create(job)
	e.waitFinished("while-away", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	if err := cluster.SetAPIServerOutage(harness.OutageNone); err != nil {
		t.Fatal(err)
	}
	restored = true
	if _, err := exporter.WaitMetrics(ctx, 2*time.Minute, e.labels("while-away"), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels("while-away")}
		for _, r := range harness.WatchedResources {
			if v, _ := m.Value("kubejob_exporter_watch_up", harness.Labels{"resource": r}); v != 1 {
				x.failf("watch_up{resource=%q} = %v after the outage", r, v)
			}
		}
		x.eq("failed", 1, "reason", "BackoffLimitExceeded")
		x.eq("pod_failures", 1, "container", "main", "reason", "OOMKilled", "exit_code", "137")
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	if code, _, err := exporter.Get(ctx, "/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("/readyz after the outage: %d %v", code, err)
	}
}
