package collectors

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// testOutcomes are Outcomes on a clock the test moves.
func testOutcomes(retention time.Duration, maxOwners int) (*Outcomes, *time.Time) {
	now := fixture.T0
	o := NewOutcomes(retention, maxOwners)
	o.now = func() time.Time { return now }
	return o, &now
}

func checkOutcomes(t *testing.T, o *Outcomes, want string) {
	t.Helper()
	text, names := exposition(outcomeFamilies, want)
	if err := testutil.GatherAndCompare(prometheus.GathererFunc(o.Store.Gather), strings.NewReader(text), names...); err != nil {
		t.Error(err)
	}
}

func TestOutcomesRender(t *testing.T) {
	o, _ := testOutcomes(0, 0)
	cron := job.Owner{Kind: job.OwnerKindCronJob, Name: "nightly"}
	build := job.Owner{Kind: job.OwnerKindJob, Name: "build"}
	o.JobFinished(job.Finish{Namespace: "ns", Owner: cron, Job: "nightly-1", Outcome: job.OutcomeFailed, Reason: "BackoffLimitExceeded", At: fixture.At(10).Time})
	o.JobFinished(job.Finish{Namespace: "ns", Owner: cron, Job: "nightly-2", Outcome: job.OutcomeFailed, Reason: "BackoffLimitExceeded", At: fixture.At(5).Time})
	o.JobFinished(job.Finish{Namespace: "ns", Owner: cron, Job: "nightly-3", Outcome: job.OutcomeSucceeded, At: fixture.At(20).Time})
	o.JobFinished(job.Finish{Namespace: "ns", Owner: cron, Job: "nightly-4", Outcome: job.OutcomeFailed, Reason: "DeadlineExceeded", At: fixture.At(30).Time})
	o.PodFailed(job.PodFailed{Namespace: "ns", Owner: build, Job: "build-x", Pod: "build-x-1", Failures: []job.PodFailure{
		{Container: "app", Reason: "Error", ExitCode: "1", Count: 1}, {Container: "app", Reason: "OOMKilled", ExitCode: "137", Count: 2}}})
	o.PodFailed(job.PodFailed{Namespace: "ns", Owner: build, Job: "build-y", Pod: "build-y-1", Failures: []job.PodFailure{
		{Container: "side", Reason: "Error", ExitCode: "1", Count: 1}}})
	// The newest failure of a reason stays the newest: the earlier one
	// reported later (nightly-2, at 5s) does not move it back.
	checkOutcomes(t, o, `
kubejob_owner_jobs_finished_total{namespace="ns",outcome="failed",owner_kind="CronJob",owner_name="nightly",reason="BackoffLimitExceeded"} 2
kubejob_owner_jobs_finished_total{namespace="ns",outcome="failed",owner_kind="CronJob",owner_name="nightly",reason="DeadlineExceeded"} 1
kubejob_owner_jobs_finished_total{namespace="ns",outcome="succeeded",owner_kind="CronJob",owner_name="nightly",reason=""} 1
kubejob_owner_last_failure_timestamp_seconds{namespace="ns",owner_kind="CronJob",owner_name="nightly",reason="BackoffLimitExceeded"} 1.79353441e+09
kubejob_owner_last_failure_timestamp_seconds{namespace="ns",owner_kind="CronJob",owner_name="nightly",reason="DeadlineExceeded"} 1.79353443e+09
kubejob_owner_pod_failures_total{exit_code="1",namespace="ns",owner_kind="Job",owner_name="build",reason="Error"} 2
kubejob_owner_pod_failures_total{exit_code="137",namespace="ns",owner_kind="Job",owner_name="build",reason="OOMKilled"} 2
`)
}

