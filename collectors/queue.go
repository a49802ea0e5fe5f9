package collectors

import (
	"slices"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Jobs that Kueue admits: where a Job labelled with a LocalQueue stands in
// its queue (job.Queue, read from its Workload by package queue). A Job
// without the label, or while Kueue's Workloads are not watched, has no
// Queue and none of these series: a suspended Job is not waiting for
// admission unless Kueue holds it. The evictions of a Job's Workload
// outlive it and are counted per owner (outcomes.go).
var queueGenerators = []jobGenerator{
	gauge("kubejob_queue_info",
		"The Kueue LocalQueue the Job asks for (its kueue.x-k8s.io/queue-name label) and the ClusterQueue admitting it (the Workload's admission, else the LocalQueue's; empty while unknown). Always 1, while the Job is unfinished and Kueue's Workloads are watched (--collector.kueue).",
		func(s *job.Summary, _ Options, e emit) {
			if q := s.Queue; q != nil {
				e(1, "queue", q.Name, "cluster_queue", q.ClusterQueue)
			}
		}),
	gauge("kubejob_queue_waiting_since_timestamp_seconds",
		"Since when the Kueue-managed Job waits for admission, in Unix seconds: since its Workload last lost its admission (evicted and requeued), else since the Workload was created, else (no Workload) since the Job was, by cause: InsufficientQuota, NoFlavorFits, ClusterQueueInactive, ClusterQueueMissing, LocalQueueMissing, LocalQueueInactive, AdmissionChecks, Queued, NoWorkload, Other. Present while it waits; compare with time().",
		func(s *job.Summary, _ Options, e emit) {
			if q := s.Queue; q != nil && q.State == job.QueueWaiting {
				if v, ok := unix(q.Since); ok {
					e(v, "queue", q.Name, "cause", oneOf(q.Cause, job.QueueCauses, job.QueueCauseOther))
				}
			}
		}),
	gauge("kubejob_queue_admitted_suspended_since_timestamp_seconds",
		"Since when the Job's Workload is admitted (its Admitted condition) while the Job is still suspended, in Unix seconds: Kueue reserved the quota but has not started the Job. Present while so.",
		func(s *job.Summary, _ Options, e emit) {
			if q := s.Queue; q != nil && q.State == job.QueueAdmittedSuspended {
				if v, ok := unix(q.Since); ok {
					e(v, "queue", q.Name)
				}
			}
		}),
}

// oneOf is v when it is one of the values a label may take, else other:
// a label's values stay the bounded set its help lists, whatever a model
// or a newer Kueue hands over.
func oneOf(v string, values []string, other string) string {
	if slices.Contains(values, v) {
		return v
	}
	return other
}
