package job

import (
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// aggregateRun applies pod changes to an Aggregate one at a time, as the
// watcher's pod handlers do, and keeps the pods the cache would hold.
type aggregateRun struct {
	t        *testing.T
	a        *Aggregate
	cache    map[string]*PodRecord
	rebuilds int
}

func (r *aggregateRun) set(p *corev1.Pod) {
	rec := NewPodRecord(p.DeepCopy())
	if old := r.cache[p.Name]; old != nil {
		r.a.Remove(old)
	}
	r.cache[p.Name] = rec
	r.a.Add(rec)
}

// delete deletes a pod as a watch's delete event does: with a new copy
// of its last state.
func (r *aggregateRun) delete(name string) {
	if old := r.cache[name]; old != nil {
		c := *old
		r.a.Delete(&c)
		delete(r.cache, name)
	}
}

// summary is the incremental Summary, rebuilt first when the Aggregate
// no longer fits (as Watcher.Summary does), and the reference: a new
// Aggregate of every pod in the cache.
func (r *aggregateRun) summary(j *batchv1.Job, events []*EventRecord, opts Options) (got, want Summary) {
	if !r.a.Fits(NewJobRecord(j), len(events) > 0) {
		r.rebuilds++
		r.a = NewAggregate(NewJobRecord(j))
		for _, rec := range r.sorted() {
			r.a.Add(rec)
		}
	}
	ref := NewAggregate(NewJobRecord(j))
	for _, rec := range r.sorted() {
		ref.Add(rec)
	}
	return SummarizeAggregate(NewJobRecord(j), r.a, events, opts), SummarizeAggregate(NewJobRecord(j), ref, events, opts)
}

func (r *aggregateRun) sorted() []*PodRecord {
	names := make([]string, 0, len(r.cache))
	for n := range r.cache {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*PodRecord, len(names))
	for i, n := range names {
		out[i] = r.cache[n]
	}
	return out
}

// FuzzAggregate: for any sequence of pod adds, updates (a pod becomes
// another state of the fuzzed set: pending, running, restarted, failed
// in many ways, succeeded, deleted, another owner, index annotations) and
// deletes, the Summary of the Aggregate kept up to date one pod at a time
// equals the Summary computed from scratch from the pods present, after
// every step. The fuzzed set is FuzzSummarize's.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte{0, 1, 5, 139, 0, 0, 4, 0, 9, 0}, []byte{0, 1, 2, 3, 4, 17, 33, 5}, "OOMKilled", "0", int32(3), int32(2), int32(137))
	f.Add([]byte{1, 0, 5, 3, 8, 2, 5, 4, 8, 2, 4, 50, 8, 3, 4, 9, 0, 1}, []byte{0, 1, 2, 3, 130, 66, 7, 200, 1, 1}, "Error", "1", int32(5), int32(1), int32(1))
	f.Add([]byte{3, 2, 3, 10, 8, 1, 0, 0, 1, 0, 7, 30, 2, 0}, []byte{0, 1, 2, 64, 65, 128, 129}, "PreemptionByScheduler", "-1", int32(-1), int32(-5), int32(-1))
	f.Add([]byte{2, 1, 5, 3, 24, 7, 6, 130, 40, 9, 13, 20, 1, 4}, []byte{3, 2, 1, 0, 131, 130, 129, 128, 3, 2}, "DeadlineExceeded", "2147483647", int32(math.MinInt32), int32(math.MinInt32), int32(math.MinInt32))
	f.Add([]byte{255, 2, 5, 145, 73, 1, 21, 1, 145, 2}, []byte{0, 1, 64, 1, 129}, "Count", "NotIn", int32(0), int32(3), int32(42))
	f.Fuzz(func(t *testing.T, data, ops []byte, reason, ann string, failed, restarts, exit int32) {
		j, states := fuzzJob(data, reason, ann, failed, restarts, exit)
		var pods []*corev1.Pod
		for _, p := range states {
			if p != nil {
				pods = append(pods, p)
			}
		}
		if len(pods) == 0 {
			return
		}
		earlier := j.DeepCopy()
		earlier.UID = "uid-earlier"
		events := []*EventRecord{
			NewEventRecord(fixture.FailedCreate(j, "a", reason, restarts, int(exit%100000))),
			NewEventRecord(fixture.FailedCreate(earlier, "c", reason, 1, 10)),
		}
		opts := Options{Backoff: DefaultBackoff, StartTimeout: time.Minute, Now: fixture.T0.Add(time.Duration(restarts) * time.Second), MaxIndexFailures: 3}
		r := &aggregateRun{t: t, a: NewAggregate(NewJobRecord(j)), cache: map[string]*PodRecord{}}
		// Each op: the slot (a pod name) and what happens to it: add or
		// update it to one of the fuzzed states, or delete it.
		slots := min(len(pods), 12)
		for i, op := range ops {
			if i >= 256 {
				break
			}
			slot := pods[int(op&63)%slots].Name
			if op&128 != 0 {
				r.delete(slot)
			} else {
				p := pods[(int(op&63)+int(op>>6)*7+i)%len(pods)].DeepCopy()
				p.Name = slot
				r.set(p)
			}
			for _, ev := range [][]*EventRecord{nil, events} {
				got, want := r.summary(j, ev, opts)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("after op %d (%#x), pods %v:\nincremental %+v\nfrom scratch %+v", i, op, r.sorted(), got, want)
				}
			}
		}
	})
}

