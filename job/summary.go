package job

import (
	"iter"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Options tune Summarize.
type Options struct {
	// Backoff is the Job controller's pod-failure backoff.
	Backoff Backoff
	// StartTimeout is how long a pod may stay Pending in the steps of a
	// normal start (ContainerCreating, PodInitializing, not yet scheduled)
	// before it counts as waiting (stuck); 0 never counts them.
	StartTimeout time.Duration
	// Now is the time facts that depend on time (StartTimeout) are judged
	// at; the zero time leaves them out.
	Now time.Time
	// MaxIndexFailures bounds Summary.IndexFailures (worst first); 0 means
	// DefaultMaxIndexFailures.
	MaxIndexFailures int
	// MaxContainers bounds the containers a Job record keeps
	// (RecordJobWith); 0 means DefaultMaxContainers.
	MaxContainers int
	// ExtendedResources are the extended resources whose requests a pod
	// record keeps (RecordPodWith) and whose resource-time is counted
	// (PodFinish); nil means DefaultExtendedResources, an empty list none.
	ExtendedResources []corev1.ResourceName
}

func (o Options) maxContainers() int {
	if o.MaxContainers > 0 {
		return o.MaxContainers
	}
	return DefaultMaxContainers
}

// MaxWaitingPods bounds Summary.WaitingPods.
const MaxWaitingPods = 5

// MaxAttempts bounds Summary.Attempts: a Job with 100,000 failed pods
// lists its newest failures, and counts the others (OlderAttempts).
const MaxAttempts = 50

// DefaultMaxIndexFailures bounds Summary.IndexFailures when
// Options.MaxIndexFailures is 0.
const DefaultMaxIndexFailures = 100

// DefaultStartTimeout is the default Options.StartTimeout: longer than a
// large image pull or a slow volume attach, short enough that a pod that
// will never start is seen within minutes.
const DefaultStartTimeout = 5 * time.Minute

// Summary is everything the exporter, the diagnose command and the runbook
// pages know about one Job, computed from the Job, the pods it owns that
// are still present and the Job controller's FailedCreate events. It is a
// pure function of those objects and Options.Now: recomputing it after a
// restart or a re-list gives the same numbers.
type Summary struct {
	Namespace, Name string
	UID             types.UID
	Created         time.Time // the Job's creationTimestamp

	OwnerKind, OwnerName string    // the controlling CronJob (CronJobOwner), "" if none
	OwnerUID             types.UID // its UID
	// Owner is what the Job's outcomes count under (OwnerOf): its
	// CronJob, or its group as a standalone Job.
	Owner          Owner
	CompletionMode string // NonIndexed or Indexed
	RestartPolicy  string // Never or OnFailure
	Suspended      bool

	BackoffLimit *int32
	// Completions is spec.completions (nil: the Job completes with its
	// first successful pod and parallelism pods at most).
	Completions *int32
	// Retries are the failures counted against backoffLimit now.
	Retries int64
	// FailuresSinceSuccess is the controller's failuresAfterLastSuccess,
	// rebuilt from the pods present.
	FailuresSinceSuccess int32
	BackoffDelay         time.Duration
	LastFailure          time.Time // zero if no failed pod is present
	NextRetry            time.Time // zero unless unfinished with failures since the last success

	Failed       bool
	FailedReason string // one of FailedReasons when Failed
	FailedAt     time.Time
	Complete     bool
	CompletedAt  time.Time
	// Finished is true once a terminal (or interim terminal) condition is set.
	Finished bool

	Pods        PodCounts
	PodFailures []PodFailure // sorted, one entry per (container, reason, exit code)
	Waiting     []ReasonCount
	// WaitingPods names up to MaxWaitingPods of the pods counted in
	// Waiting, by name: whose events and state a person reads next.
	WaitingPods []string
	// Attempts are the newest MaxAttempts failed pods present, oldest
	// first; OlderAttempts counts the failed pods present before them.
	Attempts      []Attempt
	OlderAttempts int
	// FailedHeld is the resource-time the failed runs of the pods present
	// held so far, as kubejob_attempt_resource_seconds_total counts them
	// failed (failedSpans): failed pods from start to end, and for
	// restartPolicy OnFailure the runs of any pod before its last one.
	// Non-zero values only: cpu, memory, then the extended resources by
	// name.
	FailedHeld []ResourceTime

	// CreateFailures are the Job controller's failures to create pods
	// newer than the Job's newest pod, newest first, one per cause; none
	// once the Job finished or while it is suspended.
	CreateFailures []CreateFailure
	// WithoutPods is true while the Job is started, running (not finished,
	// not suspended, parallelism not 0) and has no pod at all: none active,
	// finished or terminating, in its status or in the cache. Pods that
	// cannot be created leave a Job so, with or without events to say why.
	WithoutPods bool
	// Recheck is when the Summary changes next without any object
	// changing (a pending pod reaching StartTimeout); zero if never.
	Recheck time.Time

	// Containers of the pod template, init containers first.
	Containers []ContainerSpec

	BackoffLimitPerIndex *int32
	MaxFailedIndexes     *int32
	Indexed              bool
	FailedIndexes        int64
	CompletedIndexes     int64
	// IndexFailures are the indexes with failures, worst first, at most
	// Options.MaxIndexFailures; IndexesWithFailures counts them all.
	IndexFailures       []IndexFailure
	IndexesWithFailures int

	ActiveDeadlineSeconds *int64
	Deadline              time.Time // start + activeDeadlineSeconds while running
	StartTime             time.Time
	CompletionTime        time.Time

	// Departed is what the exporter last saw of the Job's pods that are
	// gone (deleted by the Job controller at a deadline or a failure, by
	// the garbage collector after the Job, by pod garbage collection)
	// while the Job existed: the evidence those deletions take away. Only
	// the exporter's watch sees it (Summarize of objects read from the API
	// has none).
	Departed Departed
	// TTLSecondsAfterFinished is spec.ttlSecondsAfterFinished.
	TTLSecondsAfterFinished *int32
	// Deleted is when the Job was deleted (its deletionTimestamp, else
	// when the exporter saw it go); zero for a Job that exists. Only the
	// last Summary of a deleted Job has it (see DeletedByTTL).
	Deleted time.Time
	// QueueName is the LocalQueue the Job's label asks Kueue for
	// (JobRecord.QueueName), "" for none.
	QueueName string
	// Queue is where the Job stands in its Kueue queue, nil unless it
	// has a QueueName and Kueue's Workloads are watched (set by package
	// queue, not by Summarize).
	Queue *Queue
}

// Departed is the evidence of a Job's pods that are gone (Summary.Departed),
// from their last state the exporter saw, bounded like the Summary's own.
type Departed struct {
	// Pods is how many gone pods with evidence are remembered (at most
	// MaxDepartedPods, the newest).
	Pods int
	// Attempts are those of them that failed, oldest first.
	Attempts []Attempt
	// PodFailures count their failures as Summary.PodFailures does
	// (restartPolicy OnFailure: their containers' restarts too).
	PodFailures []PodFailure
	// Waiting is why those that had not started were waiting when they
	// went (an image pull that never succeeded before the deadline).
	Waiting []ReasonCount
	// FailedHeld is what their failed runs held, as Summary.FailedHeld.
	FailedHeld []ResourceTime
}

// MaxDepartedPods bounds the gone pods remembered per Job.
const MaxDepartedPods = 20

// DeletedByTTL tells whether the Job's deletion is what the
// TTL-after-finished controller does: a finished Job with
// ttlSecondsAfterFinished, deleted no earlier than that long after it
// finished (a second of slack for the clocks). Someone or something else
// may still have deleted it then; earlier, it was not the TTL.
func (s *Summary) DeletedByTTL() bool {
	finished := s.FailedAt
	if s.Complete {
		finished = s.CompletedAt
	}
	if s.Deleted.IsZero() || s.TTLSecondsAfterFinished == nil || finished.IsZero() {
		return false
	}
	ttl := time.Duration(*s.TTLSecondsAfterFinished) * time.Second
	return !s.Deleted.Before(finished.Add(ttl - time.Second))
}

// Container returns the template container of that name.
func (s *Summary) Container(name string) (ContainerSpec, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return ContainerSpec{}, false
}

// PodCounts mirrors the Job's status counters.
type PodCounts struct {
	Active, Ready, Succeeded, Failed, Terminating int32
}

// PodFailure counts failed pods (or, for restartPolicy OnFailure, container
// restarts) by the failing container, its terminated reason and exit code.
// Pod-level failures have Container and ExitCode "".
type PodFailure struct {
	Container, Reason, ExitCode string
	Count                       int64
}

// ReasonCount counts pods by a bounded reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// ContainerSpec is what the diagnosis needs of a template container.
type ContainerSpec struct {
	Name       string
	Init       bool
	Image      string
	Executable string // the program of command (Executable), "" when the image's entrypoint runs
	// MemoryLimit is resources.limits.memory in bytes, -1 when unset.
	MemoryLimit int64
}

// IndexFailure is the failure count of one index of an Indexed Job.
type IndexFailure struct {
	Index    int32
	Failures int32
}

// Attempt is one failed pod, with the evidence a person reads in
// `kubectl describe pod`.
type Attempt struct {
	Pod        string
	Index      int32 // -1 unless Indexed
	Container  string
	Init       bool
	Reason     string // bounded, see ContainerReasons and PodReasons
	ExitCode   int32
	HasExit    bool
	FinishedAt time.Time
	Cause      Cause
	// PolicyAction is the podFailurePolicy action that matched, if any.
	PolicyAction string
}

// Summarize computes the Summary of a Job from the Job, the pods it
// controls and the events about it (see RecordEvent). Pods not controlled
// by the Job, and events about another Job of the same name (by UID), are
// ignored, as are nil pods; a nil Job gives the zero Summary.
func Summarize(j *batchv1.Job, pods []*corev1.Pod, events []*EventRecord, opts Options) Summary {
	return SummarizePods(j, slices.Values(pods), events, opts)
}

// SummarizePods is Summarize over a sequence of pods, which it reads once:
// the Job and each pod become the records the exporter's caches would keep
// (with opts.MaxContainers, NewPodRecord), and each pod is added to a new
// Aggregate, which keeps no more of them than its bounded lists.
func SummarizePods(j *batchv1.Job, pods iter.Seq[*corev1.Pod], events []*EventRecord, opts Options) Summary {
	if j == nil {
		return Summary{}
	}
	r := newJobRecord(j, "", opts.maxContainers())
	a := NewAggregate(r)
	for p := range pods {
		if p != nil {
			a.Add(NewPodRecord(p))
		}
	}
	return SummarizeAggregate(r, a, events, opts)
}

// SummarizeAggregate computes the Summary of a Job from its record, the
// Aggregate of its pods (which must Fit the Job) and the events about it.
// Its cost is bounded by the Summary's bounded lists and the Job's active
// pods, not by the number of pods.
func SummarizeAggregate(j *JobRecord, a *Aggregate, events []*EventRecord, opts Options) Summary {
	if j == nil {
		return Summary{}
	}
	s := Summary{Namespace: j.Namespace, Name: j.Name, UID: j.UID, Created: recordTime(j.Created)}
	if j.CronJob != "" {
		s.OwnerKind, s.OwnerName, s.OwnerUID = OwnerKindCronJob, j.CronJob, j.CronJobUID
	}
	s.Owner = j.Owner
	s.TTLSecondsAfterFinished = j.TTLSecondsAfterFinished
	s.CompletionMode = string(batchv1.NonIndexedCompletion)
	if j.Indexed {
		s.CompletionMode = string(batchv1.IndexedCompletion)
	}
	s.Indexed = j.Indexed
	s.RestartPolicy = string(j.RestartPolicy)
	s.Suspended = j.Suspend
	s.QueueName = j.QueueName
	s.BackoffLimit = j.BackoffLimit
	s.Completions = j.Completions
	s.BackoffLimitPerIndex = j.BackoffLimitPerIndex
	s.MaxFailedIndexes = j.MaxFailedIndexes
	s.ActiveDeadlineSeconds = j.ActiveDeadlineSeconds

	s.Pods = PodCounts{Active: j.Active, Succeeded: j.Succeeded, Failed: j.Failed}
	if j.Ready != nil {
		s.Pods.Ready = *j.Ready
	}
	if j.Terminating != nil {
		s.Pods.Terminating = *j.Terminating
	}
	s.StartTime = recordTime(j.StartTime)
	s.CompletionTime = recordTime(j.CompletionTime)
	s.terminalState(j.Conditions)

	completions := int32(0)
	if j.Completions != nil {
		completions = *j.Completions
	}
	if s.Indexed {
		s.CompletedIndexes = CountIndexes(j.CompletedIndexes, completions)
		if j.FailedIndexes != nil {
			s.FailedIndexes = CountIndexes(*j.FailedIndexes, completions)
		}
	}

	s.Containers = j.Containers // the record's: read-only, as every Summary field

	// Retries as the controller counts them: status.failed already
	// excludes failures an Ignore rule matched; failed pods it has seen but
	// not yet added to status.failed are in uncountedTerminatedPods
	// (syncJob: jobCtx.failed = Status.Failed + new + uncounted). For
	// OnFailure, pastBackoffLimitOnFailure also adds the restart counts of
	// pending and running pods (the Aggregate's restartRetries).
	// A negative status.failed (never written by the controller) counts 0.
	s.Retries = int64(max(j.Failed, 0)) + int64(j.UncountedFailed)
	s.podFacts(a, opts)

	running := !s.Finished && !s.Suspended
	if running {
		s.CreateFailures = createFailures(j.UID, events, a.newestCreated)
		parallelism := int32(1) // the API server's default
		if j.Parallelism != nil {
			parallelism = *j.Parallelism
		}
		p := s.Pods
		s.WithoutPods = !s.StartTime.IsZero() && parallelism != 0 && a.pods == 0 &&
			p.Active == 0 && p.Ready == 0 && p.Succeeded == 0 && p.Failed == 0 && p.Terminating == 0 &&
			j.UncountedFailed+j.UncountedSucceeded == 0
	}
	if running && s.ActiveDeadlineSeconds != nil && !s.StartTime.IsZero() {
		s.Deadline = s.StartTime.Add(time.Duration(*s.ActiveDeadlineSeconds) * time.Second)
	}
	if running && s.BackoffDelay > 0 && !s.LastFailure.IsZero() {
		s.NextRetry = s.LastFailure.Add(s.BackoffDelay)
	}
	return s
}

// terminalState reads the Job's conditions. A FailureTarget or
// SuccessCriteriaMet condition is the controller's decision, recorded before
// the pods are cleaned up and the Failed/Complete condition is added
// (job_controller.go, "delayed terminal conditions"), so it already counts.
func (s *Summary) terminalState(conds []jobConditionRecord) {
	var failed, failureTarget, complete, criteriaMet *jobConditionRecord
	for i := range conds {
		c := &conds[i]
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			failed = c
		case batchv1.JobFailureTarget:
			failureTarget = c
		case batchv1.JobComplete:
			complete = c
		case batchv1.JobSuccessCriteriaMet:
			criteriaMet = c
		}
	}
	if failed == nil {
		failed = failureTarget
	}
	if complete == nil {
		complete = criteriaMet
	}
	switch {
	case failed != nil:
		s.Failed, s.Finished = true, true
		s.FailedReason = FailedReason(failed.Reason)
		s.FailedAt = recordTime(failed.At)
	case complete != nil:
		s.Complete, s.Finished = true, true
		s.CompletedAt = recordTime(complete.At)
		if !s.CompletionTime.IsZero() {
			s.CompletedAt = s.CompletionTime
		}
	}
}

