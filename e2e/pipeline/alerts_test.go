package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// pageCase is a failure that must page: the scenario makes a Job fail for
// good and returns when the test saw the terminal condition in the API.
type pageCase struct {
	name  string
	ns    string
	alert string
	// labels the alert must carry besides alertname and namespace.
	labels map[string]string
	// run creates the objects and waits for the terminal failure.
	run func(e *env) time.Time
	// description and summary must contain each of these (the cause, in
	// words, and the command that shows it).
	description, summary []string
	// runbookSays: the page live_report_url opens (the runbook with the
	// exporter's live report) must contain each of these.
	runbookSays []string
	// runbookParams are the query parameters live_report_url must carry
	// (and no other).
	runbookParams map[string]string
	// inhibits: alerts about the same Job that fired before the page and
	// that Alertmanager must hold back once it fires (the example's
	// inhibition rules).
	inhibits []string
	// resolveByDeleting: delete this Job after the page and wait for the
	// alert's resolved notification.
	resolveByDeleting string
}

var pageCases = []pageCase{
	{
		name: "OOMKilled", ns: "p01-oom", alert: "KubeJobBackoffLimitExceeded",
		labels: map[string]string{"job_name": "oom", "reason": "BackoffLimitExceeded", "severity": "warning"},
		run: func(e *env) time.Time {
			// Each pod runs 3s before its OOM kill, so the Job runs for
			// several scrapes and its at-risk alerts fire before the
			// terminal one holds them back (inhibits).
			job := e.NewJob("oom", "run=3s oom")
			job.Spec.BackoffLimit = ptr(int32(2))
			job.Spec.Template.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
			e.Create(job)
			_, seen := e.WaitFinished("oom", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
			return seen
		},
		summary:           []string{"Job p01-oom/oom failed: its pods failed more often than backoffLimit=2 allows (BackoffLimitExceeded)."},
		description:       []string{"Job p01-oom/oom failed for good after its retries were spent."},
		runbookParams:     map[string]string{"namespace": "p01-oom", "job_name": "oom"},
		runbookSays:       []string{"Job p01-oom/oom: FAILED (BackoffLimitExceeded)", "container main exit 137 OOMKilled", "memory limit 64Mi hit"},
		inhibits:          []string{"KubeJobOOMKilled", "KubeJobFailingEveryAttempt"},
		resolveByDeleting: "oom",
	},
	{
		name: "CommandNotFound", ns: "p02-exit127", alert: "KubeJobBackoffLimitExceeded",
		labels: map[string]string{"job_name": "missing-cmd", "reason": "BackoffLimitExceeded", "severity": "warning"},
		run: func(e *env) time.Time {
			job := e.NewJob("missing-cmd", "exit=127")
			job.Spec.BackoffLimit = ptr(int32(1))
			e.Create(job)
			_, seen := e.WaitFinished("missing-cmd", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
			return seen
		},
		summary:       []string{"backoffLimit=1 allows (BackoffLimitExceeded)."},
		runbookParams: map[string]string{"namespace": "p02-exit127", "job_name": "missing-cmd"},
		runbookSays:   []string{"FAILED (BackoffLimitExceeded)", "container main exit 127", "the command was not found in the image"},
	},
	{
		name: "CrashLoopOnFailure", ns: "p03-onfailure", alert: "KubeJobBackoffLimitExceeded",
		labels: map[string]string{"job_name": "crashloop", "reason": "BackoffLimitExceeded", "severity": "warning"},
		run: func(e *env) time.Time {
			job := e.NewJob("crashloop", "exit=2")
			job.Spec.BackoffLimit = ptr(int32(2))
			job.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyOnFailure
			e.Create(job)
			_, seen := e.WaitFinished("crashloop", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
			return seen
		},
		// With restartPolicy OnFailure the failures are restarts of one pod,
		// and the Job controller deletes that pod when it fails the Job: by
		// the time the alert fires no pod is left to name the exit code;
		// the runbook page says so.
		summary:       []string{"backoffLimit=2 allows (BackoffLimitExceeded)."},
		runbookParams: map[string]string{"namespace": "p03-onfailure", "job_name": "crashloop"},
		runbookSays:   []string{"FAILED (BackoffLimitExceeded)"},
	},
	{
		name: "ActiveDeadline", ns: "p04-deadline", alert: "KubeJobDeadlineExceeded",
		labels: map[string]string{"job_name": "slow", "reason": "DeadlineExceeded", "severity": "warning"},
		run: func(e *env) time.Time {
			job := e.NewJob("slow", "run=forever")
			job.Spec.ActiveDeadlineSeconds = ptr(int64(4))
			e.Create(job)
			_, seen := e.WaitFinished("slow", batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
			return seen
		},
		summary:       []string{"Job p04-deadline/slow failed: it ran longer than activeDeadlineSeconds (4s) (DeadlineExceeded)."},
		runbookParams: map[string]string{"namespace": "p04-deadline", "job_name": "slow"},
		runbookSays:   []string{"FAILED (DeadlineExceeded)"},
	},
	{
		name: "PodFailurePolicy", ns: "p05-pfp", alert: "KubeJobFailedByPodFailurePolicy",
		labels: map[string]string{"job_name": "pfp", "reason": "PodFailurePolicy", "severity": "warning"},
		run: func(e *env) time.Time {
			job := e.NewJob("pfp", "run=1s exit=42")
			job.Spec.BackoffLimit = ptr(int32(6))
			job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42},
				},
			}}}
			e.Create(job)
			_, seen := e.WaitFinished("pfp", batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy)
			return seen
		},
		summary:       []string{"Job p05-pfp/pfp failed: a podFailurePolicy FailJob rule matched a failed pod (PodFailurePolicy)."},
		runbookParams: map[string]string{"namespace": "p05-pfp", "job_name": "pfp"},
		runbookSays:   []string{"FAILED (PodFailurePolicy)", "container main exit 42"},
	},
	{
		name: "FailedIndexes", ns: "p06-indexed", alert: "KubeJobFailedIndexes",
		labels: map[string]string{"job_name": "one-index", "reason": "FailedIndexes", "severity": "warning"},
		run: func(e *env) time.Time {
			e.Create(indexedJob(e, "one-index", "index=2 exit=3", 1, 1))
			_, seen := e.WaitFinished("one-index", batchv1.JobFailed, batchv1.JobReasonFailedIndexes)
			return seen
		},
		summary:       []string{"Indexed Job p06-indexed/one-index failed: 1 index(es) used up backoffLimitPerIndex (FailedIndexes)."},
		runbookParams: map[string]string{"namespace": "p06-indexed", "job_name": "one-index"},
		runbookSays:   []string{"FAILED (FailedIndexes)", "exit 3"},
	},
	{
		name: "MaxFailedIndexes", ns: "p07-maxindexes", alert: "KubeJobMaxFailedIndexesExceeded",
		labels: map[string]string{"job_name": "too-many", "reason": "MaxFailedIndexesExceeded", "severity": "warning"},
		run: func(e *env) time.Time {
			e.Create(indexedJob(e, "too-many", "index=1,3 exit=3", 0, 1))
			_, seen := e.WaitFinished("too-many", batchv1.JobFailed, batchv1.JobReasonMaxFailedIndexesExceeded)
			return seen
		},
		summary:       []string{"Indexed Job p07-maxindexes/too-many failed: 2 failed indexes exceeded maxFailedIndexes (MaxFailedIndexesExceeded)."},
		runbookParams: map[string]string{"namespace": "p07-maxindexes", "job_name": "too-many"},
		runbookSays:   []string{"FAILED (MaxFailedIndexesExceeded)", "exit 3"},
	},
	{
		name: "CronJobRun", ns: "p08-cron", alert: "KubeCronJobLastRunFailed",
		labels: map[string]string{"cronjob": "nightly", "severity": "warning"},
		run: func(e *env) time.Time {
			// Runs once a year (not now): the test creates its run itself.
			cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx,
				harness.CronJob(e.NS, "nightly", "0 0 1 1 *", e.NewJob("x", "exit=127").Spec), metav1.CreateOptions{})
			if err != nil {
				e.T.Fatal(err)
			}
			job := harness.RunOf(e.NewJob("nightly-29000001", "exit=127"), cj)
			job.Spec.BackoffLimit = ptr(int32(0))
			e.Create(job)
			_, seen := e.WaitFinished("nightly-29000001", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
			return seen
		},
		summary:       []string{"CronJob p08-cron/nightly: its last run failed at ", "and none succeeded since."},
		runbookParams: map[string]string{"namespace": "p08-cron", "cronjob": "nightly"},
		runbookSays:   []string{"CronJob p08-cron/nightly: FAILED", "<h4>The newest failed run</h4>", "nightly-29000001", "exit 127"},
	},

	{
		name: "CronJobBlockedByHungRun", ns: "p14-forbid", alert: "KubeCronJobMissedSchedule",
		labels: map[string]string{"cronjob": "blocked", "severity": "warning"},
		run: func(e *env) time.Time {
			cj := harness.CronJob(e.NS, "blocked", "* * * * *", e.NewJob("x", "run=forever").Spec)
			cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			if _, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, cj, metav1.CreateOptions{}); err != nil {
				e.T.Fatal(err)
			}
			// The real CronJob controller starts the first run at the next
			// minute and skips the one after while it runs.
			if _, _, err := harness.WaitRuns(e.Ctx, e.Client, e.NS, "blocked", 1, 80*time.Second); err != nil {
				e.T.Fatal(err)
			}
			if _, err := harness.WaitEvent(e.Ctx, e.Client, e.NS, "CronJob", "blocked", "JobAlreadyActive", 80*time.Second); err != nil {
				e.T.Fatal(err)
			}
			return time.Now().Add(missedGrace)
		},
		summary:       []string{"CronJob p14-forbid/blocked: the run due ", " ago has not started."},
		runbookParams: map[string]string{"namespace": "p14-forbid", "cronjob": "blocked"},
		runbookSays:   []string{"CronJob p14-forbid/blocked: STUCK", "is still active and concurrencyPolicy is Forbid"},
	},

	// Jobs that neither fail nor finish. Their alerts' `for` (15m, 1m) is
	// shortened by mixinConfig in this suite's rules (main_test.go): the
	// promtool tests hold the real timing; here the condition, the labels,
	// the words and the runbook page are what is proven.
	{
		name: "QuotaRefusesPods", ns: "p09-quota", alert: "KubeJobCannotCreatePods",
		labels: map[string]string{"job_name": "blocked", "severity": "warning"},
		run: func(e *env) time.Time {
			if err := harness.ZeroPodQuota(e.Ctx, e.Client, e.NS); err != nil {
				e.T.Fatal(err)
			}
			e.Create(e.NewJob("blocked", "succeed"))
			return e.waitFailedCreate("blocked")
		},
		summary:           []string{"Job p09-quota/blocked cannot create its pods: Quota."},
		description:       []string{"the API server has refused every new pod of the Job (Quota): kubectl describe resourcequota -n p09-quota"},
		runbookParams:     map[string]string{"namespace": "p09-quota", "job_name": "blocked"},
		runbookSays:       []string{"Job p09-quota/blocked: STUCK", "<code>Quota</code> ×", "exceeded quota", "kubectl describe resourcequota -n p09-quota"},
		resolveByDeleting: "blocked",
	},
	{
		name: "PodSecurityRefusesPods", ns: "p10-psa", alert: "KubeJobCannotCreatePods",
		labels: map[string]string{"job_name": "privileged", "severity": "warning"},
		run: func(e *env) time.Time {
			if err := harness.EnforceRestrictedPodSecurity(e.Ctx, e.Client, e.NS); err != nil {
				e.T.Fatal(err)
			}
			e.Create(e.NewJob("privileged", "succeed"))
			return e.waitFailedCreate("privileged")
		},
		summary:       []string{"cannot create its pods: PodSecurity."},
		description:   []string{"kubectl get namespace p10-psa --show-labels"},
		runbookParams: map[string]string{"namespace": "p10-psa", "job_name": "privileged"},
		runbookSays:   []string{"<code>PodSecurity</code> ×", `violates PodSecurity &#34;restricted:latest&#34;`},
	},
	{
		name: "AdmissionPolicyRefusesPods", ns: "p11-vap", alert: "KubeJobCannotCreatePods",
		labels: map[string]string{"job_name": "frozen", "severity": "warning"},
		run: func(e *env) time.Time {
			remove, err := harness.DenyPods(e.Ctx, e.Client, e.NS, "batch pods are frozen")
			if err != nil {
				e.T.Fatal(err)
			}
			e.T.Cleanup(remove)
			if err := harness.WaitPodsRefused(e.Ctx, e.Client, e.NS, "ValidatingAdmissionPolicy"); err != nil {
				e.T.Fatal(err)
			}
			e.Create(e.NewJob("frozen", "succeed"))
			return e.waitFailedCreate("frozen")
		},
		summary:       []string{"cannot create its pods: AdmissionPolicy."},
		description:   []string{"kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings"},
		runbookParams: map[string]string{"namespace": "p11-vap", "job_name": "frozen"},
		runbookSays:   []string{"<code>AdmissionPolicy</code> ×", "batch pods are frozen"},
	},
	{
		name: "VolumeNeverMounts", ns: "p12-mount", alert: "KubeJobPodsStuckWaiting",
		labels: map[string]string{"job_name": "mount", "severity": "warning"},
		run: func(e *env) time.Time {
			e.Create(e.NewJob("mount", "volume-missing"))
			_, seen := e.WaitJob("mount", "an active pod", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
			return seen
		},
		summary:       []string{"Job p12-mount/mount: pods stuck before running (ContainerCreating ×1)."},
		runbookParams: map[string]string{"namespace": "p12-mount", "job_name": "mount"},
		runbookSays:   []string{"Waiting: 1 pod(s) ContainerCreating", "FailedMount", "e2e-missing-volume"},
	},
	{
		name: "RunStartedDaysAgo", ns: "p13-days", alert: "KubeJobRunningTooLong",
		labels: map[string]string{"job_name": "forever", "severity": "warning"},
		run: func(e *env) time.Time {
			if _, err := harness.StartedAt(e.Ctx, e.Client, e.NewJob("forever", "run=forever"), time.Now().Add(-72*time.Hour), 1); err != nil {
				e.T.Fatal(err)
			}
			return time.Now()
		},
		summary:       []string{"Job p13-days/forever has been running for 3d "},
		description:   []string{"longer than its run-time limit"},
		runbookParams: map[string]string{"namespace": "p13-days", "job_name": "forever"},
		// The alert judged the run time; the page states it, and does not
		// call the run healthy.
		runbookSays: []string{"Job p13-days/forever: RUNNING", "<dt>Running</dt><dd>for 72h"},
	},
}

