package cronjob

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"
)

// panicSchedule fails a test that asks it anything.
type panicSchedule struct{}

func (panicSchedule) Next(time.Time) time.Time {
	panic("the schedule was asked after the record was made")
}

var _ cron.Schedule = panicSchedule{}

// TestSummarizeDoesNoCronWork: the next run is computed when the record
// is made, once per change of the CronJob, and equals NextRun's answer;
// summarizing (the metrics' render, /failing, the runbook pages) asks the
// schedule nothing, so a page over many CronJobs whose schedules seldom
// come (30 February: years of search) costs no cron work under the lock
// the metrics worker needs.
func TestSummarizeDoesNoCronWork(t *testing.T) {
	for _, cj := range []*batchv1.CronJob{
		cronJob("0 3 * * *", lastScheduled(t0.Add(-57*time.Hour))),
		cronJob("0 0 30 2 *"), // never comes
		cronJob("0 3 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Europe/Berlin") }),
	} {
		rec := NewRecord(cj)
		s, err := rec.ParseSchedule()
		if err != nil {
			t.Fatal(err)
		}
		wantNext, wantInterval := rec.NextRun(s)
		rec.schedule = panicSchedule{}
		sum := Summarize(cj.Namespace, cj.Name, rec, nil, Memory{}, t0)
		if !sum.Next.Equal(wantNext) || sum.Interval != wantInterval {
			t.Errorf("%q: Summarize says next %v every %v, NextRun %v every %v", cj.Spec.Schedule, sum.Next, sum.Interval, wantNext, wantInterval)
		}
	}
	bad := NewRecord(cronJob("not a schedule"))
	if sum := Summarize("batch", "nightly", bad, nil, Memory{}, t0); sum.ScheduleError == "" || !sum.Next.IsZero() {
		t.Errorf("an invalid schedule: ScheduleError %q, Next %v", sum.ScheduleError, sum.Next)
	}
}
