package stack

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pageTimeout bounds the wait for a page: the longest scaled `for` here
// (KubeContainerWaiting, 60s) plus scrapes, evaluations, Alertmanager's
// waits and a loaded 2-core CI machine.
const pageTimeout = 3 * time.Minute

func ptr[T any](v T) *T { return &v }

// page is one alert as a receiver got it: its name and identity.
type page struct{ alertname, labels string }

// pages lists the distinct firing alerts of namespace ns the stack's
// receivers got: what a person was paged for, however Alertmanager
// grouped them into notifications.
func (s *stack) pages(ns string) []page {
	seen := map[string]page{}
	for _, a := range s.hook.Alerts(func(a harness.ReceivedAlert) bool {
		return a.Status == "firing" && a.Labels["namespace"] == ns
	}) {
		seen[a.Fingerprint] = page{a.Labels["alertname"], a.WebhookAlert.String()}
	}
	out := make([]page, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].labels < out[j].labels })
	return out
}

// waitPage waits until the stack's receivers got alertname firing for ns,
// and checks it carries the cluster (the external label).
func (s *stack) waitPage(t *testing.T, ns, alertname string) harness.ReceivedAlert {
	t.Helper()
	a, err := s.hook.WaitAlert(context.Background(), pageTimeout,
		func(a harness.ReceivedAlert) bool {
			return a.Status == "firing" && a.Labels["namespace"] == ns && a.Labels["alertname"] == alertname
		},
		func(a harness.ReceivedAlert) bool { return a.Labels["namespace"] == ns })
	if err != nil {
		t.Fatalf("%s: no %s for %s: %v", s.name, alertname, ns, err)
	}
	if a.Labels["cluster"] != clusterName {
		t.Errorf("%s: %s for %s has cluster %q, want %q (the external label)", s.name, alertname, ns, a.Labels["cluster"], clusterName)
	}
	return a
}

// alertsNow is the alert names Prometheus holds for ns (ALERTS: pending
// and firing), each with its number of series.
func (s *stack) alertsNow(t *testing.T, ns string) map[string]int {
	t.Helper()
	r, err := s.prom.Query(context.Background(), fmt.Sprintf(`count by (alertname) (ALERTS{namespace=%q})`, ns), time.Time{})
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	out := map[string]int{}
	for _, smp := range r.Samples {
		out[smp.Metric["alertname"]] = int(smp.Value)
	}
	return out
}

// exactlyOnePage checks that the stack paged ns once, with alertname: one
// distinct alert received, and Prometheus holding no other alert for ns,
// firing or pending (one that would page later).
func (s *stack) exactlyOnePage(t *testing.T, ns, alertname string) {
	t.Helper()
	if got := s.pages(ns); len(got) != 1 || got[0].alertname != alertname {
		t.Errorf("%s: pages for %s: %v, want exactly one %s", s.name, ns, got, alertname)
	}
	if got := s.alertsNow(t, ns); len(got) != 1 || got[alertname] != 1 {
		t.Errorf("%s: alerts in Prometheus for %s: %v, want only one %s", s.name, ns, got, alertname)
	}
}

// duplicated checks that the stack paged ns for each of alertnames: the
// same problem, once from each mixin.
func (s *stack) duplicated(t *testing.T, ns string, alertnames ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, p := range s.pages(ns) {
		got[p.alertname] = true
	}
	for _, a := range alertnames {
		if !got[a] {
			t.Errorf("%s: pages for %s: %v, want %s among them", s.name, ns, s.pages(ns), a)
		}
	}
}

// queryHas fails unless expr returns a series in the stack's Prometheus:
// the condition the other mixin's alert reads is there, so its absence
// is the recipe's doing, not missing data.
func (s *stack) queryHas(t *testing.T, expr string) {
	t.Helper()
	r, err := s.prom.Query(context.Background(), expr, time.Time{})
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	if len(r.Samples) == 0 {
		t.Errorf("%s: no series for %s", s.name, expr)
	}
}

// onePageWithRecipe checks one problem in ns both ways: without the
// recipe it pages twice, ours and theirs (kubernetes-mixin's); with it,
// once more after theirs has paged in the other stack (its `for` passed on
// the same data) and with the condition theirs reads (ksmExpr) present,
// only ours.
func onePageWithRecipe(t *testing.T, ns, ours, theirs, ksmExpr string) {
	t.Helper()
	withRecipe.waitPage(t, ns, ours)
	withoutRecipe.waitPage(t, ns, ours)
	withoutRecipe.waitPage(t, ns, theirs)
	withoutRecipe.duplicated(t, ns, ours, theirs)
	withRecipe.queryHas(t, ksmExpr)
	withRecipe.exactlyOnePage(t, ns, ours)
}

