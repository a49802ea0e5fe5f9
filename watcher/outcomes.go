package watcher

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// What outlives a Job. The Summaries are state, recomputed from what the
// caches hold; a Job that finishes and is deleted between two looks at it
// leaves no state. So the watch events themselves are read here, in the
// informers' handlers: a Job's outcome when an event shows it finish (the
// Sink's JobFinished, once per Job), a pod's failures when an event shows
// them (PodFailed), the resource-time of a pod when an event shows it
// finish (PodFinished), and the last state of pods that go while their Job
// stays (departedPods), which the Job's Summary and, once the Job goes,
// its last Summary (JobDeleted) keep as evidence.
//
// Once means: an event that shows a Job finished counts it unless this
// replica knew it finished already (outcomeBook). The initial list is
// what happened before: Jobs already finished there are known, not
// counted (an exporter restart counts nothing again; Jobs that finished
// while no replica watched are not counted). A re-list after a broken
// watch delivers the Jobs the cache has as updates (known, not counted)
// and those it lacks as adds after the initial list: a Job created and
// finished while the watch was down counts then. Another shard's Jobs are
// never counted here (each Job is counted by the replica that owns it).

// outcomeBook remembers, per Job key, the UID of the Job this replica
// knows to be finished: at most one entry per finished Job in the cache,
// dropped with the Job. It also holds the outcomes seen but not yet
// reported: the worker reports them after it rendered the Job's state
// (deliver), so that no scrape can see a failure counted before the Job
// that failed shows it (an alert on a failed Job that is gone would take
// such a scrape for one).
type outcomeBook struct {
	mu       sync.Mutex
	finished map[string]types.UID
	pending  map[string][]job.Finish
	// recent are the final records of Jobs deleted in the last
	// recentlyDeleted, for pod events that arrive after their Job went.
	recent map[string]deletedJob
	// held are pod changes whose Job neither cache nor recent had when
	// they arrived, by Job key: the Job's informer updates its cache
	// before its handlers run, so a pod's failure can arrive between a
	// Job's removal from the cache and jobDeleted (or before a new Job's
	// add reached jobSeen). The Job's handler reports them (release);
	// those of Jobs that never come (out of the selection) expire.
	held     map[string][]heldPod
	heldPods int
}

// heldPod is a pod's change from old (nil: first seen) to cur, held for
// its Job.
type heldPod struct {
	old, cur *job.PodRecord
	at       time.Time
}

// maxHeldPods bounds the pod changes held at once: they wait at most
// recentlyDeleted, and only changes that may count (evidence or a
// deletion, or an end: resource-time) are held.
const maxHeldPods = 4096

type deletedJob struct {
	rec *job.JobRecord
	at  time.Time
}

// recentlyDeleted is how long a deleted Job's record serves its pods'
// late events: the pod and Job informers lag each other by milliseconds,
// seconds on a loaded exporter.
const recentlyDeleted = time.Minute

func newOutcomeBook() outcomeBook {
	return outcomeBook{finished: map[string]types.UID{}, pending: map[string][]job.Finish{}, recent: map[string]deletedJob{},
		held: map[string][]heldPod{}}
}

// hold keeps a pod's change for its Job key until the Job's handler
// releases it: a later change of the same pod keeps the first old state,
// so the pair still spans everything unreported. Changes older than
// recentlyDeleted are dropped first; beyond maxHeldPods new ones are not
// held.
func (b *outcomeBook) hold(key string, old, cur *job.PodRecord, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.heldPods >= maxHeldPods {
		for k, hs := range b.held {
			kept := hs[:0]
			for _, h := range hs {
				if now.Sub(h.at) <= recentlyDeleted {
					kept = append(kept, h)
				}
			}
			b.heldPods -= len(hs) - len(kept)
			if len(kept) == 0 {
				delete(b.held, k)
			} else {
				b.held[k] = kept
			}
		}
		if b.heldPods >= maxHeldPods {
			return
		}
	}
	hs := b.held[key]
	for i := range hs {
		if hs[i].cur.Name() == cur.Name() {
			hs[i].cur, hs[i].at = cur, now
			return
		}
	}
	b.held[key] = append(hs, heldPod{old: old, cur: cur, at: now})
	b.heldPods++
}

// release returns and forgets the pod changes held for the Job key.
func (b *outcomeBook) release(key string) []heldPod {
	b.mu.Lock()
	defer b.mu.Unlock()
	hs := b.held[key]
	delete(b.held, key)
	b.heldPods -= len(hs)
	return hs
}

// deleted keeps a deleted Job's final record for recentlyDeleted, and
// forgets those older.
func (b *outcomeBook) deleted(key string, r *job.JobRecord, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, d := range b.recent {
		if now.Sub(d.at) > recentlyDeleted {
			delete(b.recent, k)
		}
	}
	b.recent[key] = deletedJob{r, now}
}

