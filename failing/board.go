// Package failing is the model behind the failing-now page and the kept
// evidence of deleted Jobs: the Jobs that are failing, stuck or failed now,
// one compact Entry each, kept up to date from the Summaries the watcher
// hands its Sink, judged by package diagnose. Pages read it through its
// methods; it renders nothing.
package failing

import (
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// The defaults of NewBoard's keepDeleted and keepDeletedFor: an hour
// covers the time from a page to someone opening it; a kept report costs
// 11–17 KB (50 attempts, with or without 20 departed pods:
// TestDeletedJobMemory), so a thousand cost at most about 16 MiB
// (docs/scale.md).
const (
	DefaultKeepDeleted    = 1000
	DefaultKeepDeletedFor = time.Hour
)

// Board is the model behind the failing-now page: the Jobs that are
// failing, stuck or failed now, one compact entry each (about 350 bytes),
// kept up to date from the Summaries the watcher hands its Sink (Sink).
// Healthy, complete and suspended Jobs take no room (and cost 20ns an
// update), so its size follows the failures, not the cluster; a page
// reads it without touching a pod.
//
// It also keeps the evidence of failed Jobs that were deleted (deleted):
// a Job deleted the moment it fails (ttlSecondsAfterFinished 0, a
// failedJobsHistoryLimit of 0, someone cleaning up) would otherwise leave
// no trace for the person its alert pages.
type Board struct {
	mu      sync.Mutex
	jobs    map[string]Entry // by "namespace/name"
	deleted deletedJobs
}

// NewBoard returns an empty board that keeps the evidence of at most
// keepDeleted deleted failed Jobs for keepDeletedFor after their deletion
// (0: DefaultKeepDeleted, DefaultKeepDeletedFor).
func NewBoard(keepDeleted int, keepDeletedFor time.Duration) *Board {
	if keepDeleted <= 0 {
		keepDeleted = DefaultKeepDeleted
	}
	if keepDeletedFor <= 0 {
		keepDeletedFor = DefaultKeepDeletedFor
	}
	return &Board{jobs: map[string]Entry{},
		deleted: deletedJobs{max: keepDeleted, keepFor: keepDeletedFor, byJob: map[keptKey]*deletedJob{}}}
}

// KeepFor is how long the evidence of a deleted failed Job is kept after
// its deletion.
func (b *Board) KeepFor() time.Duration { return b.deleted.keepFor }

// MaxKept is the most deleted failed Jobs whose evidence is kept.
func (b *Board) MaxKept() int { return b.deleted.max }

// Entry is one row of the page: a Job or a CronJob.
type Entry struct {
	CronJobRow bool // a CronJob's row (else a Job's)
	Namespace  string
	Name       string
	// CronJob is the CronJob a Job is a run of.
	CronJob string
	Health  diagnose.Health
	// State says how far it is from the end, in a few words.
	State string
	// Cause is what went wrong, in one sentence.
	Cause string
	// Cost is what a Job's failed attempts held, if known ("3 failed
	// attempts held 1.5 GPU-hours and 6 core-hours").
	Cost string
	// Evicted says how often a Job's Kueue Workload was evicted, and the
	// newest eviction (diagnose.Queue.Evicted); "" never.
	Evicted string
	// Since is when the newest evidence of the problem appeared: the
	// failure, the newest failed pod, the refused pod, the start of a Job
	// whose pods do not start, the run a CronJob missed. The page sorts
	// by it, newest first.
	Since time.Time
	// From is when the row starts being listed: a Job waiting in its
	// Kueue queue is a row from when it has waited too long, with no
	// change of the Job to judge it again then; zero: at once.
	From time.Time
	// Alert is the alert that pages for this one (diagnose's judgement),
	// whose runbook page shows its live report.
	Alert string
	// UID tells a Job from an earlier one of the same name.
	UID types.UID
	// Kept is the last Summary of a deleted Job, whose evidence the
	// board keeps (deletedJobs); nil for a Job that exists. Kept
	// Summaries are never changed: readers use them outside the lock.
	Kept *job.Summary
}

// Key is the entry's "namespace/name".
func (e *Entry) Key() string { return e.Namespace + "/" + e.Name }

// newer orders rows newest first, then by kind and name (a Job that
// exists before a deleted one of its name), so equal times list in a
// stable order.
func newer(a, b *Entry) bool {
	if !a.Since.Equal(b.Since) {
		return a.Since.After(b.Since)
	}
	if a.CronJobRow != b.CronJobRow {
		return !a.CronJobRow
	}
	if a.Key() != b.Key() {
		return a.Key() < b.Key()
	}
	if (a.Kept == nil) != (b.Kept == nil) {
		return a.Kept == nil
	}
	return a.UID < b.UID
}

// JobChanged lists the Job "namespace/name" as its Summary, judged at
// now, says, or takes it off.
func (b *Board) JobChanged(key string, s *job.Summary, now time.Time) {
	e, listed := judgeJob(s, now)
	b.mu.Lock()
	defer b.mu.Unlock()
	if listed {
		b.jobs[key] = e
	} else {
		delete(b.jobs, key)
	}
}

// JobGone takes the Job "namespace/name" off (its kept evidence, if
// deleted after it failed, stays).
func (b *Board) JobGone(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.jobs, key)
}

