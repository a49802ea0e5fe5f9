package failing

import (
	"container/heap"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// deletedJobs keeps the evidence of deleted failed Jobs, by Job (its
// UID: a Job re-created under the same name is another one), for keepFor
// after each deletion and at most max of them: beyond that the oldest
// deletion goes first. Entries that expire are dropped when the board is
// next written or read, not by a timer. Lookups scan it in deletion
// order, about 12µs for the default 1,000 (a failing-now page does so
// once per failed CronJob whose newest run is gone).
type deletedJobs struct {
	max     int
	keepFor time.Duration
	byJob   map[keptKey]*deletedJob
	order   deletionOrder // oldest deletion first
}

// keptKey names a deleted Job: the UID tells it from another of the same
// name; namespace and name keep Jobs without a UID (objects built by
// hand) apart.
type keptKey struct {
	namespace, name string
	uid             types.UID
}

type deletedJob struct {
	entry Entry
	// deleted is when the Job was deleted, no later than when the
	// exporter learnt of it (a clock ahead of the exporter's cannot make
	// evidence outlive keepFor): what expiry and eviction go by.
	deleted time.Time
	index   int // in order
}

func (d *deletedJobs) keepLocked(e Entry, now time.Time) {
	d.expireLocked(now)
	k := keptKey{e.Namespace, e.Name, e.UID}
	if old, ok := d.byJob[k]; ok {
		heap.Remove(&d.order, old.index)
		delete(d.byJob, k)
	}
	at := e.Kept.Deleted
	if at.After(now) {
		at = now
	}
	if now.Sub(at) >= d.keepFor {
		return
	}
	dj := &deletedJob{entry: e, deleted: at}
	d.byJob[k] = dj
	heap.Push(&d.order, dj)
	for len(d.byJob) > d.max {
		d.dropLocked(heap.Pop(&d.order).(*deletedJob))
	}
}

func (d *deletedJobs) expireLocked(now time.Time) {
	for len(d.order) > 0 && now.Sub(d.order[0].deleted) >= d.keepFor {
		d.dropLocked(heap.Pop(&d.order).(*deletedJob))
	}
}

func (d *deletedJobs) dropLocked(dj *deletedJob) {
	e := &dj.entry
	delete(d.byJob, keptKey{e.Namespace, e.Name, e.UID})
}

// newestLocked is the newest deletion kept that match accepts.
func (d *deletedJobs) newestLocked(now time.Time, match func(e *Entry) bool) (Entry, bool) {
	d.expireLocked(now)
	var newest *Entry
	for _, dj := range d.order {
		if e := &dj.entry; match(e) && (newest == nil || deletedBefore(newest, e)) {
			newest = e
		}
	}
	if newest == nil {
		return Entry{}, false
	}
	return *newest, true
}

// deletedBefore orders kept entries by deletion, then by UID, so equal
// times list in a stable order.
func deletedBefore(a, b *Entry) bool {
	if !a.Kept.Deleted.Equal(b.Kept.Deleted) {
		return a.Kept.Deleted.Before(b.Kept.Deleted)
	}
	return a.UID < b.UID
}

// deletionOrder is a min-heap of kept Jobs by deletion time.
type deletionOrder []*deletedJob

func (o deletionOrder) Len() int           { return len(o) }
func (o deletionOrder) Less(i, k int) bool { return o[i].deleted.Before(o[k].deleted) }
func (o deletionOrder) Swap(i, k int) {
	o[i], o[k] = o[k], o[i]
	o[i].index, o[k].index = i, k
}
func (o *deletionOrder) Push(x any) {
	dj := x.(*deletedJob)
	dj.index = len(*o)
	*o = append(*o, dj)
}
func (o *deletionOrder) Pop() any {
	old := *o
	dj := old[len(old)-1]
	old[len(old)-1] = nil
	*o = old[:len(old)-1]
	return dj
}