func TestOutcomesRetention(t *testing.T) {
	o, now := testOutcomes(time.Hour, 0)
	owner := job.Owner{Kind: job.OwnerKindJob, Name: "migrate"}
	sum := &job.Summary{Namespace: "ns", Name: "migrate", Owner: owner}
	o.JobSeen("ns/migrate", sum)
	o.JobFinished(job.Finish{Namespace: "ns", Owner: owner, Job: "migrate", Outcome: job.OutcomeFailed, Reason: "Other", At: *now})
	// While the Job is reported its owner stays, however long.
	*now = now.Add(48 * time.Hour)
	o.JobGone("ns/other") // any activity sweeps
	if o.Owners() != 1 {
		t.Fatalf("an owner with a Job present was dropped")
	}
	o.JobGone("ns/migrate")
	*now = now.Add(59 * time.Minute)
	o.JobGone("ns/other")
	if o.Owners() != 1 || !o.Store.Has("ns/Job/migrate") {
		t.Fatalf("the owner was dropped before its retention window ended")
	}
	*now = now.Add(2 * time.Minute)
	o.JobGone("ns/other")
	if o.Owners() != 0 || o.Store.Len() != 0 {
		t.Errorf("owners = %d, series of %d owners, want none an hour after its last Job went", o.Owners(), o.Store.Len())
	}
}

func TestOutcomesBounded(t *testing.T) {
	o, now := testOutcomes(0, 2)
	owner := func(name string) job.Owner { return job.Owner{Kind: job.OwnerKindJob, Name: name} }
	finish := func(name string) {
		*now = now.Add(time.Second)
		o.JobFinished(job.Finish{Namespace: "ns", Owner: owner(name), Job: name, Outcome: job.OutcomeSucceeded})
	}
	// a and b have Jobs reported: c has no room.
	for _, name := range []string{"a", "b"} {
		o.JobSeen("ns/"+name, &job.Summary{Namespace: "ns", Name: name, Owner: owner(name)})
		finish(name)
	}
	finish("c")
	finish("c")
	if o.Owners() != 2 || o.Dropped() != 2 || o.Store.Has("ns/Job/c") {
		t.Errorf("owners = %d, dropped = %d; want a and b kept and the 2 outcomes of c dropped", o.Owners(), o.Dropped())
	}
	// Once a's Job is gone, a new owner takes the place of the one idle
	// the longest without a Job.
	o.JobGone("ns/a")
	finish("d")
	if o.Owners() != 2 || o.Store.Has("ns/Job/a") || !o.Store.Has("ns/Job/d") || o.Dropped() != 2 {
		t.Errorf("owners = %d, dropped = %d, a kept %v, d kept %v; want a evicted for d", o.Owners(), o.Dropped(), o.Store.Has("ns/Job/a"), o.Store.Has("ns/Job/d"))
	}
	// An owner without a name (a record from elsewhere) is never one.
	o2, _ := testOutcomes(0, 0)
	o2.JobFinished(job.Finish{Namespace: "ns", Outcome: job.OutcomeSucceeded})
	if o2.Owners() != 0 || o2.Dropped() != 1 {
		t.Errorf("an owner without a name got series")
	}
}

func TestOutcomesOwnerChange(t *testing.T) {
	// A Job's owner can change (its CronJob's owner reference removed, its
	// label edited): it then keeps the new owner's series, not the old's.
	o, now := testOutcomes(time.Hour, 0)
	cron := job.Owner{Kind: job.OwnerKindCronJob, Name: "nightly"}
	mine := job.Owner{Kind: job.OwnerKindJob, Name: "nightly-1"}
	for _, owner := range []job.Owner{cron, mine} {
		o.JobFinished(job.Finish{Namespace: "ns", Owner: owner, Job: "x", Outcome: job.OutcomeSucceeded})
	}
	o.JobSeen("ns/nightly-1", &job.Summary{Namespace: "ns", Name: "nightly-1", Owner: cron})
	o.JobSeen("ns/nightly-1", &job.Summary{Namespace: "ns", Name: "nightly-1", Owner: mine})
	*now = now.Add(2 * time.Hour)
	o.JobGone("ns/other")
	if o.Owners() != 1 || !o.Store.Has("ns/Job/nightly-1") {
		t.Errorf("owners = %d; want only the Job's new owner kept", o.Owners())
	}
}

