package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Failures that outlive their Job: Jobs the real TTL-after-finished
// controller (ttlSecondsAfterFinished 0), a CronJob's history limit
// (failedJobsHistoryLimit 0) or the Job controller (a pod deleted at the
// deadline) removes the moment it fails. The exporter counts the outcome
// under the Job's owner when its watch shows it, and keeps the last report
// of a deleted failed Job. The tests watch the Jobs themselves
// (harness.JobWatch): polling the API, they could miss the Job between
// its failure and its deletion.

// ownerSel selects an owner's kubejob_owner_* series.
func ownerSel(ns, kind, name string) harness.Labels {
	return harness.Labels{"namespace": ns, "owner_kind": kind, "owner_name": name}
}

// ttlJob is a standalone Job with backoffLimit 0 and
// ttlSecondsAfterFinished 0: deleted as soon as it finishes.
func (e *env) ttlJob(name, outcome string) *batchv1.Job {
	job := e.NewJob(name, outcome)
	job.Spec.BackoffLimit = ptr(int32(0))
	job.Spec.TTLSecondsAfterFinished = ptr(int32(0))
	return job
}

// deletedByTTL waits until the watch shows the Job created as j deleted,
// checks that it finished with condition typ and reason first and was
// deleted as the TTL controller deletes (foreground: its pods went first),
// that the API has neither it nor its pods, and returns its final state.
func (e *env) deletedByTTL(jw *harness.JobWatch, j *batchv1.Job, typ batchv1.JobConditionType, reason string) *batchv1.Job {
	e.T.Helper()
	gone := e.WaitDeleted(jw, j)
	c := harness.Condition(gone.Last, typ)
	if c == nil || (reason != "" && c.Reason != reason) {
		e.T.Fatalf("job %s deleted without %s (%s): %s", j.Name, typ, reason, harness.JobStatus(gone.Last))
	}
	if !gone.Foreground {
		e.T.Errorf("job %s: no foreground deletion (the TTL controller's) seen: %+v", j.Name, gone)
	}
	e.T.Logf("job %s: %s, deleted %s after the watch showed it finish", j.Name, typ, gone.Deleted.Sub(gone.Finished).Round(time.Millisecond))
	if _, err := e.Client.BatchV1().Jobs(e.NS).Get(e.Ctx, j.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		e.T.Errorf("job %s after its deletion: %v, want NotFound", j.Name, err)
	}
	if pods := e.pods(j); len(pods) != 0 {
		e.T.Errorf("job %s: %d pods left after its foreground deletion", j.Name, len(pods))
	}
	return gone.Last
}

// failureTimes are the times the exporter may take as the Job's failure:
// its Failed condition's, or its FailureTarget's (the controller writes
// it first, since v1.31).
func failureTimes(j *batchv1.Job) []float64 {
	var out []float64
	for _, typ := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobFailureTarget} {
		if c := harness.Condition(j, typ); c != nil {
			out = append(out, unix(c.LastTransitionTime))
		}
	}
	return out
}

// oneOf checks v is one of want.
func (x *expect) oneOf(what string, v float64, want []float64) {
	for _, w := range want {
		if v == w {
			return
		}
	}
	x.failf("%s = %v, want one of %v (the Failed or FailureTarget transition time)", what, v, want)
}

// getPage fetches an exporter page; the test fails unless it answers 200.
func getPage(t *testing.T, exp *harness.Exporter, path string) string {
	t.Helper()
	code, body, err := exp.Get(context.Background(), path)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%.2000s", path, code, err, body)
	}
	return body
}

