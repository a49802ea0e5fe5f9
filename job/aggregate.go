package job

import (
	"bytes"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/google/btree"
)

// Aggregate is what a Job's Summary needs of its pods, kept up to date one
// pod at a time: Add a pod record when the cache gets it, Remove it when
// the cache drops or replaces it. Each change costs the same whatever the
// number of pods (decoding one record, a few map and slice updates, one
// B-tree update for the worst indexes); SummarizeAggregate then reads it
// in time bounded by the Summary's own bounded lists, not by the pods.
//
// The order-dependent facts are kept exactly as long as the common changes
// allow: the newest failure and success, the failures since the newest
// success, the newest failed pods (more than MaxAttempts of them). A
// removal that takes away what cannot be rebuilt from what is kept (the
// newest success deleted while older ones remain, the list of newest
// failed pods running short) makes it stale (Fits says no): its owner then
// builds a new one from every pod (NewAggregate and Add for each), which
// is also the reference the tests and the fuzzer compare the incremental
// updates with.
//
// It knows which record of each pod it counts (by a hash of the pod's
// name; by the name itself for the rare pods whose names' hashes collide), so a change applies once however the notifications and a rebuild
// from the cache interleave: adding a record replaces the one counted for
// the same pod, removing a record not counted changes nothing, and
// deleting a pod removes whatever record counts for it (a watch's delete
// event carries a new copy of the object, not the cached one). An
// Aggregate is not safe for concurrent use; its owner serialises Add,
// Remove, Delete and SummarizeAggregate.
type Aggregate struct {
	ctx podContext
	// members are the records counted, by the hash of their pod's name
	// (8 bytes a pod instead of its name); collided those whose hash
	// another counted pod's name has already, by name (nil until then).
	members  map[uint64]*PodRecord
	collided map[string]*PodRecord
	// stale is set when a removal lost an order-dependent fact.
	stale bool

	pods int
	// newestCreated is the newest pod's creation time, newestCreatedN
	// the number of pods created then; createdStale when that count
	// dropped to 0 with older pods left (only FailedCreate events read it).
	newestCreated  time.Time
	newestCreatedN int
	createdStale   bool

	restartRetries int64
	failures       []PodFailure  // by key, each with its Count; few (bounded labels)
	waiting        []ReasonCount // waiting pods by reason, other than the steps of a normal start
	waitingPods    map[string]struct{}
	pendingPods    map[string]pendingPod // pods in the steps of a normal start

	lastSuccess  time.Time
	lastSuccessN int
	failedAfter  []int64 // finish times (nanos) of failed pods after lastSuccess, sorted
	failed       int
	newest       []failedRef // the newest failed pods, oldest first, at most keptAttempts

	indexValues  map[int32][]int32 // per index, the failure count each of its pods gives (> 0 only)
	worstIndexes *btree.BTreeG[IndexFailure]

	failedHeld heldSum // what the pods' failed runs held (failedSpans)
}

type pendingPod struct {
	created time.Time
	step    string
}

// failedRef is one of the newest failed pods: its finish time and record
// (read again for the Summary's Attempts).
type failedRef struct {
	at  int64
	rec *PodRecord
}

// keptAttempts is how many newest failed pods an Aggregate keeps: more
// than MaxAttempts, so that removing a few of them (pods deleted by the
// controller or the garbage collector) does not force a rebuild.
const keptAttempts = 2 * MaxAttempts

// NewAggregate returns the empty Aggregate of a Job.
func NewAggregate(j *JobRecord) *Aggregate {
	return &Aggregate{ctx: contextOf(j), members: map[uint64]*PodRecord{}}
}

// Fits tells whether the Aggregate can still serve the Job: the same Job
// (by UID) with the same spec fields a pod's contribution depends on, and
// nothing lost to a removal (events: the Job has FailedCreate events,
// which need the newest pod's creation time).
func (a *Aggregate) Fits(j *JobRecord, events bool) bool {
	return a != nil && !a.stale && (!events || !a.createdStale) && a.ctx.equal(contextOf(j))
}

// Pods is the number of pods in the Aggregate.
func (a *Aggregate) Pods() int { return a.pods }

// Add counts a pod's record in place of the one counted for the same pod
// until now, if any; a record of a pod the Job does not control (by UID)
// is not counted.
func (a *Aggregate) Add(r *PodRecord) {
	if r == nil {
		return
	}
	cur := a.counted(r)
	if cur == r {
		return
	}
	if cur != nil {
		a.remove(cur)
	}
	f := r.facts()
	if f.jobName == "" || f.jobUID != a.ctx.uid {
		return
	}
	a.setCounted(r)
	a.apply(r, &f, contributionOf(&f, &a.ctx), 1)
}

