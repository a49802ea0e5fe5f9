package failing

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// judgeJob decides whether a Job is listed, and how: the health and the
// alert the diagnose report gives (the CLI's and the runbook pages'
// words), without a run-time limit (the page lists what fails, not what
// runs long).
func judgeJob(s *job.Summary, now time.Time) (Entry, bool) {
	if queueHolds(s) {
		return judgeQueued(s, now), true
	}
	if !s.Failed && s.Retries == 0 && len(s.Attempts) == 0 && len(s.Waiting) == 0 && len(s.CreateFailures) == 0 && !s.WithoutPods {
		// The common case, a Job without trouble, costs no report.
		return Entry{}, false
	}
	r := diagnose.FromSummary(*s, now, diagnose.Limits{})
	e := Entry{Namespace: s.Namespace, Name: s.Name, CronJob: r.CronJob, Health: r.Health, Alert: r.Alert, UID: s.UID}
	switch r.Health {
	case diagnose.Failed:
		e.State = "failed: " + s.FailedReason
		e.Since = s.FailedAt
	case diagnose.Failing:
		e.State = "failing, retrying: " + retriesLeft(s)
		e.Since = s.LastFailure
	case diagnose.Stuck:
		e.Since = s.StartTime
		switch {
		case len(s.CreateFailures) > 0:
			e.State, e.Since = "stuck: its pods are refused", s.CreateFailures[0].Last
		case s.WithoutPods:
			e.State = "stuck: no pod"
		default:
			e.State = "stuck: pods not starting"
		}
	default:
		return Entry{}, false
	}
	if e.Since.IsZero() {
		e.Since = s.Created
	}
	e.Cause = jobCause(s, r)
	if r.Cost != nil {
		e.Cost = r.Cost.Text
	}
	return e, true
}

// The board's limits on a Job its Kueue queue holds back: one waiting for
// admission is listed as stuck once it has waited the report's default
// wait limit (diagnose.DefaultLimits.QueueWait, the default of the
// mixin's KubeJobWaitingForAdmission); one admitted and still suspended
// once admittedNotStartedFor has passed (the default of the mixin's
// KubeJobAdmittedNotStarted): Kueue unsuspends an admitted Job within
// seconds, and a row must not flash for that moment.
const admittedNotStartedFor = 10 * time.Minute

// queueHolds tells whether s is a Job its Kueue queue holds back:
// waiting for admission, or admitted and still suspended.
func queueHolds(s *job.Summary) bool {
	q := s.Queue
	return q != nil && !s.Failed && (q.State == job.QueueWaiting || q.State == job.QueueAdmittedSuspended)
}

// judgeQueued is the row of a Job its queue holds back: stuck, listed
// from when it has waited its limit (Entry.From), since it began waiting.
// Its words do not depend on now: the row is judged when the Job
// changes, and shown long after.
func judgeQueued(s *job.Summary, now time.Time) Entry {
	r := diagnose.FromSummary(*s, now, diagnose.Limits{})
	q := r.Queue
	e := Entry{Namespace: s.Namespace, Name: s.Name, CronJob: r.CronJob, Health: diagnose.Stuck, Alert: r.Alert, UID: s.UID,
		Since: s.Queue.Since, Evicted: q.Evicted()}
	if e.Since.IsZero() {
		e.Since = s.Created
	}
	if q.State == job.QueueWaiting {
		e.State = "stuck: waiting for admission"
		e.Cause = "in " + q.Where() + ": " + q.Reason()
		e.From = e.Since.Add(diagnose.DefaultLimits.QueueWait)
	} else {
		e.State = "stuck: admitted, not started"
		e.Cause = "admitted in " + q.Where() + ", and still suspended: Kueue's controller does not start it"
		e.From = e.Since.Add(admittedNotStartedFor)
	}
	return e
}

