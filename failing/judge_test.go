package failing

import (
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// TestQueuedJobsOnTheBoard: a Job waiting for admission is a stuck row
// once it has waited the wait limit, whenever the page is read (the Job
// does not change when the limit passes); one admitted and still
// suspended once it has been so admittedNotStartedFor; a running,
// deactivated or just-queued one is no row, and a Job admitted and
// running again leaves the board.
func TestQueuedJobsOnTheBoard(t *testing.T) {
	const since = 100
	waiting := summaries.WaitingForQuota("team-a", "gpu-cq", since)
	waiting.Workload = "job-train-a1"
	waiting.Evictions = 1
	waiting.LastEviction = job.QueueEviction{Reason: "InClusterQueue", Message: "Preempted to accommodate a higher priority workload", At: summaries.At(90)}
	admitted := job.Queue{Name: "team-a", ClusterQueue: "gpu-cq", Workload: "w", State: job.QueueAdmittedSuspended, Since: summaries.At(since)}
	limit := diagnose.DefaultLimits.QueueWait
	for _, tt := range []struct {
		name    string
		q       job.Queue
		from    time.Duration // listed from since+from; <0: never
		state   string
		alert   string
		cause   string
		evicted string
	}{
		{"waiting", waiting, limit, "stuck: waiting for admission", diagnose.AlertWaitingForAdmission,
			"in LocalQueue team-a (ClusterQueue gpu-cq): InsufficientQuota — couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed",
			"evicted 1 time, the last at " + summaries.At(90).UTC().Format(time.RFC3339) + ": InClusterQueue — Preempted to accommodate a higher priority workload"},
		{"admitted, not started", admitted, admittedNotStartedFor, "stuck: admitted, not started", diagnose.AlertAdmittedNotStarted,
			"admitted in LocalQueue team-a (ClusterQueue gpu-cq), and still suspended", ""},
		{"running", job.Queue{Name: "team-a", State: job.QueueRunning, Since: summaries.At(since), Evictions: 5}, -1, "", "", "", ""},
		{"deactivated", job.Queue{Name: "team-a", State: job.QueueDeactivated, Since: summaries.At(since)}, -1, "", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBoard(0, 0)
			jb := fixture.Job("ml", "train").Suspend()
			if tt.q.State == job.QueueRunning {
				jb = fixture.Job("ml", "train").Started(since).Status(1, 1, 0, 0)
			}
			s := summaries.InQueue(jb, nil, tt.q)
			// Judged as the Job changes, a minute into its state.
			b.JobChanged("ml/train", s, summaries.At(since+60))
			rows := func(at time.Time) []Entry { return b.Select(at, "", 10, nil, 0).Rows }
			if tt.from < 0 {
				if r := rows(summaries.At(since).Add(24 * time.Hour)); len(r) != 0 {
					t.Fatalf("listed: %+v", r)
				}
				return
			}
			if r := rows(summaries.At(since).Add(tt.from - time.Second)); len(r) != 0 {
				t.Errorf("listed before its limit: %+v", r)
			}
			if n := b.Select(summaries.At(since).Add(tt.from-time.Second), "", 10, nil, 0).Counts[diagnose.Stuck]; n != 0 {
				t.Errorf("counted stuck before its limit: %d", n)
			}
			r := rows(summaries.At(since).Add(tt.from))
			if len(r) != 1 {
				t.Fatalf("rows at the limit: %+v", r)
			}
			e := r[0]
			if e.Health != diagnose.Stuck || e.State != tt.state || e.Alert != tt.alert || !strings.HasPrefix(e.Cause, tt.cause) ||
				e.Evicted != tt.evicted || !e.Since.Equal(summaries.At(since)) {
				t.Errorf("row %+v\nwant stuck %q, alert %s, cause %q, evicted %q, since %v", e, tt.state, tt.alert, tt.cause, tt.evicted, summaries.At(since))
			}
			// Admitted and running: off the board.
			running := summaries.InQueue(fixture.Job("ml", "train").Started(since+4000).Status(1, 1, 0, 0), nil,
				job.Queue{Name: "team-a", ClusterQueue: "gpu-cq", State: job.QueueRunning, Since: summaries.At(since + 4000)})
			b.JobChanged("ml/train", running, summaries.At(since+4000))
			if r := rows(summaries.At(since + 5000)); len(r) != 0 {
				t.Errorf("still listed once running: %+v", r)
			}
		})
	}
}