// Remove stops counting a record, if it is the one counted for its pod.
func (a *Aggregate) Remove(r *PodRecord) {
	if r != nil && a.counted(r) == r {
		a.remove(r)
	}
}

// Delete stops counting the pod of a record (any copy of it).
func (a *Aggregate) Delete(r *PodRecord) {
	if r == nil {
		return
	}
	if cur := a.counted(r); cur != nil {
		a.remove(cur)
	}
}

func (a *Aggregate) remove(r *PodRecord) {
	a.unsetCounted(r)
	f := r.facts()
	a.apply(r, &f, contributionOf(&f, &a.ctx), -1)
}

// counted is the record counted for r's pod, nil if none.
func (a *Aggregate) counted(r *PodRecord) *PodRecord {
	if cur := a.members[nameHash(r)]; cur != nil && bytes.Equal(cur.nameBytes(), r.nameBytes()) {
		return cur
	}
	return a.collided[string(r.nameBytes())]
}

func (a *Aggregate) setCounted(r *PodRecord) {
	h := nameHash(r)
	if cur := a.members[h]; cur == nil || bytes.Equal(cur.nameBytes(), r.nameBytes()) {
		a.members[h] = r
		return
	}
	if a.collided == nil {
		a.collided = map[string]*PodRecord{}
	}
	a.collided[string(r.nameBytes())] = r
}

func (a *Aggregate) unsetCounted(r *PodRecord) {
	h := nameHash(r)
	if cur := a.members[h]; cur != nil && bytes.Equal(cur.nameBytes(), r.nameBytes()) {
		delete(a.members, h)
		return
	}
	delete(a.collided, string(r.nameBytes()))
}

// nameHash hashes a pod's name (a variable: tests make every name collide).
var nameHash = func(r *PodRecord) uint64 {
	h := fnv.New64a()
	h.Write(r.nameBytes())
	return h.Sum64()
}

func (a *Aggregate) apply(r *PodRecord, f *podFacts, c contribution, sign int) {
	a.pods += sign
	a.created(f.created, sign)
	for _, f := range c.restarts {
		a.restartRetries += int64(sign) * f.Count
		a.failures = addFailure(a.failures, f, int64(sign)*f.Count)
	}
	switch c.kind {
	case podSucceeded:
		a.success(c.at, sign)
	case podFailed:
		a.failure(r, c, sign)
	default:
		if c.waiting != "" {
			a.waiting = addReason(a.waiting, c.waiting, int64(sign))
			if sign > 0 {
				if a.waitingPods == nil {
					a.waitingPods = map[string]struct{}{}
				}
				a.waitingPods[f.name] = struct{}{}
			} else {
				delete(a.waitingPods, f.name)
			}
		}
		if c.pending != "" {
			if sign > 0 {
				if a.pendingPods == nil {
					a.pendingPods = map[string]pendingPod{}
				}
				a.pendingPods[f.name] = pendingPod{f.created, c.pending}
			} else {
				delete(a.pendingPods, f.name)
			}
		}
	}
	if c.index >= 0 && c.indexVal > 0 {
		a.indexValue(c.index, c.indexVal, sign)
	}
	failedRuns, lastRun := f.failedSpans()
	a.failedHeld.add(&f.requests, failedRuns, sign)
	a.failedHeld.add(&f.requests, lastRun, sign)
}

func (a *Aggregate) created(t time.Time, sign int) {
	switch {
	case sign > 0 && (t.After(a.newestCreated) || a.createdStale && t.Equal(a.newestCreated)):
		a.newestCreated, a.newestCreatedN, a.createdStale = t, 1, false
	case sign > 0 && t.Equal(a.newestCreated):
		a.newestCreatedN++
	case sign < 0 && t.Equal(a.newestCreated) && !a.createdStale:
		if a.newestCreatedN--; a.newestCreatedN == 0 && a.pods > 0 {
			a.createdStale = true
		}
	}
	if a.pods == 0 {
		a.newestCreated, a.newestCreatedN, a.createdStale = time.Time{}, 0, false
	}
}

