// Package diagnose is the judging: it turns a job.Summary (and a
// cronjob.Summary) into the report a person would otherwise assemble by
// hand with kubectl describe, get pods and logs: the Job's health, its
// retry budget and backoff, what each failed attempt means, a verdict
// (retrying will not help / may help / raise a limit), the alert of the
// mixin that pages for it (alerts.go) and the next commands, filled in.
// The CLI (`kube-job-exporter diagnose`), the failing-now board (package
// failing) and the runbook pages (package pages) are views of the same
// Report; all classification comes from package job. Its Fetch helpers
// read what the CLI and the pages need from the API server.
package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Health of a Job, also the CLI's exit status.
type Health string

// The health values, each with what it means.
const (
	Healthy   Health = "healthy"   // running without failures, within the run-time limit
	Running   Health = "running"   // running without failures, run time not judged (no limit given)
	Complete  Health = "complete"  // succeeded
	Failing   Health = "failing"   // failures, still retrying
	Stuck     Health = "stuck"     // no failure, no progress: pods not created or not starting, a run that does not end
	Failed    Health = "failed"    // failed for good
	Suspended Health = "suspended" // suspended
	Queued    Health = "queued"    // waiting for admission in a Kueue queue, within the wait limit: no failure
)

// ExitCode maps a Health to the CLI's exit status: 0 healthy, running,
// complete, suspended or queued (waiting in a queue is how Kueue runs
// Jobs, not a failure; past the wait limit it is stuck), 2 failing or
// stuck, 3 failed (1 is left for errors).
func (h Health) ExitCode() int {
	switch h {
	case Failing, Stuck:
		return 2
	case Failed:
		return 3
	}
	return 0
}

// Verdict kinds.
const (
	VerdictNone          = "none"          // nothing to fix
	VerdictDeterministic = "deterministic" // retrying the same spec fails the same way
	VerdictResource      = "resource"      // a limit is too small
	VerdictTransient     = "transient"     // failures vary; retries may help
	VerdictStuck         = "stuck"         // pods cannot start; only a deadline ends this
	VerdictCannotCreate  = "cannot-create" // the API server refuses the Job's pods
	VerdictTooLong       = "too-long"      // running far longer than a run should
	VerdictDeadline      = "deadline"      // the Job ran out of time
	VerdictPolicy        = "policy"        // a podFailurePolicy rule stopped the Job
	VerdictUnknown       = "unknown"       // the evidence is gone
	VerdictQueued        = "queued"        // waiting for admission in a Kueue queue
	VerdictNotStarted    = "not-started"   // admitted by Kueue, still suspended
)

