package watcher

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

func failedJob(name string) *batchv1.Job {
	return fixture.Job("ns", name).BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 10).J
}

func TestOutcomesCountedOnceFromTheWatch(t *testing.T) {
	ctx := context.Background()
	// Listed at start already finished: before this exporter's time.
	w, client, sink := startWatcher(t, Shard{}, failedJob("old"), fixture.Job("ns", "done").Started(0).Complete(5).J)
	jobs := client.BatchV1().Jobs("ns")

	// A Job that fails while watched counts once, through the interim
	// FailureTarget and the Failed condition and any later update.
	running := fixture.Job("ns", "j").Started(0)
	if _, err := jobs.Create(ctx, running.J, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	target := running.FailureTarget("BackoffLimitExceeded", 20).J.DeepCopy()
	if _, err := jobs.UpdateStatus(ctx, target, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := fixture.Job("ns", "j").Started(0).Failed("BackoffLimitExceeded", 20).J
	if _, err := jobs.UpdateStatus(ctx, failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failure", func() bool { f, _, _ := sink.snapshot(); return len(f) == 1 })

	// The old Jobs are touched: still known, not counted.
	for _, name := range []string{"old", "done"} {
		j, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j.Labels = map[string]string{"touched": "yes"}
		if _, err := jobs.Update(ctx, j, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted: its last Summary goes to the Sink, the outcome does not
	// count again.
	if err := jobs.Delete(ctx, "j", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion", func() bool { _, _, d := sink.snapshot(); return len(d) == 1 })
	// Created again under the same name, failed at once (between two
	// watch events): another Job, counted once.
	again := failedJob("j")
	again.UID = "second"
	if _, err := jobs.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second Job's failure", func() bool { f, _, _ := sink.snapshot(); return len(f) == 2 })
	waitFor(t, "the queue", func() bool { return w.Pending() == 0 })

	finishes, _, deleted := sink.snapshot()
	if len(finishes) != 2 {
		t.Fatalf("finishes = %+v, want the two Jobs named j once each", finishes)
	}
	for i, uid := range []types.UID{running.J.UID, "second"} {
		f := finishes[i]
		if f.UID != uid || f.Job != "j" || f.Outcome != job.OutcomeFailed || f.Reason != "BackoffLimitExceeded" ||
			f.Owner != (job.Owner{Kind: job.OwnerKindJob, Name: "j"}) {
			t.Errorf("finish %d = %+v, want Job j (UID %s) failed with BackoffLimitExceeded under owner Job/j", i, f, uid)
		}
	}
	// The failure is counted after the Job's state shows it: no scrape
	// sees the count without the failed Job.
	var seq []string
	for _, c := range sink.calls("", "ns/j") {
		switch {
		case c.method == jobChanged && c.summary.Failed:
			seq = append(seq, "failed ns/j")
		case c.method == jobFinished:
			seq = append(seq, "counted ns/j")
		}
	}
	if i := slices.Index(seq, "counted ns/j"); i < 1 || seq[i-1] != "failed ns/j" {
		t.Errorf("order of reports = %q, want the failed Job rendered before its outcome is counted", seq)
	}
	if !finishes[0].At.Equal(fixture.At(20).Time) {
		t.Errorf("the failure is dated %v, want the condition's time %v", finishes[0].At, fixture.At(20).Time)
	}
	last := deleted[0]
	if !last.Failed || last.Deleted.IsZero() || last.Name != "j" || last.UID != running.J.UID {
		t.Errorf("last Summary of the deleted Job = failed %v, deleted %v, %s %s; want the failed Job j with its deletion time",
			last.Failed, last.Deleted, last.Name, last.UID)
	}
}

func TestOutcomesSucceededAndOtherShards(t *testing.T) {
	ctx := context.Background()
	shard := Shard{Index: 0, Total: 2}
	_, client, sink := startWatcher(t, shard)
	jobs := client.BatchV1().Jobs("ns")
	var mine, theirs string
	for i := 0; mine == "" || theirs == ""; i++ {
		name := "j" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if shard.Owns("ns/" + name) {
			mine = name
		} else {
			theirs = name
		}
	}
	for _, name := range []string{mine, theirs} {
		if _, err := jobs.Create(ctx, fixture.Job("ns", name).Started(0).J, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := jobs.UpdateStatus(ctx, fixture.Job("ns", name).Started(0).Complete(9).J, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the success", func() bool { f, _, _ := sink.snapshot(); return len(f) >= 1 })
	// The other shard's Job was created and completed before this one's
	// (in order above): once this one is counted, a count of the other
	// would have been reported already.
	if err := jobs.Delete(ctx, mine, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Delete(ctx, theirs, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion", func() bool { _, _, d := sink.snapshot(); return len(d) == 1 })
	finishes, _, deleted := sink.snapshot()
	if len(finishes) != 1 || finishes[0].Job != mine || finishes[0].Outcome != job.OutcomeSucceeded || finishes[0].Reason != "" {
		t.Errorf("finishes = %+v, want only this shard's Job %s, succeeded", finishes, mine)
	}
	if len(deleted) != 1 || deleted[0].Name != mine {
		t.Errorf("deleted = %d Summaries, want only this shard's Job", len(deleted))
	}
}

func TestPodFailuresAndDepartedPods(t *testing.T) {
	ctx := context.Background()
	j := fixture.Job("ns", "j").Started(0).Deadline(60)
	w, client, sink := startWatcher(t, Shard{}, j.J)
	pods := client.CoreV1().Pods("ns")

	// A pod that fails counts once, however often it is updated after.
	p := fixture.Pod(j.J, "a", 1).Running(2)
	if _, err := pods.Create(ctx, p.P, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := fixture.Pod(j.J, "a", 1).FailedWith("app", 127, "Error", 9).P
	for range 3 {
		if _, err := pods.UpdateStatus(ctx, failed.DeepCopy(), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A pod that waits on its image until the Job's deadline deletes it.
	pulling := fixture.Pod(j.J, "b", 1).Waiting("ImagePullBackOff").P
	if _, err := pods.Create(ctx, pulling, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deleting := fixture.Pod(j.J, "b", 1).Waiting("ImagePullBackOff").Deleting(60, 30).P
	if _, err := pods.Update(ctx, deleting, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "j-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pod events", func() bool {
		s, ok := w.Summary("ns/j")
		return ok && len(s.Departed.Waiting) == 1 && w.Pending() == 0
	})
	_, failures, _ := sink.snapshot()
	// The pod being deleted while the Job runs is a failure as the
	// controller counts it; the failed pod one more.
	var n int64
	for _, f := range failures {
		for _, pf := range f.Failures {
			n += pf.Count
		}
	}
	if len(failures) != 2 || n != 2 || failures[0].Pod != "j-a" || failures[0].Failures[0].ExitCode != "127" || failures[1].Pod != "j-b" {
		t.Errorf("pod failures = %+v, want j-a's exit 127 once and j-b's deletion once", failures)
	}
	s, _ := w.Summary("ns/j")
	if s.Departed.Waiting[0].Reason != "ImagePullBackOff" || s.Departed.Pods != 1 {
		t.Errorf("departed = %+v, want the pod that waited on ImagePullBackOff before its deletion", s.Departed)
	}

	// The Job goes: its last Summary keeps the departed pod, the watcher
	// forgets it.
	if err := client.BatchV1().Jobs("ns").Delete(ctx, "j", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion", func() bool { _, _, d := sink.snapshot(); return len(d) == 1 })
	_, _, deleted := sink.snapshot()
	if got := deleted[0].Departed.Waiting; len(got) != 1 || got[0].Reason != "ImagePullBackOff" {
		t.Errorf("the deleted Job's last Summary has departed waiting %+v, want ImagePullBackOff", got)
	}
	if n := w.departed.len(); n != 0 {
		t.Errorf("%d departed pod records kept after their Job went", n)
	}
}

// handlerWatcher is a watcher whose handlers the test calls directly, as
// the informers would: nothing runs.
func handlerWatcher(t *testing.T, shard Shard) (*Watcher, *fakeSink) {
	t.Helper()
	sink := &fakeSink{}
	w, err := New(Config{Client: kubefake.New(), Shard: shard, Recorder: &fakeRecorder{}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	return w, sink
}

// flush lets the worker process the Job keys, as after their events: the
// outcomes held for them are reported.
func flush(w *Watcher, keys ...string) {
	for _, k := range keys {
		w.sync(k)
	}
}

func record(j *batchv1.Job) *job.JobRecord { return job.NewJobRecord(j) }

func TestOutcomesOfDeleteEvents(t *testing.T) {
	w, sink := handlerWatcher(t, Shard{})
	sc := w.scopes[0]
	running := record(fixture.Job("ns", "a").Started(0).J)
	failed := record(failedJob("a"))

	// Deleted the moment it failed: the delete event's final state is the
	// first to show the failure.
	w.jobSeen(nil, running, false)
	w.jobDeleted(sc, failed)
	// A tombstone (the watch missed the deletion) carries the cache's last
	// state, seen already: never counted again.
	w.jobSeen(nil, record(failedJob("b")), false)
	w.jobDeleted(sc, cache.DeletedFinalStateUnknown{Key: "ns/b", Obj: record(failedJob("b"))})
	// A tombstone of a Job last seen running tells no outcome.
	w.jobSeen(nil, record(fixture.Job("ns", "c").Started(0).J), false)
	w.jobDeleted(sc, cache.DeletedFinalStateUnknown{Key: "ns/c", Obj: record(fixture.Job("ns", "c").Started(0).J)})
	// A tombstone whose object is not a record (nothing known): nothing.
	w.jobDeleted(sc, cache.DeletedFinalStateUnknown{Key: "ns/d", Obj: "junk"})
	w.jobDeleted(sc, nil)
	flush(w, "ns/a", "ns/b", "ns/c", "ns/d")

	finishes, _, deleted := sink.snapshot()
	if len(finishes) != 2 || finishes[0].Job != "a" || finishes[1].Job != "b" {
		t.Errorf("finishes = %+v, want a (from its delete event) and b (from its update) once each", finishes)
	}
	if len(deleted) != 3 {
		t.Errorf("%d last Summaries handed over, want 3 (a, b, c; none for junk)", len(deleted))
	}
}

func TestOutcomeTimeClampedToNow(t *testing.T) {
	w, sink := handlerWatcher(t, Shard{})
	future := fixture.Job("ns", "a").Started(0).J
	at := metav1.NewTime(time.Now().Add(time.Hour))
	future.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", LastTransitionTime: at}}
	w.jobSeen(nil, record(fixture.Job("ns", "a").Started(0).J), false)
	before := time.Now()
	w.jobSeen(nil, record(future), false)
	flush(w, "ns/a")
	finishes, _, _ := sink.snapshot()
	if len(finishes) != 1 || finishes[0].At.After(time.Now()) || finishes[0].At.Before(before) {
		t.Errorf("a failure dated an hour ahead = %+v, want it dated when seen", finishes)
	}
}

func TestOutcomesFlipFlop(t *testing.T) {
	// A status that says failed, then running, then failed again (written
	// by hand, or a controller of another version) is one Job failing once.
	w, sink := handlerWatcher(t, Shard{})
	running, failed := record(fixture.Job("ns", "a").Started(0).J), record(failedJob("a"))
	w.jobSeen(nil, running, false)
	w.jobSeen(running, failed, false)
	w.jobSeen(failed, running, false)
	w.jobSeen(running, failed, false)
	flush(w, "ns/a")
	if finishes, _, _ := sink.snapshot(); len(finishes) != 1 {
		t.Errorf("finishes = %+v, want one", finishes)
	}
}

// FuzzOutcomes drives the Job handlers with add, update, delete and
// tombstone events of a few Jobs (names reused with new UIDs, statuses
// that finish, flip back, and finish again) and compares what was reported
// with a reference count: each Job (UID) that an event after the initial
// list shows finished counts once, unless the initial list showed it
// finished already; nothing else counts, nothing counts twice.
func FuzzOutcomes(f *testing.F) {
	f.Add([]byte{0, 1, 4, 0, 1, 2, 0, 3})
	f.Add([]byte{5, 10, 4, 6, 1, 11, 2, 0, 7, 12})
	f.Add([]byte{0, 15, 4, 5, 20, 25, 30, 35})
	f.Fuzz(func(t *testing.T, ops []byte) {
		w, sink := handlerWatcher(t, Shard{})
		sc := w.scopes[0]
		type state struct {
			rec *job.JobRecord
			gen int
		}
		keys := [3]state{}
		initial := true
		known := map[types.UID]bool{} // finished in the initial list
		shown := map[types.UID]bool{} // shown finished by a later event
		mk := func(k, gen int, finished bool) *job.JobRecord {
			name := string(rune('a' + k))
			b := fixture.Job("ns", name).Started(0)
			if finished {
				b.Failed("BackoffLimitExceeded", 5)
			}
			b.J.UID = types.UID(name + "-" + string(rune('0'+gen)))
			return job.NewJobRecord(b.J)
		}
		for _, op := range ops {
			k, finished := int(op>>3)%3, op&4 != 0
			st := &keys[k]
			switch op % 4 {
			case 0: // add (a new Job when the name is free)
				if st.rec != nil {
					continue
				}
				st.gen++
				st.rec = mk(k, st.gen, finished)
				if finished && initial {
					known[st.rec.UID] = true
				} else if finished {
					shown[st.rec.UID] = true
				}
				w.jobSeen(nil, st.rec, initial)
			case 1: // update
				if st.rec == nil {
					continue
				}
				if op&32 != 0 {
					initial = false
				}
				if initial {
					continue // the initial list has no updates
				}
				next := mk(k, st.gen, finished)
				if finished {
					shown[next.UID] = true
				}
				w.jobSeen(st.rec, next, false)
				st.rec = next
			case 2: // delete, with a final state
				if st.rec == nil || initial {
					continue
				}
				final := mk(k, st.gen, finished || op&64 != 0 && st.rec.Conditions != nil)
				if _, ok := job.FinishOf(final, time.Now()); ok {
					shown[final.UID] = true
				}
				w.jobDeleted(sc, final)
				st.rec = nil
			case 3: // the end of the initial list, or a tombstone
				if initial {
					initial = false
					continue
				}
				if st.rec == nil {
					continue
				}
				w.jobDeleted(sc, cache.DeletedFinalStateUnknown{Key: "ns/" + st.rec.Name, Obj: st.rec})
				st.rec = nil
			}
		}
		flush(w, "ns/a", "ns/b", "ns/c")
		finishes, _, _ := sink.snapshot()
		got := map[types.UID]int{}
		for _, f := range finishes {
			got[f.UID]++
		}
		for uid, n := range got {
			if n > 1 {
				t.Errorf("Job %s counted %d times", uid, n)
			}
			if !shown[uid] || known[uid] {
				t.Errorf("Job %s counted, but no event after the initial list showed it newly finished", uid)
			}
		}
		for uid := range shown {
			if !known[uid] && got[uid] != 1 {
				t.Errorf("Job %s shown finished after the initial list, counted %d times", uid, got[uid])
			}
		}
	})
}

func TestPodFailureAfterItsJobWent(t *testing.T) {
	// The Job informer may deliver a Job's deletion before the pod
	// informer delivers its pod's failure: the failure still counts,
	// under the deleted Job's owner; a pod whose Job was never known
	// counts nothing.
	w, sink := handlerWatcher(t, Shard{})
	sc := w.scopes[0]
	jb := fixture.Job("ns", "a").BackoffLimit(0).Started(0)
	w.jobSeen(nil, record(jb.J), false)
	w.jobDeleted(sc, record(failedJob("a")))
	running := job.NewPodRecord(fixture.Pod(jb.J, "x", 1).Running(2).P)
	failed := job.NewPodRecord(fixture.Pod(jb.J, "x", 1).FailedWith("app", 1, "Error", 5).P)
	w.podSeen(sc, running, failed)
	other := fixture.Job("ns", "never").Started(0)
	w.podSeen(sc, job.NewPodRecord(fixture.Pod(other.J, "x", 1).Running(2).P), job.NewPodRecord(fixture.Pod(other.J, "x", 1).FailedWith("app", 1, "Error", 5).P))
	_, failures, _ := sink.snapshot()
	if len(failures) != 1 || failures[0].Job != "a" || failures[0].Owner.Name != "a" {
		t.Errorf("pod failures = %+v, want the deleted Job a's pod once", failures)
	}
	if n := w.departed.len(); n != 0 {
		t.Errorf("%d pod records kept for Jobs that are gone", n)
	}
}

func TestJobOutOfSelectionIsNotDeleted(t *testing.T) {
	// The API server sends a Job relabelled out of --watch.job-selector as a
	// deletion: the Job still exists, and no page may say it was deleted.
	sink := &fakeSink{}
	w, err := New(Config{Client: kubefake.New(), JobSelector: "team=a", Recorder: &fakeRecorder{}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	transform := func(j *batchv1.Job) *job.JobRecord {
		out, err := w.recordJob(j)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*job.JobRecord)
	}
	in, out := failedJob("a"), failedJob("a")
	in.Labels, out.Labels = map[string]string{"team": "a"}, map[string]string{"team": "b"}
	w.jobSeen(nil, transform(in), true)
	w.jobDeleted(w.scopes[0], transform(out))
	deleted := failedJob("b")
	deleted.Labels = map[string]string{"team": "a"}
	w.jobSeen(nil, transform(deleted), true)
	w.jobDeleted(w.scopes[0], transform(deleted))
	flush(w, "ns/a", "ns/b")
	_, _, gone := sink.snapshot()
	if len(gone) != 1 || gone[0].Name != "b" {
		t.Errorf("Jobs reported deleted: %d, want only b (a left the selection)", len(gone))
	}
}

// TestPodFailureBeforeItsJobsHandler: a Job's informer removes the Job
// from its cache before its handlers run, so a pod's failure can reach
// podSeen when neither the cache nor the deleted Jobs know the Job (a Job
// deleted the moment it failed, on a loaded exporter), or before a new
// Job's add reached jobSeen. The change is held and counted, once, when
// the Job's handler runs; a Job out of the selection drops it.
func TestPodFailureBeforeItsJobsHandler(t *testing.T) {
	j := fixture.Job("ns", "fast").BackoffLimit(0).Started(0)
	running := job.NewPodRecord(fixture.Pod(j.J, "a", 0).Running(1).P)
	failed := job.NewPodRecord(fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 4).P)
	deleting := fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 4).P
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	final := job.NewJobRecord(fixture.Job("ns", "fast").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 5).J)

	for _, tc := range []struct {
		name    string
		arrives func(w *Watcher, sc *scope) // the Job's handler, after the pod's changes
		want    int                         // failures reported
	}{
		{"deleted", func(w *Watcher, sc *scope) { w.jobDeleted(sc, final) }, 1},
		{"added", func(w *Watcher, sc *scope) { w.jobSeen(nil, final, false) }, 1},
		{"left the selection", func(w *Watcher, sc *scope) {
			unselected := *final
			unselected.Unselected = true
			w.jobDeleted(sc, &unselected)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{}
			w := &Watcher{sink: sink, outcomes: newOutcomeBook(), departed: newDepartedPods()}
			// A scope whose caches hold nothing: the Job is not (or no
			// longer, or not yet) in its informer's cache.
			sc := &scope{
				jobs: cache.NewSharedIndexInformer(&cache.ListWatch{}, &batchv1.Job{}, 0, cache.Indexers{}),
				pods: cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Pod{}, 0, cache.Indexers{podJobIndex: podJobKeys}),
			}
			w.podSeen(sc, running, failed)
			w.podSeen(sc, failed, job.NewPodRecord(deleting))
			if _, failures, _ := sink.snapshot(); len(failures) != 0 {
				t.Fatalf("reported before the Job was known: %+v", failures)
			}
			tc.arrives(w, sc)
			_, failures, _ := sink.snapshot()
			if len(failures) != tc.want {
				t.Fatalf("%d pod failures reported, want %d: %+v", len(failures), tc.want, failures)
			}
			if tc.want > 0 && (failures[0].Pod != failed.Name() || failures[0].Failures[0].ExitCode != "1") {
				t.Errorf("reported %+v, want the pod's exit 1", failures[0])
			}
			tc.arrives(w, sc) // a later event of the Job reports nothing again
			if _, again, _ := sink.snapshot(); len(again) != tc.want {
				t.Errorf("%d pod failures after the Job's next event, want %d", len(again), tc.want)
			}
			if w.outcomes.heldPods != 0 {
				t.Errorf("%d pod changes still held", w.outcomes.heldPods)
			}
		})
	}
}

// TestHeldPodsBounded: pod changes whose Job never comes (another Job's
// selection) are held at most maxHeldPods, expiring after
// recentlyDeleted.
func TestHeldPodsBounded(t *testing.T) {
	b := newOutcomeBook()
	j := fixture.Job("ns", "x").Started(0)
	start := time.Now()
	for i := range maxHeldPods + 10 {
		p := job.NewPodRecord(fixture.Pod(j.J, fmt.Sprintf("p%d", i), 0).FailedWith("app", 1, "Error", 4).P)
		b.hold(fmt.Sprintf("ns/j%d", i), nil, p, start)
	}
	if b.heldPods != maxHeldPods {
		t.Fatalf("%d held, want the bound %d", b.heldPods, maxHeldPods)
	}
	p := job.NewPodRecord(fixture.Pod(j.J, "late", 0).FailedWith("app", 1, "Error", 4).P)
	b.hold("ns/late", nil, p, start.Add(recentlyDeleted+time.Second))
	if b.heldPods != 1 || len(b.release("ns/late")) != 1 {
		t.Errorf("after expiry %d held, want only the new one", b.heldPods)
	}
}