func TestOutcomesResourceSeconds(t *testing.T) {
	o, now := testOutcomes(time.Hour, 0)
	cron := job.Owner{Kind: job.OwnerKindCronJob, Name: "train"}
	held := func(outcome string, seconds float64) []job.ResourceTime {
		return []job.ResourceTime{{Outcome: outcome, Resource: job.ResourceCPU, Value: 2 * seconds},
			{Outcome: outcome, Resource: job.ResourceMemory, Value: 4 << 30 * seconds},
			{Outcome: outcome, Resource: "nvidia.com/gpu", Value: seconds}}
	}
	// Two runs of the CronJob add up under it: a pod that failed after
	// an hour, one that restarted for half an hour and then succeeded.
	o.JobSeen("ns/train-1", &job.Summary{Namespace: "ns", Name: "train-1", Owner: cron})
	o.PodFinished(job.PodFinished{Namespace: "ns", Owner: cron, Job: "train-1", Pod: "train-1-a", Held: held(job.OutcomeFailed, 3600)})
	o.PodFinished(job.PodFinished{Namespace: "ns", Owner: cron, Job: "train-2", Pod: "train-2-a",
		Held: append(held(job.OutcomeFailed, 1800), held(job.OutcomeSucceeded, 600)...)})
	checkOutcomes(t, o, `
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="failed",owner_kind="CronJob",owner_name="train",resource="cpu"} 10800
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="failed",owner_kind="CronJob",owner_name="train",resource="memory"} 2.319282339840e+13
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="failed",owner_kind="CronJob",owner_name="train",resource="nvidia.com/gpu"} 5400
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="succeeded",owner_kind="CronJob",owner_name="train",resource="cpu"} 1200
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="succeeded",owner_kind="CronJob",owner_name="train",resource="memory"} 2.57698037760e+12
kubejob_attempt_resource_seconds_total{namespace="ns",outcome="succeeded",owner_kind="CronJob",owner_name="train",resource="nvidia.com/gpu"} 600
`)
	// The owner's series go with its others: kept while a Job of it is
	// reported, dropped a retention window after the last went.
	*now = now.Add(3 * time.Hour)
	o.JobGone("ns/other")
	if !o.Store.Has("ns/CronJob/train") {
		t.Fatal("an owner with a Job present was dropped")
	}
	o.JobGone("ns/train-1")
	*now = now.Add(61 * time.Minute)
	o.JobGone("ns/other")
	if o.Owners() != 0 || o.Store.Len() != 0 {
		t.Errorf("owners = %d, want the resource-time dropped with its owner after the retention window", o.Owners())
	}
}