// waitFailedCreate waits for the Job controller's FailedCreate event on
// the Job and returns when the test saw it.
func (e *env) waitFailedCreate(job string) time.Time {
	e.T.Helper()
	var seen time.Time
	err := harness.Eventually(e.Ctx, harness.JobTimeout, func(ctx context.Context) (bool, string, error) {
		l, err := e.Client.CoreV1().Events(e.NS).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=Job,involvedObject.name=" + job + ",reason=FailedCreate",
		})
		if err != nil {
			return false, err.Error(), nil
		}
		seen = time.Now()
		return len(l.Items) > 0, "no FailedCreate event for job " + e.NS + "/" + job, nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return seen
}

func indexedJob(e *env, name, outcome string, perIndex, maxFailed int32) *batchv1.Job {
	job := e.NewJob(name, outcome)
	job.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	job.Spec.Completions, job.Spec.Parallelism = ptr(int32(4)), ptr(int32(4))
	job.Spec.BackoffLimitPerIndex, job.Spec.MaxFailedIndexes = ptr(perIndex), ptr(maxFailed)
	return job
}

// Terminal alerts (a Job or CronJob run failed for good): a page case
// must produce its own and no other.
var terminalAlerts = map[string]bool{
	"KubeJobBackoffLimitExceeded": true, "KubeJobDeadlineExceeded": true,
	"KubeJobFailedByPodFailurePolicy": true, "KubeJobFailedIndexes": true,
	"KubeJobMaxFailedIndexesExceeded": true, "KubeJobFailedOtherReason": true,
	"KubeCronJobLastRunFailed": true, "KubeCronJobNotSucceeding": true,
}

