package failing

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// TestDeletedJobsBoundedAndExpire: the board keeps at most its bound of
// deleted Jobs, the oldest deletion going first, and each for keepFor
// after its deletion, dropped when it is next read or written; a deletion
// time ahead of the exporter's clock counts from the clock.
func TestDeletedJobsBoundedAndExpire(t *testing.T) {
	b := NewBoard(3, time.Hour)
	names := func(now time.Time) []string {
		var out []string
		for _, r := range b.Select(now, "", 100, nil, 0).Rows {
			out = append(out, r.Name)
		}
		return out
	}
	del := func(name string, deletedAt, now time.Time) {
		j, pods := summaries.FailedJob("batch", name, 10)
		b.JobDeleted("batch/"+name, summaries.Last(j, pods, deletedAt), now)
	}
	for i := range 5 {
		del(fmt.Sprintf("j%d", i), summaries.At(100+60*i), summaries.At(100+60*i))
	}
	// All failed at 10: listed by name among equals; j0 and j1 evicted.
	if got := names(summaries.At(400)); strings.Join(got, " ") != "j2 j3 j4" {
		t.Errorf("kept %v, want the 3 newest deletions", got)
	}
	if _, ok := b.KeptJob("batch", "j1", "", summaries.At(400)); ok {
		t.Error("j1 still kept beyond the bound")
	}
	// A deletion older than all kept is the one that goes.
	del("late-news", summaries.At(150), summaries.At(400))
	if got := names(summaries.At(400)); strings.Join(got, " ") != "j2 j3 j4" {
		t.Errorf("kept %v after an older deletion arrived, want it evicted at once", got)
	}
	// Deleted at 220, 280, 340: j2 expires one hour after 220.
	if n := b.DeletedKept(summaries.At(220).Add(time.Hour - time.Second)); n != 3 {
		t.Errorf("%d kept a second before the first expiry, want 3", n)
	}
	if n := b.DeletedKept(summaries.At(220).Add(time.Hour)); n != 2 {
		t.Errorf("%d kept at the first expiry, want 2", n)
	}
	if got := names(summaries.At(340).Add(time.Hour)); len(got) != 0 {
		t.Errorf("kept %v an hour after the last deletion", got)
	}
	// Deleted longer ago than keepFor (a tombstone after a long outage):
	// nothing to keep. Deleted "in the future" (a clock ahead): it
	// expires keepFor after the exporter learnt of it.
	now := summaries.At(10000)
	del("ancient", now.Add(-2*time.Hour), now)
	del("ahead", now.Add(time.Hour), now)
	if _, ok := b.KeptJob("batch", "ancient", "", now); ok {
		t.Error("a Job deleted 2h ago was kept")
	}
	if _, ok := b.KeptJob("batch", "ahead", "", now.Add(time.Hour-time.Second)); !ok {
		t.Error("a deletion stamped ahead of the clock expired early")
	}
	if _, ok := b.KeptJob("batch", "ahead", "", now.Add(time.Hour)); ok {
		t.Error("a deletion stamped ahead of the clock outlived keepFor")
	}
	if len(b.deleted.order) != len(b.deleted.byJob) {
		t.Errorf("heap %d and map %d disagree", len(b.deleted.order), len(b.deleted.byJob))
	}
}

