package queue

import (
	"math"
	"time"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// newWorkloadRecord reads a Workload's facts: the one place a Workload is
// read. The API server has validated the Workload's own name and
// namespace (a custom resource's name is a DNS subdomain) and Kueue's
// schema its queue names; whoever may write a Workload or its status
// still chooses its owner references, the conditions' reasons and
// messages (up to 32 KiB each): those are validated or bounded here (see
// job.Bounded), and the queue names checked again, as everything a
// tenant writes.
func newWorkloadRecord(w *kube.Workload) *WorkloadRecord {
	r := &WorkloadRecord{
		Namespace: canonical(w.Namespace), Name: w.Name, UID: w.UID, ResourceVersion: w.ResourceVersion,
		Created:   utc(w.CreationTimestamp),
		QueueName: queueName(w.Spec.QueueName),
		Active:    w.Spec.Active == nil || *w.Spec.Active,
	}
	r.JobName, r.JobUID = jobOwner(w)
	if a := w.Status.Admission; a != nil {
		r.ClusterQueue = queueName(a.ClusterQueue)
	}
	r.Evictions = evictionCount(&w.Status)
	for i := range w.Status.Conditions {
		c := &w.Status.Conditions[i]
		var kept *Condition
		switch c.Type {
		case condQuotaReserved:
			kept = &r.QuotaReserved
		case condAdmitted:
			kept = &r.Admitted
		case condEvicted:
			kept = &r.Evicted
		case condPreempted:
			kept = &r.Preempted
		case condFinished:
			kept = &r.Finished
		}
		if kept == nil || kept.Present {
			continue // the first of a type counts, as for apimeta.FindStatusCondition
		}
		*kept = Condition{
			Present: true, True: c.Status == metav1.ConditionTrue,
			Reason: internReason(job.BoundedCount(c.Reason, job.MaxReasonLength, job.CutReason)),
			At:     utc(c.LastTransitionTime),
		}
		if kept == &r.QuotaReserved || kept == &r.Evicted {
			kept.Message = job.BoundedCount(c.Message, job.MaxQueueMessage, job.CutQueueMessage)
		}
		if kept == &r.QuotaReserved && c.Status == metav1.ConditionFalse {
			r.QuotaCause = quotaCause(c.Reason, c.Message)
		}
	}
	return r
}

// newLocalQueueRecord reads a LocalQueue's facts (see newWorkloadRecord).
func newLocalQueueRecord(q *kube.LocalQueue) *LocalQueueRecord {
	return &LocalQueueRecord{
		Namespace: canonical(q.Namespace), Name: q.Name, ResourceVersion: q.ResourceVersion,
		ClusterQueue: queueName(q.Spec.ClusterQueue),
		Terminating:  q.DeletionTimestamp != nil,
	}
}

// evictionCount is how many times the Workload was evicted: Kueue counts
// every eviction in status.schedulingStats.evictions
// (workloadEvictionStateInc); status.requeueState.count, which a Kueue
// without schedulingStats is read from, counts only the PodsReady
// timeouts' requeues. A tenant writing the status chooses the counts:
// negative ones are ignored and the sum saturates.
func evictionCount(s *kube.WorkloadStatus) int32 {
	if st := s.SchedulingStats; st != nil {
		var n int64
		for _, e := range st.Evictions {
			if e.Count > 0 {
				n = min(n+int64(e.Count), math.MaxInt32)
			}
		}
		return int32(n)
	}
	if rs := s.RequeueState; rs != nil && rs.Count != nil && *rs.Count > 0 {
		return *rs.Count
	}
	return 0
}

// jobOwner is the Job controlling the Workload: Kueue's Job integration
// makes the Job the Workload's controller
// (pkg/controller/jobframework/reconciler.go, ConstructWorkload). Only a
// controller reference to a batch/v1 Job with a name and UID the API
// server could have given a Job counts; one to a Job with any other name
// or UID is forged, not kept, and counted.
func jobOwner(w *kube.Workload) (string, types.UID) {
	ref := metav1.GetControllerOfNoCopy(w)
	if ref == nil || ref.APIVersion != "batch/v1" || ref.Kind != "Job" {
		return "", ""
	}
	if !job.ValidName(ref.Name) || !job.ValidUID(ref.UID) {
		job.CountCut(job.CutOwnerReference, 1)
		return "", ""
	}
	return ref.Name, ref.UID
}

// queueName is a LocalQueue's or ClusterQueue's name as Kueue's schema
// requires it (a DNS subdomain: LocalQueueName, ClusterQueueReference),
// "" for any other value; one canonical copy serves every record naming
// that queue.
func queueName(name string) string {
	if name == "" || !job.ValidName(name) {
		return ""
	}
	return canonical(name)
}

// canonical is the canonical copy of a string repeated across records
// (namespaces, queue names): the same one package job's records keep,
// dropped by the runtime once no record holds it.
func canonical(s string) string { return unique.Make(s).Value() }

// utc is an API time in UTC, the zero time for unset.
func utc(t metav1.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
