package queue

import (
	"slices"
	"strings"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Kueue's words, as v0.17.0 writes them (sigs.k8s.io/kueue, cited by
// file and function): the condition types and reasons of a Workload, and
// the fixed parts of the messages that tell why it waits. The names
// inside a message (queues, flavors, resources, pod sets) are chosen by
// whoever creates them and can hold none of the fragments matched here:
// each is a DNS name or a qualified resource name, without spaces.

// Condition types (apis/kueue/v1beta2/workload_types.go).
const (
	condQuotaReserved = "QuotaReserved"
	condAdmitted      = "Admitted"
	condEvicted       = "Evicted"
	condPreempted     = "Preempted"
	condFinished      = "Finished"
)

// Reasons of QuotaReserved=False (UnsetQuotaReservationWithCondition's
// callers): "Pending" from the scheduler (pkg/scheduler/scheduler.go, a
// failed scheduling attempt; its message is the entry's inadmissibleMsg),
// "Inadmissible" from the Workload controller
// (pkg/controller/core/workload_controller.go: the queues are missing or
// stopped), and others ("Waiting" for other Workloads' pods to be ready,
// "AdmissionGated").
const (
	reasonPending      = "Pending"
	reasonInadmissible = "Inadmissible"
)

// Reasons of Evicted (workload_types.go, WorkloadEvictedBy*; written by
// workload.Evict through SetEvictedCondition): "Preempted" comes with
// the Preempted condition, whose reason says who preempted
// (pkg/scheduler/preemption/preemption.go, SetPreemptedCondition).
const (
	reasonPreempted = "Preempted"
	// A deactivated Workload is evicted as "Deactivated", or
	// "DeactivatedDueTo" and the DeactivationTarget condition's reason
	// (workload.Evict, ReasonWithCause); older releases wrote
	// "InactiveWorkload" (their WorkloadEvictedByDeactivation).
	reasonDeactivated      = "Deactivated"
	reasonDeactivatedDueTo = "DeactivatedDueTo"
	reasonInactiveWorkload = "InactiveWorkload"
	reasonMaxExecutionTime = "MaximumExecutionTimeExceeded"
	// evictionReasonOther counts any reason Kueue may add later.
	evictionReasonOther = "Other"
)

// preemptionReasons are the Preempted condition's reasons (workload_types.go,
// InClusterQueueReason and the InCohort* reasons).
var preemptionReasons = []string{"InClusterQueue", "InCohortReclamation", "InCohortFairSharing", "InCohortReclaimWhileBorrowing"}

// quotaCause is why a Workload whose QuotaReserved condition is False
// with reason and message waits: one of job.QueueCauses.
func quotaCause(reason, message string) string {
	if reason != reasonPending && reason != reasonInadmissible {
		return job.QueueCauseOther
	}
	if c := queueCause(message); c != "" {
		return c
	}
	if reason == reasonPending {
		return flavorCause(message)
	}
	return job.QueueCauseOther
}

// queueCause reads a message about a missing or stopped queue, "" for
// any other: "LocalQueue NAME doesn't exist", "... is inactive" (the
// Workload controller's Reconcile), "... is terminating or missing",
// "... is stopped" (its reconcileOnLocalQueueActiveState and
// reconcileOnClusterQueueActiveState), and the scheduler's own
// "ClusterQueue NAME is inactive" / "ClusterQueue NAME not found" (the
// heads it cannot nominate, with reason Pending).
func queueCause(message string) string {
	kind, rest, _ := strings.Cut(message, " ")
	if kind != "LocalQueue" && kind != "ClusterQueue" {
		return ""
	}
	_, state, _ := strings.Cut(rest, " ")
	var missing bool
	switch state {
	case "doesn't exist", "is terminating or missing", "not found":
		missing = true
	case "is inactive", "is stopped":
	default:
		return ""
	}
	switch {
	case kind == "LocalQueue" && missing:
		return job.QueueCauseLocalQueueMissing
	case kind == "LocalQueue":
		return job.QueueCauseLocalQueueInactive
	case missing:
		return job.QueueCauseClusterQueueMissing
	}
	return job.QueueCauseClusterQueueInactive
}

// flavorCause reads the flavor assigner's message
// (pkg/scheduler/flavorassigner, Assignment.Message): per pod set that
// does not fit, "couldn't assign flavors to pod set NAME: " and its
// reasons, the pod sets joined by "; ". A pod set waits for quota when a
// flavor lacks only unused quota ("insufficient unused quota for R in
// flavor F, N more needed", fitsResourceQuota: freed or reclaimed quota
// admits it, the scheduler may append that it is preempting for it); no
// flavor fits it when every flavor fails otherwise (taints, node
// affinity, a resource the flavor lacks, or "insufficient quota for R
// in flavor F, ... > maximum capacity": more than the quota with all
// borrowing). One pod set that no flavor fits keeps the Workload out
// whatever quota frees, so it is the cause.
func flavorCause(message string) string {
	const (
		flavorsMessage          = "couldn't assign flavors to pod set "
		insufficientUnusedQuota = "insufficient unused quota for "
	)
	rest, ok := strings.CutPrefix(message, flavorsMessage)
	if !ok {
		return job.QueueCauseOther
	}
	for podSet := range strings.SplitSeq(rest, "; "+flavorsMessage) {
		if !strings.Contains(podSet, insufficientUnusedQuota) {
			return job.QueueCauseNoFlavorFits
		}
	}
	return job.QueueCauseInsufficientQuota
}

// evictionReason is the reason an eviction is counted under (one of
// job.QueueEvictionReasons), from the Evicted condition and, for a
// preemption, the Preempted condition set with it.
func evictionReason(evicted, preempted Condition) string {
	r := evicted.Reason
	switch {
	case r == reasonPreempted:
		if preempted.True && slices.Contains(preemptionReasons, preempted.Reason) {
			return preempted.Reason
		}
		return reasonPreempted
	case r == reasonDeactivatedDueTo+reasonMaxExecutionTime:
		return reasonMaxExecutionTime
	case strings.HasPrefix(r, reasonDeactivatedDueTo), strings.HasPrefix(r, reasonInactiveWorkload):
		return reasonDeactivated
	case slices.Contains(job.QueueEvictionReasons, r):
		return r
	}
	return evictionReasonOther
}

// internedReasons are the reasons Kueue writes on every Workload: one
// copy serves all records.
var internedReasons = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{{
		reasonPending, reasonInadmissible, "Waiting", "AdmissionGated",
		"QuotaReserved", "Admitted", "NoReservation", "NoReservationUnsatisfiedChecks", "UnsatisfiedChecks",
		"PendingDelayedTopologyRequests", "Succeeded", "Failed",
		reasonDeactivatedDueTo + "RequeuingLimitExceeded", reasonDeactivatedDueTo + reasonMaxExecutionTime,
		reasonDeactivatedDueTo + "AdmissionCheck",
	}, job.QueueEvictionReasons} {
		for _, s := range list {
			m[s] = s
		}
	}
	return m
}()

func internReason(s string) string {
	if v, ok := internedReasons[s]; ok {
		return v
	}
	return s
}
