package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// 1. OOMKilled on every attempt with backoffLimit 2: three pods fail and
// the controller gives up with BackoffLimitExceeded.
func TestOOMKilledEveryAttempt(t *testing.T) {
	e := newEnv(t, "s01-oom")
	job := e.NewJob("oom", "oom")
	job.Spec.BackoffLimit = ptr(int32(2))
	job.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	e.Create(job)

	j := e.waitFinished("oom", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	pods := e.pods(j)
	var oom int
	var lastFinish metav1.Time
	for i := range pods {
		if term := terminatedOf(&pods[i], "main"); term != nil && term.ExitCode == 137 && term.Reason == "OOMKilled" {
			oom++
			if lastFinish.Before(&term.FinishedAt) {
				lastFinish = term.FinishedAt
			}
		}
	}
	if oom != 3 || j.Status.Failed != 3 {
		t.Fatalf("controller: %d OOMKilled pods, status.failed=%d; want 3 and 3", oom, j.Status.Failed)
	}
	e.waitMetrics("oom", func(x *expect) {
		x.eq("info", 1, "owner_kind", "Job", "owner_name", "oom", "completion_mode", "NonIndexed", "restart_policy", "Never")
		x.eq("failed", 1, "reason", "BackoffLimitExceeded")
		x.only("failed", "reason", "BackoffLimitExceeded")
		x.eq("complete", 0)
		x.eq("pod_failures", float64(oom), "container", "main", "reason", "OOMKilled", "exit_code", "137")
		x.only("pod_failures", "reason", "OOMKilled")
		x.eq("retries", float64(j.Status.Failed))
		x.absent("backoff_delay_seconds") // finished: no next pod
		x.eq("backoff_limit", 2)
		x.eq("container_memory_limit_bytes", 64*1024*1024, "container", "main")
		x.eq("pods", float64(j.Status.Failed), "state", "failed")
		x.absent("pods", "state", "active") // states without pods have no series
		x.eq("last_failure_timestamp_seconds", unix(lastFinish))
		x.eq("start_timestamp_seconds", unix(*j.Status.StartTime))
		x.absent("backoff_next_retry_timestamp_seconds")
		x.absent("completion_timestamp_seconds")
	})
}

// 2. Exit 127 (command not found) and 126 (not executable): the exit code
// reaches /metrics unchanged.
func TestExitCodes127And126(t *testing.T) {
	e := newEnv(t, "s02-exit")
	for _, code := range []int{127, 126} {
		name := fmt.Sprintf("exit-%d", code)
		job := e.NewJob(name, fmt.Sprintf("exit=%d", code))
		job.Spec.BackoffLimit = ptr(int32(1))
		e.Create(job)
	}
	for _, code := range []int{127, 126} {
		name := fmt.Sprintf("exit-%d", code)
		j := e.waitFinished(name, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
		var n int
		for _, p := range e.pods(j) {
			if term := terminatedOf(&p, "main"); term != nil && term.ExitCode == int32(code) {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%s: %d pods terminated with exit %d, want 2", name, n, code)
		}
		e.waitMetrics(name, func(x *expect) {
			x.eq("failed", 1, "reason", "BackoffLimitExceeded")
			x.eq("pod_failures", float64(n), "container", "main", "reason", "Error", "exit_code", strconv.Itoa(code))
			x.only("pod_failures", "exit_code", strconv.Itoa(code))
			x.eq("retries", float64(j.Status.Failed))
		})
	}
}

// 3. A transient failure, then success: retries > 0 and the backoff is
// visible while the Job waits, then kubejob_complete 1 and never
// kubejob_failed.
func TestTransientFailureThenSuccess(t *testing.T) {
	e := newEnv(t, "s03-flaky")
	job := e.NewJob("flaky", "attempt=1-2 exit=1; run=4s succeed")
	job.Spec.BackoffLimit = ptr(int32(4))
	e.Create(job)

	sawFailed := false
	var during *harness.Metrics
	_, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, e.labels("flaky"), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels("flaky")}
		if m.Has("kubejob_failed", x.base) {
			sawFailed = true
		}
		if m.Sum("kubejob_retries", x.base) < 2 || !m.Has("kubejob_backoff_next_retry_timestamp_seconds", x.base) {
			return false, "waiting for 2 retries and a next retry time\n" + m.Dump(x.base)
		}
		during = m
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	x := &expect{m: during, base: e.labels("flaky")}
	retries := x.value("retries")
	delay := x.value("backoff_delay_seconds")
	last := x.value("last_failure_timestamp_seconds")
	x.eq("backoff_delay_seconds", backoffDelay(int(retries)).Seconds())
	x.eq("backoff_next_retry_timestamp_seconds", last+delay)
	x.eq("complete", 0)
	if ok, why := x.result(); !ok {
		t.Fatalf("while retrying: %s\n%s", why, during.Dump(x.base))
	}

	j := e.waitFinished("flaky", batchv1.JobComplete, "")
	if j.Status.Failed != 2 {
		t.Fatalf("controller: status.failed=%d, want 2", j.Status.Failed)
	}
	e.waitMetrics("flaky", func(x *expect) {
		if x.m.Has("kubejob_failed", x.base) {
			sawFailed = true
		}
		x.eq("complete", 1)
		x.eq("retries", float64(j.Status.Failed))
		x.eq("pod_failures", 2, "container", "main", "reason", "Error", "exit_code", "1")
		x.eq("pods", 1, "state", "succeeded")
		x.eq("completion_timestamp_seconds", unix(*j.Status.CompletionTime))
		x.absent("backoff_next_retry_timestamp_seconds")
		x.absent("backoff_delay_seconds")
		x.absent("failed")
	})
	if sawFailed {
		t.Fatal("kubejob_failed was exposed for a Job that recovered")
	}
}

// 4. activeDeadlineSeconds passes while the pod runs: DeadlineExceeded.
func TestActiveDeadlineExceeded(t *testing.T) {
	e := newEnv(t, "s04-deadline")
	job := e.NewJob("slow", "run=forever")
	// Long enough to see the running pod and its metrics first, also on
	// a loaded machine (4s expired before the pod was seen ready while
	// the three skew minors ran at once).
	job.Spec.ActiveDeadlineSeconds = ptr(int64(10))
	e.Create(job)

	j := e.waitJob("slow", "a running pod", func(j *batchv1.Job) bool { return j.Status.StartTime != nil && harness.Deref(j.Status.Ready) == 1 })
	e.waitMetrics("slow", func(x *expect) {
		x.eq("active_deadline_seconds", 10)
		x.eq("deadline_timestamp_seconds", unix(*j.Status.StartTime)+10)
		x.eq("pods", 1, "state", "active")
		x.eq("pods", 1, "state", "ready")
		x.absent("failed")
	})

	j = e.waitFinished("slow", batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
	e.waitMetrics("slow", func(x *expect) {
		x.eq("failed", 1, "reason", "DeadlineExceeded")
		x.only("failed", "reason", "DeadlineExceeded")
		x.absent("pods", "state", "active")
		x.absent("deadline_timestamp_seconds")
		x.eq("retries", float64(j.Status.Failed))
	})
}

// 5. podFailurePolicy: a DisruptionTarget failure matches an Ignore rule and
// is no retry; exit code 42 matches FailJob: reason PodFailurePolicy.
func TestPodFailurePolicy(t *testing.T) {
	e := newEnv(t, "s05-pfp")
	job := e.NewJob("pfp", "attempt=1 disruption; run=3s exit=42")
	job.Spec.BackoffLimit = ptr(int32(6))
	job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
			{Type: v1.DisruptionTarget, Status: v1.ConditionTrue},
		}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: ptr("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42},
		}},
	}}
	created := e.Create(job)

	// The disrupted pod failed and its replacement runs: no retry counted.
	e.waitJob("pfp", "the replacement of the disrupted pod", func(j *batchv1.Job) bool {
		pods := e.pods(created)
		return len(pods) == 2 && pods[0].Status.Phase == v1.PodFailed && pods[1].Status.Phase == v1.PodRunning
	})
	e.waitMetrics("pfp", func(x *expect) {
		x.eq("retries", 0)
		x.eq("pods", 1, "state", "active")
		x.absent("failed")
		// The controller's backoff record counts every failed pod, ignored
		// ones too (backoffStore.newBackoffRecord gets all new failed pods).
		x.eq("backoff_delay_seconds", backoffDelay(1).Seconds())
	})

	j := e.waitFinished("pfp", batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy)
	if j.Status.Failed != 1 {
		t.Fatalf("controller: status.failed=%d, want 1 (the ignored disruption not counted)", j.Status.Failed)
	}
	e.waitMetrics("pfp", func(x *expect) {
		x.eq("failed", 1, "reason", "PodFailurePolicy")
		x.only("failed", "reason", "PodFailurePolicy")
		x.eq("retries", float64(j.Status.Failed))
		x.eq("pod_failures", 1, "container", "main", "reason", "Error", "exit_code", "42")
	})
}

