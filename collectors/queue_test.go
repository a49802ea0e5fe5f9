package collectors

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func TestQueueCollectors(t *testing.T) {
	suspended := func(name string) *fixture.JobBuilder { return fixture.Job("ns", name).Suspend() }
	quota := summaries.WaitingForQuota("team-a", "gpus", -600)
	tests := []struct {
		name string
		sum  *job.Summary
		want string
	}{
		{
			name: "waiting for quota: since when, and why",
			sum:  summaries.InQueue(suspended("train"), nil, quota),
			want: `
kubejob_queue_info{cluster_queue="gpus",job_name="train",namespace="ns",queue="team-a"} 1
kubejob_queue_waiting_since_timestamp_seconds{cause="InsufficientQuota",job_name="train",namespace="ns",queue="team-a"} ` + ts(-600) + `
`,
		},
		{
			name: "no Workload and no LocalQueue: the ClusterQueue is unknown",
			sum: summaries.InQueue(suspended("orphan"), nil, job.Queue{Name: "team-b",
				State: job.QueueWaiting, Since: fixture.At(0).Time, Cause: job.QueueCauseNoWorkload}),
			want: `
kubejob_queue_info{cluster_queue="",job_name="orphan",namespace="ns",queue="team-b"} 1
kubejob_queue_waiting_since_timestamp_seconds{cause="NoWorkload",job_name="orphan",namespace="ns",queue="team-b"} ` + ts(0) + `
`,
		},
		{
			name: "admitted but still suspended",
			sum: summaries.InQueue(suspended("held"), nil, job.Queue{Name: "team-a", ClusterQueue: "gpus", Workload: "job-held-1a2b3",
				State: job.QueueAdmittedSuspended, Since: fixture.At(900).Time}),
			want: `
kubejob_queue_info{cluster_queue="gpus",job_name="held",namespace="ns",queue="team-a"} 1
kubejob_queue_admitted_suspended_since_timestamp_seconds{job_name="held",namespace="ns",queue="team-a"} ` + ts(900) + `
`,
		},
		{
			name: "running: only where it runs",
			sum: summaries.InQueue(fixture.Job("ns", "run").Started(0).Status(1, 1, 0, 0), nil, job.Queue{Name: "team-a", ClusterQueue: "gpus",
				State: job.QueueRunning, Since: fixture.At(0).Time}),
			want: `
kubejob_queue_info{cluster_queue="gpus",job_name="run",namespace="ns",queue="team-a"} 1
`,
		},
		{
			name: "deactivated: held on purpose, not waiting",
			sum: summaries.InQueue(suspended("off"), nil, job.Queue{Name: "team-a", ClusterQueue: "gpus",
				State: job.QueueDeactivated, Since: fixture.At(0).Time}),
			want: `
kubejob_queue_info{cluster_queue="gpus",job_name="off",namespace="ns",queue="team-a"} 1
`,
		},
		{
			name: "a cause outside the documented set is Other",
			sum: summaries.InQueue(suspended("new"), nil, job.Queue{Name: "team-a", ClusterQueue: "gpus",
				State: job.QueueWaiting, Since: fixture.At(0).Time, Cause: "SomethingKueueAddsLater"}),
			want: `
kubejob_queue_info{cluster_queue="gpus",job_name="new",namespace="ns",queue="team-a"} 1
kubejob_queue_waiting_since_timestamp_seconds{cause="Other",job_name="new",namespace="ns",queue="team-a"} ` + ts(0) + `
`,
		},
		{
			name: "waiting since an unknown time: no series dated 1970",
			sum: summaries.InQueue(suspended("undated"), nil, job.Queue{Name: "team-a",
				State: job.QueueWaiting, Cause: job.QueueCauseQueued}),
			want: `
kubejob_queue_info{cluster_queue="",job_name="undated",namespace="ns",queue="team-a"} 1
`,
		},
		{
			name: "suspended by a person (no queue label): nothing",
			sum:  summaries.Of(suspended("paused"), nil),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewJobs(Options{})
			m.Update(tt.sum.Namespace+"/"+tt.sum.Name, tt.sum)
			text, names := exposition(families(queueGenerators), tt.want)
			if err := testutil.GatherAndCompare(prometheus.GathererFunc(m.Store.Gather), strings.NewReader(text), names...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestQueueSeriesFollowTheState: a Job's queue series are state, replaced
// as its Queue changes: admitted after waiting leaves no waiting series,
// finished (no Queue) leaves none at all.
func TestQueueSeriesFollowTheState(t *testing.T) {
	m := NewJobs(Options{})
	jb := fixture.Job("ns", "train").Suspend()
	q := summaries.WaitingForQuota("team-a", "gpus", 0)
	m.Update("ns/train", summaries.InQueue(jb, nil, q))
	count := func(name string) int {
		n, err := testutil.GatherAndCount(prometheus.GathererFunc(m.Store.Gather), name)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("kubejob_queue_waiting_since_timestamp_seconds") != 1 {
		t.Fatal("a waiting Job has no waiting series")
	}
	q.State, q.Cause, q.Since = job.QueueAdmittedSuspended, "", fixture.T0.Add(time.Hour)
	m.Update("ns/train", summaries.InQueue(jb, nil, q))
	if w, a := count("kubejob_queue_waiting_since_timestamp_seconds"), count("kubejob_queue_admitted_suspended_since_timestamp_seconds"); w != 0 || a != 1 {
		t.Errorf("admitted: %d waiting, %d admitted series; want 0 and 1", w, a)
	}
	done := summaries.Of(fixture.Job("ns", "train").Started(0).Status(0, 0, 1, 0).Complete(60), nil)
	m.Update("ns/train", done)
	for _, f := range families(queueGenerators) {
		if n := count(f.Name); n != 0 {
			t.Errorf("finished: %d series of %s, want none", n, f.Name)
		}
	}
}
