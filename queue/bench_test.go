package queue

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// benchWorkload is a Workload as the API server sends it for a Job that
// was preempted and waits again for GPU quota: its pod set's template
// (skipped by the decoder), Kueue's conditions and requeue state.
func benchWorkload(b *testing.B) []byte {
	j := queuedJob("train-llm-7b", "gpu")
	w := kueue.Workload(j, 1).Admit("team-a", 10).Preempt("InCohortReclamation", 100).W
	setCondition(w, "Requeued", true, "Preempted", "Preempted to accommodate a workload", 100)
	setCondition(w, "PodsReady", false, "WaitForStart", "Not all pods are ready or succeeded", 100)
	(&kueue.WorkloadBuilder{W: w}).Pending("couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed", 160)
	w.Labels = map[string]string{"kueue.x-k8s.io/job-uid": string(j.UID)}
	raw, err := json.Marshal(w)
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	m["spec"].(map[string]any)["podSets"] = []any{map[string]any{
		"name": "main", "count": 8,
		"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
			"name": "trainer", "image": "registry.example/llm/train:v3",
			"args":      []any{"--model=7b", "--epochs=3", "--data=s3://bucket/corpus"},
			"resources": map[string]any{"requests": map[string]any{"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"}},
		}}}},
	}}
	if raw, err = json.Marshal(m); err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkRecordWorkload: the cost of RecordWorkload on a decoded
// Workload, and the heap a record keeps once the decoded Workload is gone
// (keptB/record: the record, its strings not shared with other records,
// and the slot of the slice holding it).
func BenchmarkRecordWorkload(b *testing.B) {
	raw := benchWorkload(b)
	decode := func() *kube.Workload {
		w := &kube.Workload{}
		if err := json.Unmarshal(raw, w); err != nil {
			b.Fatal(err)
		}
		return w
	}
	const kept = 2000
	records := make([]any, kept)
	before := heapAfterGC()
	for i := range records {
		records[i], _ = RecordWorkload(decode())
	}
	keptBytes := float64(heapAfterGC()-before) / kept
	runtime.KeepAlive(records)

	w := decode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordWorkload(w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(keptBytes, "keptB/record") // after the loop, which resets the metrics
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
