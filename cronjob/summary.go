package cronjob

import (
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// MaxRuns bounds Summary.Runs: the newest runs a report lists.
const MaxRuns = 10

// Run is one Job of a CronJob, as its Summary says.
type Run struct {
	Name      string
	OwnerUID  types.UID // the CronJob's UID, from the Job's owner reference
	Created   time.Time
	Started   time.Time
	Finished  time.Time // when it succeeded or failed; zero while it runs
	Succeeded bool
	Failed    bool
	Reason    string // the terminal reason of a failed run
}

// RunOf is the Run a Job's Summary describes.
func RunOf(s *job.Summary) Run {
	r := Run{Name: s.Name, OwnerUID: s.OwnerUID, Created: s.Created, Started: s.StartTime,
		Succeeded: s.Complete, Failed: s.Failed, Reason: s.FailedReason}
	switch {
	case s.Failed:
		r.Finished = s.FailedAt
	case s.Complete:
		r.Finished = s.CompletedAt
	}
	return r
}

// Duration is how long a finished run ran, from its start (else its
// creation) to its end; zero while it runs.
func (r Run) Duration() time.Duration {
	start := r.Started
	if start.IsZero() {
		start = r.Created
	}
	if r.Finished.IsZero() || start.IsZero() || r.Finished.Before(start) {
		return 0
	}
	return r.Finished.Sub(start)
}

// Memory is what the exporter remembers of a CronJob's runs it has seen,
// which may be gone since (history limits, TTL): the newest success and
// failure.
type Memory struct {
	LastSuccess     time.Time
	SuccessDuration time.Duration // of that success, 0 if unknown
	LastFailure     time.Time
	FailureReason   string
}

// Observe folds a run into the memory; it reports whether anything
// changed. Runs may come in any order (a re-list): only newer outcomes
// replace older ones.
func (m *Memory) Observe(r Run) bool {
	changed := false
	if r.Succeeded && r.Finished.After(m.LastSuccess) {
		m.LastSuccess, m.SuccessDuration, changed = r.Finished, r.Duration(), true
	}
	if r.Failed && r.Finished.After(m.LastFailure) {
		m.LastFailure, m.FailureReason, changed = r.Finished, r.Reason, true
	}
	return changed
}

// Summary is everything the metrics, the diagnose command and the runbook
// pages say of a CronJob: when it runs, whether it runs on time, how its
// runs ended. Without the CronJob object (no permission to read CronJobs)
// Record is nil and only what the runs tell is known.
type Summary struct {
	Namespace, Name string
	Record          *Record

	// Next is when the next run is due (see Record.NextRun); Overdue how
	// long ago that was, when it is in the past; Interval the time between
	// runs there. ScheduleError says why none of these is known.
	Next          time.Time
	Overdue       time.Duration
	Interval      time.Duration
	ScheduleError string

	// Active are the runs running now: the controller's status.active
	// (with the object), else the unfinished runs present.
	Active []string
	// BlockedBy is the active run that holds back an overdue run under
	// concurrencyPolicy Forbid, "" otherwise.
	BlockedBy string

	// LastSuccess and LastFailure are the newest outcomes known: of the
	// runs seen and, for success, the controller's lastSuccessfulTime.
	LastSuccess     time.Time
	SuccessDuration time.Duration
	LastFailure     time.Time
	FailureReason   string

	// LastRun is the newest finished run present; ConsecutiveFailures the
	// newest finished runs present that failed, back to a success.
	LastRun             *Run
	ConsecutiveFailures int
	// Runs are the runs present, newest first, at most MaxRuns.
	Runs []Run
}

// Summarize describes a CronJob at now from its record (nil without the
// object), the runs present (of that CronJob only: the caller matched
// them) and the memory of runs seen.
func Summarize(namespace, name string, rec *Record, runs []Run, mem Memory, now time.Time) Summary {
	s := Summary{Namespace: namespace, Name: name, Record: rec,
		LastSuccess: mem.LastSuccess, SuccessDuration: mem.SuccessDuration,
		LastFailure: mem.LastFailure, FailureReason: mem.FailureReason}
	runs = append([]Run(nil), runs...)
	sort.Slice(runs, func(i, k int) bool {
		if !runs[i].Created.Equal(runs[k].Created) {
			return runs[i].Created.After(runs[k].Created)
		}
		return runs[i].Name > runs[k].Name
	})
	counting := true
	for i := range runs {
		r := runs[i]
		if r.Succeeded && r.Finished.After(s.LastSuccess) {
			s.LastSuccess, s.SuccessDuration = r.Finished, r.Duration()
		}
		if r.Failed && r.Finished.After(s.LastFailure) {
			s.LastFailure, s.FailureReason = r.Finished, r.Reason
		}
		if r.Finished.IsZero() {
			if rec == nil {
				s.Active = append(s.Active, r.Name)
			}
			continue
		}
		if s.LastRun == nil || r.Finished.After(s.LastRun.Finished) {
			s.LastRun = &runs[i]
		}
		if counting && r.Failed {
			s.ConsecutiveFailures++
		} else {
			counting = false
		}
	}
	if len(runs) > MaxRuns {
		runs = runs[:MaxRuns]
	}
	s.Runs = runs
	if rec == nil {
		return s
	}
	s.Active = append([]string(nil), rec.Active...)
	if rec.LastSuccessfulTime.After(s.LastSuccess) {
		// The controller saw a success the exporter did not (it started
		// after the run was gone): its duration is not known.
		s.LastSuccess, s.SuccessDuration = rec.LastSuccessfulTime, 0
	}
	next, interval, err := rec.Scheduled()
	if err != nil {
		s.ScheduleError = err.Error()
		return s
	}
	s.Next, s.Interval = next, interval
	if !s.Next.IsZero() && now.After(s.Next) {
		s.Overdue = now.Sub(s.Next)
		if rec.ConcurrencyPolicy == "Forbid" && len(rec.Active) > 0 && !rec.Suspend {
			s.BlockedBy = rec.Active[0]
		}
	}
	return s
}