// waitPage polls an exporter page until it contains every one of want.
func waitPage(t *testing.T, exp *harness.Exporter, path string, want ...string) string {
	t.Helper()
	var body string
	err := harness.Eventually(context.Background(), metricsTimeout, func(ctx context.Context) (bool, string, error) {
		code, b, err := exp.Get(ctx, path)
		if err != nil {
			return false, err.Error(), nil
		}
		body = b
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET %s: %d", path, code), nil
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				return false, fmt.Sprintf("GET %s does not say %q", path, w), nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("%v:\n%.6000s", err, body)
	}
	return body
}

func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// A Job with ttlSecondsAfterFinished 0 fails (backoffLimit 0, exit 1) and
// the TTL controller deletes it at once: the exporter counts the failure
// and the pod's under the Job's owner, lists it on /failing as deleted by
// its TTL, and its runbook page shows the kept report with the cause. An
// exporter started afterwards (a restart) does not count it again.
func TestFailedJobDeletedByTTL(t *testing.T) {
	e := newEnv(t, "s50-ttl-failed")
	jw := e.WatchJobs()
	created := e.Create(e.ttlJob("report", "exit=1"))
	last := e.deletedByTTL(jw, created, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	owner := ownerSel(e.NS, "Job", "report")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: owner}
		x.eq("owner_jobs_finished_total", 1, "outcome", "failed", "reason", "BackoffLimitExceeded")
		x.absent("owner_jobs_finished_total", "outcome", "succeeded")
		x.eq("owner_pod_failures_total", 1, "reason", "Error", "exit_code", "1")
		x.only("owner_pod_failures_total", "exit_code", "1")
		x.oneOf("kubejob_owner_last_failure_timestamp_seconds", x.value("owner_last_failure_timestamp_seconds", "reason", "BackoffLimitExceeded"), failureTimes(last))
		if m.Has("kubejob_info", e.labels("report")) {
			x.failf("kubejob_info of the deleted Job still there")
		}
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}

	// /failing lists it, deleted by its TTL; its link opens the kept report.
	failing := waitPage(t, exporter, "/failing?"+query("namespace", e.NS), "deleted Job", "<strong>report</strong>", "by its TTL")
	if !strings.Contains(failing, "job_uid="+string(created.UID)) {
		t.Errorf("/failing does not link the kept report of UID %s:\n%.4000s", created.UID, failing)
	}
	// The alert's runbook link (namespace and job_name) shows the kept
	// report: deleted by its TTL, the cause exit 1.
	rb := waitPage(t, exporter, "/runbooks/KubeJobBackoffLimitExceeded?"+query("namespace", e.NS, "job_name", "report"),
		"This Job was deleted at", "by its TTL", string(created.UID), "FAILED (BackoffLimitExceeded)", "container main exit 1 Error")
	t.Logf("runbook page of the deleted Job: %d bytes", len(rb))

	// A restart: the new exporter never saw the Job, so counts nothing;
	// the running one still counts it once.
	fresh := startFreshExporter(t)
	m, err := fresh.Scrape(e.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kubejob_owner_jobs_finished_total", "kubejob_owner_pod_failures_total", "kubejob_owner_last_failure_timestamp_seconds"} {
		if v := m.Sum(name, owner); v != 0 {
			t.Errorf("a restarted exporter counts the deleted Job again: %s", m.Dump(owner, name))
		}
	}
	m, err = exporter.Scrape(e.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Sum("kubejob_owner_jobs_finished_total", owner); v != 1 {
		t.Errorf("kubejob_owner_jobs_finished_total of %v = %v after the restart of another exporter, want 1", owner, v)
	}
}

// A Job with ttlSecondsAfterFinished 0 that succeeds: counted once as
// succeeded, never as a failure, and not listed on /failing.
func TestSucceededJobDeletedByTTL(t *testing.T) {
	e := newEnv(t, "s51-ttl-succeeded")
	jw := e.WatchJobs()
	created := e.Create(e.ttlJob("tidy-report", "succeed"))
	e.deletedByTTL(jw, created, batchv1.JobComplete, "")

	owner := ownerSel(e.NS, "Job", "tidy-report")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: owner}
		x.eq("owner_jobs_finished_total", 1, "outcome", "succeeded", "reason", "")
		x.absent("owner_jobs_finished_total", "outcome", "failed")
		x.absent("owner_last_failure_timestamp_seconds")
		x.absent("owner_pod_failures_total")
		if m.Has("kubejob_info", e.labels("tidy-report")) {
			x.failf("kubejob_info of the deleted Job still there")
		}
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	if page := getPage(t, exporter, "/failing?"+query("namespace", e.NS)); strings.Contains(page, "tidy-report") || strings.Contains(page, "deleted Job") {
		t.Errorf("/failing lists the Job that succeeded:\n%.4000s", page)
	}
}

// A CronJob with failedJobsHistoryLimit 0 whose run fails: the CronJob
// controller deletes the run at once (SuccessfulDelete). The CronJob's
// last failure is still set and newer than any success
// (KubeCronJobLastRunFailed's condition), and its owner counter counts one
// failed run. The run is created by the test (a CronJob scheduled once a
// year) so that it fails within seconds; the controller trims it as it
// trims its own runs.
func TestCronJobRunDeletedByHistoryLimit(t *testing.T) {
	e := newEnv(t, "s52-cron-limit0")
	cj := harness.CronJob(e.NS, "nightly", "0 0 1 1 *", e.NewJob("x", "exit=1").Spec)
	cj.Spec.FailedJobsHistoryLimit = ptr(int32(0))
	cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jw := e.WatchJobs()
	run := harness.RunOf(e.NewJob("nightly-29000001", "exit=1"), cj)
	run.Spec.BackoffLimit = ptr(int32(0))
	created := e.Create(run)
	gone := e.WaitDeleted(jw, created)
	if c := harness.Condition(gone.Last, batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("run deleted without Failed (BackoffLimitExceeded): %s", harness.JobStatus(gone.Last))
	}
	if _, err := harness.WaitEvent(e.Ctx, e.Client, e.NS, "CronJob", "nightly", "SuccessfulDelete", 30*time.Second); err != nil {
		t.Fatalf("the CronJob controller did not delete the run: %v", err)
	}
	t.Logf("run failed and deleted %s after the watch showed it finish", gone.Deleted.Sub(gone.Finished).Round(time.Millisecond))

	cronSel := cronLabels(e.NS, "nightly")
	owner := ownerSel(e.NS, "CronJob", "nightly")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: cronSel}
		failed := x.value("cronjob_last_failure_timestamp_seconds", "reason", "BackoffLimitExceeded")
		x.oneOf("kubejob_cronjob_last_failure_timestamp_seconds", failed, failureTimes(gone.Last))
		if s, ok := m.Value("kubejob_cronjob_last_success_timestamp_seconds", cronSel); ok && s >= failed {
			x.failf("last success %v not older than the last failure %v: KubeCronJobLastRunFailed would not fire", s, failed)
		}
		o := &expect{m: m, base: owner}
		o.eq("owner_jobs_finished_total", 1, "outcome", "failed", "reason", "BackoffLimitExceeded")
		o.absent("owner_jobs_finished_total", "outcome", "succeeded")
		o.eq("owner_pod_failures_total", 1, "reason", "Error", "exit_code", "1")
		if m.Has("kubejob_info", e.labels(created.Name)) {
			x.failf("kubejob_info of the deleted run still there")
		}
		x.fails = append(x.fails, o.fails...)
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	// The CronJob's runbook page shows the deleted run and its cause.
	waitPage(t, exporter, "/runbooks/KubeCronJobLastRunFailed?"+query("namespace", e.NS, "cronjob", "nightly"),
		created.Name, "container main exit 1 Error")
}

