package cronjob

import (
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// A Renderer is told by a Book what it reports, in the order of the
// changes, while the Book's lock is held: it must not call back into the
// Book.
type Renderer interface {
	// Update says the CronJob "namespace/name" is reported as s says. s is
	// summarized at the zero time: what only the clock changes (Overdue,
	// BlockedBy) is left to the readers (Book.Summary).
	Update(key string, s *Summary)
	// Delete says the CronJob is no longer reported.
	Delete(key string)
}

// Book keeps what the exporter knows of each CronJob: the CronJob object
// (its schedule and the controller's status) and its runs, the Jobs whose
// controller is that CronJob, matched by UID, with the memory of the
// outcomes of runs seen since that are gone (history limits, TTL). It is
// fed what the watcher reports, tells its Renderer every change, and
// gives the pages a CronJob's Summary as of now.
//
// While the exporter watches CronJob objects (WatchObjects(true)) a
// CronJob is reported only while its object exists: its series go with
// it, and an owner reference to a CronJob that does not exist reports
// nothing. Without them (no permission to read CronJobs) the exporter
// falls back to what the runs say: a CronJob is reported while one of its
// Jobs is present, without schedule.
type Book struct {
	out Renderer

	mu      sync.Mutex
	objects bool
	entries map[string]*entry // by "namespace/name" of the CronJob
	// runs maps each Job a CronJob owns ("namespace/name") to the
	// CronJob's key.
	runs map[string]string
}

// entry is what a Book keeps of one CronJob.
type entry struct {
	namespace, name string
	record          *Record        // nil until (or unless) the object is known; never changed, only replaced
	runs            map[string]Run // by the Job's "namespace/name"
	// memory of the runs seen, per CronJob UID: a CronJob deleted and
	// created again under the same name starts afresh. The UID is the one
	// a run's owner reference names, which whoever created the Job wrote:
	// a UID's memory outlives its runs only while the CronJob object
	// vouches for it (it is the object's UID), else it is forgotten with
	// its last run (forget), so Jobs claiming made-up UIDs leave nothing
	// behind.
	memory map[types.UID]*Memory
}

// NewBook returns an empty Book that tells out what it reports.
func NewBook(out Renderer) *Book {
	return &Book{out: out, entries: map[string]*entry{}, runs: map[string]string{}}
}

// WatchObjects says whether the CronJob objects are watched (their
// informer synced and working): with them a CronJob is reported while its
// object exists, without them while one of its Jobs does.
func (b *Book) WatchObjects(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects == on {
		return
	}
	b.objects = on
	for key, e := range b.entries {
		b.changed(key, e)
	}
}

// Objects tells whether the CronJob objects are watched (WatchObjects).
func (b *Book) Objects() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.objects
}

// SetCronJob records a CronJob object.
func (b *Book) SetCronJob(r *Record) {
	key := r.Key()
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entryFor(key, r.Namespace, r.Name)
	if e.record != nil && e.record.UID != r.UID {
		// Deleted and created again under the same name.
		delete(e.memory, e.record.UID)
	}
	e.record = r
	b.changed(key, e)
}

// DeleteCronJob drops a deleted CronJob object: it is no longer reported
// (its runs go too, with the garbage collector).
func (b *Book) DeleteCronJob(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil {
		return
	}
	if e.record != nil {
		delete(e.memory, e.record.UID)
	}
	e.record = nil
	for uid := range e.memory {
		if !e.vouched(uid) {
			delete(e.memory, uid)
		}
	}
	b.changed(key, e)
}

// Observe records a Job of a CronJob, and its outcome once it finished.
func (b *Book) Observe(s *job.Summary) {
	jobKey := s.Namespace + "/" + s.Name
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.OwnerKind != job.OwnerKindCronJob || s.OwnerName == "" {
		b.forget(jobKey) // its owner reference may have been removed
		return
	}
	key := s.Namespace + "/" + s.OwnerName
	if old, ok := b.runs[jobKey]; ok && old != key {
		b.forget(jobKey)
	}
	e := b.entryFor(key, s.Namespace, s.OwnerName)
	b.runs[jobKey] = key
	run := RunOf(s)
	e.runs[jobKey] = run
	mem := e.memory[run.OwnerUID]
	if mem == nil {
		mem = &Memory{}
		e.memory[run.OwnerUID] = mem
	}
	mem.Observe(run)
	b.changed(key, e)
}

// Forget drops a deleted Job.
func (b *Book) Forget(jobKey string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forget(jobKey)
}

