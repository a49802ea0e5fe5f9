package queue

import (
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// StateOf is where the Job j stands in its queue: nil unless it has a
// QueueName and is unfinished. workloads are the Workloads indexed under
// the Job's key (the one owned by the Job's UID counts, the newest if
// several; none: QueueCauseNoWorkload), lq the Job's LocalQueue (nil:
// none in the cache). Since is never after now: a Workload written by a
// clock ahead of the exporter's has waited no time yet.
func StateOf(j *job.JobRecord, workloads []*WorkloadRecord, lq *LocalQueueRecord, now time.Time) *job.Queue {
	if j == nil || j.QueueName == "" {
		return nil
	}
	if outcome, _, _ := j.Outcome(); outcome != "" {
		return nil
	}
	q := &job.Queue{Name: j.QueueName}
	if sameQueue(lq, j) {
		q.ClusterQueue = lq.ClusterQueue
	}
	wl := workloadOf(j, workloads)
	if wl == nil {
		if j.Suspend {
			q.State, q.Cause, q.Since = job.QueueWaiting, job.QueueCauseNoWorkload, unixTime(j.Created)
		} else {
			q.State, q.Since = job.QueueRunning, unixTime(j.StartTime)
		}
		q.Since = notAfter(q.Since, now)
		return q
	}
	if wl.ClusterQueue != "" {
		q.ClusterQueue = wl.ClusterQueue
	}
	q.Workload, q.Evictions = wl.Name, wl.Evictions
	q.LastEviction, _ = evictionIn(wl)
	// Kueue's order of events (pkg/workload): the scheduler reserves quota
	// (SetQuotaReservation: QuotaReserved True, any Evicted reset to
	// False), SyncAdmittedCondition makes Admitted True once the
	// admission checks are ready, and the Job integration unsuspends the
	// Job. An eviction (workload.Evict: Evicted True) suspends the Job
	// again, then UnsetQuotaReservationWithCondition makes QuotaReserved
	// False with the eviction's message and Admitted False.
	switch {
	case !wl.Active:
		// Deactivation evicts the Workload and stops the Job
		// (workload_controller.go, Reconcile).
		q.State, q.Since = job.QueueDeactivated, firstSet(whenTrue(wl.Evicted), wl.Created)
		if wl.Evicted.True {
			q.Message = wl.Evicted.Message
		}
	case !j.Suspend:
		q.State, q.Since = job.QueueRunning, firstSet(whenPresent(wl.Admitted), unixTime(j.StartTime))
	case wl.Admitted.True && !wl.Evicted.True:
		q.State, q.Since = job.QueueAdmittedSuspended, firstSet(wl.Admitted.At, wl.Created)
	default:
		q.State = job.QueueWaiting
		// The Job waits since it was last stopped: an admitted Workload
		// being evicted waits from the eviction; Admitted False is only
		// ever written once it was True (SyncAdmittedCondition writes
		// only a change), when the eviction released the quota; a
		// Workload never admitted waits since it was made. An eviction
		// of a Workload never admitted (an admission check's retry on
		// reserved quota) stopped nothing, and SetQuotaReservation
		// resets it to False: its time must not count, or the wait
		// would jump back to the creation then.
		var evicting time.Time
		if wl.Admitted.True {
			evicting = whenTrue(wl.Evicted)
		}
		q.Since = firstSet(evicting, whenFalse(wl.Admitted), wl.Created)
		q.Cause, q.Message = waitCause(wl)
		if q.Cause == job.QueueCauseLocalQueueMissing && sameQueue(lq, j) && !lq.Terminating {
			// Kueue's "LocalQueue X doesn't exist" stays until the
			// scheduler's next failed attempt overwrites it (a
			// StrictFIFO Workload not at the head keeps it): the
			// LocalQueue exists now, and Kueue has not tried since.
			q.Cause, q.Message = job.QueueCauseQueued, ""
		}
	}
	q.Since = notAfter(q.Since, now)
	return q
}

// sameQueue: lq is the LocalQueue the Job asks for.
func sameQueue(lq *LocalQueueRecord, j *job.JobRecord) bool {
	return lq != nil && lq.Namespace == j.Namespace && lq.Name == j.QueueName
}

// waitCause is why a Workload that is not admitted waits, and Kueue's
// message on it.
func waitCause(wl *WorkloadRecord) (cause, message string) {
	c := wl.QuotaReserved
	switch {
	case !c.Present:
		// The scheduler has not tried it yet, or it waits behind others
		// (StrictFIFO): Kueue writes nothing until an attempt fails.
		return job.QueueCauseQueued, ""
	case c.True && wl.Admitted.True:
		// Evicted, quota not yet released: the eviction says why.
		return job.QueueCauseOther, wl.Evicted.Message
	case c.True:
		return job.QueueCauseAdmissionChecks, c.Message
	case wl.QuotaCause != "":
		return wl.QuotaCause, c.Message
	}
	return job.QueueCauseOther, c.Message
}

// workloadOf is the Job's Workload among those indexed under its key: one
// its UID controls (a Workload of an earlier Job of the same name is not
// this Job's), the newest if several (Kueue replaces a Workload whose
// Job's pod sets changed).
func workloadOf(j *job.JobRecord, workloads []*WorkloadRecord) *WorkloadRecord {
	var newest *WorkloadRecord
	for _, w := range workloads {
		if w == nil || w.JobUID != j.UID || w.Namespace != j.Namespace {
			continue
		}
		if newest == nil || w.Created.After(newest.Created) ||
			(w.Created.Equal(newest.Created) && w.Name > newest.Name) {
			newest = w
		}
	}
	return newest
}

// EvictionOf is the eviction a Workload's change from old to cur shows,
// once: the Evicted condition turning true, or true with a newer
// transition, on a Workload admitted then (admittedAtEviction); old nil is a Workload first seen after the initial list
// (one already evicted then is not counted: its eviction may predate the
// exporter). An old of another UID is a Workload deleted and made again
// under the same name while the watch was away: its evictions are new.
func EvictionOf(old, cur *WorkloadRecord) (job.QueueEviction, bool) {
	if old == nil || cur == nil || !cur.Evicted.True {
		return job.QueueEviction{}, false
	}
	if old.UID == cur.UID && old.Evicted.True && !cur.Evicted.At.After(old.Evicted.At) {
		return job.QueueEviction{}, false // the same eviction, or an older copy
	}
	if !admittedAtEviction(old, cur) {
		return job.QueueEviction{}, false
	}
	return evictionIn(cur)
}

// admittedAtEviction: the Workload was admitted when cur's eviction
// happened, so the eviction stopped a Job that had been let run.
// workload.Evict also evicts Workloads never admitted — a pending one
// deactivated, one whose admission check asks for a retry while its
// quota is only reserved — which stop nothing. Evicted is set while
// Admitted is still True, and the quota released (Admitted False) only
// after: Admitted still True, or True in old, says it was admitted;
// Admitted not True in old and not changed since, that it was not; else
// Admitted turned False not before the eviction (the watch missed the
// states between) says it was.
func admittedAtEviction(old, cur *WorkloadRecord) bool {
	if cur.Admitted.True {
		return true
	}
	if old.UID == cur.UID {
		if old.Admitted.True {
			return true
		}
		if old.Admitted.Present == cur.Admitted.Present && old.Admitted.At.Equal(cur.Admitted.At) {
			return false
		}
	}
	return cur.Admitted.Present && !cur.Admitted.At.Before(cur.Evicted.At)
}

// evictionIn is the eviction the Workload's Evicted condition shows, if
// true.
func evictionIn(wl *WorkloadRecord) (job.QueueEviction, bool) {
	if !wl.Evicted.True {
		return job.QueueEviction{}, false
	}
	return job.QueueEviction{
		Reason:  evictionReason(wl.Evicted, wl.Preempted),
		Message: wl.Evicted.Message,
		At:      wl.Evicted.At,
	}, true
}

// whenPresent, whenFalse and whenTrue are the condition's transition
// time if it is present, present and not true, true; else zero.
func whenPresent(c Condition) time.Time {
	if c.Present {
		return c.At
	}
	return time.Time{}
}

func whenFalse(c Condition) time.Time {
	if c.Present && !c.True {
		return c.At
	}
	return time.Time{}
}

func whenTrue(c Condition) time.Time {
	if c.True {
		return c.At
	}
	return time.Time{}
}

// firstSet is the first of ts that is not the zero time.
func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func notAfter(t, now time.Time) time.Time {
	if !now.IsZero() && t.After(now) {
		return now
	}
	return t
}

// unixTime is a Job record's time (Unix nanoseconds, 0 for unset).
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