// Report is the diagnosis of one Job.
type Report struct {
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	CronJob   string `json:"cronjob,omitempty"`
	Health    Health `json:"health"`
	// Reason is the terminal reason when failed.
	Reason string `json:"reason,omitempty"`
	// Completions says how many pods succeeded of how many were wanted
	// ("succeeded 3 of 3").
	Completions string `json:"completions,omitempty"`

	Retries      int64  `json:"retries"`
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
	// Budget says how the retries compare with the limit, in words.
	Budget       string     `json:"budget"`
	BackoffDelay string     `json:"backoffDelay,omitempty"`
	NextRetry    *time.Time `json:"nextRetry,omitempty"`
	Deadline     *time.Time `json:"deadline,omitempty"`
	DeadlineLeft string     `json:"deadlineLeft,omitempty"`

	// RunningFor is how long the Job has run since status.startTime,
	// while it runs.
	RunningFor string `json:"runningFor,omitempty"`

	// Attempts are the newest failed pods (at most job.MaxAttempts),
	// oldest first; OlderAttempts counts the failed pods before them.
	Attempts      []Attempt         `json:"attempts"`
	OlderAttempts int               `json:"olderAttempts,omitempty"`
	Waiting       []job.ReasonCount `json:"waiting,omitempty"`
	// CreateFailures are the pods the API server refused to create,
	// newest cause first.
	CreateFailures []CreateFailure `json:"createFailures,omitempty"`
	// WithoutPods: started, running, and not a single pod.
	WithoutPods bool `json:"withoutPods,omitempty"`
	// IndexFailures are the worst indexes (at most MaxReportIndexes);
	// MoreIndexes counts the other indexes with failures.
	IndexFailures []job.IndexFailure `json:"indexFailures,omitempty"`
	MoreIndexes   int                `json:"moreIndexes,omitempty"`
	// Gone says what can no longer be known because failed pods were
	// deleted.
	Gone string `json:"gone,omitempty"`
	// Departed is the exporter's last view of the Job's pods that are
	// gone, when the pods present show no failure, restart or wait: the
	// evidence the report then reads (job.Summary.Departed).
	Departed *Departed `json:"departed,omitempty"`
	// Cost is what the failed attempts held, from the same evidence:
	// nil when nothing is known (no failed pod that started).
	Cost *Cost `json:"cost,omitempty"`
	// Queue is where the Job stands in its Kueue queue, nil for a Job
	// without one (no queue label, Kueue not watched, finished);
	// QueueNote says why it could not be read.
	Queue     *Queue `json:"queue,omitempty"`
	QueueNote string `json:"queueNote,omitempty"`

	// Deleted is when the Job was deleted (the exporter's last Summary of
	// a deleted Job); DeletedByTTL, set with it, whether its
	// ttlSecondsAfterFinished is what deleted it (job.Summary.DeletedByTTL).
	Deleted                 *time.Time `json:"deleted,omitempty"`
	DeletedByTTL            *bool      `json:"deletedByTTL,omitempty"`
	TTLSecondsAfterFinished *int32     `json:"ttlSecondsAfterFinished,omitempty"`

	Verdict Verdict `json:"verdict"`
	// Alert is the mixin's alert that pages for the Job in this state,
	// whose runbook goes with the report; "" when none does.
	Alert    string   `json:"alert,omitempty"`
	Commands []string `json:"commands"`

	// Events of the Job and its pods, newest first (filled in by the
	// caller from FetchJobEvents); EventsNote says why some are missing.
	Events     []Event `json:"events,omitempty"`
	EventsNote string  `json:"eventsNote,omitempty"`
	// Logs: the end of each failing container's log (the CLI only);
	// LogsNote says why they are missing.
	Logs     []ContainerLog `json:"logs,omitempty"`
	LogsNote string         `json:"logsNote,omitempty"`
}

// Departed is what the exporter last saw of the Job's pods that are gone.
type Departed struct {
	// Pods is how many gone pods with evidence were seen (at most
	// job.MaxDepartedPods).
	Pods int `json:"pods"`
	// Attempts are those that failed, oldest first.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Failures count their failures (restartPolicy OnFailure: their
	// containers' restarts too) by cause.
	Failures []Failure         `json:"failures,omitempty"`
	Waiting  []job.ReasonCount `json:"waiting,omitempty"`
}

// Cost is what a Job's failed attempts held so far (job.Summary.FailedHeld).
type Cost struct {
	// Failures counts the failed attempts (restartPolicy OnFailure:
	// failed container runs too) whose resource-time it is.
	Failures int64 `json:"failures"`
	// ResourceSeconds is the resource-time by resource: cpu in
	// core-seconds, memory in byte-seconds, an extended resource in
	// device-seconds.
	ResourceSeconds map[string]float64 `json:"resourceSeconds"`
	// Text says it: "3 failed attempts held 1.5 GPU-hours, 6 core-hours
	// and 12 GiB-hours".
	Text string `json:"text"`
	// EachRetry says, when the verdict is that retrying fails the same
	// way, what each retry holds again: "each retry holds about …
	// more".
	EachRetry string `json:"eachRetry,omitempty"`
}

// Failure counts failed pods, or restarts of a container, of one cause.
type Failure struct {
	Container string `json:"container,omitempty"` // "" for a pod-level failure
	Reason    string `json:"reason"`
	ExitCode  string `json:"exitCode,omitempty"`
	Count     int64  `json:"count"`
	// Restarts: Count counts the container's restarts in its pods
	// (restartPolicy OnFailure), not failed pods.
	Restarts bool   `json:"restarts,omitempty"`
	Meaning  string `json:"meaning"`
}

// CreateFailure is one cause the API server gave for refusing the Job's
// pods.
type CreateFailure struct {
	Cause   string    `json:"cause"`
	Meaning string    `json:"meaning"`
	Last    time.Time `json:"lastSeen"`
	Count   int64     `json:"count"`
}

// MaxReportIndexes bounds Report.IndexFailures: a page lists the worst
// indexes and counts the rest.
const MaxReportIndexes = 20

