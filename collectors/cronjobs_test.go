package collectors

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// What the CronJobs' Book reports (which CronJobs, which runs, what it
// remembers) is tested in cronjob/book_test.go; these tests are how a
// CronJob's Summary is rendered, and that the Sink feeds the Book.

// renderCronJob renders one CronJob's summary as the Book tells it (at the
// zero time) and returns a Gatherer over the rendered store.
func renderCronJob(rec *cronjob.Record, runs ...cronjob.Run) prometheus.Gatherer {
	s := cronjob.Summarize("ns", "report", rec, runs, cronjob.Memory{}, time.Time{})
	m := cronJobMetrics{store: metricstore.New(families(cronJobGenerators))}
	m.Update("ns/report", &s)
	return prometheus.GathererFunc(m.store.Gather)
}

// reportRuns are runs of CronJob "report": one failed, a newer one failed
// later, one succeeded after, one running.
func reportRuns() []cronjob.Run {
	uid := fixture.CronJob("ns", "report", "").J.UID
	run := func(name string, started int) cronjob.Run {
		return cronjob.Run{Name: name, OwnerUID: uid, Created: fixture.T0, Started: fixture.At(started).Time}
	}
	failed := func(r cronjob.Run, reason string, at int) cronjob.Run {
		r.Failed, r.Reason, r.Finished = true, reason, fixture.At(at).Time
		return r
	}
	r3 := run("report-3", 300)
	r3.Succeeded, r3.Finished = true, fixture.At(400).Time
	return []cronjob.Run{
		failed(run("report-1", 0), "BackoffLimitExceeded", 50),
		failed(run("report-2", 100), "DeadlineExceeded", 200),
		r3,
		run("report-4", 500),
	}
}