// deletedJob is the final record of the Job key if it was deleted within
// recentlyDeleted, else nil.
func (b *outcomeBook) deletedJob(key string) *job.JobRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d, ok := b.recent[key]; ok && time.Since(d.at) <= recentlyDeleted {
		return d.rec
	}
	return nil
}

// pend holds a Job's outcome until the worker has rendered the Job.
func (b *outcomeBook) pend(key string, f job.Finish) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending[key] = append(b.pending[key], f)
}

// take returns and forgets the outcomes held for the Job key.
func (b *outcomeBook) take(key string) []job.Finish {
	b.mu.Lock()
	defer b.mu.Unlock()
	fs := b.pending[key]
	delete(b.pending, key)
	return fs
}

// finish records that the Job (key, uid) is finished and tells whether
// that is news.
func (b *outcomeBook) finish(key string, uid types.UID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished[key] == uid {
		return false
	}
	b.finished[key] = uid
	return true
}

// forget drops the Job (key, uid), if it is the one known.
func (b *outcomeBook) forget(key string, uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished[key] == uid {
		delete(b.finished, key)
	}
}

// jobRecord is a Job handler's object as this replica's record: nil for
// another shard's Job, a tombstone's unknown object, or anything else.
func (w *Watcher) jobRecord(obj any) (*job.JobRecord, string) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	r, ok := obj.(*job.JobRecord)
	if !ok || r == nil {
		return nil, ""
	}
	key := r.Namespace + "/" + r.Name
	if !w.cfg.Shard.Owns(key) {
		return nil, ""
	}
	return r, key
}

// jobSeen reads a Job's add (old nil) or update event for its outcome.
// A Job of the initial list that has finished is known, not reported; a
// key whose UID changed is another Job (the old one was deleted unseen).
func (w *Watcher) jobSeen(oldObj, newObj any, initial bool) {
	r, key := w.jobRecord(newObj)
	if r == nil {
		return
	}
	if old, _ := w.jobRecord(oldObj); old != nil && old.UID != r.UID {
		w.outcomes.forget(key, old.UID)
	}
	w.reportHeld(key, r)
	f, finished := job.FinishOf(r, time.Now())
	if !finished || !w.outcomes.finish(key, r.UID) || initial {
		return
	}
	w.outcomes.pend(key, clampFinish(f))
}

// jobDeleted reads a Job's delete event: its final state may show the
// outcome for the first time (a Job deleted the moment it finished), and
// its last Summary goes to the Sink as the evidence that outlives it. A
// tombstone (the watch missed the deletion) carries the last state the
// cache had, which was seen already: it reports no outcome but still hands
// over the evidence.
func (w *Watcher) jobDeleted(sc *scope, obj any) {
	r, key := w.jobRecord(obj)
	if r == nil {
		return
	}
	now := time.Now()
	if f, ok := job.FinishOf(r, now); ok && w.outcomes.finish(key, r.UID) {
		w.outcomes.pend(key, clampFinish(f))
	}
	w.outcomes.forget(key, r.UID)
	if r.Unselected {
		// Out of the selection, not deleted: the worker drops it.
		w.departed.take(key)
		w.outcomes.release(key)
		return
	}
	w.outcomes.deleted(key, r, now)
	w.reportHeld(key, r)
	s := w.lastSummary(sc, key, r, now)
	w.sink.JobDeleted(key, &s)
}

// lastSummary is the Summary of a deleted Job: its final record, the pods
// of it still cached (a foreground deletion removes them first) and the
// departed ones, whose memory goes with it.
func (w *Watcher) lastSummary(sc *scope, key string, r *job.JobRecord, now time.Time) job.Summary {
	a := job.NewAggregate(r)
	objs, _ := sc.pods.GetIndexer().ByIndex(podJobIndex, key)
	for _, o := range objs {
		if p, ok := o.(*job.PodRecord); ok {
			a.Add(p)
		}
	}
	opts := w.cfg.Summarize
	opts.Now = now
	s := job.SummarizeAggregate(r, a, nil, opts)
	s.Departed = job.DepartedOf(r, w.departed.take(key))
	s.Deleted = now
	if r.Deleting != 0 {
		s.Deleted = time.Unix(0, r.Deleting).UTC()
	}
	return s
}

// clampFinish keeps a Finish's time no later than now: a condition time
// from a clock ahead of the exporter's must not make a failure look newer
// than it can be (an alert reading the last failure's time would outlast
// its window).
func clampFinish(f job.Finish) job.Finish {
	if now := time.Now(); f.At.After(now) {
		f.At = now
	}
	return f
}

