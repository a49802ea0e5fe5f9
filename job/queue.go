package job

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// QueueLabel is the label a Job names its Kueue LocalQueue with.
const QueueLabel = "kueue.x-k8s.io/queue-name"

// QueueNameOf is the LocalQueue a Job's labels name, "" for none or for a
// value that cannot name a LocalQueue (a LocalQueue's name is a DNS
// subdomain; a label value is at most 63 characters).
func QueueNameOf(labels map[string]string) string {
	q := labels[QueueLabel]
	if q == "" || len(validation.IsDNS1123Subdomain(q)) > 0 {
		return ""
	}
	return q
}

// Queue is where a Job that Kueue admits stands in its queue
// (Summary.Queue), read from its Workload, its LocalQueue and the Job by
// package queue. Only a Job labelled with a queue name
// (JobRecord.QueueName) while the exporter watches Kueue's Workloads has
// one: a Job a person suspended is not waiting for anything.
type Queue struct {
	// Name is the LocalQueue the Job asks for (its label), ClusterQueue
	// the ClusterQueue admitting it: from the Workload's admission, else
	// from the LocalQueue; "" while unknown (no such LocalQueue).
	Name, ClusterQueue string
	// Workload is the name of the Job's Workload, "" while it has none.
	Workload string
	// State is one of the QueueState values; Since is when it began.
	State QueueState
	Since time.Time
	// Cause is why a QueueWaiting Job is not admitted, one of
	// QueueCauses; "" in any other state.
	Cause string
	// Message is Kueue's own words on the Workload for the state: the
	// QuotaReserved condition's message while waiting ("couldn't assign
	// flavors to pod set main: insufficient unused quota for
	// nvidia.com/gpu in flavor a100, 3 more needed"; the eviction's
	// while an evicted Workload still holds its quota), the eviction's
	// while deactivated, "" otherwise; bounded (MaxQueueMessage).
	Message string
	// Evictions is how many times the Workload was evicted, for any
	// reason, whether admitted or not (Kueue's
	// status.schedulingStats.evictions; an older Kueue's
	// status.requeueState.count, which counts only PodsReady timeouts),
	// LastEviction the newest eviction still on the Workload (zero
	// Reason: none).
	Evictions    int32
	LastEviction QueueEviction
}

// QueueState is a Kueue-managed Job's state in its queue.
type QueueState string

const (
	// QueueWaiting is a suspended Job waiting for admission (no Workload
	// yet, no quota reserved, admission checks not all ready, or evicted
	// and requeued).
	QueueWaiting QueueState = "Waiting"
	// QueueAdmittedSuspended is a Job whose Workload is admitted while
	// the Job is still suspended: Kueue should have started it.
	QueueAdmittedSuspended QueueState = "AdmittedSuspended"
	// QueueRunning is a Job unsuspended (admitted).
	QueueRunning QueueState = "Running"
	// QueueDeactivated is a Job whose Workload was deactivated
	// (spec.active false): held on purpose, as a suspended Job is; it
	// pages nothing.
	QueueDeactivated QueueState = "Deactivated"
)

// Causes of waiting for admission (Queue.Cause), read from the Workload's
// conditions as Kueue writes them: a bounded set, since it becomes a label.
const (
	// QueueCauseInsufficientQuota: the ClusterQueue (with its cohort)
	// lacks unused quota for a resource in every flavor that fits
	// (Kueue: "insufficient unused quota for ..."); quota freed,
	// reclaimed or preempted for it admits the Job.
	QueueCauseInsufficientQuota = "InsufficientQuota"
	// QueueCauseNoFlavorFits: no ResourceFlavor of the ClusterQueue can
	// hold a pod set of the Job (node affinity, taints, a resource it
	// does not offer, a request above the flavor's quota with all
	// borrowing): no quota freed admits it.
	QueueCauseNoFlavorFits = "NoFlavorFits"
	// QueueCauseClusterQueueInactive / Missing: the ClusterQueue is
	// inactive or stopped (a missing flavor or admission check, a stop
	// policy) / does not exist.
	QueueCauseClusterQueueInactive = "ClusterQueueInactive"
	QueueCauseClusterQueueMissing  = "ClusterQueueMissing"
	// QueueCauseLocalQueueMissing / Inactive: the LocalQueue named by the
	// Job's label does not exist / is stopped.
	QueueCauseLocalQueueMissing  = "LocalQueueMissing"
	QueueCauseLocalQueueInactive = "LocalQueueInactive"
	// QueueCauseAdmissionChecks: quota is reserved, admission checks
	// (provisioning requests, MultiKueue) are not all ready.
	QueueCauseAdmissionChecks = "AdmissionChecks"
	// QueueCauseQueued: Kueue has not said why yet: the Workload waits
	// behind others (StrictFIFO) or for its first scheduling attempt.
	QueueCauseQueued = "Queued"
	// QueueCauseNoWorkload: the Job has no Workload: Kueue is not
	// managing it (its controller down, the Job's integration disabled,
	// a queue label Kueue ignores).
	QueueCauseNoWorkload = "NoWorkload"
	// QueueCauseOther: anything else Kueue says (admission gated, waiting
	// for other workloads' pods to be ready, evicted and not yet tried
	// again).
	QueueCauseOther = "Other"
)

// QueueCauses are the values of Queue.Cause, in the order pages list them.
var QueueCauses = []string{
	QueueCauseInsufficientQuota, QueueCauseNoFlavorFits,
	QueueCauseClusterQueueInactive, QueueCauseClusterQueueMissing,
	QueueCauseLocalQueueMissing, QueueCauseLocalQueueInactive,
	QueueCauseAdmissionChecks, QueueCauseQueued, QueueCauseNoWorkload, QueueCauseOther,
}

// QueueEviction is an eviction of a Workload: its reason (one of
// QueueEvictionReasons), Kueue's message (bounded, MaxQueueMessage) and
// when.
type QueueEviction struct {
	Reason, Message string
	At              time.Time
}

// QueueEvictionReasons are the reasons of evictions
// (QueueEviction.Reason, the reason label of
// kubejob_owner_queue_evictions_total): the Evicted condition's reason as
// Kueue writes it, except that a preemption is told by the Preempted
// condition's reason, which says who preempted, and a deactivation by
// Kueue at the Workload's maximum execution time by
// MaximumExecutionTimeExceeded (any other deactivation: Deactivated);
// anything else is Other.
var QueueEvictionReasons = []string{
	// Preempted: by a workload of higher priority in the same
	// ClusterQueue; reclaimed by the cohort; by fair sharing; reclaimed
	// while borrowing; or a preemption without detail.
	"InClusterQueue", "InCohortReclamation", "InCohortFairSharing", "InCohortReclaimWhileBorrowing", "Preempted",
	"PodsReadyTimeout", "AdmissionCheck", "ClusterQueueStopped", "LocalQueueStopped",
	"Deactivated", "NodeFailures", "MaximumExecutionTimeExceeded", "Other",
}

// MaxQueueMessage bounds a Kueue message kept (Queue.Message,
// QueueEviction.Message): Kueue allows 32 KiB in a condition; what a
// person needs is its first lines.
const MaxQueueMessage = 1024

// QueueEvicted reports an eviction of a Job's Workload, once, when the
// exporter's watch shows it (queue.EvictionOf), counted under the Job's
// owner as its outcomes are.
type QueueEvicted struct {
	Namespace string
	Owner     Owner
	Job       string
	Eviction  QueueEviction
}