// Limits are the thresholds a report judges a Job by.
type Limits struct {
	// RunTime: a Job running longer without any other problem is stuck
	// (the default of the mixin's KubeJobRunningTooLong); 0 never.
	RunTime time.Duration
	// QueueWait: a Job waiting longer for admission in its Kueue queue is
	// stuck, not queued (the default of the mixin's
	// KubeJobWaitingForAdmission); 0 never.
	QueueWait time.Duration
}

// DefaultLimits are the mixin's defaults.
var DefaultLimits = Limits{RunTime: 12 * time.Hour, QueueWait: time.Hour}

// Attempt is one failed pod explained.
type Attempt struct {
	Pod         string    `json:"pod"`
	Index       *int32    `json:"index,omitempty"`
	Container   string    `json:"container,omitempty"`
	Init        bool      `json:"initContainer,omitempty"`
	ExitCode    *int32    `json:"exitCode,omitempty"`
	Reason      string    `json:"reason"`
	Meaning     string    `json:"meaning"`
	Image       string    `json:"image,omitempty"`
	Command     string    `json:"command,omitempty"`
	MemoryLimit string    `json:"memoryLimit,omitempty"`
	FinishedAt  time.Time `json:"finishedAt"`
	Policy      string    `json:"podFailurePolicyAction,omitempty"`
}

// Verdict is what to do.
type Verdict struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// FromSummary diagnoses a Job from its Summary at time now.
func FromSummary(s job.Summary, now time.Time, limits Limits) Report {
	r := Report{Namespace: s.Namespace, Job: s.Name, Retries: s.Retries, BackoffLimit: s.BackoffLimit,
		Waiting: s.Waiting, Reason: s.FailedReason, WithoutPods: s.WithoutPods, OlderAttempts: s.OlderAttempts}
	r.IndexFailures = s.IndexFailures[:min(len(s.IndexFailures), MaxReportIndexes)]
	r.MoreIndexes = s.IndexesWithFailures - len(r.IndexFailures)
	if s.OwnerKind == "CronJob" {
		r.CronJob = s.OwnerName
	}
	if s.Completions != nil {
		r.Completions = fmt.Sprintf("succeeded %d of %d", s.Pods.Succeeded, *s.Completions)
	} else if s.Pods.Succeeded > 0 {
		r.Completions = fmt.Sprintf("succeeded %d", s.Pods.Succeeded)
	}
	for _, f := range s.CreateFailures {
		r.CreateFailures = append(r.CreateFailures, CreateFailure{Cause: f.Cause, Meaning: createMeaning(f.Cause), Last: f.Last, Count: f.Count})
	}
	var running time.Duration
	if !s.Finished && !s.Suspended && !s.StartTime.IsZero() && now.After(s.StartTime) {
		running = now.Sub(s.StartTime)
		r.RunningFor = running.Round(time.Second).String()
	}
	tooLong := limits.RunTime > 0 && running > limits.RunTime
	r.Queue = queueOf(s, now)
	// A Job its queue holds back (suspended by Kueue) is judged by its
	// queue: its pods' story is told, but nothing runs until admitted.
	heldHealth, held := queueHealth(s.Queue, now, limits)
	held = held && !s.Failed
	switch {
	case s.Failed:
		r.Health = Failed
	case held:
		r.Health = heldHealth
	case s.Suspended:
		r.Health = Suspended
	case s.Complete:
		r.Health = Complete
	case s.Retries > 0 || len(s.Attempts) > 0:
		r.Health = Failing
	case len(s.Waiting) > 0 || len(s.CreateFailures) > 0 || s.WithoutPods || tooLong:
		r.Health = Stuck
	case limits.RunTime > 0:
		r.Health = Healthy
	default:
		// Without a limit the report does not call a long run healthy:
		// the runbook page of KubeJobRunningTooLong shows this state.
		r.Health = Running
	}
	r.Budget = budget(s)
	if s.BackoffDelay > 0 && !s.Finished {
		r.BackoffDelay = s.BackoffDelay.String()
	}
	if !s.NextRetry.IsZero() {
		t := s.NextRetry
		r.NextRetry = &t
	}
	if !s.Deadline.IsZero() {
		t := s.Deadline
		r.Deadline = &t
		r.DeadlineLeft = s.Deadline.Sub(now).Round(time.Second).String()
		if s.Deadline.Before(now) {
			r.DeadlineLeft = "passed " + now.Sub(s.Deadline).Round(time.Second).String() + " ago"
		}
	}
	for _, a := range s.Attempts {
		r.Attempts = append(r.Attempts, explain(s, a))
	}
	e, departed := evidence(s)
	if departed {
		r.Departed = &Departed{Pods: s.Departed.Pods, Waiting: s.Departed.Waiting}
		for _, a := range e.Attempts {
			r.Departed.Attempts = append(r.Departed.Attempts, explain(s, a))
		}
		for _, f := range e.PodFailures {
			r.Departed.Failures = append(r.Departed.Failures, Failure{Container: f.Container, Reason: printable(f.Reason, maxShort),
				ExitCode: f.ExitCode, Count: f.Count, Restarts: f.Container != "" && s.RestartPolicy == "OnFailure",
				Meaning: failureCause(f).Meaning})
		}
	}
	if gone := int(s.Pods.Failed) - len(s.Attempts) - s.OlderAttempts; gone > 0 && s.RestartPolicy != "OnFailure" {
		r.Gone = fmt.Sprintf("%d of %d failed pods are gone (deleted by the Job controller, a TTL or garbage collection): their exit codes and logs can no longer be read from the cluster; kubejob_pod_failures in Prometheus kept their reasons while they existed.", gone, s.Pods.Failed)
		if departed {
			r.Gone += ` What the exporter saw of pods before they went is under "` + DepartedTitle + `".`
		}
	}
	if !s.Deleted.IsZero() {
		t, byTTL := s.Deleted, s.DeletedByTTL()
		r.Deleted, r.DeletedByTTL = &t, &byTTL
	}
	r.TTLSecondsAfterFinished = s.TTLSecondsAfterFinished
	r.Verdict = verdict(e, r, limits, tooLong, departed)
	if v, ok := queueVerdict(r.Queue); ok && held {
		r.Verdict = v
	}
	r.Cost = cost(e, r.Verdict, departed)
	if held {
		r.Alert = queueAlert(r.Queue)
	} else {
		r.Alert = cmp.Or(jobAlert(s, r), evictionAlert(r.Queue))
	}
	r.Commands = append(commands(s, r), queueCommands(s, r.Queue)...)
	return r
}