// TestDeletedJobMemory measures the heap a kept deleted Job costs, with 50
// failed attempts present and 20 departed (the most a Summary lists), and
// holds it to 20 KiB: --evidence.max-jobs times this is what the evidence
// costs at most (docs/scale.md).
func TestDeletedJobMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1,000 Summaries")
	}
	const jobs = 1000
	j := fixture.Job("batch", "nightly-report-generator").Command("/app/run", "--all").BackoffLimit(int32(job.MaxAttempts+job.MaxDepartedPods)).
		Started(0).Status(0, 0, 0, int32(job.MaxAttempts+job.MaxDepartedPods)).Failed("BackoffLimitExceeded", 5000)
	var pods, gone []*fixture.PodBuilder
	for i := range job.MaxAttempts {
		pods = append(pods, fixture.Pod(j.J, fmt.Sprintf("x%04d", i), 10*i).FailedWith("app", 137, "OOMKilled", 10*i+5))
	}
	for i := range job.MaxDepartedPods {
		gone = append(gone, fixture.Pod(j.J, fmt.Sprintf("g%04d", i), 10*i).FailedWith("app", 1, "Error", 10*i+5))
	}
	rec := job.NewJobRecord(j.J)
	b := NewBoard(jobs, time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range jobs {
		// Each Summary made afresh, as the watcher makes each: its
		// strings its own.
		s := summaries.Of(j, pods)
		var records []*job.PodRecord
		for _, p := range gone {
			r, err := job.RecordPod(p.P)
			if err != nil {
				t.Fatal(err)
			}
			records = append(records, r.(*job.PodRecord))
		}
		s.Departed = job.DepartedOf(rec, records)
		s.UID = types.UID(fmt.Sprintf("6f1c2a4e-0000-4000-8000-%012d", i))
		s.Deleted = summaries.At(6000)
		b.JobDeleted("batch/nightly-report-generator", s, summaries.At(6000))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := b.DeletedKept(summaries.At(6000)); n != jobs {
		t.Fatalf("%d kept, want %d", n, jobs)
	}
	e, _ := b.KeptJob("batch", "nightly-report-generator", "", summaries.At(6000))
	if len(e.Kept.Attempts) != job.MaxAttempts || len(e.Kept.Departed.Attempts) != job.MaxDepartedPods {
		t.Fatalf("%d attempts and %d departed kept, want %d and %d", len(e.Kept.Attempts), len(e.Kept.Departed.Attempts), job.MaxAttempts, job.MaxDepartedPods)
	}
	perJob := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / jobs
	t.Logf("a kept deleted Job with %d attempts and %d departed: %d bytes", job.MaxAttempts, job.MaxDepartedPods, perJob)
	if perJob > 20<<10 {
		t.Errorf("a kept deleted Job costs %d bytes, more than 20 KiB", perJob)
	}
	runtime.KeepAlive(b)
}

// TestBoardJudges: a Job is listed with the health and the alert its
// report gives, its state and cause in a few words, and leaves when it
// recovers or goes; a Job without trouble takes no room.
func TestBoardJudges(t *testing.T) {
	b := NewBoard(0, 0)
	train := fixture.Job("ml", "train").BackoffLimit(4).MemoryLimit("app", "256Mi").Started(0).Status(1, 0, 0, 1)
	b.JobChanged("ml/train", summaries.Of(train, []*fixture.PodBuilder{fixture.Pod(train.J, "a", 0).FailedWith("app", 137, "OOMKilled", 300), fixture.Pod(train.J, "b", 320).Running(330)}), summaries.Now)
	ok := fixture.Job("batch", "ok").Started(0).Status(1, 1, 0, 0)
	b.JobChanged("batch/ok", summaries.Of(ok, []*fixture.PodBuilder{fixture.Pod(ok.J, "a", 0).Running(5)}), summaries.Now)
	e, listed := b.Listed("ml/train")
	if !listed || e.Health != diagnose.Failing || e.Alert != diagnose.AlertOOMKilled || !e.Since.Equal(summaries.At(300)) ||
		!strings.HasPrefix(e.State, "failing, retrying: 1 failures, fails for good at 5") || !strings.HasPrefix(e.Cause, "container app: memory limit 256Mi hit") {
		t.Errorf("ml/train: %+v %v", e, listed)
	}
	if _, listed := b.Listed("batch/ok"); listed {
		t.Error("a Job running fine is listed")
	}
	if c, ok := b.cause("ml/train", summaries.Now); !ok || c != e.Cause {
		t.Errorf("cause %q %v, want the row's", c, ok)
	}
	b.JobGone("ml/train")
	if sel := b.Select(summaries.Now, "", 100, nil, 0); sel.Total != 0 || len(sel.Rows) != 0 {
		t.Errorf("after the Job went: %+v", sel)
	}
}

// TestCronJobRows: a CronJob whose newest run failed is listed with its
// run's cause and alert KubeCronJobLastRunFailed; one whose run is overdue
// past the grace with KubeCronJobMissedSchedule; the counts cover both.
func TestCronJobRows(t *testing.T) {
	b := NewBoard(0, 0)
	run := fixture.Job("batch", "nightly-29000000").OwnedByCronJob("nightly").BackoffLimit(0).MemoryLimit("app", "1Gi").Started(400).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 500)
	runSummary := summaries.Of(run, []*fixture.PodBuilder{fixture.Pod(run.J, "a", 400).FailedWith("app", 137, "OOMKilled", 500)})
	b.JobChanged("batch/nightly-29000000", runSummary, summaries.Now)
	nightly := cronjob.Summarize("batch", "nightly", cronjob.NewRecord(fixture.CronJob("batch", "nightly", "0 12 * * *").LastScheduled(400).J),
		[]cronjob.Run{cronjob.RunOf(runSummary)}, cronjob.Memory{}, summaries.Now)
	// Every minute, last scheduled at T0: its run due at T0+60 is late.
	late := cronjob.Summarize("batch", "minutely", cronjob.NewRecord(fixture.CronJob("batch", "minutely", "* * * * *").LastScheduled(0).J), nil, cronjob.Memory{}, summaries.Now)
	sel := b.Select(summaries.Now, "", 100, []cronjob.Summary{nightly, late}, diagnose.DefaultMissedGrace)
	alerts := map[string]string{}
	for _, r := range sel.Rows {
		if r.CronJobRow {
			alerts[r.Name] = r.Alert
		}
	}
	if alerts["nightly"] != diagnose.AlertCronJobLastRunFailed || alerts["minutely"] != diagnose.AlertCronJobMissedSchedule {
		t.Errorf("CronJob alerts %v", alerts)
	}
	if sel.Total != 3 || sel.Counts[diagnose.Failed] != 2 || sel.Counts[diagnose.Stuck] != 1 {
		t.Errorf("total %d, counts %v", sel.Total, sel.Counts)
	}
}

