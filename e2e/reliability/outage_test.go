package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// outageLength is how long the API server stays unreachable.
const outageLength = 60 * time.Second

// A 60 s API-server outage (connections refused; the Job controller and the
// pod driver keep going behind the proxy) while Jobs fail and succeed: the
// exporter stays up and serves the last state it knew, unchanged; it says
// its watches are down (metric and /readyz); it recovers by itself; and
// then its output equals a fresh exporter's, with the failures that
// happened during the outage.
func TestOutage60s(t *testing.T) {
	ctx := context.Background()
	ns := "outage"
	suite.CreateNamespace(t, ns)
	e := suite.StartExporter(t, "outage")

	// Finished before the outage.
	before := []*batchv1.Job{
		NewJob(ns, "done-fail", "exit=2", 0),
		NewJob(ns, "done-ok", "succeed", 0),
		NewJob(ns, "long", "run=forever", 0), // unchanged throughout
	}
	// Running when the outage starts; they finish during it.
	mid := []*batchv1.Job{
		NewJob(ns, "mid-fail", "run=12s exit=3", 0),
		NewJob(ns, "mid-ok", "run=12s succeed", 0),
		// Failures 1 and 2 in the outage, then success: retries 2.
		NewJob(ns, "mid-retry", "attempt=1 run=12s exit=1; attempt=2 exit=1; run=2s succeed", 4),
		// Three OOM kills, all during the outage: failed, pod_failures 3.
		NewJob(ns, "mid-oom", "run=12s oom", 2),
	}
	mid[3].Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	suite.CreateJobs(t, append(before, mid...)...)
	if err := suite.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{
		"done-fail": batchv1.JobFailed, "done-ok": batchv1.JobComplete,
	}); err != nil {
		t.Fatal(err)
	}
	// The exporter knows the pre-outage state: finished Jobs finished, the
	// others running.
	if _, err := e.WaitMetrics(ctx, time.Minute, harness.Labels{"namespace": ns}, func(m *harness.Metrics) (bool, string) {
		if v, _ := m.Value("kubejob_failed", Labels(ns, "done-fail", "reason", "BackoffLimitExceeded")); v != 1 {
			return false, "done-fail not failed yet"
		}
		if v, _ := m.Value("kubejob_complete", Labels(ns, "done-ok")); v != 1 {
			return false, "done-ok not complete yet"
		}
		for _, j := range append(mid, before[2]) {
			if v, _ := m.Value("kubejob_pods", Labels(ns, j.Name, "state", "active")); v != 1 {
				return false, fmt.Sprintf("%s: pods{active} = %v, want 1", j.Name, v)
			}
		}
		return WatchUp(m) == float64(len(harness.WatchedResources)), "watches not up"
	}); err != nil {
		t.Fatal(err)
	}

	if err := suite.Cluster.SetAPIServerOutage(harness.OutageRefused); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	restored := false
	defer func() {
		if !restored {
			_ = suite.Cluster.SetAPIServerOutage(harness.OutageNone)
		}
	}()

	// The watches notice.
	m, err := e.WaitMetrics(ctx, 45*time.Second, harness.Labels{}, func(m *harness.Metrics) (bool, string) {
		up := WatchUp(m)
		errs := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"reason": "unreachable"})
		return up == 0 && errs > 0, fmt.Sprintf("during the outage: sum(watch_up)=%v, sum(watch_errors_total{reason=unreachable})=%v", up, errs)
	})
	if err != nil {
		t.Fatal(err)
	}
	noticed := time.Since(cut)
	t.Logf("watch_up 0 %s after the cut", noticed.Round(time.Millisecond))
	frozen := PerJob(m, true, ns)

	// Meanwhile Jobs are created (by the admin client, not through the
	// proxy) and finish.
	during := []*batchv1.Job{
		NewJob(ns, "new-fail", "exit=127", 1),
		NewJob(ns, "new-ok", "succeed", 0),
	}
	suite.CreateJobs(t, during...)

	// For the rest of the outage every scrape shows the frozen state and
	// the watches down.
	scrapes := 0
	for time.Since(cut) < outageLength {
		m, err := e.Scrape(ctx)
		if err != nil {
			t.Fatalf("scrape %s into the outage: %v (the exporter must keep serving)\n%s", time.Since(cut).Round(time.Second), err, Tail(e.Logs(), 3000))
		}
		scrapes++
		if d := Diff(frozen, PerJob(m, true, ns), "start of outage", "later in outage"); d != "" {
			t.Fatalf("per-Job series changed %s into the outage, with no API server to tell it:\n%s", time.Since(cut).Round(time.Second), d)
		}
		if up := WatchUp(m); up != 0 {
			t.Errorf("%s into the outage: sum(kubejob_exporter_watch_up) = %v, want 0", time.Since(cut).Round(time.Second), up)
		}
		if code, body, err := e.Get(ctx, "/readyz"); err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("%s into the outage: /readyz %d %q %v, want 503", time.Since(cut).Round(time.Second), code, strings.TrimSpace(body), err)
		}
		select {
		case <-e.Exited():
			t.Fatalf("the exporter exited during the outage:\n%s", Tail(e.Logs(), 3000))
		case <-time.After(2 * time.Second):
		}
	}
	// The outage hid real changes: every Job finished while it lasted.
	if err := suite.WaitJobsFinished(ctx, time.Second, ns, map[string]batchv1.JobConditionType{
		"mid-fail": batchv1.JobFailed, "mid-ok": batchv1.JobComplete, "mid-retry": batchv1.JobComplete, "mid-oom": batchv1.JobFailed,
		"new-fail": batchv1.JobFailed, "new-ok": batchv1.JobComplete,
	}); err != nil {
		t.Fatalf("the Jobs did not all finish within the %s outage (the test needs them to): %v", outageLength, err)
	}
	if err := suite.Cluster.SetAPIServerOutage(harness.OutageNone); err != nil {
		t.Fatal(err)
	}
	restored = true
	outage := time.Since(cut)
	t.Logf("outage lasted %s, %d scrapes during it all served the frozen state (%d series)", outage.Round(time.Millisecond), scrapes, len(frozen))

	back := time.Now()
	if err := WaitHealthy(ctx, 2*time.Minute, e); err != nil {
		t.Fatalf("no recovery after the outage: %v\n%s", err, Tail(e.Logs(), 3000))
	}
	t.Logf("watches up and /readyz 200 %s after the API server came back", time.Since(back).Round(time.Millisecond))

	fresh := suite.StartExporter(t, "outage-fresh")
	got, err := WaitEqual(ctx, time.Minute, fresh, e, true)
	if err != nil {
		t.Fatalf("after the outage, the exporter and a fresh one disagree: %v", err)
	}
	t.Logf("equal to a fresh exporter %s after the API server came back (%d series, all namespaces, CronJob series included)", time.Since(back).Round(time.Millisecond), len(got))

	// And the equal output is the truth about the outage's failures.
	final, err := e.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		series string
		l      harness.Labels
		want   float64
	}{
		{"kubejob_failed", Labels(ns, "mid-fail", "reason", "BackoffLimitExceeded"), 1},
		{"kubejob_pod_failures", Labels(ns, "mid-fail", "container", "main", "reason", "Error", "exit_code", "3"), 1},
		{"kubejob_complete", Labels(ns, "mid-ok"), 1},
		{"kubejob_complete", Labels(ns, "mid-retry"), 1},
		{"kubejob_retries", Labels(ns, "mid-retry"), 2},
		{"kubejob_failed", Labels(ns, "mid-oom", "reason", "BackoffLimitExceeded"), 1},
		{"kubejob_retries", Labels(ns, "mid-oom"), 3},
		{"kubejob_pod_failures", Labels(ns, "mid-oom", "container", "main", "reason", "OOMKilled", "exit_code", "137"), 3},
		{"kubejob_failed", Labels(ns, "new-fail", "reason", "BackoffLimitExceeded"), 1},
		{"kubejob_pod_failures", Labels(ns, "new-fail", "container", "main", "reason", "Error", "exit_code", "127"), 2},
		{"kubejob_complete", Labels(ns, "new-ok"), 1},
		{"kubejob_pods", Labels(ns, "long", "state", "active"), 1},
	} {
		if v, ok := final.Value(c.series, c.l); !ok || v != c.want {
			t.Errorf("after the outage: %s%v = %v (present %v), want %v", c.series, c.l, v, ok, c.want)
		}
	}
}