// DepartedTitle heads the report's section on the pods that are gone.
const DepartedTitle = "Pods that are gone"

// FromDeparted says where the evidence of gone pods comes from.
const FromDeparted = "from the exporter's last view of pods that were deleted"

// evidence is the Summary the causes are read from: s itself or, when the
// pods present show nothing (no failure, restart or waiting pod) and the
// exporter saw pods with evidence go, s with those pods in their place
// (true). Only the pods' evidence changes: the Job's status, retries and
// terminal reason stay.
func evidence(s job.Summary) (job.Summary, bool) {
	d := s.Departed
	if len(s.Attempts) > 0 || len(s.PodFailures) > 0 || len(s.Waiting) > 0 ||
		len(d.Attempts)+len(d.PodFailures)+len(d.Waiting) == 0 {
		return s, false
	}
	s.Attempts, s.OlderAttempts, s.PodFailures, s.Waiting, s.WaitingPods = d.Attempts, 0, d.PodFailures, d.Waiting, nil
	s.FailedHeld = d.FailedHeld
	return s, true
}

// failureCause is what a count of failures by cause means.
func failureCause(f job.PodFailure) job.Cause {
	if f.Container == "" {
		return job.ExplainPodReason(f.Reason)
	}
	code, _ := strconv.Atoi(f.ExitCode)
	return job.ExplainExit(int32(code), f.Reason)
}

// departedFailures says in words how the gone pods of e failed: "its
// container app exited 1 (Error), 6 restarts, before the Job controller
// deleted the pod".
func departedFailures(e job.Summary) string {
	onFailure := e.RestartPolicy == "OnFailure"
	var parts []string
	for _, f := range e.PodFailures {
		if f.Container == "" {
			parts = append(parts, fmt.Sprintf("%s failed (%s)", plural(f.Count, "pod"), f.Reason))
			continue
		}
		part := "its container " + f.Container
		if f.ExitCode != "" && f.ExitCode != job.Other {
			part += fmt.Sprintf(" exited %s (%s)", f.ExitCode, f.Reason)
		} else {
			part += fmt.Sprintf(" failed (%s)", f.Reason)
		}
		if onFailure {
			part += ", " + plural(f.Count, "restart")
		} else {
			part += " in " + plural(f.Count, "pod")
		}
		parts = append(parts, part)
	}
	out := strings.Join(parts, "; ")
	switch {
	case onFailure && e.Failed:
		// The Job controller deletes the running pods of a Job that
		// failed: those of an OnFailure Job hold its restarts.
		out += ", before the Job controller deleted the pod"
		if e.Departed.Pods > 1 {
			out += "s"
		}
	case !e.Deleted.IsZero():
		out += ", before they went with the Job"
	}
	return out
}