func (a *Aggregate) success(at time.Time, sign int) {
	switch {
	case sign > 0 && at.After(a.lastSuccess):
		a.lastSuccess, a.lastSuccessN = at, 1
		// failuresAfterLastSuccess: only failures after the new newest
		// success are left.
		cut := nanos(at)
		k, _ := slices.BinarySearch(a.failedAfter, cut+1)
		a.failedAfter = append(a.failedAfter[:0], a.failedAfter[k:]...)
	case sign > 0 && at.Equal(a.lastSuccess):
		a.lastSuccessN++
	case sign < 0 && at.Equal(a.lastSuccess):
		if a.lastSuccessN--; a.lastSuccessN == 0 && !at.IsZero() {
			// The next newest success, and the failures after it,
			// are not kept.
			a.stale = true
		}
	}
}

func (a *Aggregate) failure(r *PodRecord, c contribution, sign int) {
	a.failed += sign
	a.failures = addFailure(a.failures, c.failure, int64(sign))
	at := nanos(c.at)
	if c.at.After(a.lastSuccess) {
		k, found := slices.BinarySearch(a.failedAfter, at)
		if sign > 0 {
			a.failedAfter = slices.Insert(a.failedAfter, k, at)
		} else if found {
			a.failedAfter = slices.Delete(a.failedAfter, k, k+1)
		} else {
			a.stale = true
		}
	}
	k, found := slices.BinarySearchFunc(a.newest, failedRef{at, r}, compareFailed)
	if sign > 0 {
		// Older than every pod kept: it belongs in the list only while
		// the list is short and holds every failed pod.
		if k > 0 || len(a.newest) < keptAttempts && a.failed-1 == len(a.newest) {
			a.newest = slices.Insert(a.newest, k, failedRef{at, r})
			if len(a.newest) > keptAttempts {
				a.newest = slices.Delete(a.newest, 0, 1)
			}
		}
		return
	}
	if found && a.newest[k].rec == r {
		a.newest = slices.Delete(a.newest, k, k+1)
		if len(a.newest) < MaxAttempts && a.failed > len(a.newest) {
			a.stale = true // older failed pods exist, not kept
		}
	}
}

// compareFailed orders failed pods by finish time, then name (the order of
// Summary.Attempts).
func compareFailed(x, y failedRef) int {
	switch {
	case x.at < y.at:
		return -1
	case x.at > y.at:
		return 1
	}
	return bytes.Compare(x.rec.nameBytes(), y.rec.nameBytes())
}

// nanos orders times as int64 (the API's times fit; the zero time, unset,
// comes first).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

func (a *Aggregate) indexValue(index, v int32, sign int) {
	vals := a.indexValues[index]
	before := maxOf(vals)
	if sign > 0 {
		vals = append(vals, v)
	} else if k := slices.Index(vals, v); k >= 0 {
		vals = slices.Delete(vals, k, k+1)
	}
	if a.indexValues == nil {
		a.indexValues = map[int32][]int32{}
	}
	if len(vals) == 0 {
		delete(a.indexValues, index)
	} else {
		a.indexValues[index] = vals
	}
	after := maxOf(vals)
	if before == after {
		return
	}
	if a.worstIndexes == nil {
		a.worstIndexes = btree.NewG(16, worseIndex)
	}
	if before > 0 {
		a.worstIndexes.Delete(IndexFailure{index, before})
	}
	if after > 0 {
		a.worstIndexes.ReplaceOrInsert(IndexFailure{index, after})
	}
}

// maxOf is the largest value, 0 for none.
func maxOf(vals []int32) int32 {
	m := int32(0)
	for _, v := range vals {
		m = max(m, v)
	}
	return m
}

// worseIndex orders indexes worst first: most failures, then lowest index.
func worseIndex(x, y IndexFailure) bool {
	if x.Failures != y.Failures {
		return x.Failures > y.Failures
	}
	return x.Index < y.Index
}

func addFailure(fs []PodFailure, k PodFailure, n int64) []PodFailure {
	if n == 0 {
		return fs
	}
	for i := range fs {
		if fs[i].Container == k.Container && fs[i].Reason == k.Reason && fs[i].ExitCode == k.ExitCode {
			if fs[i].Count += n; fs[i].Count == 0 {
				return slices.Delete(fs, i, i+1)
			}
			return fs
		}
	}
	k.Count = n
	return append(fs, k)
}

func addReason(rs []ReasonCount, r string, n int64) []ReasonCount {
	for i := range rs {
		if rs[i].Reason == r {
			if rs[i].Count += n; rs[i].Count == 0 {
				return slices.Delete(rs, i, i+1)
			}
			return rs
		}
	}
	return append(rs, ReasonCount{r, n})
}