// cause is the cause listed for the Job "namespace/name": the one that
// exists, else the newest deleted one kept (a CronJob's run its history
// limit deleted).
func (b *Board) cause(key string, now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.jobs[key]; ok {
		return e.Cause, true
	}
	namespace, name := splitJobKey(key)
	if e, ok := b.deleted.newestLocked(now, func(e *Entry) bool { return e.Namespace == namespace && e.Name == name }); ok {
		return e.Cause, true
	}
	return "", false
}

func splitJobKey(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

// JobDeleted keeps the evidence of a Job deleted after it failed: its
// last Summary (s, s.Deleted set) and the row judged from it as of its
// deletion. A Job deleted without failing leaves nothing: its deletion
// is no failure, and it is not what the page or an alert asks about. The
// Job's row as it existed goes (JobGone follows, later); a Job re-created
// under its name has another UID and keeps its own row.
func (b *Board) JobDeleted(key string, s *job.Summary, now time.Time) {
	if !s.Failed {
		return
	}
	kept := compacted(*s)
	if kept.Deleted.IsZero() {
		kept.Deleted = now
	}
	e, listed := judgeJob(&kept, kept.Deleted)
	if !listed {
		return
	}
	e.Kept = &kept
	b.mu.Lock()
	defer b.mu.Unlock()
	if live, ok := b.jobs[key]; ok && live.UID == s.UID {
		delete(b.jobs, key)
	}
	b.deleted.keepLocked(e, now)
}

// compacted is a Summary as the board keeps it, for up to keepFor: its
// attempt lists without the spare capacity appending left them (a list of
// 50 has room for 71: 3 KB more than the 8 KB it needs), and its index
// failures only as many as the report shows (it counts the others from
// IndexesWithFailures). Kept so, a Job with 50 failed attempts and 20
// departed costs about 17 KB (TestDeletedJobMemory).
func compacted(s job.Summary) job.Summary {
	s.Attempts = slices.Clone(s.Attempts)
	s.Departed.Attempts = slices.Clone(s.Departed.Attempts)
	s.IndexFailures = slices.Clone(s.IndexFailures[:min(len(s.IndexFailures), diagnose.MaxReportIndexes)])
	return s
}

// KeptJob is the entry kept of the deleted failed Job namespace/name
// with UID uid, or, for uid "", of the newest deleted one of that name.
func (b *Board) KeptJob(namespace, name string, uid types.UID, now time.Time) (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleted.newestLocked(now, func(e *Entry) bool {
		return e.Namespace == namespace && e.Name == name && (uid == "" || e.UID == uid)
	})
}

// DeletedOfOwner are the kept deleted Jobs of owner in namespace, newest
// deletion first, at most limit of them, and how many are kept in all.
func (b *Board) DeletedOfOwner(namespace string, owner job.Owner, limit int, now time.Time) ([]Entry, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted.expireLocked(now)
	var out []Entry
	for _, d := range b.deleted.order {
		if e := &d.entry; e.Namespace == namespace && e.Kept.Owner == owner {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, func(a, c Entry) int {
		if deletedBefore(&c, &a) {
			return -1
		}
		if deletedBefore(&a, &c) {
			return 1
		}
		return 0
	})
	return out[:min(len(out), limit)], len(out)
}

// DeletedRun is the kept deleted run of the CronJob namespace/cronjob
// (of the CronJob with UID cronJobUID, when known) that failed at
// failedAt: the run a CronJob's memory says failed last, when its
// history limit deleted it.
func (b *Board) DeletedRun(namespace, cronjob string, cronJobUID types.UID, failedAt time.Time, now time.Time) (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleted.newestLocked(now, func(e *Entry) bool {
		s := e.Kept
		return e.Namespace == namespace && s.OwnerKind == job.OwnerKindCronJob && s.OwnerName == cronjob &&
			(cronJobUID == "" || s.OwnerUID == cronJobUID) && s.FailedAt.Equal(failedAt)
	})
}

// DeletedKept is the number of deleted failed Jobs whose evidence is kept
// now.
func (b *Board) DeletedKept(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted.expireLocked(now)
	return len(b.deleted.byJob)
}

// Listed is the row of the Job "namespace/name" that exists, if the board
// keeps one (a row whose From is still ahead too: Select judges it).
func (b *Board) Listed(key string) (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.jobs[key]
	return e, ok
}
