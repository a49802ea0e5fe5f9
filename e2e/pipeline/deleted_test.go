package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// scrapeInterval is the suite's Prometheus scrape interval (the
// harness.PipelineOptions default).
const scrapeInterval = 2 * time.Second

// ttlJob is a Job named by generateName (its owner: the prefix without
// its dash), with backoffLimit 0 and ttlSecondsAfterFinished 0: the real
// TTL-after-finished controller deletes it the moment it finishes.
func ttlJob(e *env, generateName, outcome string) *batchv1.Job {
	job := e.NewJob("", outcome)
	job.GenerateName = generateName
	job.Spec.BackoffLimit = ptr(int32(0))
	job.Spec.TTLSecondsAfterFinished = ptr(int32(0))
	return job
}

// TestFailedAndDeleted: a standalone Job that fails and is deleted by its
// TTL within one scrape interval leaves no kubejob_failed for Prometheus
// to see, so no per-Job alert can page for it. KubeJobFailedAndDeleted
// pages once for its owner and reason, from the exporter's counters,
// with a runbook page listing the deleted Job and its kept report;
// KubeJobBackoffLimitExceeded does not page. A Job with the same TTL that
// succeeds pages nothing.
func TestFailedAndDeleted(t *testing.T) {
	t.Parallel()
	t.Run("group", func(t *testing.T) {
		t.Run("Failed", func(t *testing.T) {
			t.Parallel()
			testFailedAndDeleted(t)
		})
		t.Run("NoPage/Succeeded", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "p31-ttl-succeeded")
			jw := e.WatchJobs()
			created := e.Create(ttlJob(e, "tidy-", "succeed"))
			gone := e.WaitDeleted(jw, created)
			if harness.Condition(gone.Last, batchv1.JobComplete) == nil {
				t.Fatalf("deleted without completing: %s", harness.JobStatus(gone.Last))
			}
			expectNoPage(t, e.NS, `kubejob_owner_jobs_finished_total{job="kube-job-exporter",namespace="p31-ttl-succeeded",owner_kind="Job",owner_name="tidy",outcome="succeeded"} == 1`)
		})
	})
}

// testFailedAndDeleted runs the failing case, again in a fresh namespace
// if Prometheus happened to scrape the Job in the few milliseconds it
// existed failed (at 40ms of 2s, about one run in 50; more when a loaded
// machine slows the TTL controller): then a per-Job alert pages instead,
// or this one for a Job no evaluation saw, both as designed, and this
// test has nothing to measure.
func testFailedAndDeleted(t *testing.T) {
	for attempt := 1; attempt <= 3; attempt++ {
		ns := "p30-ttl-deleted"
		if attempt > 1 {
			ns = fmt.Sprintf("%s-%d", ns, attempt)
		}
		if pageFailedAndDeleted(t, ns) {
			return
		}
	}
	t.Fatal("three times Prometheus scraped a Job between its failure and its deletion")
}

