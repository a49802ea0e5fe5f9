package kube

import (
	"encoding/json"
	"testing"
)

// TestWorkloadSchedulingStats: status.schedulingStats.evictions is
// decoded as Kueue (v1beta1 and v1beta2 alike) writes it, and a deep copy
// shares none of it with the original.
func TestWorkloadSchedulingStats(t *testing.T) {
	const doc = `{"status":{"schedulingStats":{"evictions":[
		{"reason":"Preempted","underlyingCause":"","count":2},
		{"reason":"Deactivated","underlyingCause":"RequeuingLimitExceeded","count":1}]}}}`
	var w Workload
	if err := json.Unmarshal([]byte(doc), &w); err != nil {
		t.Fatal(err)
	}
	st := w.Status.SchedulingStats
	if st == nil || len(st.Evictions) != 2 || st.Evictions[0] != (SchedulingStatsEviction{Reason: "Preempted", Count: 2}) ||
		st.Evictions[1] != (SchedulingStatsEviction{Reason: "Deactivated", UnderlyingCause: "RequeuingLimitExceeded", Count: 1}) {
		t.Fatalf("decoded %+v", st)
	}
	c := w.DeepCopyObject().(*Workload)
	c.Status.SchedulingStats.Evictions[0].Count = 9
	if w.Status.SchedulingStats.Evictions[0].Count != 2 {
		t.Fatal("the copy shares the original's evictions")
	}
}
