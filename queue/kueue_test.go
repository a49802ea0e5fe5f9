package queue

import (
	batchv1 "k8s.io/api/batch/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// The Workloads of these tests are internal/fixture/kueue's, written as
// Kueue v0.17.0 writes them. The helpers below write what no step of
// Kueue's there does: another reason of QuotaReserved, a single
// condition, a forged one.

// queuedJob is a Job in namespace team-a that Kueue manages.
func queuedJob(name, queue string) *batchv1.Job { return kueue.Job("team-a", name, queue).J }

// setCondition sets a condition as apimeta.SetStatusCondition does (its
// transition time changes only with its status).
func setCondition(w *kube.Workload, typ string, status bool, reason, message string, at int) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&w.Status.Conditions, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: message, LastTransitionTime: fixture.At(at),
	})
}

// unreserve is UnsetQuotaReservationWithCondition with a reason other
// than Pending and Inadmissible ("Waiting" from the scheduler,
// "AdmissionGated" from the Workload controller), for a Workload never
// admitted.
func unreserve(w *kube.Workload, reason, message string, at int) {
	setCondition(w, "QuotaReserved", false, reason, message, at)
	w.Status.Admission = nil
}

// record is RecordWorkload's record of w.
func record(w *kube.Workload) *WorkloadRecord {
	r, err := RecordWorkload(w.DeepCopyObject())
	if err != nil {
		panic(err)
	}
	return r.(*WorkloadRecord)
}