// pageFailedAndDeleted returns false when Prometheus saw the Job failed
// (the case is not what it tests), after checking that one alert paged
// then: the per-Job alert if an evaluation saw it, else this one.
func pageFailedAndDeleted(t *testing.T, ns string) bool {
	e := newEnv(t, ns)
	jw := e.WatchJobs()
	created := e.Create(ttlJob(e, "export-", "exit=1"))
	gone := e.WaitDeleted(jw, created)
	cond := harness.Condition(gone.Last, batchv1.JobFailed)
	if cond == nil || cond.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("job %s deleted without Failed (BackoffLimitExceeded): %s", created.Name, harness.JobStatus(gone.Last))
	}
	if !gone.Foreground {
		t.Errorf("job %s: no foreground deletion (the TTL controller's) seen", created.Name)
	}
	lived := gone.Deleted.Sub(gone.Finished)
	t.Logf("job %s failed (condition at %s, seen by the watch at %s) and was deleted %s later",
		created.Name, cond.LastTransitionTime.UTC().Format(time.RFC3339), gone.Finished.UTC().Format("15:04:05.000"), lived.Round(time.Millisecond))
	if lived >= scrapeInterval {
		// The TTL controller was slow (a loaded machine): a scrape may
		// have seen the Job failed, which is checked below as for a Job
		// scraped in its milliseconds.
		t.Logf("job %s existed %s after it failed, a scrape interval (%s) or more: Prometheus may have seen it failed", created.Name, lived.Round(time.Millisecond), scrapeInterval)
	}

	want := map[string]string{"alertname": "KubeJobFailedAndDeleted", "namespace": ns, "owner_kind": "Job",
		"owner_name": "export", "reason": "BackoffLimitExceeded", "severity": "warning"}
	a, err := pipe.Webhook.WaitAlert(e.Ctx, pageWindow, alertMatch("firing", want), inNamespace(ns))
	if err != nil {
		if scrapedFailed(t, ns) {
			// The per-Job alert pages for it instead.
			if _, err := pipe.Webhook.WaitAlert(e.Ctx, pageWindow, alertMatch("firing", map[string]string{"alertname": "KubeJobBackoffLimitExceeded", "namespace": ns}), inNamespace(ns)); err != nil {
				t.Errorf("Prometheus saw job %s failed, yet KubeJobBackoffLimitExceeded did not page: %v", created.Name, err)
			}
			t.Logf("Prometheus scraped job %s in the %s it existed failed; KubeJobBackoffLimitExceeded paged instead. Again in a new namespace.", created.Name, lived.Round(time.Millisecond))
			return false
		}
		t.Fatalf("KubeJobFailedAndDeleted for %s: %v\nPrometheus alerts: %s", ns, err, promAlertState(ns))
	}
	if scrapedFailed(t, ns) {
		// Seen failed by a scrape but by no evaluation of the per-Job
		// alert: this alert pages for it, as designed, but the case is
		// not the Job gone before any scrape. No per-Job alert may have
		// fired too: that would be two pages.
		r, err := pipe.Prometheus.Query(e.Ctx, fmt.Sprintf(`ALERTS{namespace=%q,alertstate="firing",alertname!="KubeJobFailedAndDeleted"}[10m]`, ns), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Samples {
			t.Errorf("KubeJobFailedAndDeleted paged although a per-Job alert fired: %v", s.Metric)
		}
		t.Logf("Prometheus scraped job %s failed in the %s it existed, and no per-Job alert fired; KubeJobFailedAndDeleted paged, as designed. Again in a new namespace.", created.Name, lived.Round(time.Millisecond))
		return false
	}
	fromCondition := a.Received.Sub(cond.LastTransitionTime.Time)
	fromWatch := a.Received.Sub(gone.Finished)
	t.Logf("KubeJobFailedAndDeleted paged %s after the Job's Failed condition time (whole seconds: %s), %s after the watch showed it failed (Prometheus fired it %s after that, Alertmanager delivered it %s later); deleted %s after it failed: %s",
		fromCondition.Round(10*time.Millisecond), cond.LastTransitionTime.UTC().Format(time.RFC3339), fromWatch.Round(10*time.Millisecond),
		a.StartsAt.Sub(gone.Finished).Round(10*time.Millisecond), a.Received.Sub(a.StartsAt).Round(10*time.Millisecond), lived.Round(time.Millisecond), a)

	// Its labels: the owner and the reason, no Job.
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, a.Labels[k], v)
		}
	}
	for k, v := range a.Labels {
		if _, ok := want[k]; !ok || v == "" {
			t.Errorf("unexpected label %s=%q: %v", k, v, a.Labels)
		}
	}
	for _, s := range []string{"export", ns, "BackoffLimitExceeded"} {
		if !strings.Contains(a.Annotations["summary"], s) {
			t.Errorf("summary lacks %q: %s", s, a.Annotations["summary"])
		}
	}
	for _, ann := range []string{"description", "summary"} {
		if m := unresolvedQuery.FindString(a.Annotations[ann]); m != "" {
			t.Errorf("%s has an unanswered template query (%q):\n%s", ann, m, a.Annotations[ann])
		}
	}
	// Routed to the Jobs' owners, one group per owner.
	if a.Receiver != jobReceiver {
		t.Errorf("receiver %q, want %q", a.Receiver, jobReceiver)
	}
	if want := map[string]string{"namespace": ns, "owner_kind": "Job", "owner_name": "export"}; fmt.Sprint(a.GroupLabels) != fmt.Sprint(want) {
		t.Errorf("group labels %v, want %v", a.GroupLabels, want)
	}
	// The runbook link lists the deleted Job with its kept report.
	checkRunbook(t, e.Ctx, a, "KubeJobFailedAndDeleted", map[string]string{"namespace": ns, "owner_name": "export"},
		[]string{created.Name, "job_uid=" + string(created.UID), "by its TTL", "container main exit 1 Error"})

	// Once: no second notification of it while it keeps firing, and no
	// other alert for the namespace, not even pending.
	again, err := pipe.Webhook.WaitAlert(e.Ctx, pageWindow/2, func(r harness.ReceivedAlert) bool {
		return r.Labels["namespace"] == ns && r.Received.After(a.Received)
	}, nil)
	if err == nil {
		t.Errorf("a second notification for %s after the page: %s", ns, again)
	}
	for _, r := range pipe.Webhook.Alerts(inNamespace(ns)) {
		if r.Labels["alertname"] != "KubeJobFailedAndDeleted" {
			t.Errorf("also paged: %s", r)
		}
	}
	r, err := pipe.Prometheus.Query(e.Ctx, fmt.Sprintf(`ALERTS{namespace=%q,alertname!="KubeJobFailedAndDeleted"}[10m]`, ns), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Samples {
		t.Errorf("alert went %s besides KubeJobFailedAndDeleted: %v", s.Metric["alertstate"], s.Metric)
	}
	return true
}

// scrapedFailed tells whether Prometheus ever scraped a kubejob_failed
// series of the namespace.
func scrapedFailed(t *testing.T, ns string) bool {
	t.Helper()
	r, err := pipe.Prometheus.Query(context.Background(), fmt.Sprintf(`kubejob_failed{job="kube-job-exporter",namespace=%q}[10m]`, ns), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return len(r.Samples) > 0
}