func newEnv(t *testing.T, ns string) *harness.Env {
	t.Helper()
	return harness.NewEnv(t, cluster.Client(), ns)
}

// A Job fails for good. Without the recipe: our KubeJobBackoffLimitExceeded
// at once, kubernetes-mixin's KubeJobFailed after its `for`. With it: ours
// only, also once KubeJobFailed's `for` has passed (the stack without the
// recipe paged for it, on the same series).
func TestFailedJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "s01-failed")
	j := e.NewJob("nightly-export", "exit=1")
	j.Spec.BackoffLimit = ptr(int32(0))
	e.Create(j)
	e.WaitFinished(j.Name, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	onePageWithRecipe(t, e.NS, "KubeJobBackoffLimitExceeded", "KubeJobFailed",
		fmt.Sprintf(`kube_job_failed{job="kube-state-metrics", namespace=%q, job_name=%q, condition="true"} > 0`, e.NS, j.Name))
}

// A CronJob's run fails. Without the recipe: our KubeCronJobLastRunFailed
// (per CronJob) and kubernetes-mixin's KubeJobFailed (per run: job_name,
// no cronjob label, which no inhibition could pair). With it: ours only.
func TestFailedCronJobRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "s02-cron")
	// Due once a year, not now: the test starts the run itself.
	cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx,
		harness.CronJob(e.NS, "nightly", "0 0 1 1 *", e.NewJob("x", "exit=127").Spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := harness.RunOf(e.NewJob("nightly-29000001", "exit=127"), cj)
	run.Spec.BackoffLimit = ptr(int32(0))
	e.Create(run)
	e.WaitFinished(run.Name, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	onePageWithRecipe(t, e.NS, "KubeCronJobLastRunFailed", "KubeJobFailed",
		fmt.Sprintf(`kube_job_failed{job="kube-state-metrics", namespace=%q, job_name=%q, condition="true"} > 0`, e.NS, run.Name))
}

// A Job whose image cannot be pulled: its pod waits (ErrImagePull, then
// ImagePullBackOff) and never fails. Without the recipe: our
// KubeJobPodsStuckWaiting (per Job) and kubernetes-mixin's
// KubeContainerWaiting (per pod and container). With it: ours only, also
// once KubeContainerWaiting's `for` has passed; KubePodNotReady, which
// leaves out Jobs' pods, stays silent in both.
func TestStuckJobImagePull(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "s03-image")
	j := e.NewJob("report-render", "image-pull")
	e.Create(j)

	onePageWithRecipe(t, e.NS, "KubeJobPodsStuckWaiting", "KubeContainerWaiting",
		fmt.Sprintf(`kube_pod_container_status_waiting_reason{job="kube-state-metrics", namespace=%q, reason="ImagePullBackOff"} > 0`, e.NS))
	if got := withoutRecipe.alertsNow(t, e.NS); got["KubePodNotReady"] != 0 {
		t.Errorf("without the recipe: KubePodNotReady for a Job's pod (kubernetes-mixin leaves them out): %v", got)
	}
}

// A Job whose pod crash-loops (restartPolicy OnFailure, every run exits
// 1, a retry budget it will not spend soon). Without the recipe: our
// KubeJobPodsStuckWaiting and kubernetes-mixin's KubePodCrashLooping. With
// it: ours only.
func TestStuckJobCrashLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "s04-crashloop")
	j := e.NewJob("ledger-sync", "exit=1")
	j.Spec.Template.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	j.Spec.BackoffLimit = ptr(int32(10000))
	e.Create(j)

	onePageWithRecipe(t, e.NS, "KubeJobPodsStuckWaiting", "KubePodCrashLooping",
		fmt.Sprintf(`max_over_time(kube_pod_container_status_waiting_reason{job="kube-state-metrics", namespace=%q, reason="CrashLoopBackOff"}[5m]) >= 1`, e.NS))
}

// A pod no Job owns, waiting for its image: the recipe keeps
// kubernetes-mixin's KubeContainerWaiting for it (the restated rule is not
// dead), and this mixin pages for nothing.
func TestOtherWorkloadStillPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "s05-bare-pod")
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "standalone", Namespace: e.NS,
			Annotations: map[string]string{harness.OutcomeAnnotation: "image-pull"}},
		Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever,
			Containers: []v1.Container{{Name: "app", Image: "registry.example/app:v1"}}},
	}
	if _, err := e.Client.CoreV1().Pods(e.NS).Create(e.Ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*stack{withRecipe, withoutRecipe} {
		s.waitPage(t, e.NS, "KubeContainerWaiting")
		for _, p := range s.pages(e.NS) {
			if strings.HasPrefix(p.alertname, "KubeJob") || strings.HasPrefix(p.alertname, "KubeCronJob") {
				t.Errorf("%s: a Job alert for a pod no Job owns: %s", s.name, p.labels)
			}
		}
	}
}
