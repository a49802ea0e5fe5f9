package cronjob

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func cronJob(schedule string, mutate ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "batch", Name: "nightly", UID: "cj-1", CreationTimestamp: metav1.NewTime(t0.Add(-48 * time.Hour))},
		Spec:       batchv1.CronJobSpec{Schedule: schedule},
	}
	for _, m := range mutate {
		m(cj)
	}
	return cj
}

func lastScheduled(t time.Time) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Status.LastScheduleTime = ptr.To(metav1.NewTime(t)) }
}

// TestNextRun: the next run is due at the first scheduled time after the
// last run the controller started (or after the creation), in the
// schedule's time zone, as the CronJob controller computes it.
func TestNextRun(t *testing.T) {
	for _, tt := range []struct {
		what     string
		cj       *batchv1.CronJob
		next     time.Time
		interval time.Duration
	}{
		{"daily at 3, last run today", cronJob("0 3 * * *", lastScheduled(t0.Add(-9*time.Hour))), t0.Add(15 * time.Hour), 24 * time.Hour},
		{"daily at 3, last run two days ago: overdue", cronJob("0 3 * * *", lastScheduled(t0.Add(-57*time.Hour))), t0.Add(-33 * time.Hour), 24 * time.Hour},
		{"never ran: after the creation", cronJob("*/5 * * * *"), t0.Add(-48*time.Hour + 5*time.Minute), 5 * time.Minute},
		{"spec.timeZone", cronJob("0 3 * * *", lastScheduled(t0.Add(-9*time.Hour)), func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("America/New_York") }),
			time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"CRON_TZ in the schedule wins", cronJob("CRON_TZ=Asia/Tokyo 0 3 * * *", lastScheduled(t0.Add(-9*time.Hour)), func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("America/New_York") }),
			time.Date(2026, 11, 1, 18, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"@every", cronJob("@every 90m", lastScheduled(t0)), t0.Add(90 * time.Minute), 90 * time.Minute},
	} {
		rec := NewRecord(tt.cj)
		s, err := rec.ParseSchedule()
		if err != nil {
			t.Fatalf("%s: %v", tt.what, err)
		}
		next, interval := rec.NextRun(s)
		if !next.Equal(tt.next) || interval != tt.interval {
			t.Errorf("%s: next %s every %s, want %s every %s", tt.what, next.UTC(), interval, tt.next, tt.interval)
		}
	}
}

// TestScheduleErrors: what the controller cannot run either is said, not
// guessed, and a schedule that makes the parser panic does not panic here.
func TestScheduleErrors(t *testing.T) {
	for _, cj := range []*batchv1.CronJob{
		cronJob("not a schedule"),
		cronJob("0 3 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Olympus") }),
		cronJob("TZ=0 0 * * *"),
	} {
		if _, err := NewRecord(cj).ParseSchedule(); err == nil {
			t.Errorf("schedule %q (zone %v): no error", cj.Spec.Schedule, cj.Spec.TimeZone)
		}
	}
	long := cronJob(strings.Repeat("1,", 200) + "1 * * * *")
	rec := NewRecord(long)
	if len(rec.Schedule) > job.MaxScheduleLength || !strings.HasSuffix(rec.Schedule, job.CutMarker) {
		t.Errorf("schedule kept as %d bytes: %q", len(rec.Schedule), rec.Schedule)
	}
}

// TestLongSchedule: a schedule of a megabyte, which the API server
// accepts, is shown cut but read whole (parsed when the record is made,
// the text not kept); its errors quote it cut.
func TestLongSchedule(t *testing.T) {
	long := strings.Repeat("7,", 500_000) + "7 * * * *"
	rec := NewRecord(cronJob(long, lastScheduled(t0)))
	if len(rec.Schedule) > job.MaxScheduleLength || !strings.HasSuffix(rec.Schedule, job.CutMarker) {
		t.Fatalf("schedule kept as %d bytes", len(rec.Schedule))
	}
	s, err := rec.ParseSchedule()
	if err != nil {
		t.Fatal(err)
	}
	if next, interval := rec.NextRun(s); !next.Equal(t0.Add(7*time.Minute)) || interval != time.Hour {
		t.Errorf("next %s every %s, want %s every 1h", next, interval, t0.Add(7*time.Minute))
	}
	bad := NewRecord(cronJob(strings.Repeat("x", 1<<20)))
	if _, err := bad.ParseSchedule(); err == nil || len(err.Error()) > 4*job.MaxScheduleLength {
		t.Errorf("error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
}

// TestSharedLocation: every CronJob of a zone shares one loaded location
// (a few KiB each otherwise), whether the zone comes from spec.timeZone
// or the schedule.
func TestSharedLocation(t *testing.T) {
	var locs []*time.Location
	for _, cj := range []*batchv1.CronJob{
		cronJob("0 3 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Europe/Paris") }),
		cronJob("0 4 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Europe/Paris") }),
		cronJob("CRON_TZ=Europe/Paris 0 5 * * *"),
	} {
		s, err := NewRecord(cj).ParseSchedule()
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, s.(*cron.SpecSchedule).Location)
	}
	if locs[0].String() != "Europe/Paris" || locs[0] != locs[1] || locs[1] != locs[2] {
		t.Errorf("locations not shared: %p %p %p", locs[0], locs[1], locs[2])
	}
}

