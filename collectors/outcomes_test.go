package collectors

import (
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
	names := []string{"kubejob_owner_jobs_finished_total", "kubejob_owner_last_failure_timestamp_seconds", "kubejob_owner_pod_failures_total"}
	var text strings.Builder
	for i, f := range outcomeFamilies {
		if want == "" {
			break
		}
		text.WriteString("# HELP " + f.Name + " " + f.Help + "\n# TYPE " + f.Name + " " + f.Type + "\n")
		for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
			if strings.HasPrefix(line, names[i]+"{") {
				text.WriteString(line + "\n")
			}
		}
	}
	if err := testutil.GatherAndCompare(prometheus.GathererFunc(o.Store.Gather), strings.NewReader(text.String()), names...); err != nil {
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