// plural is "1 pod", "2 pods".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// createMeaning says what a cause of refused pods means.
func createMeaning(cause string) string {
	switch cause {
	case job.CreateCauseQuota:
		return "a ResourceQuota of the namespace has no room for another pod, or demands requests or limits the pod lacks"
	case job.CreateCauseLimitRange:
		return "the pod's resources are outside the bounds of a LimitRange of the namespace"
	case job.CreateCausePodSecurity:
		return "the namespace enforces a Pod Security level the pod template does not meet"
	case job.CreateCauseAdmissionPolicy:
		return "a ValidatingAdmissionPolicy denies the pod"
	case job.CreateCauseWebhook:
		return "an admission webhook denies the pod"
	case job.CreateCauseServiceAccount:
		return "the ServiceAccount the pod template names does not exist"
	case job.CreateCauseInvalid:
		return "the pod the template makes fails the API server's validation"
	}
	return "the API server refuses the pod: the Job's events say why"
}

// createCommands are the commands that show a cause of refused pods.
func createCommands(cause, ns, name string) []string {
	switch cause {
	case job.CreateCauseQuota:
		return []string{"kubectl describe resourcequota -n " + ns}
	case job.CreateCauseLimitRange:
		return []string{"kubectl describe limitrange -n " + ns}
	case job.CreateCausePodSecurity:
		return []string{"kubectl get namespace " + ns + " --show-labels   # pod-security.kubernetes.io/enforce"}
	case job.CreateCauseAdmissionPolicy:
		return []string{"kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings"}
	case job.CreateCauseWebhook:
		return []string{"kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations"}
	case job.CreateCauseServiceAccount:
		return []string{fmt.Sprintf("kubectl get job %s -n %s -o jsonpath='{.spec.template.spec.serviceAccountName}'", name, ns), "kubectl get serviceaccounts -n " + ns}
	case job.CreateCauseInvalid:
		return []string{fmt.Sprintf("kubectl get job %s -n %s -o yaml", name, ns)}
	}
	return nil
}

func budget(s job.Summary) string {
	switch {
	case s.BackoffLimitPerIndex != nil:
		return fmt.Sprintf("%d failures in all; backoffLimitPerIndex %d per index", s.Retries, *s.BackoffLimitPerIndex)
	case s.BackoffLimit == nil:
		return fmt.Sprintf("%d failures", s.Retries)
	case s.RestartPolicy == "OnFailure":
		return fmt.Sprintf("%d of %d (restartPolicy OnFailure: the Job fails when container restarts reach backoffLimit)", s.Retries, *s.BackoffLimit)
	}
	return fmt.Sprintf("%d failures counted against backoffLimit %d (the Job fails at failure %d)", s.Retries, *s.BackoffLimit, int64(*s.BackoffLimit)+1)
}

func explain(s job.Summary, a job.Attempt) Attempt {
	// Names the API server validated print as they are; everything else
	// a tenant writes (image, command, reasons a runtime reports) goes
	// through printable.
	out := Attempt{Pod: a.Pod, Container: a.Container, Init: a.Init, Reason: printable(a.Reason, maxShort),
		Meaning: a.Cause.Meaning, FinishedAt: a.FinishedAt, Policy: a.PolicyAction}
	if a.Index >= 0 {
		i := a.Index
		out.Index = &i
	}
	if a.HasExit {
		c := a.ExitCode
		out.ExitCode = &c
	}
	if c, ok := s.Container(a.Container); ok {
		out.Image = printable(c.Image, maxImage)
		if c.MemoryLimit >= 0 {
			out.MemoryLimit = bytesString(c.MemoryLimit)
		}
		switch a.Cause.Kind {
		case "CommandNotFound", "NotExecutable":
			out.Command = printable(c.Executable, maxShort)
			if out.Command == "" {
				out.Command = "(the image's entrypoint)"
			}
		case "OOMKilled":
			if c.MemoryLimit >= 0 {
				out.Meaning = fmt.Sprintf("memory limit %s hit: the kernel killed the container (exit 137)", bytesString(c.MemoryLimit))
			} else {
				out.Meaning = "killed for lack of memory with no limit set: the node ran out of memory"
			}
		}
	}
	return out
}

