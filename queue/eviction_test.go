package queue

import (
	"slices"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// TestEvictionReasons: each eviction Kueue writes is counted under its
// reason; a preemption under who preempted.
func TestEvictionReasons(t *testing.T) {
	evicted := func(reason string) func(*kueue.WorkloadBuilder) {
		return func(w *kueue.WorkloadBuilder) { w.Evict(reason, "evicted", 100) }
	}
	preempted := func(reason string) func(*kueue.WorkloadBuilder) {
		return func(w *kueue.WorkloadBuilder) { w.Preempt(reason, 100) }
	}
	for _, tt := range []struct {
		what string
		do   func(*kueue.WorkloadBuilder)
		want string
	}{
		{"preempted in the ClusterQueue", preempted("InClusterQueue"), "InClusterQueue"},
		{"reclaimed by the cohort", preempted("InCohortReclamation"), "InCohortReclamation"},
		{"fair sharing", preempted("InCohortFairSharing"), "InCohortFairSharing"},
		{"reclaimed while borrowing", preempted("InCohortReclaimWhileBorrowing"), "InCohortReclaimWhileBorrowing"},
		{"preempted, an older release's reason", preempted("InCohort"), "Preempted"},
		{"preempted, no Preempted condition", evicted("Preempted"), "Preempted"},
		{"pods not ready in time", evicted("PodsReadyTimeout"), "PodsReadyTimeout"},
		{"admission check rejected", evicted("AdmissionCheck"), "AdmissionCheck"},
		{"ClusterQueue stopped", evicted("ClusterQueueStopped"), "ClusterQueueStopped"},
		{"LocalQueue stopped", evicted("LocalQueueStopped"), "LocalQueueStopped"},
		{"node failures", evicted("NodeFailures"), "NodeFailures"},
		{"deactivated by a person", evicted("Deactivated"), "Deactivated"},
		{"deactivated after too many requeues", evicted("DeactivatedDueToRequeuingLimitExceeded"), "Deactivated"},
		{"deactivated at the maximum execution time", evicted("DeactivatedDueToMaximumExecutionTimeExceeded"), "MaximumExecutionTimeExceeded"},
		{"deactivated, an older release's reason", evicted("InactiveWorkload"), "Deactivated"},
		{"evicted on the MultiKueue manager", evicted("EvictedOnManagerCluster"), "Other"},
		{"a reason of the future", evicted("SomethingNew"), "Other"},
	} {
		w := kueue.Workload(queuedJob("train", "gpu"), 1)
		w.Admit("team-a", 10)
		old := record(w.W)
		tt.do(w)
		e, ok := EvictionOf(old, record(w.W))
		if !ok || e.Reason != tt.want || !e.At.Equal(at(100)) {
			t.Errorf("%s: %+v, %v; want reason %s at %v", tt.what, e, ok, tt.want, at(100))
		}
		if !slices.Contains(job.QueueEvictionReasons, e.Reason) {
			t.Errorf("%s: reason %q not one of job.QueueEvictionReasons", tt.what, e.Reason)
		}
	}
}

// TestEvictionCountedOnce: an eviction counts at its transition only: not
// again for the same object, a re-list, an older copy, a Workload first
// seen evicted, or an update of the evicted Workload; a second eviction
// counts again.
func TestEvictionCountedOnce(t *testing.T) {
	w := kueue.Workload(queuedJob("train", "gpu"), 1)
	w.Admit("team-a", 10)
	admitted := record(w.W)
	w.Preempt("InClusterQueue", 100)
	evicted := record(w.W)
	evicted.ResourceVersion = "2"
	if _, ok := EvictionOf(admitted, evicted); !ok {
		t.Fatal("the eviction is not counted")
	}
	same := *evicted
	for _, tt := range []struct {
		what     string
		old, cur *WorkloadRecord
	}{
		{"the same object again", evicted, evicted},
		{"a re-list (a copy, same condition)", evicted, &same},
		{"an older copy after the eviction", evicted, admitted},
		{"first seen evicted", nil, evicted},
		{"deleted", evicted, nil},
		{"an update while evicted (requeue state)", evicted, func() *WorkloadRecord { r := *evicted; r.Requeues++; r.ResourceVersion = "3"; return &r }()},
		{"an older eviction than the one seen", evicted, func() *WorkloadRecord { r := *evicted; r.Evicted.At = at(50); return &r }()},
	} {
		if e, ok := EvictionOf(tt.old, tt.cur); ok {
			t.Errorf("%s: counted %+v", tt.what, e)
		}
	}
	// Evicted again, with a transition time the watch had not seen: the
	// watch missed the readmission (Evicted reset to False) between.
	again := *evicted
	again.Evicted.At = at(200)
	if _, ok := EvictionOf(evicted, &again); !ok {
		t.Error("a newer eviction is not counted")
	}
	// Readmitted, then evicted again within the same second: the
	// condition turned false and true again.
	w.Admit("team-a", 100)
	readmitted := record(w.W)
	w.Evict("PodsReadyTimeout", "Exceeded the PodsReady timeout team-a/job-train", 100)
	if e, ok := EvictionOf(readmitted, record(w.W)); !ok || e.Reason != "PodsReadyTimeout" {
		t.Errorf("the second eviction: %+v, %v", e, ok)
	}
	// A Workload deleted and made again under the same name, evicted,
	// seen by a re-list: a new object's eviction.
	other := *evicted
	other.UID = "another-uid"
	other.Evicted.At = at(100)
	if _, ok := EvictionOf(evicted, &other); !ok {
		t.Error("the eviction of a Workload made again is not counted")
	}
}