// jobReceiver is the receiver of the Job and CronJob alerts in
// mixin/alertmanager.example.yaml.
const jobReceiver = "job-owners"

// A template query that found nothing leaves "?" where a number belongs.
var unresolvedQuery = regexp.MustCompile(`[ =(]\?[ ).,]`)

// TestAlerts runs every scenario in parallel against the one pipeline:
// each failure pages with the right alert, and the Jobs that recover or
// are suspended page nothing.
func TestAlerts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lat []latency
	t.Run("group", func(t *testing.T) {
		for _, pc := range pageCases {
			t.Run(pc.name, func(t *testing.T) {
				t.Parallel()
				d, resolved := testPage(t, pc)
				mu.Lock()
				lat = append(lat, latency{pc.alert, pc.ns, d})
				if resolved > 0 {
					lat = append(lat, latency{pc.alert + " resolved after delete", pc.ns, resolved})
				}
				mu.Unlock()
			})
		}
		t.Run("NoPage/RetryThenSuccess", func(t *testing.T) {
			t.Parallel()
			testNoPageRetryThenSuccess(t)
		})
		t.Run("NoPage/Suspended", func(t *testing.T) {
			t.Parallel()
			testNoPageSuspended(t)
		})
	})
	var b strings.Builder
	for _, l := range sortedLatencies(lat) {
		fmt.Fprintf(&b, "\n  %-55s %-16s %s", l.alert, l.where, l.d.Round(10*time.Millisecond))
	}
	t.Logf("time from the terminal failure (seen in the API) to the webhook receiving the page:%s", b.String())

	// The pages page (what make demo shows) lists the pages with their runbooks.
	if pages := pipe.Webhook.Alerts(func(a harness.ReceivedAlert) bool { return a.Status == "firing" }); len(pages) > 0 {
		name := pages[0].Labels["alertname"]
		if code, body, err := httpGet(context.Background(), pipe.PagesURL()); err != nil || code != http.StatusOK ||
			!strings.Contains(body, name) || !strings.Contains(body, "/runbooks/"+name+".md") {
			t.Errorf("GET %s: %d %v: want the pages (%s) with runbook links:\n%.2000s", pipe.PagesURL(), code, err, name, body)
		}
	}

	// No rule may fail to evaluate: a wrong metric or label does not error,
	// but a bad vector match (many-to-many) or template does.
	rules, err := pipe.Prometheus.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("Prometheus loaded no rules")
	}
	for _, r := range rules {
		if r.Health == "err" {
			t.Errorf("rule %s/%s: %s", r.Group, r.Name, r.LastError)
		}
	}
}