// A Job whose pod cannot pull its image until activeDeadlineSeconds:
// the Job controller fails the Job (DeadlineExceeded) and deletes the pod.
// The exporter's report still names the image pull, from its last view of
// the pod.
func TestImagePullUntilDeadline(t *testing.T) {
	e := newEnv(t, "s53-pull-deadline")
	job := e.NewJob("pull", "image-pull")
	job.Spec.ActiveDeadlineSeconds = ptr(int64(3))
	created := e.Create(job)
	e.waitFinished("pull", batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
	if err := harness.Eventually(e.Ctx, harness.JobTimeout, func(context.Context) (bool, string, error) {
		n := len(e.pods(created))
		return n == 0, fmt.Sprintf("%d pods left after the deadline", n), nil
	}); err != nil {
		t.Fatal(err)
	}
	e.waitMetrics("pull", func(x *expect) {
		x.eq("failed", 1, "reason", "DeadlineExceeded")
		x.absent("pods_waiting") // no pod left
	})
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: ownerSel(e.NS, "Job", "pull")}
		x.eq("owner_jobs_finished_total", 1, "outcome", "failed", "reason", "DeadlineExceeded")
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	// The pod's last state before its deletion is ErrImagePull or, if the
	// back-off was written before the deadline, ImagePullBackOff: which one
	// depends on the machine's load, and both are the image pull.
	body := waitPage(t, exporter, "/runbooks/KubeJobDeadlineExceeded?"+query("namespace", e.NS, "job_name", "pull"),
		"FAILED (DeadlineExceeded)", "could not pull the image")
	if !strings.Contains(body, "ErrImagePull") && !strings.Contains(body, "ImagePullBackOff") {
		t.Errorf("the report does not name the image pull's reason:\n%.6000s", body)
	}
}

// The same Job name again after the first Job failed and its TTL deleted
// it: another Job (another UID), whose failure counts separately; the
// first is never counted twice. The owner's runbook page lists both.
func TestRecreatedJobCountsAgain(t *testing.T) {
	e := newEnv(t, "s54-recreate")
	jw := e.WatchJobs()
	owner := ownerSel(e.NS, "Job", "report")
	most := 0.0
	waitCount := func(want float64) {
		t.Helper()
		if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
			x := &expect{m: m, base: owner}
			v := m.Sum("kubejob_owner_jobs_finished_total", owner)
			most = max(most, v)
			if most > want {
				x.failf("kubejob_owner_jobs_finished_total reached %v, want at most %v (a Job counted twice)", most, want)
			}
			x.eq("owner_jobs_finished_total", want, "outcome", "failed", "reason", "BackoffLimitExceeded")
			x.eq("owner_pod_failures_total", want, "reason", "Error", "exit_code", "1")
			return x.result()
		}); err != nil {
			t.Fatal(err)
		}
	}

	first := e.Create(e.ttlJob("report", "exit=1"))
	e.deletedByTTL(jw, first, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	waitCount(1)
	second := e.Create(e.ttlJob("report", "exit=1"))
	if second.UID == first.UID {
		t.Fatalf("the re-created Job has the first one's UID %s", first.UID)
	}
	e.deletedByTTL(jw, second, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	waitCount(2)
	// It stays 2 over the next scrapes.
	stable := 0
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		if v := m.Sum("kubejob_owner_jobs_finished_total", owner); v != 2 {
			return false, fmt.Sprintf("kubejob_owner_jobs_finished_total = %v after it was 2", v)
		}
		stable++
		return stable >= 5, ""
	}); err != nil {
		t.Fatal(err)
	}

	// KubeJobFailedAndDeleted's runbook link: the owner's deleted Jobs,
	// each with its kept report.
	waitPage(t, exporter, "/runbooks/KubeJobFailedAndDeleted?"+query("namespace", e.NS, "owner_name", "report"),
		"job_uid="+string(first.UID), "job_uid="+string(second.UID), "container main exit 1 Error")
}