// causes counts the failures of a Job by cause: failed pods still present
// and, for restartPolicy OnFailure, container restarts (both are in
// PodFailures). Deterministic is true when every one is.
func causes(s job.Summary) (kinds map[string]int64, total int64, deterministic bool) {
	kinds = map[string]int64{}
	deterministic = len(s.PodFailures) > 0
	for _, f := range s.PodFailures {
		c := failureCause(f)
		kinds[c.Kind] += f.Count
		total += f.Count
		deterministic = deterministic && c.Deterministic
	}
	return kinds, total, deterministic
}

// verdict decides what to do from the causes of the failures of s (the
// evidence: the pods present or, departed, the exporter's last view of
// those that are gone, which the verdict then names as its source).
func verdict(s job.Summary, r Report, limits Limits, tooLong, departed bool) Verdict {
	v := causeVerdict(s, r, limits, tooLong, departed)
	if departed && len(s.PodFailures) > 0 && v.Kind != VerdictCannotCreate {
		v.Text = FromDeparted + ", " + departedFailures(s) + ": " + v.Text
	}
	return v
}

func causeVerdict(s job.Summary, r Report, limits Limits, tooLong, departed bool) Verdict {
	kinds, total, deterministic := causes(s)
	all := func(kind string) bool { return total > 0 && kinds[kind] == total }
	waiting := waitingList(s.Waiting)
	if departed {
		waiting += ", " + FromDeparted
	}
	switch {
	case len(s.CreateFailures) > 0:
		f := s.CreateFailures[0]
		return Verdict{VerdictCannotCreate, fmt.Sprintf("the API server refuses to create the Job's pods (%s: %s). Nothing fails, so backoffLimit never ends this; only activeDeadlineSeconds, if set, does. Fix the cause: the Job controller keeps retrying (at most a minute apart since Kubernetes v1.28, six minutes before) and creates the pods once they are allowed; a change to the pod template needs a new Job", f.Cause, createMeaning(f.Cause))}
	case s.WithoutPods:
		return Verdict{VerdictCannotCreate, "the Job has started but has not a single pod, and no FailedCreate event of the Job controller says why (events expire after an hour, or cannot be read): kubectl describe job shows the controller's events; check quotas, Pod Security labels and admission policies of the namespace"}
	case s.FailedReason == "DeadlineExceeded" && len(s.Waiting) > 0 && total == 0:
		return deadlineWaiting(s, waiting, waitingAdvice(s.Waiting), allImagePull(s.Waiting))
	case s.FailedReason == "DeadlineExceeded":
		return Verdict{VerdictDeadline, fmt.Sprintf("the Job ran longer than activeDeadlineSeconds (%s) and was stopped, whatever backoffLimit remained; make the work faster or raise activeDeadlineSeconds", secondsString(s.ActiveDeadlineSeconds))}
	case s.FailedReason == "PodFailurePolicy":
		return Verdict{VerdictPolicy, "a podFailurePolicy FailJob rule matched and failed the Job at once, as configured: fix the cause the matching attempt shows, then recreate the Job"}
	case all("OOMKilled"):
		return Verdict{VerdictResource, "every failure ran out of memory: raise the memory limit (and request) of " + oomContainers(s) + "; retrying with the same limit fails the same way"}
	case deterministic:
		return Verdict{VerdictDeterministic, "every failure is the same deterministic kind (" + kindList(kinds) + "): retrying will not help and raising backoffLimit only wastes the cluster; fix the image, command or permissions, then recreate the Job. A podFailurePolicy FailJob rule on this exit code would stop the wasted retries"}
	case len(s.Waiting) > 0 && total == 0:
		return Verdict{VerdictStuck, "pods cannot start (" + waiting + "): they never fail, so backoffLimit never ends this; only activeDeadlineSeconds does. " + waitingAdvice(s.Waiting)}
	case kinds["OOMKilled"] > 0:
		return Verdict{VerdictResource, "some failures ran out of memory: raise the memory limit of " + oomContainers(s) + " if the usage is not a one-off spike"}
	case total > 0:
		return Verdict{VerdictTransient, "the failures vary (" + kindList(kinds) + "): read the logs; if the cause is external and temporary (network, a dependency restarting), retries may succeed and a larger backoffLimit is reasonable — not for bugs in the code"}
	case r.Gone != "":
		return Verdict{VerdictUnknown, "the failed pods are gone, so the cause can no longer be read from the cluster; check kubejob_pod_failures history in Prometheus or your log store"}
	case s.Failed:
		return Verdict{VerdictUnknown, "the Job failed (" + s.FailedReason + ") without failed pods left to explain it"}
	case tooLong:
		return Verdict{VerdictTooLong, fmt.Sprintf("the Job has been running for %s without a failure, longer than %s: check that its pods make progress (logs, kubectl top pods) or wait on something; activeDeadlineSeconds (now %s) would end such a run", r.RunningFor, limits.RunTime, secondsString(s.ActiveDeadlineSeconds))}
	}
	return Verdict{VerdictNone, "no failures to fix"}
}