// recordingSink records what reaches the next Sink.
type recordingSink struct {
	watcher.Sink // nil: only the Job methods are called
	calls        []string
}

func (r *recordingSink) JobChanged(key string, _ *job.Summary) {
	r.calls = append(r.calls, "changed "+key)
}
func (r *recordingSink) JobDeleted(key string, _ *job.Summary) {
	r.calls = append(r.calls, "deleted "+key)
}
func (r *recordingSink) JobGone(key string) { r.calls = append(r.calls, "gone "+key) }

// TestSinkFeedsBothViews: what the watcher reports reaches the metrics'
// Sink and the board alike.
func TestSinkFeedsBothViews(t *testing.T) {
	next := &recordingSink{}
	b := NewBoard(0, 0)
	s := Sink{Sink: next, Board: b}
	j, pods := summaries.FailedJob("batch", "report", 100)
	s.JobChanged("batch/report", summaries.Of(j, pods))
	if _, listed := b.Listed("batch/report"); !listed {
		t.Error("the failed Job is not on the board")
	}
	s.JobDeleted("batch/report", summaries.Last(j, pods, time.Now()))
	s.JobGone("batch/report")
	if got := strings.Join(next.calls, ", "); got != "changed batch/report, deleted batch/report, gone batch/report" {
		t.Errorf("the next Sink got %s", got)
	}
	if _, listed := b.Listed("batch/report"); listed || b.DeletedKept(time.Now()) != 1 {
		t.Errorf("after its deletion: listed %v, %d kept; want its evidence kept", listed, b.DeletedKept(time.Now()))
	}
}