func run(name string, created int, outcome string, finished int) Run {
	r := Run{Name: name, OwnerUID: "cj-1", Created: t0.Add(time.Duration(created) * time.Minute), Started: t0.Add(time.Duration(created) * time.Minute)}
	switch outcome {
	case "ok":
		r.Succeeded, r.Finished = true, t0.Add(time.Duration(finished)*time.Minute)
	case "fail":
		r.Failed, r.Reason, r.Finished = true, "BackoffLimitExceeded", t0.Add(time.Duration(finished)*time.Minute)
	}
	return r
}

// TestSummarize: the newest outcomes, the failures in a row, the runs
// newest first, an overdue run and what blocks it.
func TestSummarize(t *testing.T) {
	runs := []Run{
		run("nightly-1", -50, "ok", -45),
		run("nightly-2", -40, "fail", -35),
		run("nightly-4", -20, "running", 0),
		run("nightly-3", -30, "fail", -25),
	}
	// A Forbid CronJob every 10 minutes whose run nightly-4 (started at
	// -20m) still runs: the run due at -10m was not started.
	rec := NewRecord(cronJob("*/10 * * * *", lastScheduled(t0.Add(-20*time.Minute)), func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
		cj.Status.Active = []corev1.ObjectReference{{Name: "nightly-4"}}
	}))
	s := Summarize("batch", "nightly", rec, runs, Memory{}, t0)
	if s.ConsecutiveFailures != 2 || s.LastRun == nil || s.LastRun.Name != "nightly-3" {
		t.Errorf("consecutive failures %d, last run %v; want 2, nightly-3", s.ConsecutiveFailures, s.LastRun)
	}
	if !s.LastSuccess.Equal(t0.Add(-45*time.Minute)) || s.SuccessDuration != 5*time.Minute || !s.LastFailure.Equal(t0.Add(-25*time.Minute)) {
		t.Errorf("last success %s (%s), last failure %s", s.LastSuccess, s.SuccessDuration, s.LastFailure)
	}
	if !s.Next.Equal(t0.Add(-10*time.Minute)) || s.Overdue != 10*time.Minute || s.BlockedBy != "nightly-4" || s.Interval != 10*time.Minute {
		t.Errorf("next %s overdue %s blocked by %q every %s", s.Next, s.Overdue, s.BlockedBy, s.Interval)
	}
	if len(s.Runs) != 4 || s.Runs[0].Name != "nightly-4" || s.Runs[3].Name != "nightly-1" {
		t.Errorf("runs not newest first: %v", s.Runs)
	}

	// The controller's lastSuccessfulTime outlives the runs; the memory of
	// runs seen counts too.
	rec.LastSuccessfulTime = t0.Add(-5 * time.Minute)
	s = Summarize("batch", "nightly", rec, nil, Memory{LastFailure: t0.Add(-2 * time.Minute), FailureReason: "DeadlineExceeded"}, t0)
	if !s.LastSuccess.Equal(rec.LastSuccessfulTime) || s.SuccessDuration != 0 || s.FailureReason != "DeadlineExceeded" || s.ConsecutiveFailures != 0 {
		t.Errorf("from status and memory: %+v", s)
	}

	// Without the object: the unfinished runs are the active ones, and
	// nothing is known of the schedule.
	s = Summarize("batch", "nightly", nil, runs, Memory{}, t0)
	if len(s.Active) != 1 || s.Active[0] != "nightly-4" || !s.Next.IsZero() || s.BlockedBy != "" {
		t.Errorf("without the object: active %v next %s blocked %q", s.Active, s.Next, s.BlockedBy)
	}
}