// TestAggregateNewestFailures: a Job with more failed pods than the
// Aggregate keeps lists the newest ones whatever the order they arrive
// and leave in; deleting the oldest pods (as the pod garbage collector
// does) never forces a rebuild, deleting the newest ones only once too few
// are left.
func TestAggregateNewestFailures(t *testing.T) {
	j := fixture.Job("ns", "big").Started(0).Status(0, 0, 0, 300)
	r := &aggregateRun{t: t, a: NewAggregate(NewJobRecord(j.J)), cache: map[string]*PodRecord{}}
	n := 300
	for i := range n {
		// Arrival order differs from finish order.
		k := (i * 7) % n
		r.set(fixture.Pod(j.J, podName(k), k).FailedWith("main", 1, "Error", k+1).P)
	}
	check := func(what string, oldest, newest int) {
		t.Helper()
		got, want := r.summary(j.J, nil, Options{Backoff: DefaultBackoff})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: incremental %+v\nfrom scratch %+v", what, got.Attempts, want.Attempts)
		}
		if len(got.Attempts) != min(MaxAttempts, newest-oldest+1) || got.Attempts[len(got.Attempts)-1].Pod != "big-"+podName(newest) ||
			got.OlderAttempts != newest-oldest+1-len(got.Attempts) || got.FailuresSinceSuccess != int32(newest-oldest+1) {
			t.Fatalf("%s: %d attempts, newest %s, %d older, %d since success", what, len(got.Attempts), got.Attempts[len(got.Attempts)-1].Pod, got.OlderAttempts, got.FailuresSinceSuccess)
		}
	}
	check("all present", 0, n-1)
	for k := range 100 {
		r.delete("big-" + podName(k))
	}
	check("oldest 100 deleted", 100, n-1)
	if r.rebuilds != 0 {
		t.Errorf("%d rebuilds while the oldest pods went", r.rebuilds)
	}
	for k := n - 1; k >= n-60; k-- {
		r.delete("big-" + podName(k))
	}
	check("newest 60 deleted", 100, n-61)
	if r.rebuilds != 1 {
		t.Errorf("%d rebuilds once the kept list ran short, want 1", r.rebuilds)
	}
	// A success after them: no failure since.
	r.set(fixture.Pod(j.J, "ok", 1000).Succeeded(1000).P)
	got, _ := r.summary(j.J, nil, Options{Backoff: DefaultBackoff})
	if got.FailuresSinceSuccess != 0 || got.BackoffDelay != 0 {
		t.Errorf("after a success: %d failures since, delay %v", got.FailuresSinceSuccess, got.BackoffDelay)
	}
}

func podName(k int) string {
	return string(rune('a'+k/26/26%26)) + string(rune('a'+k/26%26)) + string(rune('a'+k%26))
}

// TestAggregateNameHashCollisions: with every pod name hashing the same,
// the Aggregate still counts each pod once, replaces and deletes the
// right one, and gives the Summary computed with distinct hashes.
func TestAggregateNameHashCollisions(t *testing.T) {
	j := fixture.Job("ns", "collide").Indexed(40, 10).Started(0).Status(10, 0, 0, 20)
	distinct := nameHash
	t.Cleanup(func() { nameHash = distinct })
	nameHash = func(*PodRecord) uint64 { return 42 }
	r := &aggregateRun{t: t, a: NewAggregate(NewJobRecord(j.J)), cache: map[string]*PodRecord{}}
	for i := range 40 {
		r.set(fixture.Pod(j.J, podName(i), i).Index(i%20, 0).Running(i).P)
	}
	for i := range 40 {
		if i%2 == 0 {
			r.set(fixture.Pod(j.J, podName(i), i).Index(i%20, 0).FailedWith("main", 1, "Error", 100+i).P)
		}
	}
	for i := 0; i < 40; i += 3 {
		r.delete("collide-" + podName(i))
	}
	opts := Options{Backoff: DefaultBackoff}
	got := SummarizeAggregate(NewJobRecord(j.J), r.a, nil, opts)
	nameHash = distinct
	want := SummarizeAggregate(NewJobRecord(j.J), func() *Aggregate {
		a := NewAggregate(NewJobRecord(j.J))
		for _, rec := range r.sorted() {
			a.Add(rec)
		}
		return a
	}(), nil, opts)
	if r.a.Pods() != len(r.cache) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d pods counted of %d\nwith collisions %+v\nwithout %+v", r.a.Pods(), len(r.cache), got, want)
	}
	if len(got.PodFailures) == 0 || got.PodFailures[0].Count != 13 {
		t.Fatalf("PodFailures %+v, want 13 failed pods", got.PodFailures)
	}
}