// testPage returns the time from the failure to the page, and from the
// Job's deletion to the resolved notification (0 when not tested).
func testPage(t *testing.T, pc pageCase) (time.Duration, time.Duration) {
	e := newEnv(t, pc.ns)
	failedAt := pc.run(e)

	want := map[string]string{"alertname": pc.alert, "namespace": pc.ns}
	for k, v := range pc.labels {
		want[k] = v
	}
	a, err := pipe.Webhook.WaitAlert(e.Ctx, pageWindow, alertMatch("firing", want), inNamespace(pc.ns))
	if err != nil {
		t.Fatalf("%s for %s: %v\nPrometheus alerts/rules: %s", pc.alert, pc.ns, err, promAlertState(pc.ns))
	}
	d := a.Received.Sub(failedAt)
	t.Logf("%s paged %s after the Job failed: %s", pc.alert, d.Round(10*time.Millisecond), a)

	// Labels: exactly the expected identity, no stray empty ones.
	for k, v := range a.Labels {
		if v == "" {
			t.Errorf("label %s is empty", k)
		}
	}
	if _, ok := a.Labels["job_name"]; ok != (pc.labels["job_name"] != "") {
		t.Errorf("job_name label present=%v, want %v: %v", ok, !ok, a.Labels)
	}

	// The description names the cause and every template query found its series.
	for ann, want := range map[string][]string{"description": pc.description, "summary": pc.summary} {
		for _, s := range want {
			if !strings.Contains(a.Annotations[ann], s) {
				t.Errorf("%s lacks %q:\n%s", ann, s, a.Annotations[ann])
			}
		}
	}
	for _, ann := range []string{"description", "summary"} {
		if m := unresolvedQuery.FindString(a.Annotations[ann]); m != "" {
			t.Errorf("%s has an unanswered template query (%q):\n%s", ann, m, a.Annotations[ann])
		}
	}
	if a.Annotations["summary"] == "" {
		t.Error("no summary")
	}

	// The runbook link answers and is filled in for this Job.
	checkRunbook(t, e.Ctx, a, pc.alert, pc.runbookParams, pc.runbookSays)

	// One terminal page per failure: no other terminal alert for the namespace.
	for _, other := range pipe.Webhook.Alerts(inNamespace(pc.ns)) {
		if n := other.Labels["alertname"]; terminalAlerts[n] && n != pc.alert {
			t.Errorf("also paged: %s", other)
		}
	}

	// Routed to the Jobs' owners, one group per Job or CronJob.
	if a.Receiver != jobReceiver {
		t.Errorf("receiver %q, want %q", a.Receiver, jobReceiver)
	}
	wantGroup := map[string]string{"namespace": pc.ns}
	for _, k := range []string{"job_name", "cronjob"} {
		if v := pc.labels[k]; v != "" {
			wantGroup[k] = v
		}
	}
	if fmt.Sprint(a.GroupLabels) != fmt.Sprint(wantGroup) {
		t.Errorf("group labels %v, want %v", a.GroupLabels, wantGroup)
	}
	checkInhibited(t, e.Ctx, pc.ns, pc.inhibits)

	if pc.resolveByDeleting == "" {
		return d, 0
	}
	deleted := time.Now()
	if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, pc.resolveByDeleting, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	keep := keepFiringForAtRisk
	if terminalAlerts[pc.alert] {
		keep = keepFiringFor
	}
	r, err := pipe.Webhook.WaitAlert(e.Ctx, keep+pageWindow, alertMatch("resolved", want), inNamespace(pc.ns))
	if err != nil {
		t.Fatalf("%s not resolved after deleting job %s: %v", pc.alert, pc.resolveByDeleting, err)
	}
	rd := r.Received.Sub(deleted)
	t.Logf("%s resolved %s after the Job was deleted", pc.alert, rd.Round(10*time.Millisecond))
	// It fired on through keep_firing_for after its series went away.
	if rd < keep {
		t.Errorf("%s resolved %s after the Job was deleted, before keep_firing_for (%s)", pc.alert, rd, keep)
	}
	return d, rd
}

