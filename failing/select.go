package failing

import (
	"container/heap"
	"sort"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
)

// Selection is what a page lists: the newest rows and the counts of all.
type Selection struct {
	// Rows are the newest rows, newest first.
	Rows []Entry
	// Total is the number of rows matching, listed or not.
	Total int
	// Counts are the rows matching by health.
	Counts map[diagnose.Health]int
}

// Select lists the limit newest rows of namespace ns ("" all) at now, with
// the counts of all: the Jobs the board keeps, present and deleted (a
// row whose From is still ahead not yet), and
// the CronJobs of cronJobs that failed or missed a run by more than
// grace.
func (b *Board) Select(now time.Time, ns string, limit int, cronJobs []cronjob.Summary, grace time.Duration) Selection {
	sel := Selection{Counts: map[diagnose.Health]int{}}
	rows := &newestRows{max: limit}
	offer := func(e Entry) {
		if (ns != "" && e.Namespace != ns) || now.Before(e.From) {
			return
		}
		sel.Total++
		sel.Counts[e.Health]++
		rows.offer(e)
	}
	// A deleted run a CronJob's row names as its newest failed run is
	// shown there (and in the CronJob's report), not a second time as a
	// row of its own.
	namedRuns := map[string]bool{} // "namespace/name"
	for _, cs := range cronJobs {
		if e, run, ok := b.judgeCronJob(cs, now, grace); ok {
			if run != "" {
				namedRuns[cs.Namespace+"/"+run] = true
			}
			offer(e)
		}
	}
	b.mu.Lock()
	b.deleted.expireLocked(now)
	for _, e := range b.jobs {
		if _, deleted := b.deleted.byJob[keptKey{e.Namespace, e.Name, e.UID}]; !deleted {
			offer(e)
		}
	}
	for _, d := range b.deleted.order {
		if e := d.entry; e.CronJob == "" || !namedRuns[e.Key()] {
			offer(e)
		}
	}
	b.mu.Unlock()
	sel.Rows = rows.sorted()
	return sel
}

// newestRows keeps the max newest of the rows offered (a min-heap on
// newness): a page over a board of 100,000 failed Jobs holds 100 rows, not
// a copy of the board.
type newestRows struct {
	max  int
	rows []Entry
}

func (h *newestRows) Len() int           { return len(h.rows) }
func (h *newestRows) Less(i, k int) bool { return newer(&h.rows[k], &h.rows[i]) }
func (h *newestRows) Swap(i, k int)      { h.rows[i], h.rows[k] = h.rows[k], h.rows[i] }
func (h *newestRows) Push(x any)         { h.rows = append(h.rows, x.(Entry)) }
func (h *newestRows) Pop() any {
	last := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return last
}

func (h *newestRows) offer(e Entry) {
	switch {
	case len(h.rows) < h.max:
		heap.Push(h, e)
	case newer(&e, &h.rows[0]):
		h.rows[0] = e
		heap.Fix(h, 0)
	}
}

// sorted returns the rows kept, newest first.
func (h *newestRows) sorted() []Entry {
	sort.Slice(h.rows, func(i, k int) bool { return newer(&h.rows[i], &h.rows[k]) })
	return h.rows
}
