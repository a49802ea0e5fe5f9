package collectors

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func observe(c *CronJobs, jb *fixture.JobBuilder) {
	s := job.Summarize(jb.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	c.Observe(&s)
}

// report runs of CronJob "report" (UID uid-cron-report), in any order.
func reportRuns(c *CronJobs) {
	observe(c, fixture.Job("ns", "report-2").OwnedByCronJob("report").Started(100).Failed("DeadlineExceeded", 200))
	observe(c, fixture.Job("ns", "report-3").OwnedByCronJob("report").Started(300).Complete(400))
	// An older failed run seen later (re-list order is arbitrary) must not
	// replace the newer one.
	observe(c, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 50))
	observe(c, fixture.Job("ns", "report-4").OwnedByCronJob("report").Started(500))
	// Jobs without a CronJob owner, or owned by something else, are no runs.
	observe(c, fixture.Job("ns", "adhoc").Started(0).Failed("BackoffLimitExceeded", 900))
	other := fixture.Job("ns", "wf-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 900)
	other.J.OwnerReferences[0].Kind = "Workflow"
	observe(c, other)
}

func gather(t *testing.T, c *CronJobs, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(prometheus.GathererFunc(c.Store.Gather), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// TestCronJobsFromRuns: without the CronJob objects, a CronJob is what its
// runs say, while one is present.
func TestCronJobsFromRuns(t *testing.T) {
	c := NewCronJobs()
	reportRuns(c)
	gather(t, c, `
# HELP kubejob_cronjob_last_failure_timestamp_seconds When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started.
# TYPE kubejob_cronjob_last_failure_timestamp_seconds gauge
kubejob_cronjob_last_failure_timestamp_seconds{cronjob="report",namespace="ns",reason="DeadlineExceeded"} `+ts(200)+`
# HELP kubejob_cronjob_last_success_duration_seconds How long the newest successful run of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs.
# TYPE kubejob_cronjob_last_success_duration_seconds gauge
kubejob_cronjob_last_success_duration_seconds{cronjob="report",namespace="ns"} 100
# HELP kubejob_cronjob_last_success_timestamp_seconds When the newest successful run of the CronJob completed, in Unix seconds: of its runs seen since the exporter started, or the controller's status.lastSuccessfulTime if newer.
# TYPE kubejob_cronjob_last_success_timestamp_seconds gauge
kubejob_cronjob_last_success_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(400)+`
# HELP kubejob_cronjob_active_runs Runs of the CronJob running now: the controller's status.active, or, without the CronJob objects, its unfinished Jobs present.
# TYPE kubejob_cronjob_active_runs gauge
kubejob_cronjob_active_runs{cronjob="report",namespace="ns"} 1
# HELP kubejob_cronjob_consecutive_failed_runs How many of the newest finished runs present failed in a row, back to a success (0 when the newest succeeded).
# TYPE kubejob_cronjob_consecutive_failed_runs gauge
kubejob_cronjob_consecutive_failed_runs{cronjob="report",namespace="ns"} 0
`, "kubejob_cronjob_last_failure_timestamp_seconds", "kubejob_cronjob_last_success_duration_seconds", "kubejob_cronjob_last_success_timestamp_seconds",
		"kubejob_cronjob_active_runs", "kubejob_cronjob_consecutive_failed_runs", "kubejob_cronjob_info")
	if c.Len() != 1 {
		t.Errorf("reporting %d CronJobs, want 1", c.Len())
	}
	for _, name := range []string{"report-1", "report-2", "report-3", "report-4"} {
		c.Forget("ns/" + name)
	}
	if c.Len() != 0 || len(c.state) != 0 {
		t.Errorf("CronJob without runs still reported (%d) or remembered (%d)", c.Len(), len(c.state))
	}
}

// TestCronJobsFromObjects: with the CronJob objects, a CronJob is reported
// while its object exists, with only the runs whose owner has its UID; an
// owner reference to a CronJob that does not exist reports nothing.
func TestCronJobsFromObjects(t *testing.T) {
	c := NewCronJobs()
	c.WatchObjects(true)
	reportRuns(c)
	observe(c, fixture.Job("ns", "ghost-1").OwnedByCronJob("ghost").Started(0).Failed("BackoffLimitExceeded", 900))
	if c.Len() != 0 {
		t.Fatalf("reported before any CronJob object: %v", c.Store.Keys())
	}
	// The object of "report"; a run of an older "report" (another UID)
	// does not count.
	old := fixture.Job("ns", "report-0").OwnedByCronJob("report").Started(0).Failed("PodFailurePolicy", 950)
	old.J.OwnerReferences[0].UID = "uid-of-a-deleted-report"
	observe(c, old)
	c.SetCronJob(cronjob.NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").LastScheduled(500).Active("report-4").J))
	gather(t, c, `
# HELP kubejob_cronjob_info The CronJob's schedule (at most 128 bytes), time zone (empty: the controller's) and concurrency policy. Always 1; needs the CronJob objects.
# TYPE kubejob_cronjob_info gauge
kubejob_cronjob_info{concurrency_policy="Allow",cronjob="report",namespace="ns",schedule="*/10 * * * *",timezone=""} 1
# HELP kubejob_cronjob_last_failure_timestamp_seconds When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started.
# TYPE kubejob_cronjob_last_failure_timestamp_seconds gauge
kubejob_cronjob_last_failure_timestamp_seconds{cronjob="report",namespace="ns",reason="DeadlineExceeded"} `+ts(200)+`
# HELP kubejob_cronjob_next_schedule_timestamp_seconds When the next run is due: the first scheduled time after the newest run the controller started (or after the creation), in the schedule's time zone, in Unix seconds. In the past, a run is overdue: held back by an active run (concurrencyPolicy Forbid), missed past startingDeadlineSeconds, or not started by the controller.
# TYPE kubejob_cronjob_next_schedule_timestamp_seconds gauge
kubejob_cronjob_next_schedule_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(600)+`
`, "kubejob_cronjob_info", "kubejob_cronjob_last_failure_timestamp_seconds", "kubejob_cronjob_next_schedule_timestamp_seconds")
	if c.Len() != 1 {
		t.Errorf("reporting %v, want ns/report only", c.Store.Keys())
	}
	// The runs go (history limits): the object keeps the CronJob and its
	// memory; the object goes: everything goes.
	for _, name := range []string{"report-0", "report-1", "report-2", "report-3", "report-4"} {
		c.Forget("ns/" + name)
	}
	if !c.Store.Has("ns/report") {
		t.Error("CronJob not reported once its runs are gone, while its object exists")
	}
	c.DeleteCronJob("ns/report")
	if c.Store.Has("ns/report") {
		t.Error("CronJob still reported after its object was deleted")
	}
	// Falling back (the watch fails): the ghost's run is reported again.
	c.WatchObjects(false)
	if !c.Store.Has("ns/ghost") {
		t.Errorf("without the objects the runs' CronJob is not reported: %v", c.Store.Keys())
	}
}
