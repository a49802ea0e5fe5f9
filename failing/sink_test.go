package failing

import (
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func (r *recordingSink) QueueEvicted(e job.QueueEvicted) {
	r.calls = append(r.calls, "evicted "+e.Namespace+"/"+e.Job+" "+e.Eviction.Reason)
}

// TestSinkPassesEvictionsOn: an eviction of a Job's Workload the watcher
// reports reaches the metrics' Sink, which counts it under the Job's
// owner; the board has no part in it (a Job's place in its queue comes
// with its Summary).
func TestSinkPassesEvictionsOn(t *testing.T) {
	next := &recordingSink{}
	var s any = Sink{Sink: next, Board: NewBoard(0, 0)}
	sink, ok := s.(interface{ QueueEvicted(job.QueueEvicted) })
	if !ok {
		t.Fatal("failing.Sink has no QueueEvicted: the watcher's evictions would not reach the metrics")
	}
	sink.QueueEvicted(job.QueueEvicted{Namespace: "ml", Owner: job.Owner{Kind: job.OwnerKindCronJob, Name: "train"}, Job: "train-1",
		Eviction: job.QueueEviction{Reason: "InClusterQueue"}})
	if got := strings.Join(next.calls, ", "); got != "evicted ml/train-1 InClusterQueue" {
		t.Errorf("the next Sink got %q", got)
	}
}
