package cronjob

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// told is a Renderer that keeps what a Book told it: the CronJobs
// reported, as last updated.
type told map[string]Summary

func (t told) Update(key string, s *Summary) { t[key] = *s }
func (t told) Delete(key string)             { delete(t, key) }

func newBook() (*Book, told) {
	t := told{}
	return NewBook(t), t
}

func observe(b *Book, jb *fixture.JobBuilder) {
	s := job.Summarize(jb.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	b.Observe(&s)
}

func at(s int) time.Time { return fixture.At(s).Time }

// reportRuns are runs of CronJob "report" (UID uid-cron-report), in any
// order.
func reportRuns(b *Book) {
	observe(b, fixture.Job("ns", "report-2").OwnedByCronJob("report").Started(100).Failed("DeadlineExceeded", 200))
	observe(b, fixture.Job("ns", "report-3").OwnedByCronJob("report").Started(300).Complete(400))
	// An older failed run seen later (re-list order is arbitrary) must not
	// replace the newer one.
	observe(b, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 50))
	observe(b, fixture.Job("ns", "report-4").OwnedByCronJob("report").Started(500))
	// Jobs without a CronJob owner, or owned by something else, are no runs.
	observe(b, fixture.Job("ns", "adhoc").Started(0).Failed("BackoffLimitExceeded", 900))
	other := fixture.Job("ns", "wf-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 900)
	other.J.OwnerReferences[0].Kind = "Workflow"
	observe(b, other)
}

func runNames(runs []Run) []string {
	var names []string
	for _, r := range runs {
		names = append(names, r.Name)
	}
	return names
}

// TestBookFromRuns: without the CronJob objects, a CronJob is what its
// runs say, while one is present.
func TestBookFromRuns(t *testing.T) {
	b, out := newBook()
	reportRuns(b)
	if len(out) != 1 {
		t.Fatalf("renderer told %d CronJobs, want ns/report only: %v", len(out), out)
	}
	s := out["ns/report"]
	if s.Record != nil || !s.LastFailure.Equal(at(200)) || s.FailureReason != "DeadlineExceeded" ||
		!s.LastSuccess.Equal(at(400)) || s.SuccessDuration != 100*time.Second ||
		fmt.Sprint(s.Active) != "[report-4]" || s.ConsecutiveFailures != 0 ||
		fmt.Sprint(runNames(s.Runs)) != "[report-4 report-3 report-2 report-1]" {
		t.Errorf("summary told: %+v", s)
	}
	if got, ok := b.Summary("ns/report", at(1000)); !ok || !got.LastFailure.Equal(s.LastFailure) || len(got.Runs) != 4 {
		t.Errorf("Summary: %v %+v, want what the renderer was told", ok, got)
	}
	if got := b.Summaries(at(1000)); len(got) != 1 || got[0].Name != "report" {
		t.Errorf("Summaries: %+v, want ns/report", got)
	}
	for _, name := range []string{"report-1", "report-2", "report-3", "report-4"} {
		b.Forget("ns/" + name)
	}
	if len(out) != 0 {
		t.Errorf("CronJob without runs still rendered: %v", out)
	}
	if _, ok := b.Summary("ns/report", at(1000)); ok || len(b.Summaries(at(1000))) != 0 {
		t.Error("CronJob without runs still reported to pages")
	}
	if len(b.entries) != 0 || len(b.runs) != 0 {
		t.Errorf("CronJob without runs still remembered: %d CronJobs, %d runs", len(b.entries), len(b.runs))
	}
}

// TestBookFromObjects: with the CronJob objects, a CronJob is reported
// while its object exists, with only the runs whose owner has its UID; an
// owner reference to a CronJob that does not exist reports nothing.
func TestBookFromObjects(t *testing.T) {
	b, out := newBook()
	b.WatchObjects(true)
	reportRuns(b)
	observe(b, fixture.Job("ns", "ghost-1").OwnedByCronJob("ghost").Started(0).Failed("BackoffLimitExceeded", 900))
	if len(out) != 0 || len(b.Summaries(at(0))) != 0 {
		t.Fatalf("reported before any CronJob object: %v", out)
	}
	// The object of "report"; a run of an older "report" (another UID)
	// does not count.
	old := fixture.Job("ns", "report-0").OwnedByCronJob("report").Started(0).Failed("PodFailurePolicy", 950)
	old.J.OwnerReferences[0].UID = "uid-of-a-deleted-report"
	observe(b, old)
	b.SetCronJob(NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").LastScheduled(500).Active("report-4").J))
	if len(out) != 1 {
		t.Fatalf("renderer told %v, want ns/report only", out)
	}
	s := out["ns/report"]
	if s.Record == nil || !s.LastFailure.Equal(at(200)) || s.FailureReason != "DeadlineExceeded" ||
		!s.Next.Equal(at(600)) || fmt.Sprint(runNames(s.Runs)) != "[report-4 report-3 report-2 report-1]" {
		t.Errorf("summary told: %+v", s)
	}
	// The renderer's summary has no clock; a page's is as of its now.
	if s.Overdue != 0 {
		t.Errorf("renderer told an Overdue of %v, want none", s.Overdue)
	}
	if got, ok := b.Summary("ns/report", at(700)); !ok || got.Overdue != 100*time.Second {
		t.Errorf("Summary 100s after the run was due: %v, overdue %v", ok, got.Overdue)
	}
	// The runs go (history limits): the object keeps the CronJob and its
	// memory; the object goes: everything goes.
	for _, name := range []string{"report-0", "report-1", "report-2", "report-3", "report-4"} {
		b.Forget("ns/" + name)
	}
	if s, ok := out["ns/report"]; !ok || !s.LastFailure.Equal(at(200)) || !s.LastSuccess.Equal(at(400)) {
		t.Errorf("once its runs are gone, while its object exists: told %v %+v, want the CronJob with its memory", ok, s)
	}
	b.DeleteCronJob("ns/report")
	if _, ok := out["ns/report"]; ok {
		t.Error("CronJob still rendered after its object was deleted")
	}
	if _, ok := b.Summary("ns/report", at(700)); ok {
		t.Error("CronJob still reported to pages after its object was deleted")
	}
	// Falling back (the watch fails): the ghost's run is reported again.
	b.WatchObjects(false)
	if _, ok := out["ns/ghost"]; !ok || len(out) != 1 {
		t.Errorf("without the objects the runs' CronJob is not reported: %v", out)
	}
	if b.Objects() {
		t.Error("Objects() after WatchObjects(false)")
	}
}

// TestBookMemoryForgotten: Jobs that claim made-up UIDs of a CronJob
// leave no memory once they are gone, with the objects watched or not;
// the memory of the object's own UID outlives its runs while the object
// exists.
func TestBookMemoryForgotten(t *testing.T) {
	for _, objects := range []bool{true, false} {
		b, _ := newBook()
		b.WatchObjects(objects)
		if objects {
			b.SetCronJob(NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").J))
		}
		// A run that stays, so the state stays without the object.
		observe(b, fixture.Job("ns", "report-0").OwnedByCronJob("report").Started(0))
		for i := range 100 {
			jb := fixture.Job("ns", fmt.Sprintf("fake-%d", i)).OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 10)
			jb.J.OwnerReferences[0].UID = types.UID(fmt.Sprintf("made-up-%d", i))
			observe(b, jb)
			b.Forget("ns/" + jb.J.Name)
		}
		// The CronJob's own run fails and its history limit deletes it.
		observe(b, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("DeadlineExceeded", 20))
		b.Forget("ns/report-1")

		e := b.entries["ns/report"]
		if e == nil {
			t.Fatalf("objects %v: CronJob state gone", objects)
		}
		if len(e.memory) != 1 || e.memory["uid-cron-report"] == nil || e.memory["uid-cron-report"].FailureReason != "DeadlineExceeded" {
			t.Errorf("objects %v: memory of %d UIDs kept, want only the CronJob's with its failure: %v", objects, len(e.memory), e.memory)
		}
		// With its last run the state goes (without the object), or with
		// the object.
		b.Forget("ns/report-0")
		if objects {
			b.DeleteCronJob("ns/report")
		}
		if len(b.entries) != 0 || len(b.runs) != 0 {
			t.Errorf("objects %v: state left: %d CronJobs, %d runs", objects, len(b.entries), len(b.runs))
		}
	}
}

// TestBookForgetsWithLastRun: without the objects nothing vouches for a
// CronJob but its runs: once the last one is gone, so is the memory of
// their outcomes, and a run that comes later starts afresh.
func TestBookForgetsWithLastRun(t *testing.T) {
	b, out := newBook()
	observe(b, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 50))
	b.Forget("ns/report-1")
	observe(b, fixture.Job("ns", "report-2").OwnedByCronJob("report").Started(100))
	s, ok := b.Summary("ns/report", at(200))
	if !ok || !s.LastFailure.IsZero() || s.FailureReason != "" {
		t.Errorf("a run after the last one went: %v, last failure %v %q, want none", ok, s.LastFailure, s.FailureReason)
	}
	if told := out["ns/report"]; !told.LastFailure.IsZero() {
		t.Errorf("renderer told a last failure at %v, want none", told.LastFailure)
	}
}

// TestBookRecreatedStartsAfresh: a CronJob deleted and created again
// under the same name (another UID) does not inherit the memory of the
// old one's runs.
func TestBookRecreatedStartsAfresh(t *testing.T) {
	b, out := newBook()
	b.WatchObjects(true)
	b.SetCronJob(NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").J))
	observe(b, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 50))
	b.Forget("ns/report-1")
	if s := out["ns/report"]; !s.LastFailure.Equal(at(50)) {
		t.Fatalf("the object's memory: last failure %v, want %v", s.LastFailure, at(50))
	}
	again := fixture.CronJob("ns", "report", "*/10 * * * *")
	again.J.UID = "uid-cron-report-again"
	b.SetCronJob(NewRecord(again.J))
	if s := out["ns/report"]; !s.LastFailure.IsZero() {
		t.Errorf("created again: last failure %v, want none", s.LastFailure)
	}
	if e := b.entries["ns/report"]; len(e.memory) != 0 {
		t.Errorf("created again: memory of %d UIDs kept: %v", len(e.memory), e.memory)
	}
}

// TestBookReadWhileWritten: pages read every CronJob while the watcher
// writes runs and objects; a read copies the state out under the lock and
// summarizes the copy, which the race detector (make unit runs -race)
// checks, and every read sees every CronJob.
func TestBookReadWhileWritten(t *testing.T) {
	const cronJobs = 20
	b, _ := newBook()
	b.WatchObjects(true)
	for i := range cronJobs {
		b.SetCronJob(NewRecord(fixture.CronJob("ns", fmt.Sprintf("cj-%d", i), "*/10 * * * *").LastScheduled(0).J))
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if got := len(b.Summaries(at(3600))); got != cronJobs {
					t.Errorf("Summaries: %d CronJobs, want %d", got, cronJobs)
					return
				}
				if _, ok := b.Summary("ns/cj-0", at(3600)); !ok {
					t.Error("Summary of ns/cj-0 missing")
					return
				}
			}
		})
	}
	for k := range 200 {
		name := fmt.Sprintf("cj-%d", k%cronJobs)
		run := fmt.Sprintf("%s-%d", name, k)
		observe(b, fixture.Job("ns", run).OwnedByCronJob(name).Started(k))
		observe(b, fixture.Job("ns", run).OwnedByCronJob(name).Started(k).Failed("BackoffLimitExceeded", k+1))
		b.SetCronJob(NewRecord(fixture.CronJob("ns", name, "*/10 * * * *").LastScheduled(k).Active(run).J))
		if k%2 == 0 {
			b.Forget("ns/" + run)
		}
	}
	close(done)
	readers.Wait()
}