// retriesLeft says how close a retrying Job is to failing for good.
func retriesLeft(s *job.Summary) string {
	var out string
	switch {
	case s.BackoffLimitPerIndex != nil:
		out = fmt.Sprintf("%d failures, backoffLimitPerIndex %d", s.Retries, *s.BackoffLimitPerIndex)
	case s.BackoffLimit == nil:
		out = fmt.Sprintf("%d failures", s.Retries)
	case s.RestartPolicy == "OnFailure":
		out = fmt.Sprintf("%d of %d restarts", s.Retries, *s.BackoffLimit)
	default:
		out = fmt.Sprintf("%d failures, fails for good at %d", s.Retries, int64(*s.BackoffLimit)+1)
	}
	if !s.NextRetry.IsZero() {
		out += ", next retry " + s.NextRetry.UTC().Format("15:04:05")
	}
	return out
}

// jobCause is the cause of a Job's trouble in one sentence, from its
// report: the API server's refusal, the deadline, the newest failed
// attempt, the reason its pods wait, else the report's verdict.
func jobCause(s *job.Summary, r diagnose.Report) string {
	switch {
	case len(r.CreateFailures) > 0:
		f := r.CreateFailures[0]
		return "the API server refuses its pods (" + f.Cause + "): " + f.Meaning
	case r.WithoutPods:
		return "started, and not a single pod: no FailedCreate event says why"
	case s.FailedReason == "DeadlineExceeded":
		return r.Verdict.Text
	case len(r.Attempts) > 0:
		a := r.Attempts[len(r.Attempts)-1] // the newest
		where := "container " + a.Container
		if a.Init {
			where = "init container " + a.Container
		}
		if a.Container == "" {
			where = "pod " + a.Pod
		}
		cause := where + ": " + a.Meaning
		if a.Policy != "" {
			cause += " (podFailurePolicy " + a.Policy + ")"
		}
		return cause
	case len(r.Waiting) > 0:
		w := r.Waiting[0]
		m := job.ExplainWaiting(w.Reason).Meaning
		if !strings.Contains(m, w.Reason) {
			m = w.Reason + ": " + m
		}
		return fmt.Sprintf("%d pod(s) waiting: %s", w.Count, m)
	}
	return r.Verdict.Text
}

// judgeCronJob decides whether a CronJob is listed: its newest run failed
// or a run is overdue past the grace, as its runbook pages say. The board
// gives the cause recorded for its newest failed run, present or deleted;
// run is the run its cause names, "" if none.
func (b *Board) judgeCronJob(cs cronjob.Summary, now time.Time, grace time.Duration) (e Entry, run string, listed bool) {
	r := diagnose.FromCronJob(cs, nil, now, grace)
	e = Entry{CronJobRow: true, Namespace: cs.Namespace, Name: cs.Name, Health: r.Health, Alert: r.Alert}
	switch r.Health {
	case diagnose.Stuck:
		e.State = "missed its schedule: " + r.Overdue + " late"
		e.Since, e.Cause = cs.Next, r.Verdict.Text
	case diagnose.Failed:
		e.State = fmt.Sprintf("newest run failed (%d in a row)", cs.ConsecutiveFailures)
		e.Since = cs.LastFailure
		e.Cause = "its newest run failed (" + cs.FailureReason + ")"
		if last := cs.LastRun; last != nil && last.Failed {
			run = last.Name
			e.Cause = "its newest run " + run + " failed (" + last.Reason + ")"
			if c, ok := b.cause(cs.Namespace+"/"+run, now); ok {
				e.Cause += ": " + c
			}
		} else if deleted, ok := b.DeletedRun(cs.Namespace, cs.Name, CronJobUID(cs), cs.LastFailure, now); ok {
			run = deleted.Name
			e.Cause = "its newest run " + run + " failed (" + deleted.Kept.FailedReason + ") and was deleted: " + deleted.Cause
		}
	default:
		return Entry{}, "", false
	}
	return e, run, true
}

// CronJobUID is the UID of a CronJob's object, "" without it.
func CronJobUID(cs cronjob.Summary) types.UID {
	if cs.Record == nil {
		return ""
	}
	return cs.Record.UID
}