// 6. Indexed Jobs with backoffLimitPerIndex: one index failing for good ends
// with FailedIndexes; more failed indexes than maxFailedIndexes ends with
// MaxFailedIndexesExceeded.
func TestIndexedBackoffLimitPerIndex(t *testing.T) {
	e := newEnv(t, "s06-indexed")
	indexed := func(name, outcome string, perIndex, maxFailed int32) *batchv1.Job {
		job := e.NewJob(name, outcome)
		job.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		job.Spec.Completions, job.Spec.Parallelism = ptr(int32(4)), ptr(int32(4))
		job.Spec.BackoffLimitPerIndex, job.Spec.MaxFailedIndexes = ptr(perIndex), ptr(maxFailed)
		return e.Create(job)
	}
	indexed("one-index", "index=2 exit=3", 1, 1)
	indexed("too-many", "index=1,3 exit=3", 0, 1)

	// Index 2 fails twice (backoffLimitPerIndex 1), the others succeed.
	j := e.waitFinished("one-index", batchv1.JobFailed, batchv1.JobReasonFailedIndexes)
	fails := indexFailures(e.pods(j))
	if harness.Deref(j.Status.FailedIndexes) != "2" || fails["2"] != 2 {
		t.Fatalf("controller: failedIndexes %q, failures per index %v; want \"2\" and 2 for index 2", harness.Deref(j.Status.FailedIndexes), fails)
	}
	e.waitMetrics("one-index", func(x *expect) {
		x.eq("info", 1, "completion_mode", "Indexed")
		x.eq("failed", 1, "reason", "FailedIndexes")
		x.only("failed", "reason", "FailedIndexes")
		x.eq("failed_indexes", 1)
		x.eq("completed_indexes", float64(countIndexes(j.Status.CompletedIndexes)))
		x.eq("backoff_limit_per_index", 1)
		x.eq("max_failed_indexes", 1)
		x.eq("index_failures", float64(fails["2"]), "index", "2")
		x.only("index_failures", "index", "2")
		x.eq("pod_failures", 2, "container", "main", "reason", "Error", "exit_code", "3")
	})

	j = e.waitFinished("too-many", batchv1.JobFailed, batchv1.JobReasonMaxFailedIndexesExceeded)
	fails = indexFailures(e.pods(j))
	e.waitMetrics("too-many", func(x *expect) {
		x.eq("failed", 1, "reason", "MaxFailedIndexesExceeded")
		x.only("failed", "reason", "MaxFailedIndexesExceeded")
		x.eq("failed_indexes", float64(countIndexes(harness.Deref(j.Status.FailedIndexes))))
		x.eq("completed_indexes", float64(countIndexes(j.Status.CompletedIndexes)))
		x.eq("backoff_limit_per_index", 0)
		x.eq("max_failed_indexes", 1)
		for ix, n := range fails {
			x.eq("index_failures", float64(n), "index", ix)
		}
	})
	if len(fails) < 2 {
		t.Fatalf("controller: failures per index %v, want indexes 1 and 3", fails)
	}
}