// TestOutcomesResourceSecondsMemory measures what an owner's resource-time
// adds to its outcome series (docs/scale.md): the map of its counts and
// the longer rendered buffer, for a GPU owner with failed and succeeded
// time (6 series), over owners that have a finished Job already.
func TestOutcomesResourceSecondsMemory(t *testing.T) {
	const owners = 2000
	o, _ := testOutcomes(0, owners)
	owner := func(i int) job.Owner { return job.Owner{Kind: job.OwnerKindJob, Name: "train-" + strconv.Itoa(i)} }
	for i := range owners {
		o.JobFinished(job.Finish{Namespace: "ns", Owner: owner(i), Job: "j", Outcome: job.OutcomeFailed, Reason: "BackoffLimitExceeded"})
	}
	held := []job.ResourceTime{}
	for _, outcome := range []string{job.OutcomeFailed, job.OutcomeSucceeded} {
		for _, r := range []string{job.ResourceCPU, job.ResourceMemory, "nvidia.com/gpu"} {
			held = append(held, job.ResourceTime{Outcome: outcome, Resource: r, Value: 123456.5})
		}
	}
	before := heapInUse()
	for i := range owners {
		o.PodFinished(job.PodFinished{Namespace: "ns", Owner: owner(i), Job: "j", Pod: "p", Held: held})
	}
	per := float64(heapInUse()-before) / owners
	runtime.KeepAlive(o)
	t.Logf("%.0f B per owner for its resource-time", per)
	if per > 4096 {
		t.Errorf("%.0f B per owner for 6 resource-time series, want at most 4 KiB", per)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func TestOutcomesQueueEvictions(t *testing.T) {
	o, now := testOutcomes(time.Hour, 0)
	sink := Sink{Outcomes: o} // the watcher reports evictions through the Sink
	cron := job.Owner{Kind: job.OwnerKindCronJob, Name: "train"}
	evicted := func(jobName, reason string) {
		sink.QueueEvicted(job.QueueEvicted{Namespace: "ml", Owner: cron, Job: jobName,
			Eviction: job.QueueEviction{Reason: reason, Message: "Preempted to accommodate a workload", At: *now}})
	}
	// Two runs of one CronJob add up under it; a reason Kueue may add
	// later, or none, counts as Other.
	o.JobSeen("ml/train-1", &job.Summary{Namespace: "ml", Name: "train-1", Owner: cron})
	evicted("train-1", "InCohortReclamation")
	evicted("train-2", "InCohortReclamation")
	evicted("train-2", "PodsReadyTimeout")
	evicted("train-2", "SomethingNew")
	evicted("train-2", "")
	checkOutcomes(t, o, `
kubejob_owner_queue_evictions_total{namespace="ml",owner_kind="CronJob",owner_name="train",reason="InCohortReclamation"} 2
kubejob_owner_queue_evictions_total{namespace="ml",owner_kind="CronJob",owner_name="train",reason="Other"} 2
kubejob_owner_queue_evictions_total{namespace="ml",owner_kind="CronJob",owner_name="train",reason="PodsReadyTimeout"} 1
`)
	// Kept while a Job of the owner is reported, dropped a retention
	// window after the last went, as the owner's other series.
	*now = now.Add(3 * time.Hour)
	o.JobGone("ml/other")
	if !o.Store.Has("ml/CronJob/train") {
		t.Fatal("an owner with a Job present was dropped")
	}
	o.JobGone("ml/train-1")
	*now = now.Add(59 * time.Minute)
	o.JobGone("ml/other")
	if !o.Store.Has("ml/CronJob/train") {
		t.Fatal("the evictions were dropped before the retention window ended")
	}
	*now = now.Add(2 * time.Minute)
	o.JobGone("ml/other")
	if o.Owners() != 0 || o.Store.Len() != 0 {
		t.Errorf("owners = %d, want the evictions dropped with their owner after the retention window", o.Owners())
	}
}

// TestOutcomesQueueEvictionsBounded: evictions take an owner's place as
// any outcome does: none beyond MaxOwners owners with a Job each,
// counted as dropped.
func TestOutcomesQueueEvictionsBounded(t *testing.T) {
	o, _ := testOutcomes(0, 1)
	a := job.Owner{Kind: job.OwnerKindJob, Name: "a"}
	o.JobSeen("ns/a", &job.Summary{Namespace: "ns", Name: "a", Owner: a})
	o.QueueEvicted(job.QueueEvicted{Namespace: "ns", Owner: a, Job: "a", Eviction: job.QueueEviction{Reason: "Preempted"}})
	o.QueueEvicted(job.QueueEvicted{Namespace: "ns", Owner: job.Owner{Kind: job.OwnerKindJob, Name: "b"}, Job: "b",
		Eviction: job.QueueEviction{Reason: "Preempted"}})
	if o.Owners() != 1 || o.Dropped() != 1 || o.Store.Has("ns/Job/b") {
		t.Errorf("owners = %d, dropped = %d; want a kept and the eviction of b dropped", o.Owners(), o.Dropped())
	}
}
