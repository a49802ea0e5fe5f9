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
		{"an update while evicted (requeue state)", evicted, func() *WorkloadRecord { r := *evicted; r.Evictions++; r.ResourceVersion = "3"; return &r }()},
		{"an older eviction than the one seen", evicted, func() *WorkloadRecord { r := *evicted; r.Evicted.At = at(50); return &r }()},
	} {
		if e, ok := EvictionOf(tt.old, tt.cur); ok {
			t.Errorf("%s: counted %+v", tt.what, e)
		}
	}
	// Evicted again, with a transition time the watch had not seen: the
	// watch missed the readmission (Evicted reset to False) between.
	again := *evicted
	again.Evicted.At, again.Admitted.At = at(200), at(200)
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

// TestEvictionOfNotAdmitted: Kueue evicts Workloads that never held an
// admission (a pending one deactivated; one whose admission check asks
// for a retry while its quota is only reserved): they stopped no Job and
// are not counted; the preemption of an admitted Workload is counted
// once, when Evicted is set, not again when the quota is released.
func TestEvictionOfNotAdmitted(t *testing.T) {
	pending := kueue.Workload(queuedJob("train", "gpu"), 1).Pending("insufficient unused quota", 5)
	old := record(pending.W)
	pending.Deactivate().Evict("Deactivated", "The workload is deactivated", 50)
	if e, ok := EvictionOf(old, record(pending.W)); ok {
		t.Errorf("a pending Workload deactivated: counted %+v", e)
	}

	reserved := kueue.Workload(queuedJob("train", "gpu"), 1).ChecksPending("team-a", 5)
	old = record(reserved.W)
	reserved.MarkEvicted("AdmissionCheck", "retry", 50)
	marked := record(reserved.W)
	reserved.Pending("retry", 50)
	released := record(reserved.W)
	for what, tt := range map[string][2]*WorkloadRecord{
		"evicted":                          {old, marked},
		"quota released":                   {marked, released},
		"seen only once released":          {old, released},
		"seen first after the restart":     {nil, released},
		"a re-list once released (no old)": {released, released},
	} {
		if e, ok := EvictionOf(tt[0], tt[1]); ok {
			t.Errorf("a check's retry on reserved quota, %s: counted %+v", what, e)
		}
	}

	// Admitted before, evicted and requeued; then the retry of a check on
	// reserved quota: only the preemption counts.
	w := kueue.Workload(queuedJob("train", "gpu"), 1).Admit("team-a", 10)
	steps := []func(){
		func() {
			setCondition(w.W, "Preempted", true, "InClusterQueue", "preempted", 100)
			w.MarkEvicted("Preempted", "preempted", 100)
		},
		func() { w.Pending("preempted", 101) },
		func() { w.ChecksPending("team-a", 200) },
		func() { w.MarkEvicted("AdmissionCheck", "retry", 300) },
		func() { w.Pending("retry", 300) },
	}
	counted := []string{}
	prev := record(w.W)
	for _, step := range steps {
		step()
		cur := record(w.W)
		if e, ok := EvictionOf(prev, cur); ok {
			counted = append(counted, e.Reason)
		}
		prev = cur
	}
	if !slices.Equal(counted, []string{"InClusterQueue"}) {
		t.Errorf("counted %v, want the preemption once", counted)
	}
	// The watch missed every state between the admission and the
	// release of the preempted quota: counted still.
	w = kueue.Workload(queuedJob("train", "gpu"), 1).Admit("team-a", 10)
	admitted := record(w.W)
	w.Preempt("InClusterQueue", 100)
	if _, ok := EvictionOf(admitted, record(w.W)); !ok {
		t.Error("a preemption seen once the quota was released is not counted")
	}
}