// indexFailures counts failed pods per completion index.
func indexFailures(pods []v1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		if p.Status.Phase == v1.PodFailed {
			out[p.Annotations[batchv1.JobCompletionIndexAnnotation]]++
		}
	}
	return out
}

// countIndexes counts the indexes in a "1,3-5" list.
func countIndexes(s string) int {
	n := 0
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			n++
			continue
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		n += b - a + 1
	}
	return n
}

// 7. restartPolicy OnFailure: the container restarts in place; retries follow
// restartCount until the controller fails the Job with BackoffLimitExceeded.
func TestOnFailureRestarts(t *testing.T) {
	e := newEnv(t, "s07-onfailure")
	job := e.NewJob("crashloop", "exit=2")
	job.Spec.BackoffLimit = ptr(int32(3))
	job.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	created := e.Create(job)

	// While the pod restarts, retries equal its restartCount (the exporter
	// catches up with the API within the poll).
	var sawCrashLoop bool
	_, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, e.labels("crashloop"), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels("crashloop")}
		if v, ok := m.Value("kubejob_pods_waiting", x.sel("reason", "CrashLoopBackOff")); ok && v == 1 {
			sawCrashLoop = true
		}
		restarts := int32(0)
		for _, p := range e.pods(created) {
			if p.DeletionTimestamp == nil {
				for _, cs := range p.Status.ContainerStatuses {
					restarts += cs.RestartCount
				}
			}
		}
		if restarts < 1 {
			return false, "waiting for a restart"
		}
		x.eq("retries", float64(restarts))
		x.eq("pod_failures", float64(restarts), "container", "main", "reason", "Error", "exit_code", "2")
		x.eq("info", 1, "restart_policy", "OnFailure")
		x.absent("failed")
		return x.result()
	})
	if err != nil {
		t.Fatal(err)
	}

	e.waitFinished("crashloop", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	e.waitMetrics("crashloop", func(x *expect) {
		x.eq("failed", 1, "reason", "BackoffLimitExceeded")
		x.only("failed", "reason", "BackoffLimitExceeded")
		x.absent("pods", "state", "active")
	})
	if !sawCrashLoop {
		t.Log("note: no scrape caught the pod in CrashLoopBackOff (the window is short)")
	}
}