// checkInhibited waits until Alertmanager holds back each of the alerts
// of namespace ns, inhibited by another alert.
func checkInhibited(t *testing.T, ctx context.Context, ns string, alerts []string) {
	t.Helper()
	for _, name := range alerts {
		err := harness.Eventually(ctx, pageWindow, func(ctx context.Context) (bool, string, error) {
			got, err := pipe.Alertmanager.Alerts(ctx, fmt.Sprintf("alertname=%q", name), fmt.Sprintf("namespace=%q", ns))
			if err != nil {
				return false, err.Error(), nil
			}
			if len(got) == 0 {
				return false, "Alertmanager has no " + name + " alert", nil
			}
			for _, a := range got {
				if a.Status.State != "suppressed" || len(a.Status.InhibitedBy) == 0 {
					return false, fmt.Sprintf("%s: state %s, inhibited by %v", name, a.Status.State, a.Status.InhibitedBy), nil
				}
			}
			return true, "", nil
		})
		if err != nil {
			t.Errorf("not held back by the page: %v", err)
		}
	}
}

// checkRunbook: runbook_url is the alert's published runbook (it opens
// wherever the page is read), and live_report_url, which the pipeline has
// because it generates the mixin with exporterURL = the test exporter's
// address, opens on the running exporter with the report of the alert's
// Job, CronJob or owner (params: the query it must carry; says: what the
// page must say).
func checkRunbook(t *testing.T, ctx context.Context, a harness.ReceivedAlert, alert string, params map[string]string, says []string) {
	t.Helper()
	published, err := harness.PublishedRunbookPattern()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Annotations["runbook_url"], fmt.Sprintf(published, alert); got != want {
		t.Errorf("runbook_url %q, want the published runbook %s", got, want)
	}
	raw := a.Annotations["live_report_url"]
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		t.Errorf("live_report_url %q: %v", raw, err)
		return
	}
	if want := "http://" + exporter.Addr() + "/runbooks/" + alert; u.Scheme+"://"+u.Host+u.Path != want {
		t.Errorf("live_report_url %q, want %s?...", raw, want)
	}
	if len(u.Query()) != len(params) {
		t.Errorf("live_report_url %q: %d query parameters, want %v", raw, len(u.Query()), params)
	}
	for k, v := range params {
		if got := u.Query().Get(k); got != v {
			t.Errorf("live_report_url %q: %s=%q, want %q", raw, k, got, v)
		}
	}
	code, body, err := httpGet(ctx, raw)
	if err != nil || code != http.StatusOK {
		t.Errorf("GET live_report_url %s: %d %v", raw, code, err)
		return
	}
	for _, v := range params {
		if !strings.Contains(body, v) {
			t.Errorf("live report %s does not mention %q", raw, v)
		}
	}
	for _, s := range says {
		if !strings.Contains(body, s) {
			t.Errorf("live report %s does not say %q:\n%.4000s", raw, s, body)
		}
	}
}