// deadlineWaiting is the verdict on a Job that hit its deadline while its
// pods waited (why: the reasons, or events, and their source): they never
// ran, so more time does not help; advice says what to fix.
func deadlineWaiting(s job.Summary, why, advice string, imagePull bool) Verdict {
	what := "could not start"
	if imagePull {
		what = "could not pull the image"
		if images := templateImages(s); len(images) == 1 {
			what += " " + images[0]
		}
	}
	return Verdict{VerdictDeadline, fmt.Sprintf("the Job hit its deadline (activeDeadlineSeconds %s) while its pods %s (%s): they never ran, so raising activeDeadlineSeconds will not help until that is fixed. %s",
		secondsString(s.ActiveDeadlineSeconds), what, why, advice)}
}

// templateImages are the images of the pod template, made printable, each
// once.
func templateImages(s job.Summary) []string {
	var out []string
	for _, c := range s.Containers {
		if img := printable(c.Image, maxImage); !slices.Contains(out, img) {
			out = append(out, img)
		}
	}
	return out
}

// allImagePull tells whether every reason pods wait for is an image pull.
func allImagePull(ws []job.ReasonCount) bool {
	for _, w := range ws {
		if job.ExplainWaiting(w.Reason).Kind != "ImagePull" {
			return false
		}
	}
	return len(ws) > 0
}

// waitingAdvice says what to fix for each reason pods wait for.
func waitingAdvice(ws []job.ReasonCount) string {
	var parts []string
	said := map[string]bool{} // meanings without their reason: ErrImagePull and ImagePullBackOff say the same
	for _, w := range ws {
		m := job.ExplainWaiting(w.Reason).Meaning
		general := strings.ReplaceAll(m, w.Reason, "")
		if said[general] {
			continue
		}
		said[general] = true
		if !strings.Contains(m, w.Reason) {
			m = w.Reason + ": " + m
		}
		parts = append(parts, m)
	}
	return strings.Join(parts, "; ")
}