// 8. An image that cannot be pulled: the pod waits in ImagePullBackOff and
// no retry is consumed.
func TestImagePullBackOff(t *testing.T) {
	e := newEnv(t, "s08-imagepull")
	job := e.NewJob("badimage", "image-pull")
	job.Spec.BackoffLimit = ptr(int32(2))
	created := e.Create(job)

	e.waitMetrics("badimage", func(x *expect) {
		x.eq("pods_waiting", 1, "reason", "ImagePullBackOff")
		x.only("pods_waiting", "reason", "ImagePullBackOff")
		x.eq("retries", 0)
		x.eq("pods", 1, "state", "active")
		x.absent("failed")
		x.absent("pod_failures")
	})
	j := e.GetJob("badimage")
	if j.Status.Failed != 0 || harness.Condition(j, batchv1.JobFailed) != nil {
		t.Fatalf("controller: %s; want no failure", harness.JobStatus(j))
	}
	pods := e.pods(created)
	if len(pods) != 1 || pods[0].Status.Phase != v1.PodPending {
		t.Fatalf("want one Pending pod, got %d", len(pods))
	}
}

// 9. Jobs of a CronJob: owner labels, and the CronJob's last success and
// last failure, which stay after the failed Job is deleted.
func TestCronJobOwnedJobs(t *testing.T) {
	e := newEnv(t, "s09-cron")
	cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx,
		harness.SuspendedCronJob(e.NS, "nightly", "0 3 * * *", e.NewJob("x", "succeed").Spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := func(name, outcome string) *batchv1.Job {
		job := harness.RunOf(e.NewJob(name, outcome), cj)
		job.Spec.BackoffLimit = ptr(int32(0))
		return e.Create(job)
	}
	owned("nightly-29000001", "succeed")
	ok := e.waitFinished("nightly-29000001", batchv1.JobComplete, "")
	owned("nightly-29000002", "oom")
	bad := e.waitFinished("nightly-29000002", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	cronSel := harness.Labels{"namespace": e.NS, "cronjob": "nightly"}
	failedAt := []float64{unix(harness.Condition(bad, batchv1.JobFailed).LastTransitionTime)}
	if ft := harness.Condition(bad, batchv1.JobFailureTarget); ft != nil {
		failedAt = append(failedAt, unix(ft.LastTransitionTime))
	}
	checkCron := func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: cronSel}
		x.eq("cronjob_last_success_timestamp_seconds", unix(*ok.Status.CompletionTime))
		v := x.value("cronjob_last_failure_timestamp_seconds", "reason", "BackoffLimitExceeded")
		if v != failedAt[0] && (len(failedAt) == 1 || v != failedAt[1]) {
			x.failf("cronjob_last_failure_timestamp_seconds = %v, want the Failed (or FailureTarget) transition time %v", v, failedAt)
		}
		return x.result()
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, cronSel, func(m *harness.Metrics) (bool, string) {
		for _, name := range []string{"nightly-29000001", "nightly-29000002"} {
			if _, ok := m.Value("kubejob_info", e.labels(name, "owner_kind", "CronJob", "owner_name", "nightly")); !ok {
				return false, "no kubejob_info{owner_kind=\"CronJob\",owner_name=\"nightly\"} for " + name
			}
		}
		return checkCron(m)
	}); err != nil {
		t.Fatal(err)
	}

	// Delete the failed Job: its series go, the CronJob's memory stays.
	if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, bad.Name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, cronSel, func(m *harness.Metrics) (bool, string) {
		if m.Has("kubejob_info", e.labels(bad.Name)) {
			return false, "kubejob_info of the deleted Job still there"
		}
		return checkCron(m)
	}); err != nil {
		t.Fatal(err)
	}
	// Delete the last run too: the CronJob's series stay while the CronJob
	// exists; deleted, they go with it.
	if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, ok.Name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.BatchV1().CronJobs(e.NS).Delete(e.Ctx, "nightly", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, cronSel, func(m *harness.Metrics) (bool, string) {
		if m.Has("kubejob_cronjob_last_success_timestamp_seconds", cronSel) || m.Has("kubejob_cronjob_last_failure_timestamp_seconds", cronSel) {
			return false, "the CronJob's series outlive it"
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
}

// 10. A Job suspended while it runs and resumed, then deleted: suspension
// is no failure, and a deleted Job's series all disappear.
func TestSuspendResumeDelete(t *testing.T) {
	e := newEnv(t, "s10-suspend")
	created := e.Create(e.NewJob("pausable", "attempt=1 run=forever; run=2s succeed"))

	e.waitJob("pausable", "a running pod", func(j *batchv1.Job) bool { return harness.Deref(j.Status.Ready) == 1 })
	e.waitMetrics("pausable", func(x *expect) {
		x.absent("suspended")
		x.eq("pods", 1, "state", "active")
	})

	patch := func(suspend bool) {
		body := fmt.Sprintf(`{"spec":{"suspend":%t}}`, suspend)
		if _, err := e.Client.BatchV1().Jobs(e.NS).Patch(e.Ctx, "pausable", types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(true)
	j := e.waitJob("pausable", "Suspended with no pods", func(j *batchv1.Job) bool {
		return harness.Condition(j, batchv1.JobSuspended) != nil && j.Status.Active == 0 && harness.Deref(j.Status.Terminating) == 0
	})
	// Suspending clears status.startTime since v1.36 (feature gate
	// MutableSchedulingDirectivesForSuspendedJobs, beta); before, the Job
	// keeps the start of its run. The exporter shows what the status says.
	if cleared, want := j.Status.StartTime == nil, kubeMinor(t) >= 36; cleared != want {
		t.Errorf("v1.%d controller: startTime cleared on suspend %t, want %t: %s", kubeMinor(t), cleared, want, harness.JobStatus(j))
	}
	e.waitMetrics("pausable", func(x *expect) {
		x.eq("suspended", 1)
		if j.Status.StartTime == nil {
			x.absent("start_timestamp_seconds")
		} else {
			x.eq("start_timestamp_seconds", unix(*j.Status.StartTime))
		}
		x.absent("pods", "state", "active")
		x.eq("retries", float64(j.Status.Failed))
		x.absent("failed")
		x.absent("backoff_next_retry_timestamp_seconds")
		x.absent("deadline_timestamp_seconds")
	})

	patch(false)
	j = e.waitFinished("pausable", batchv1.JobComplete, "")
	e.waitMetrics("pausable", func(x *expect) {
		x.absent("suspended")
		x.eq("complete", 1)
		x.eq("pods", 1, "state", "succeeded")
		x.absent("failed")
	})

	if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, "pausable", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	_, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, e.labels("pausable"), func(m *harness.Metrics) (bool, string) {
		var left []string
		for name := range m.Families {
			for _, s := range m.Samples(name, e.labels("pausable")) {
				left = append(left, s.String())
			}
		}
		return len(left) == 0, "series of the deleted Job remain: " + strings.Join(left, ", ")
	})
	if err != nil {
		t.Fatal(err)
	}
	// The harness collects the deleted Job's pods, as the garbage collector would.
	if err := harness.Eventually(e.Ctx, harness.JobTimeout, func(ctx context.Context) (bool, string, error) {
		n := len(e.pods(created))
		return n == 0, fmt.Sprintf("%d pods of the deleted Job remain", n), nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The exporter's own endpoints and metrics against a real API server.
func TestExporterEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		code, body, err := exporter.Get(ctx, path)
		if err != nil || code != http.StatusOK {
			t.Errorf("GET %s: %d %v", path, code, err)
		}
		if path == "/" && !strings.Contains(body, "/metrics") {
			t.Errorf("landing page does not link /metrics:\n%s", body)
		}
	}
	_, err := exporter.WaitMetrics(ctx, metricsTimeout, harness.Labels{}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: harness.Labels{}}
		if !m.Has("kubejob_exporter_build_info", nil) {
			x.failf("no kubejob_exporter_build_info")
		}
		for _, r := range harness.WatchedResources {
			x.eq("exporter_watch_synced", 1, "resource", r)
			x.eq("exporter_watch_up", 1, "resource", r)
			// (unreachable is expected: TestAPIServerOutage cuts the API server)
			for _, reason := range []string{"forbidden", "unauthorized"} {
				if v := m.Sum("kubejob_exporter_watch_errors_total", harness.Labels{"resource": r, "reason": reason}); v != 0 {
					x.failf("kubejob_exporter_watch_errors_total{resource=%q,reason=%q} = %v", r, reason, v)
				}
			}
		}
		return x.result()
	})
	if err != nil {
		t.Fatal(err)
	}
}
