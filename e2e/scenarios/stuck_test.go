package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Jobs that neither fail nor finish, on the real API server and Job
// controller: pods refused by the API server's own admission (quota, Pod
// Security, a ValidatingAdmissionPolicy), a pod held in ContainerCreating, an
// init container that hangs, a run started days ago. Each: the metrics, and
// a diagnose report that names the cause and exits 2.

// failedCreate waits for the Job controller's FailedCreate event on the Job
// and returns it.
func (e *env) failedCreate(job string) v1.Event {
	e.T.Helper()
	var ev v1.Event
	err := harness.Eventually(e.Ctx, harness.JobTimeout, func(ctx context.Context) (bool, string, error) {
		l, err := e.Client.CoreV1().Events(e.NS).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=Job,involvedObject.name=" + job + ",reason=FailedCreate",
		})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, x := range l.Items {
			if x.LastTimestamp.After(ev.LastTimestamp.Time) || ev.Name == "" {
				ev = x
			}
		}
		return len(l.Items) > 0, fmt.Sprintf("no FailedCreate event for job %s/%s yet", e.NS, job), nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return ev
}

// stuckReport runs diagnose on a stuck Job: exit 2, health stuck, and the
// text mentions every one of want.
func (e *env) stuckReport(job, verdict string, want ...string) {
	e.T.Helper()
	r, code, text := diagnose(e.T, e.NS, job)
	e.T.Logf("diagnose %s:\n%s", job, text)
	if r.Health != "stuck" || code != 2 || r.Verdict.Kind != verdict {
		e.T.Errorf("diagnose %s: health %s (exit %d) verdict %s, want stuck (2) %s\n%s", job, r.Health, code, r.Verdict.Kind, verdict, text)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			e.T.Errorf("diagnose %s does not say %q:\n%s", job, w, text)
		}
	}
}

// A ResourceQuota that allows no pod: the controller's FailedCreate events
// say "exceeded quota"; the exporter shows the cause and a Job without
// pods, and once the quota allows pods and the controller creates one,
// neither.
func TestQuotaRefusesPods(t *testing.T) {
	e := newEnv(t, "s14-quota")
	if err := harness.ZeroPodQuota(e.Ctx, e.Client, e.NS); err != nil {
		t.Fatal(err)
	}
	job := e.NewJob("blocked", "run=forever")
	e.Create(job)
	ev := e.failedCreate("blocked")
	if !strings.Contains(ev.Message, "exceeded quota") {
		t.Fatalf("FailedCreate event %q does not say exceeded quota (the API server's wording changed?)", ev.Message)
	}
	e.waitMetrics("blocked", func(x *expect) {
		if v := x.value("pod_create_failure_timestamp_seconds", "cause", "Quota"); v < unix(ev.FirstTimestamp) {
			x.failf("pod_create_failure_timestamp_seconds{cause=Quota} = %v, before the first event at %v", v, unix(ev.FirstTimestamp))
		}
		x.only("pod_create_failure_timestamp_seconds", "cause", "Quota")
		x.eq("without_pods", 1)
		x.eq("retries", 0)
		x.absent("pods", "state", "active")
		x.absent("failed")
	})
	e.stuckReport("blocked", "cannot-create",
		"Quota ×", "exceeded quota", "kubectl describe resourcequota -n "+e.NS, "Events (newest first):", "FailedCreate")

	// Room for pods: the controller's next retry creates one.
	if err := harness.SetPodQuota(e.Ctx, e.Client, e.NS, 5); err != nil {
		t.Fatal(err)
	}
	e.waitJob("blocked", "an active pod", func(j *batchv1.Job) bool { return j.Status.Active > 0 })
	e.waitMetrics("blocked", func(x *expect) {
		x.absent("pod_create_failure_timestamp_seconds")
		x.absent("without_pods")
		x.eq("pods", 1, "state", "active")
	})
}

// A namespace enforcing the restricted Pod Security level and a pod
// template that does not comply (no securityContext).
func TestPodSecurityRefusesPods(t *testing.T) {
	e := newEnv(t, "s15-psa")
	if err := harness.EnforceRestrictedPodSecurity(e.Ctx, e.Client, e.NS); err != nil {
		t.Fatal(err)
	}
	e.Create(e.NewJob("privileged", "succeed"))
	ev := e.failedCreate("privileged")
	if !strings.Contains(ev.Message, "violates PodSecurity") {
		t.Fatalf("FailedCreate event %q does not say violates PodSecurity", ev.Message)
	}
	e.waitMetrics("privileged", func(x *expect) {
		x.value("pod_create_failure_timestamp_seconds", "cause", "PodSecurity")
		x.only("pod_create_failure_timestamp_seconds", "cause", "PodSecurity")
		x.eq("without_pods", 1)
	})
	e.stuckReport("privileged", "cannot-create",
		"PodSecurity ×", `violates PodSecurity "restricted:latest"`, "kubectl get namespace "+e.NS+" --show-labels")
}

