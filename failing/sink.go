package failing

import (
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// Sink passes what the watcher reports on to the next Sink (the metrics)
// and keeps Board from the same Summaries: one model, two views. What the
// board has no part in (outcomes, Workload evictions, CronJobs) passes
// through the embedded Sink untouched.
type Sink struct {
	watcher.Sink
	Board *Board
}

// JobChanged implements watcher.Sink.
func (s Sink) JobChanged(key string, sum *job.Summary) {
	s.Sink.JobChanged(key, sum)
	s.Board.JobChanged(key, sum, time.Now())
}

// JobDeleted implements watcher.Sink.
func (s Sink) JobDeleted(key string, sum *job.Summary) {
	s.Sink.JobDeleted(key, sum)
	s.Board.JobDeleted(key, sum, time.Now())
}

// JobGone implements watcher.Sink.
func (s Sink) JobGone(key string) {
	s.Sink.JobGone(key)
	s.Board.JobGone(key)
}
