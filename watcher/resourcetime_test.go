package watcher

import (
	"context"
	"math"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// cpuJob is a running Job whose pods request 2 cores.
func cpuJob(name string) *fixture.JobBuilder {
	b := fixture.Job("ns", name).Started(0)
	b.J.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	return b
}

// startedAt sets the pod's status.startTime (the fixture leaves it out).
func startedAt(p *fixture.PodBuilder, at int) *fixture.PodBuilder {
	t := fixture.At(at)
	p.P.Status.StartTime = &t
	return p
}

// heldCPU sums the core-seconds reported for the pod, and counts the reports.
func heldCPU(s *fakeSink, pod string) (float64, int) {
	var sum float64
	n := 0
	for _, c := range s.calls(podFinished, "") {
		if c.held.Pod != pod {
			continue
		}
		n++
		for _, h := range c.held.Held {
			if h.Resource == job.ResourceCPU {
				sum += h.Value
			}
		}
	}
	return sum, n
}

func TestPodFinishedCountedOnceFromTheWatch(t *testing.T) {
	ctx := context.Background()
	j := cpuJob("j")
	api := newFakeAPI()
	create(t, api, j.J)
	// Finished before this exporter's time: known, never counted.
	create(t, api, startedAt(fixture.Pod(j.J, "old", 0).Succeeded(5), 1).P)
	r := runWatcher(t, api, Config{})
	r.waitSynced(t)
	pods := api.CoreV1().Pods("ns")

	// Succeeds, then is updated twice more: counted once, 60 s × 2 cores.
	create(t, api, startedAt(fixture.Pod(j.J, "a", 0).Running(10), 10).P)
	done := startedAt(fixture.Pod(j.J, "a", 0).Succeeded(70), 10).P
	for range 3 {
		if _, err := pods.UpdateStatus(ctx, done.DeepCopy(), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted while its Job runs: failed, to its deletion; the kubelet's
	// last status and the delete event count nothing more.
	create(t, api, startedAt(fixture.Pod(j.J, "b", 0).Running(10), 10).P)
	if _, err := pods.Update(ctx, startedAt(fixture.Pod(j.J, "b", 0).Running(10), 10).Deleting(40, 30).P, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.UpdateStatus(ctx, startedAt(fixture.Pod(j.J, "b", 0).FailedWith("app", 137, "Error", 45), 10).Deleting(40, 30).P, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "j-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Never started (no status.startTime): nothing is guessed.
	create(t, api, fixture.Pod(j.J, "c", 0).FailedWith("app", 1, "Error", 5).P)
	// Touched: the known pod is not counted on its update.
	if _, err := pods.UpdateStatus(ctx, startedAt(fixture.Pod(j.J, "old", 0).Succeeded(5), 1).P, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pods' events", func() bool { _, n := heldCPU(r.sink, "j-b"); return n > 0 && len(r.sink.calls(podFailed, "")) >= 2 })
	// The last update above is the known pod's: once it is in the cache,
	// every event before it reached the handlers.
	waitFor(t, "the last update", func() bool {
		obj, ok, _ := r.w.scopes[0].pods.GetIndexer().GetByKey("ns/j-c")
		return ok && obj != nil
	})

	for _, tc := range []struct {
		pod  string
		want float64
		n    int
	}{{"j-old", 0, 0}, {"j-a", 120, 1}, {"j-b", 60, 1}, {"j-c", 0, 0}} {
		if got, n := heldCPU(r.sink, tc.pod); got != tc.want || n != tc.n {
			t.Errorf("pod %s: %g core-seconds in %d reports, want %g in %d", tc.pod, got, n, tc.want, tc.n)
		}
	}
	for _, c := range r.sink.calls(podFinished, "") {
		if want := (job.Owner{Kind: job.OwnerKindJob, Name: "j"}); c.held.Owner != want || c.held.Job != "j" {
			t.Errorf("reported under %+v, Job %s; want owner %+v", c.held.Owner, c.held.Job, want)
		}
		if c.held.Pod == "j-b" && c.held.Held[0].Outcome != job.OutcomeFailed {
			t.Errorf("a pod deleted while its Job runs held %+v, want failed", c.held.Held)
		}
	}
}

func TestPodGoneAndOtherShards(t *testing.T) {
	shard := Shard{Index: 0, Total: 2}
	w, sink := handlerWatcher(t, shard)
	sc := w.scopes[0]
	var mine, theirs *batchv1.Job
	for i := 0; mine == nil || theirs == nil; i++ {
		j := cpuJob("j" + string(rune('a'+i))).J
		if shard.Owns("ns/" + j.Name) {
			mine = j
		} else {
			theirs = j
		}
	}
	for _, j := range []*batchv1.Job{mine, theirs} {
		if err := sc.jobs.GetIndexer().Add(record(j)); err != nil {
			t.Fatal(err)
		}
	}
	running := func(j *batchv1.Job, suffix string) *job.PodRecord {
		return job.NewPodRecord(startedAt(fixture.Pod(j, suffix, 0).Running(10), 10).P)
	}
	// Removed while running, its deletion never seen: failed, to now.
	before := time.Now()
	w.podGone(sc, running(mine, "a"))
	after := time.Now()
	// A tombstone: the watch missed how the pod ended; nothing is guessed.
	w.podGone(sc, cache.DeletedFinalStateUnknown{Key: "ns/" + mine.Name + "-b", Obj: running(mine, "b")})
	// Another shard's Job: its replica counts it.
	w.podSeen(sc, running(theirs, "c"), job.NewPodRecord(startedAt(fixture.Pod(theirs, "c", 0).FailedWith("app", 1, "Error", 70), 10).P))
	w.podGone(sc, running(theirs, "d"))

	calls := sink.calls(podFinished, "")
	if len(calls) != 1 || calls[0].held.Pod != mine.Name+"-a" {
		t.Fatalf("reports = %+v, want the removed running pod of this shard's Job alone", calls)
	}
	h := calls[0].held.Held[0]
	lo, hi := 2*before.Sub(fixture.At(10).Time).Seconds(), 2*after.Sub(fixture.At(10).Time).Seconds()
	if h.Outcome != job.OutcomeFailed || h.Resource != job.ResourceCPU || h.Value < lo || h.Value > hi {
		t.Errorf("held %+v, want failed cpu between %g and %g core-seconds", h, lo, hi)
	}
}

// FuzzPodFinished drives the pod handlers with add, update, delete and
// tombstone events of a few pods of one Job (names reused as new pods,
// phases going forward, deletions, the Job finishing midway)
// and checks what was reported against a reference: a pod (name and
// generation) is counted at most once, exactly when an event after the
// initial list first shows it finished (a terminal phase, or being
// deleted or removed while its Job runs) having started, and its
// resource-time is its request times its running time: to its last
// container's end, or to its deletion.
func FuzzPodFinished(f *testing.F) {
	f.Add([]byte{0, 3, 9, 17, 25, 2, 10, 7})
	f.Add([]byte{0, 8, 16, 3, 1, 41, 73, 2, 6, 14, 22})
	f.Add([]byte{4, 3, 8, 33, 65, 97, 129, 161, 193, 225, 2, 10, 18, 7, 15})
	f.Fuzz(func(t *testing.T, ops []byte) {
		w, sink := handlerWatcher(t, Shard{})
		sc := w.scopes[0]
		jb := cpuJob("j")
		if err := sc.jobs.GetIndexer().Add(record(jb.J)); err != nil {
			t.Fatal(err)
		}
		jobDone := false
		// A pod's state: its phase, and whether it is being deleted.
		type state struct {
			phase    corev1.PodPhase
			deleting bool
		}
		type slot struct {
			gen  int
			cur  *state // nil: no pod
			name string
		}
		var slots [3]slot
		phases := []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed}
		mk := func(s *slot, st state) *job.PodRecord {
			b := fixture.Pod(jb.J, s.name[len("j-"):], 0)
			switch st.phase {
			case corev1.PodRunning:
				b.Running(10)
			case corev1.PodSucceeded:
				b.Succeeded(70)
			case corev1.PodFailed:
				b.FailedWith("app", 1, "Error", 70)
			}
			if st.phase != corev1.PodPending {
				startedAt(b, 10)
			}
			if st.deleting {
				b.Deleting(50, 30)
			}
			return job.NewPodRecord(b.P)
		}
		started := func(st *state) bool { return st.phase != corev1.PodPending }
		terminal := func(st *state) bool { return st.phase == corev1.PodSucceeded || st.phase == corev1.PodFailed }
		// A deletion finishes a pod whether its Job runs (failed) or
		// has finished (the Job's outcome).
		finishes := func(st *state) bool { return terminal(st) || st.deleting }
		// The reference: the core-seconds each pod should have, and
		// those whose value depends on the clock (removed: to now).
		want := map[string]float64{}
		toNow := map[string]bool{}
		initial := true
		for _, op := range ops {
			s := &slots[int(op>>2)%3]
			st := state{phase: phases[int(op>>4)%4], deleting: op&64 != 0}
			switch op % 4 {
			case 0: // add: a new pod when the name is free
				if s.cur != nil {
					continue
				}
				s.gen++
				s.name = "j-" + string(rune('a'+int(op>>2)%3)) + string(rune('0'+s.gen%10))
				if s.gen >= 10 {
					continue
				}
				if !initial && started(&st) && finishes(&st) {
					want[s.name] = 2 * 60
					if !terminal(&st) {
						want[s.name] = 2 * 40
					}
				}
				if initial {
					// The initial list reaches no handler but the cache.
					s.cur = &st
					continue
				}
				w.podSeen(sc, nil, mk(s, st))
				s.cur = &st
			case 1: // update
				if s.cur == nil || initial {
					continue
				}
				old := s.cur
				// The API server lets a pod's phase only go forward, out
				// of a terminal phase never; a deletion is not taken back.
				if terminal(old) || st.phase == corev1.PodPending {
					st.phase = old.phase
				}
				st.deleting = st.deleting || old.deleting
				if started(&st) && finishes(&st) && !finishes(old) && !old.deleting {
					if _, counted := want[s.name]; !counted {
						want[s.name] = 2 * 40
						if terminal(&st) {
							want[s.name] = 2 * 60
						}
					}
				}
				w.podSeen(sc, mk(s, *old), mk(s, st))
				s.cur = &st
			case 2: // delete: the last state goes, or the Job finishes
				if op&128 != 0 {
					if !jobDone {
						jobDone = true
						done := cpuJob("j").Complete(80)
						if op&64 != 0 {
							done = cpuJob("j").Failed("DeadlineExceeded", 80)
						}
						if err := sc.jobs.GetIndexer().Update(record(done.J)); err != nil {
							t.Fatal(err)
						}
					}
					continue
				}
				if s.cur == nil || initial {
					continue
				}
				if started(s.cur) && !terminal(s.cur) && !s.cur.deleting {
					if _, counted := want[s.name]; !counted {
						want[s.name], toNow[s.name] = 0, true
					}
				}
				w.podGone(sc, mk(s, *s.cur))
				s.cur = nil
			case 3: // the end of the initial list, or a tombstone
				if initial {
					initial = false
					continue
				}
				if s.cur == nil {
					continue
				}
				w.podGone(sc, cache.DeletedFinalStateUnknown{Key: "ns/" + s.name, Obj: mk(s, *s.cur)})
				s.cur = nil
			}
		}
		now := time.Now()
		got := map[string]float64{}
		reports := map[string]int{}
		for _, c := range sink.calls(podFinished, "") {
			reports[c.held.Pod]++
			for _, h := range c.held.Held {
				got[c.held.Pod] += h.Value
			}
		}
		for pod, n := range reports {
			if n > 1 {
				t.Errorf("pod %s counted %d times", pod, n)
			}
			if _, ok := want[pod]; !ok {
				t.Errorf("pod %s counted (%g core-seconds), but no event showed it newly finished", pod, got[pod])
			}
		}
		for pod, v := range want {
			switch {
			case reports[pod] != 1:
				t.Errorf("pod %s finished after the initial list, counted %d times", pod, reports[pod])
			case toNow[pod]:
				if most := 2 * now.Sub(fixture.At(10).Time).Seconds(); got[pod] <= 0 || got[pod] > most {
					t.Errorf("pod %s removed while running: %g core-seconds, want up to %g", pod, got[pod], most)
				}
			case math.Abs(got[pod]-v) > 1e-9:
				t.Errorf("pod %s: %g core-seconds, want %g", pod, got[pod], v)
			}
		}
	})
}

// TestPodFinishedHeldForItsJob: a pod that succeeds while its Job is in
// neither cache (see TestPodFailureBeforeItsJobsHandler) holds its
// resource-time until the Job's add reaches jobSeen, then counts once.
func TestPodFinishedHeldForItsJob(t *testing.T) {
	jb := cpuJob("late")
	w := &Watcher{sink: &fakeSink{}, outcomes: newOutcomeBook(), departed: newDepartedPods()}
	sink := w.sink.(*fakeSink)
	sc := &scope{
		jobs: cache.NewSharedIndexInformer(&cache.ListWatch{}, &batchv1.Job{}, 0, cache.Indexers{}),
		pods: cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Pod{}, 0, cache.Indexers{podJobIndex: podJobKeys}),
	}
	running := job.NewPodRecord(startedAt(fixture.Pod(jb.J, "a", 0).Running(10), 10).P)
	done := job.NewPodRecord(startedAt(fixture.Pod(jb.J, "a", 0).Succeeded(70), 10).P)
	w.podSeen(sc, running, done)
	if v, n := heldCPU(sink, done.Name()); n != 0 {
		t.Fatalf("counted %g core-seconds before the Job was known", v)
	}
	w.jobSeen(nil, job.NewJobRecord(jb.J), false)
	w.jobSeen(nil, job.NewJobRecord(jb.J), false)
	if v, n := heldCPU(sink, done.Name()); n != 1 || v != 2*60 {
		t.Errorf("counted %d times, %g core-seconds; want once, 120 (2 cores × 60s)", n, v)
	}
}