func gather(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(g, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// TestCronJobsFromRuns: without the CronJob object, a CronJob's series are
// what its runs say; the families the object gives have none.
func TestCronJobsFromRuns(t *testing.T) {
	gather(t, renderCronJob(nil, reportRuns()...), `
# HELP kubejob_cronjob_last_failure_timestamp_seconds When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started.
# TYPE kubejob_cronjob_last_failure_timestamp_seconds gauge
kubejob_cronjob_last_failure_timestamp_seconds{cronjob="report",namespace="ns",reason="DeadlineExceeded"} `+ts(200)+`
# HELP kubejob_cronjob_last_success_duration_seconds How long the newest successful run of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs.
# TYPE kubejob_cronjob_last_success_duration_seconds gauge
kubejob_cronjob_last_success_duration_seconds{cronjob="report",namespace="ns"} 100
# HELP kubejob_cronjob_last_success_timestamp_seconds When the newest successful run of the CronJob completed, in Unix seconds: of its runs seen since the exporter started, or the controller's status.lastSuccessfulTime if newer.
# TYPE kubejob_cronjob_last_success_timestamp_seconds gauge
kubejob_cronjob_last_success_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(400)+`
# HELP kubejob_cronjob_last_run_duration_seconds How long the newest finished run present ran, in seconds, with its result (succeeded or failed) and, when it failed, its terminal reason.
# TYPE kubejob_cronjob_last_run_duration_seconds gauge
kubejob_cronjob_last_run_duration_seconds{cronjob="report",namespace="ns",reason="",result="succeeded"} 100
# HELP kubejob_cronjob_active_runs Runs of the CronJob running now: the controller's status.active, or, without the CronJob objects, its unfinished Jobs present.
# TYPE kubejob_cronjob_active_runs gauge
kubejob_cronjob_active_runs{cronjob="report",namespace="ns"} 1
# HELP kubejob_cronjob_consecutive_failed_runs How many of the newest finished runs present failed in a row, back to a success (0 when the newest succeeded).
# TYPE kubejob_cronjob_consecutive_failed_runs gauge
kubejob_cronjob_consecutive_failed_runs{cronjob="report",namespace="ns"} 0
`, "kubejob_cronjob_last_failure_timestamp_seconds", "kubejob_cronjob_last_success_duration_seconds", "kubejob_cronjob_last_success_timestamp_seconds",
		"kubejob_cronjob_last_run_duration_seconds", "kubejob_cronjob_active_runs", "kubejob_cronjob_consecutive_failed_runs",
		"kubejob_cronjob_info", "kubejob_cronjob_created_timestamp_seconds", "kubejob_cronjob_suspended",
		"kubejob_cronjob_last_schedule_timestamp_seconds", "kubejob_cronjob_next_schedule_timestamp_seconds", "kubejob_cronjob_schedule_interval_seconds")
}

// TestCronJobsFromObject: with the CronJob object, its schedule and the
// controller's status are rendered too.
func TestCronJobsFromObject(t *testing.T) {
	rec := cronjob.NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").LastScheduled(500).Active("report-4").J)
	gather(t, renderCronJob(rec, reportRuns()...), `
# HELP kubejob_cronjob_info The CronJob's schedule (at most 128 bytes), time zone (empty: the controller's) and concurrency policy. Always 1; needs the CronJob objects.
# TYPE kubejob_cronjob_info gauge
kubejob_cronjob_info{concurrency_policy="Allow",cronjob="report",namespace="ns",schedule="*/10 * * * *",timezone=""} 1
# HELP kubejob_cronjob_created_timestamp_seconds When the CronJob was created, in Unix seconds; needs the CronJob objects.
# TYPE kubejob_cronjob_created_timestamp_seconds gauge
kubejob_cronjob_created_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(-30*86400)+`
# HELP kubejob_cronjob_last_schedule_timestamp_seconds The scheduled time of the newest run the CronJob controller started (status.lastScheduleTime), in Unix seconds.
# TYPE kubejob_cronjob_last_schedule_timestamp_seconds gauge
kubejob_cronjob_last_schedule_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(500)+`
# HELP kubejob_cronjob_next_schedule_timestamp_seconds When the next run is due: the first scheduled time after the newest run the controller started (or after the creation), in the schedule's time zone, in Unix seconds. In the past, a run is overdue: held back by an active run (concurrencyPolicy Forbid), missed past startingDeadlineSeconds, or not started by the controller.
# TYPE kubejob_cronjob_next_schedule_timestamp_seconds gauge
kubejob_cronjob_next_schedule_timestamp_seconds{cronjob="report",namespace="ns"} `+ts(600)+`
# HELP kubejob_cronjob_schedule_interval_seconds Seconds between the run due next and the one after it.
# TYPE kubejob_cronjob_schedule_interval_seconds gauge
kubejob_cronjob_schedule_interval_seconds{cronjob="report",namespace="ns"} 600
# HELP kubejob_cronjob_last_failure_timestamp_seconds When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started.
# TYPE kubejob_cronjob_last_failure_timestamp_seconds gauge
kubejob_cronjob_last_failure_timestamp_seconds{cronjob="report",namespace="ns",reason="DeadlineExceeded"} `+ts(200)+`
`, "kubejob_cronjob_info", "kubejob_cronjob_created_timestamp_seconds", "kubejob_cronjob_suspended", "kubejob_cronjob_last_schedule_timestamp_seconds",
		"kubejob_cronjob_next_schedule_timestamp_seconds", "kubejob_cronjob_schedule_interval_seconds", "kubejob_cronjob_last_failure_timestamp_seconds")

	suspended := cronjob.NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").Suspend().J)
	gather(t, renderCronJob(suspended), `
# HELP kubejob_cronjob_suspended 1 while the CronJob is suspended (spec.suspend): it starts no runs; absent otherwise.
# TYPE kubejob_cronjob_suspended gauge
kubejob_cronjob_suspended{cronjob="report",namespace="ns"} 1
`, "kubejob_cronjob_suspended")
}

// TestSinkCronJobs: what the watcher reports of CronJobs and their runs
// reaches the Book through the Sink, and the Book's changes the
// per-CronJob series.
func TestSinkCronJobs(t *testing.T) {
	crons := NewCronJobs()
	sink := Sink{Jobs: NewJobs(Options{}), Crons: crons, Outcomes: NewOutcomes(time.Hour, 10)}
	run := job.Summarize(fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	sink.JobChanged("ns/report-1", &run)
	if !crons.Store.Has("ns/report") || crons.Len() != 1 {
		t.Fatalf("a run's CronJob not rendered: %v", crons.Store.Keys())
	}
	sink.CronJobObjects(true)
	if crons.Store.Has("ns/report") || !crons.Objects() {
		t.Error("with the objects watched, a CronJob without its object still rendered")
	}
	sink.CronJobChanged(cronjob.NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").J))
	if _, ok := crons.Summary("ns/report", fixture.T0); !ok || !crons.Store.Has("ns/report") {
		t.Error("CronJob object not rendered or not reported")
	}
	sink.CronJobGone("ns/report")
	if crons.Store.Has("ns/report") {
		t.Error("deleted CronJob still rendered")
	}
	sink.CronJobObjects(false)
	sink.JobGone("ns/report-1")
	if crons.Len() != 0 || len(crons.Summaries(fixture.T0)) != 0 {
		t.Errorf("CronJob without object or runs still rendered: %v", crons.Store.Keys())
	}
}