func (b *Book) forget(jobKey string) {
	key, ok := b.runs[jobKey]
	if !ok {
		return
	}
	delete(b.runs, jobKey)
	if e := b.entries[key]; e != nil {
		uid := e.runs[jobKey].OwnerUID
		delete(e.runs, jobKey)
		if !e.vouched(uid) {
			delete(e.memory, uid)
		}
		b.changed(key, e)
	}
}

// vouched tells whether the memory of CronJob UID uid is kept: it is the
// object's UID, or a run present names it.
func (e *entry) vouched(uid types.UID) bool {
	if e.record != nil && e.record.UID == uid {
		return true
	}
	for _, r := range e.runs {
		if r.OwnerUID == uid {
			return true
		}
	}
	return false
}

func (b *Book) entryFor(key, namespace, name string) *entry {
	e := b.entries[key]
	if e == nil {
		e = &entry{namespace: namespace, name: name, runs: map[string]Run{}, memory: map[types.UID]*Memory{}}
		b.entries[key] = e
	}
	return e
}

// Summary is the CronJob "namespace/name" as reported now.
func (b *Book) Summary(key string, now time.Time) (Summary, bool) {
	b.mu.Lock()
	e := b.entries[key]
	if e == nil || !b.reported(e) {
		b.mu.Unlock()
		return Summary{}, false
	}
	snap := e.copyOut()
	b.mu.Unlock()
	return snap.summarize(now), true
}

// Summaries are the CronJobs reported now, as of now, in no order: what
// the exporter's failing-now page judges them by. They are copied out
// under the lock and summarized outside it, so a page over many CronJobs
// holds back the watcher's updates only for the copy.
func (b *Book) Summaries(now time.Time) []Summary {
	b.mu.Lock()
	snaps := make([]snapshot, 0, len(b.entries))
	for _, e := range b.entries {
		if b.reported(e) {
			snaps = append(snaps, e.copyOut())
		}
	}
	b.mu.Unlock()
	out := make([]Summary, len(snaps))
	for i := range snaps {
		out[i] = snaps[i].summarize(now)
	}
	return out
}

// reported tells whether a CronJob is reported: with the objects watched
// while its object exists, without them while one of its Jobs does.
func (b *Book) reported(e *entry) bool {
	if b.objects {
		return e.record != nil
	}
	return e.record != nil || len(e.runs) > 0
}

// changed tells the renderer how the CronJob is reported now, and drops
// its entry once nothing is left of it.
func (b *Book) changed(key string, e *entry) {
	if !b.reported(e) {
		b.out.Delete(key)
		if e.record == nil && len(e.runs) == 0 {
			delete(b.entries, key)
		}
		return
	}
	s := e.copyOut().summarize(time.Time{})
	b.out.Update(key, &s)
}

// snapshot is what Summarize needs of one CronJob, copied out of its entry
// so that summarizing needs no lock: the record is never changed (a new
// object replaces it), the runs and memory are copies.
type snapshot struct {
	namespace, name string
	record          *Record
	runs            []Run
	memory          Memory
}

func (snap snapshot) summarize(now time.Time) Summary {
	return Summarize(snap.namespace, snap.name, snap.record, snap.runs, snap.memory, now)
}

// copyOut matches the runs and memory to the object, by UID. Without the
// object, every run counts and the memories of all UIDs are merged.
func (e *entry) copyOut() snapshot {
	snap := snapshot{namespace: e.namespace, name: e.name, record: e.record, runs: make([]Run, 0, len(e.runs))}
	if e.record != nil {
		for _, r := range e.runs {
			if r.OwnerUID == e.record.UID {
				snap.runs = append(snap.runs, r)
			}
		}
		if m := e.memory[e.record.UID]; m != nil {
			snap.memory = *m
		}
		return snap
	}
	for _, r := range e.runs {
		snap.runs = append(snap.runs, r)
	}
	uids := make([]string, 0, len(e.memory))
	for uid := range e.memory {
		uids = append(uids, string(uid))
	}
	sort.Strings(uids)
	for _, uid := range uids {
		m := e.memory[types.UID(uid)]
		snap.memory.Observe(Run{Succeeded: true, Finished: m.LastSuccess})
		snap.memory.Observe(Run{Failed: true, Finished: m.LastFailure, Reason: m.FailureReason})
		if snap.memory.LastSuccess.Equal(m.LastSuccess) {
			snap.memory.SuccessDuration = m.SuccessDuration
		}
	}
	return snap
}