// podSeen reads a pod's add (after the initial list; old nil) or update
// event for new failures, and keeps the state a pod had before its
// deletion began if it is evidence (see departedPods).
func (w *Watcher) podSeen(sc *scope, oldObj, newObj any) {
	old, _ := podRecord(oldObj)
	rec, key := podRecord(newObj)
	j := w.ownJob(sc, key)
	if rec != nil && j != nil && old != nil && rec.Deleting() && !old.Deleting() && old.Evidence() {
		w.departed.keep(key, old)
	}
	if j == nil {
		// The Job's informer runs apart from the pods': a Job deleted
		// the moment it failed may be gone from its cache before the
		// pod's failure arrives here.
		j = w.outcomes.deletedJob(key)
	}
	if rec == nil {
		return
	}
	if j == nil {
		if key != "" && w.cfg.Shard.Owns(key) && (rec.Evidence() || rec.Deleting() || rec.Ended()) {
			w.outcomes.hold(key, old, rec, time.Now())
		}
		return
	}
	w.reportPodChange(old, rec, j)
}

// reportPodChange reports what a pod's change from old to cur adds,
// judged with its Job j: its new failures, and the resource-time it held
// if it finished.
func (w *Watcher) reportPodChange(old, cur *job.PodRecord, j *job.JobRecord) {
	if failures := job.NewPodFailures(old, cur, j); len(failures) > 0 {
		w.sink.PodFailed(job.PodFailed{Namespace: j.Namespace, Owner: j.Owner, Job: j.Name,
			Pod: cur.Name(), Failures: failures})
	}
	if f, ok := job.PodFinish(old, cur, j, time.Now()); ok {
		w.sink.PodFinished(f)
	}
}

// reportHeld reports the pod changes held for the Job key (see
// outcomeBook.held), judged with its record r.
func (w *Watcher) reportHeld(key string, r *job.JobRecord) {
	for _, h := range w.outcomes.release(key) {
		w.reportPodChange(h.old, h.cur, r)
	}
}

// ownJob is the record of this replica's Job key in the scope's cache,
// nil if the cache has none (a Job out of the selection, not yet listed,
// or another shard's).
func (w *Watcher) ownJob(sc *scope, key string) *job.JobRecord {
	if key == "" || !w.cfg.Shard.Owns(key) {
		return nil
	}
	obj, exists, err := sc.jobs.GetIndexer().GetByKey(key)
	j, ok := obj.(*job.JobRecord)
	if err != nil || !exists || !ok {
		return nil
	}
	return j
}

// podGone keeps a deleted pod's final state as its Job's evidence, unless
// the state before its deletion began is kept already, and counts the
// resource-time of a pod removed while running with no deletion seen
// (job.PodGone). A tombstone's pod ended while the watch was broken: how
// is not guessed.
func (w *Watcher) podGone(sc *scope, obj any) {
	rec, key := podRecord(obj)
	j := w.ownJob(sc, key)
	if rec == nil || j == nil {
		return
	}
	if rec.Evidence() {
		w.departed.keepFirst(key, rec)
	}
	if _, tombstone := obj.(cache.DeletedFinalStateUnknown); tombstone {
		return
	}
	if f, ok := job.PodGone(rec, j, time.Now()); ok {
		w.sink.PodFinished(f)
	}
}

// departedPods keeps, per Job key, the last state with evidence of the
// Job's pods that are gone or going: at most job.MaxDepartedPods per Job
// (the newest), dropped with the Job. A pod that waited on an image pull
// until the deadline deleted it is remembered waiting, not as the
// deletion that followed.
type departedPods struct {
	mu   sync.Mutex
	jobs map[string][]*job.PodRecord
}

func newDepartedPods() departedPods { return departedPods{jobs: map[string][]*job.PodRecord{}} }

// keep remembers r as the pod's state, in place of any kept before.
func (d *departedPods) keep(key string, r *job.PodRecord) { d.put(key, r, true) }

// keepFirst remembers r unless the pod has a state kept already.
func (d *departedPods) keepFirst(key string, r *job.PodRecord) { d.put(key, r, false) }

func (d *departedPods) put(key string, r *job.PodRecord, replace bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pods := d.jobs[key]
	name := r.Name()
	for i, p := range pods {
		if p.Name() == name {
			if replace {
				pods[i] = r
			}
			return
		}
	}
	if len(pods) >= job.MaxDepartedPods {
		pods = append(pods[:0], pods[1:]...)
	}
	d.jobs[key] = append(pods, r)
}

// of is a copy of the records kept for the Job key.
func (d *departedPods) of(key string) []*job.PodRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*job.PodRecord(nil), d.jobs[key]...)
}

// take returns and forgets the records kept for the Job key.
func (d *departedPods) take(key string) []*job.PodRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	pods := d.jobs[key]
	delete(d.jobs, key)
	return pods
}

// len is the number of pod records kept, for the exporter's own metrics.
func (d *departedPods) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, pods := range d.jobs {
		n += len(pods)
	}
	return n
}