func commands(s job.Summary, r Report) []string {
	ns, name := s.Namespace, s.Name
	var cmds []string
	if r.Deleted != nil {
		// The Job and its pods are gone; the events about them stay
		// until they expire.
		cmds = append(cmds, fmt.Sprintf("kubectl get events -n %s --field-selector involvedObject.kind=Job,involvedObject.name=%s   # the Job is gone; its events stay for the API server's --event-ttl (1h by default)", ns, name))
	} else {
		cmds = append(cmds,
			fmt.Sprintf("kubectl describe job %s -n %s", name, ns),
			fmt.Sprintf("kubectl get pods -n %s -l batch.kubernetes.io/job-name=%s", ns, name))
	}
	if r.Departed != nil || PodsGone(s) {
		cmds = append(cmds, fmt.Sprintf("kubectl get events -n %s --field-selector involvedObject.kind=Pod,type=Warning | grep pod/%s-   # the Warning events about its pods that are gone, until they expire", ns, name))
		if r.Departed != nil && allImagePull(r.Departed.Waiting) && r.Deleted == nil {
			cmds = append(cmds, fmt.Sprintf("kubectl get job %s -n %s -o jsonpath='{range .spec.template.spec.initContainers[*]}{.image}{\"\\n\"}{end}{range .spec.template.spec.containers[*]}{.image}{\"\\n\"}{end}'   # the images its pods could not pull: check each name and tag, and the registry's credentials (imagePullSecrets)", name, ns))
		}
	}
	if n := len(r.Attempts); n > 0 && r.Deleted == nil {
		cmds = append(cmds, fmt.Sprintf("kubectl describe pod %s -n %s", r.Attempts[n-1].Pod, ns))
		// The logs of the newest failed attempt of each failing container
		// (init containers too: -c reads theirs).
		seen := map[string]bool{}
		for i := n - 1; i >= 0; i-- {
			a := r.Attempts[i]
			if a.Container == "" || seen[a.Container] {
				continue
			}
			seen[a.Container] = true
			cmds = append(cmds, fmt.Sprintf("kubectl logs %s -n %s -c %s", a.Pod, ns, a.Container))
		}
		for _, a := range r.Attempts {
			if a.Reason == job.PodReasonEvicted || a.Reason == "OOMKilled" {
				cmds = append(cmds, "kubectl top pods -n "+ns+" --containers", "kubectl describe node <node-name>   # the node the pod ran on: memory or disk pressure")
				break
			}
		}
	}
	if s.RestartPolicy == "OnFailure" && s.Retries > 0 && r.Departed == nil && r.Deleted == nil {
		cmds = append(cmds, fmt.Sprintf("kubectl logs -n %s -l batch.kubernetes.io/job-name=%s --previous   # the run before the last restart", ns, name))
	}
	if len(s.Waiting) > 0 {
		if len(s.WaitingPods) > 0 {
			cmds = append(cmds, fmt.Sprintf("kubectl describe pod %s -n %s   # its Events say why it waits", s.WaitingPods[0], ns))
			for _, w := range s.Waiting {
				if w.Reason == job.WaitingPodInitializing {
					cmds = append(cmds, fmt.Sprintf("kubectl get pod %s -n %s -o jsonpath='{range .status.initContainerStatuses[*]}{.name}{\" \"}{.state}{\"\\n\"}{end}'   # the init container that runs; then kubectl logs %s -n %s -c <init-container-name>", s.WaitingPods[0], ns, s.WaitingPods[0], ns))
				}
			}
		} else {
			cmds = append(cmds, fmt.Sprintf("kubectl describe pods -n %s -l batch.kubernetes.io/job-name=%s | grep -iA5 'events\\|image\\|pull'", ns, name))
		}
	}
	if len(s.CreateFailures) > 0 || s.WithoutPods {
		cmds = append(cmds, fmt.Sprintf("kubectl get events -n %s --field-selector involvedObject.kind=Job,involvedObject.name=%s,reason=FailedCreate", ns, name))
	}
	for _, f := range s.CreateFailures {
		cmds = append(cmds, createCommands(f.Cause, ns, name)...)
	}
	return cmds
}

func oomContainers(s job.Summary) string {
	seen := map[string]bool{}
	var parts []string
	for _, f := range s.PodFailures {
		if f.Reason != "OOMKilled" || seen[f.Container] {
			continue
		}
		seen[f.Container] = true
		part := "container " + f.Container
		if c, ok := s.Container(f.Container); ok && c.MemoryLimit > 0 {
			part += fmt.Sprintf(" (now %s; for example to %s)", bytesString(c.MemoryLimit), bytesString(2*c.MemoryLimit))
		}
		parts = append(parts, part)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func kindList(kinds map[string]int64) string {
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func waitingList(ws []job.ReasonCount) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, fmt.Sprintf("%s ×%d", w.Reason, w.Count))
	}
	return strings.Join(parts, ", ")
}

func secondsString[T int32 | int64](s *T) string {
	if s == nil {
		return "unset"
	}
	return (time.Duration(*s) * time.Second).String()
}

// bytesString renders a byte count as Kubernetes quantities are usually
// written (Mi, Gi).
func bytesString(b int64) string {
	const ki = 1024
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"Gi", ki * ki * ki}, {"Mi", ki * ki}, {"Ki", ki}} {
		if b >= u.size && b%u.size == 0 {
			return fmt.Sprintf("%d%s", b/u.size, u.suffix)
		}
	}
	if b >= ki*ki {
		return fmt.Sprintf("%.1fMi", float64(b)/(ki*ki))
	}
	return fmt.Sprintf("%d", b)
}