// A ValidatingAdmissionPolicy (built into kube-apiserver) that denies every
// pod of the namespace.
func TestAdmissionPolicyRefusesPods(t *testing.T) {
	e := newEnv(t, "s16-vap")
	remove, err := harness.DenyPods(e.Ctx, e.Client, e.NS, "batch pods are frozen during the migration")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
	// A pod created before the API server applies the policy is admitted.
	if err := harness.WaitPodsRefused(e.Ctx, e.Client, e.NS, "ValidatingAdmissionPolicy"); err != nil {
		t.Fatal(err)
	}
	e.Create(e.NewJob("frozen", "succeed"))
	ev := e.failedCreate("frozen")
	if !strings.Contains(ev.Message, "ValidatingAdmissionPolicy") {
		t.Fatalf("FailedCreate event %q does not name the ValidatingAdmissionPolicy", ev.Message)
	}
	e.waitMetrics("frozen", func(x *expect) {
		x.value("pod_create_failure_timestamp_seconds", "cause", "AdmissionPolicy")
		x.only("pod_create_failure_timestamp_seconds", "cause", "AdmissionPolicy")
		x.eq("without_pods", 1)
	})
	e.stuckReport("frozen", "cannot-create",
		"AdmissionPolicy ×", "batch pods are frozen during the migration", "kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings")
}

// Pods that never start: a Secret volume that does not mount (the pod stays
// in ContainerCreating, the kubelet says FailedMount) and an init container
// that hangs (PodInitializing). They count as waiting once pending longer
// than the exporter's --job.pod-start-timeout (startTimeout in main_test.go),
// and not before.
func TestPodsThatNeverStart(t *testing.T) {
	e := newEnv(t, "s17-never-start")
	mount := e.NewJob("mount", "volume-missing")
	e.Create(mount)
	initHang := e.NewJob("init-hang", "init-hang")
	initHang.Spec.Template.Spec.InitContainers = []v1.Container{{Name: "wait-db", Image: "registry.example/batch/wait-for:1.0"}}
	e.Create(initHang)

	for name, reason := range map[string]string{"mount": "ContainerCreating", "init-hang": "PodInitializing"} {
		j := e.waitJob(name, "an active pod", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
		pods := e.pods(j)
		if len(pods) != 1 {
			t.Fatalf("%s: %d pods", name, len(pods))
		}
		// Every scrape that ended before the pod had been pending for the
		// timeout shows it as a normal start; then it counts as waiting.
		due := pods[0].CreationTimestamp.Add(startTimeout)
		for {
			m, err := exporter.Scrape(e.Ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !time.Now().Before(due) {
				break
			}
			if m.Has("kubejob_pods_waiting", e.labels(name)) {
				t.Errorf("%s: counted as waiting before --job.pod-start-timeout (%s) passed", name, startTimeout)
				break
			}
			time.Sleep(100 * time.Millisecond) // the scrape interval of this check
		}
		e.waitMetrics(name, func(x *expect) {
			x.eq("pods_waiting", 1, "reason", reason)
			x.only("pods_waiting", "reason", reason)
			x.eq("retries", 0)
		})
	}
	e.stuckReport("mount", "stuck", "ContainerCreating ×1", "FailedMount", `secret "e2e-missing-volume" not found`, "kubectl describe pod mount-")
	e.stuckReport("init-hang", "stuck", "PodInitializing ×1", "an init container runs and does not finish")
}

// A Job that started three days ago and still runs (spec.managedBy: the
// test writes its status). The exporter gives its start time; the report
// says how long it has run and calls it stuck past the 12h default.
func TestRunStartedDaysAgo(t *testing.T) {
	e := newEnv(t, "s18-days")
	start := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	if _, err := harness.StartedAt(e.Ctx, e.Client, e.NewJob("forever", "run=forever"), start, 1); err != nil {
		t.Fatal(err)
	}
	e.waitMetrics("forever", func(x *expect) {
		x.eq("start_timestamp_seconds", float64(start.Unix()))
		x.eq("pods", 1, "state", "active")
		x.absent("without_pods")
	})
	e.stuckReport("forever", "too-long", "Running:   for 72h", "longer than 12h0m0s")
}