// promAlertState lists Prometheus' active alerts of namespace ns, for
// failure messages.
func promAlertState(ns string) string {
	r, err := pipe.Prometheus.Query(context.Background(), fmt.Sprintf(`ALERTS{namespace=%q}`, ns), time.Time{})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, s := range r.Samples {
		out = append(out, fmt.Sprintf("%v", s.Metric))
	}
	if len(out) == 0 {
		return "no ALERTS series for the namespace"
	}
	return strings.Join(out, "; ")
}

// expectNoPage waits pageWindow after Prometheus has seen the final state
// (expr returns a series) and fails on any notification for ns since the
// namespace was created.
func expectNoPage(t *testing.T, ns, expr string) {
	t.Helper()
	waitPrometheus(t, expr, pageWindow)
	a, err := pipe.Webhook.WaitAlert(context.Background(), pageWindow, inNamespace(ns), nil)
	if err == nil {
		t.Fatalf("paged for a Job that must not page: %s\n%s", a, a.Annotations["description"])
	}
	// Nor did any rule, even one with a `for:` longer than the window, go
	// pending for the namespace since the test began.
	r, err := pipe.Prometheus.Query(context.Background(), fmt.Sprintf(`ALERTS{namespace=%q}[10m]`, ns), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Samples {
		t.Errorf("alert went %s for a Job that must not page: %v", s.Metric["alertstate"], s.Metric)
	}
	t.Logf("no notification for %s within %s after Prometheus saw %s, and no alert pending", ns, pageWindow, expr)
}

// A Job that fails twice and then succeeds must not page.
func testNoPageRetryThenSuccess(t *testing.T) {
	e := newEnv(t, "p20-flaky")
	job := e.NewJob("flaky", "attempt=1-2 exit=1; run=2s succeed")
	job.Spec.BackoffLimit = ptr(int32(4))
	e.Create(job)
	j, _ := e.WaitFinished("flaky", batchv1.JobComplete, "")
	if j.Status.Failed != 2 {
		t.Fatalf("controller: status.failed=%d, want 2 (the scenario lost its retries)", j.Status.Failed)
	}
	expectNoPage(t, e.NS, `kubejob_complete{job="kube-job-exporter",namespace="p20-flaky",job_name="flaky"} == 1`)
}

// A Job suspended while it runs, with an activeDeadlineSeconds that would
// have failed it within the window, must not page: suspension stops the
// deadline and is no failure.
func testNoPageSuspended(t *testing.T) {
	e := newEnv(t, "p21-suspend")
	job := e.NewJob("pausable", "run=forever")
	// Short enough to fail the Job well within the window if suspension
	// did not stop the deadline, long enough that a loaded machine still
	// sees the pod ready and suspends the Job before it passes.
	job.Spec.ActiveDeadlineSeconds = ptr(int64(15))
	e.Create(job)
	e.WaitJob("pausable", "a running pod", func(j *batchv1.Job) bool { return j.Status.Ready != nil && *j.Status.Ready == 1 })
	if _, err := e.Client.BatchV1().Jobs(e.NS).Patch(e.Ctx, "pausable", types.MergePatchType, []byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.WaitJob("pausable", "Suspended with no pods", func(j *batchv1.Job) bool {
		return harness.Condition(j, batchv1.JobSuspended) != nil && j.Status.Active == 0
	})
	expectNoPage(t, e.NS, `kubejob_suspended{job="kube-job-exporter",namespace="p21-suspend",job_name="pausable"} == 1`)
	j, _ := e.WaitJob("pausable", "still suspended", func(*batchv1.Job) bool { return true })
	if harness.Condition(j, batchv1.JobFailed) != nil {
		t.Fatalf("the suspended Job failed: %s", harness.JobStatus(j))
	}
}

// TestAlertmanagerExample sends alerts the cluster cannot produce on
// demand (the exporter gone) to the pipeline's Alertmanager, which runs
// mixin/alertmanager.example.yaml, under cluster labels of their own so
// that they hold back no other test's alerts: without an exporter the Job
// alerts of that cluster, and the per-instance exporter alerts, are held
// back; another cluster's are not, even while one of its exporters cannot
// watch (KubeJobExporterWatchFailing holds back nothing: the Job alerts
// carry no instance to pair it with its own shard's Jobs).
func TestAlertmanagerExample(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ns = "am-example"
	until := time.Now().Add(10 * time.Minute)
	send := func(labels map[string]string) {
		t.Helper()
		if err := pipe.Alertmanager.PostAlert(ctx, labels, map[string]string{"summary": "sent by TestAlertmanagerExample"}, until); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]string{"alertname": "KubeJobExporterAbsent", "cluster": "e2e-gone", "severity": "critical"})
	send(map[string]string{"alertname": "KubeJobExporterDown", "cluster": "e2e-gone", "instance": "10.0.0.5:9847", "job": "kube-job-exporter", "severity": "critical"})
	send(map[string]string{"alertname": "KubeJobExporterWatchFailing", "cluster": "e2e-fine", "instance": "10.0.1.5:9847", "job": "kube-job-exporter", "resource": "pods", "severity": "critical"})
	for _, cluster := range []string{"e2e-gone", "e2e-fine"} {
		send(map[string]string{"alertname": "KubeJobBackoffLimitExceeded", "cluster": cluster, "namespace": ns, "job_name": "report", "reason": "BackoffLimitExceeded", "severity": "warning"})
		send(map[string]string{"alertname": "KubeCronJobLastRunFailed", "cluster": cluster, "namespace": ns, "cronjob": "nightly", "severity": "warning"})
	}

	// The absent exporter pages the platform team, grouped by cluster and alert.
	absent, err := pipe.Webhook.WaitAlert(ctx, pageWindow, alertMatch("firing", map[string]string{"alertname": "KubeJobExporterAbsent", "cluster": "e2e-gone"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"cluster": "e2e-gone", "alertname": "KubeJobExporterAbsent"}; absent.Receiver != "platform-pager" || fmt.Sprint(absent.GroupLabels) != fmt.Sprint(want) {
		t.Errorf("KubeJobExporterAbsent went to %q grouped by %v, want platform-pager grouped by %v", absent.Receiver, absent.GroupLabels, want)
	}
	// The other cluster's Job alerts reach the Jobs' owners, one group per Job and per CronJob.
	for _, want := range []map[string]string{
		{"cluster": "e2e-fine", "namespace": ns, "job_name": "report"},
		{"cluster": "e2e-fine", "namespace": ns, "cronjob": "nightly"},
	} {
		a, err := pipe.Webhook.WaitAlert(ctx, pageWindow, alertMatch("firing", want), inNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		if a.Receiver != jobReceiver || fmt.Sprint(a.GroupLabels) != fmt.Sprint(want) {
			t.Errorf("%s went to %q grouped by %v, want %s grouped by %v", a, a.Receiver, a.GroupLabels, jobReceiver, want)
		}
	}
	// The failing watch of one of its exporters holds none of them back.
	for _, m := range [][]string{
		{`alertname="KubeJobBackoffLimitExceeded"`, `cluster="e2e-fine"`},
		{`alertname="KubeCronJobLastRunFailed"`, `cluster="e2e-fine"`},
	} {
		got, err := pipe.Alertmanager.Alerts(ctx, m...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status.State != "active" || len(got[0].Status.InhibitedBy) != 0 {
			t.Errorf("%v: %+v, want one active alert, held back by nothing", m, got)
		}
	}
	// Alertmanager holds back the gone cluster's other alerts...
	for _, m := range [][]string{
		{`alertname="KubeJobExporterDown"`, `cluster="e2e-gone"`},
		{`alertname="KubeJobBackoffLimitExceeded"`, `cluster="e2e-gone"`},
		{`alertname="KubeCronJobLastRunFailed"`, `cluster="e2e-gone"`},
	} {
		got, err := pipe.Alertmanager.Alerts(ctx, m...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status.State != "suppressed" || len(got[0].Status.InhibitedBy) != 1 {
			t.Errorf("%v: %+v, want one alert inhibited by KubeJobExporterAbsent", m, got)
		}
	}
	// ...and sent none of them: their groups were due with the others'.
	for _, a := range pipe.Webhook.Alerts(func(a harness.ReceivedAlert) bool { return a.Labels["cluster"] == "e2e-gone" }) {
		if a.Labels["alertname"] != "KubeJobExporterAbsent" {
			t.Errorf("notified although inhibited: %s", a)
		}
	}
}
