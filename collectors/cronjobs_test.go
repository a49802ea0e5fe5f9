package collectors

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func TestCronJobsKeepNewestRuns(t *testing.T) {
	c := NewCronJobs()
	observe := func(jb *fixture.JobBuilder) {
		s := job.Summarize(jb.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
		c.Observe(&s)
	}
	observe(fixture.Job("ns", "report-2").OwnedByCronJob("report").Started(100).Failed("DeadlineExceeded", 200))
	observe(fixture.Job("ns", "report-3").OwnedByCronJob("report").Started(300).Complete(400))
	// An older failed run seen later (re-list order is arbitrary) must not
	// replace the newer one.
	observe(fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 50))
	// Running runs, Jobs without a CronJob owner and Jobs owned by
	// something else are not CronJob outcomes.
	observe(fixture.Job("ns", "report-4").OwnedByCronJob("report").Started(500))
	observe(fixture.Job("ns", "adhoc").Started(0).Failed("BackoffLimitExceeded", 900))
	other := fixture.Job("ns", "wf-1").Started(0).Failed("BackoffLimitExceeded", 900)
	other.J.OwnerReferences = append(fixture.Job("x", "y").OwnedByCronJob("z").J.OwnerReferences[:0:0], fixture.Job("x", "y").OwnedByCronJob("z").J.OwnerReferences...)
	other.J.OwnerReferences[0].Kind = "Workflow"
	observe(other)

	want := `
# HELP kubejob_cronjob_last_failure_timestamp_seconds When the newest failed Job of the CronJob failed, in Unix seconds, with that Job's terminal reason, over its Jobs seen since the exporter started; gone with the CronJob's last Job.
# TYPE kubejob_cronjob_last_failure_timestamp_seconds gauge
kubejob_cronjob_last_failure_timestamp_seconds{cronjob="report",namespace="ns",reason="DeadlineExceeded"} ` + ts(200) + `
# HELP kubejob_cronjob_last_success_duration_seconds How long the newest successful Job of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs.
# TYPE kubejob_cronjob_last_success_duration_seconds gauge
kubejob_cronjob_last_success_duration_seconds{cronjob="report",namespace="ns"} 100
# HELP kubejob_cronjob_last_success_timestamp_seconds When the newest successful Job of the CronJob completed, in Unix seconds, over its Jobs seen since the exporter started; gone with the CronJob's last Job.
# TYPE kubejob_cronjob_last_success_timestamp_seconds gauge
kubejob_cronjob_last_success_timestamp_seconds{cronjob="report",namespace="ns"} ` + ts(400) + `
`
	if err := testutil.GatherAndCompare(prometheus.GathererFunc(c.Store.Gather), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if c.Len() != 1 {
		t.Errorf("tracking %d CronJobs, want 1", c.Len())
	}
}