// podFacts reads what the Summary needs of the pods from their Aggregate:
// retries, backoff, failures by cause, waiting pods, per-index failures,
// the newest failed pods.
func (s *Summary) podFacts(a *Aggregate, opts Options) {
	s.Retries += a.restartRetries
	s.FailuresSinceSuccess = int32(min(len(a.failedAfter), math.MaxInt32))
	if n := len(a.newest); n > 0 {
		newest := a.newest[n-1].rec.facts()
		s.LastFailure = newest.finished
		if a.ctx.perIndex {
			// With backoffLimitPerIndex the delay is per index
			// (getRemainingTimePerIndex): failures of the index
			// including ignored ones, read from the last failed pod's
			// annotations, plus that failure itself. We report the
			// index that failed last: it is the one whose replacement
			// pod waits next.
			s.BackoffDelay = opts.Backoff.Delay(addSat(addSat(newest.indexFailureCount(), newest.indexIgnoredCount()), 1))
		}
	}
	if !a.ctx.perIndex && s.FailuresSinceSuccess > 0 {
		s.BackoffDelay = opts.Backoff.Delay(s.FailuresSinceSuccess)
	}
	for _, f := range a.newest[max(len(a.newest)-MaxAttempts, 0):] {
		pf := f.rec.facts()
		s.Attempts = append(s.Attempts, pf.attempt(&a.ctx))
	}
	s.OlderAttempts = a.failed - len(s.Attempts)
	s.FailedHeld = a.failedHeld.failed(nil)

	if len(a.failures) > 0 {
		s.PodFailures = slices.Clone(a.failures)
	}
	slices.SortFunc(s.PodFailures, func(x, y PodFailure) int {
		if c := strings.Compare(x.Container, y.Container); c != 0 {
			return c
		}
		if c := strings.Compare(x.Reason, y.Reason); c != 0 {
			return c
		}
		return strings.Compare(x.ExitCode, y.ExitCode)
	})

	if len(a.waiting) > 0 {
		s.Waiting = slices.Clone(a.waiting)
	}
	var names []string
	for name := range a.waitingPods {
		names = append(names, name)
	}
	for name, p := range a.pendingPods {
		if s.startTimedOut(p.created, opts) {
			s.Waiting = addReason(s.Waiting, p.step, 1)
			names = append(names, name)
		}
	}
	sort.Slice(s.Waiting, func(a, b int) bool { return s.Waiting[a].Reason < s.Waiting[b].Reason })
	s.WaitingPods = firstNames(names)

	limit := opts.MaxIndexFailures
	if limit <= 0 {
		limit = DefaultMaxIndexFailures
	}
	if a.worstIndexes != nil {
		s.IndexesWithFailures = a.worstIndexes.Len()
		a.worstIndexes.Ascend(func(f IndexFailure) bool {
			s.IndexFailures = append(s.IndexFailures, f)
			return len(s.IndexFailures) < limit
		})
	}
}

// firstNames sorts names and keeps the first MaxWaitingPods.
func firstNames(names []string) []string {
	sort.Strings(names)
	if len(names) > MaxWaitingPods {
		names = append(names[:0:0], names[:MaxWaitingPods]...)
	}
	return names
}

// startTimedOut tells whether a pod in the steps of a normal start,
// created then, has been pending for opts.StartTimeout. A pod that has not
// yet reached the timeout sets s.Recheck to when it does.
func (s *Summary) startTimedOut(created time.Time, opts Options) bool {
	if opts.StartTimeout <= 0 || opts.Now.IsZero() || created.IsZero() {
		return false
	}
	if due := created.Add(opts.StartTimeout); opts.Now.Before(due) {
		// Rechecks of one Job come at most every recheckStep: a big Job
		// with pods created every second is not summarized every second.
		if r := due.Add(recheckStep - 1).Truncate(recheckStep); s.Recheck.IsZero() || r.Before(s.Recheck) {
			s.Recheck = r
		}
		return false
	}
	return true
}

// recheckStep rounds Summary.Recheck up: pods reach StartTimeout up to this
// much late, in exchange for fewer re-renders of a Job.
const recheckStep = 10 * time.Second
