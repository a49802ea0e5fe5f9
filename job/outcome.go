package job

import (
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Outcomes outlive their Job: a Job with ttlSecondsAfterFinished 0, a run a
// CronJob's history limit removes at once, a Job someone deletes, may fail
// and be gone between two scrapes. The exporter counts each finished Job
// and each pod failure when its watch shows the transition (Finish,
// PodFailure), under the Job's owner rather than the Job, so the counts
// stay bounded by owners, not runs.

// Outcome values of a finished Job (the outcome label).
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Owner kinds (the owner_kind label): the runs of a CronJob count under
// the CronJob, any other Job under its group (OwnerOf).
const (
	OwnerKindCronJob = "CronJob"
	OwnerKindJob     = "Job"
)

// Owner is what a Job's outcomes count under.
type Owner struct{ Kind, Name string }

// OwnerOf is the owner a Job's outcomes count under: its CronJob
// (CronJobOwner, validated); else, when ownerLabel is set, the value of
// that label on the Job (a valid, non-empty label value); else the
// generateName the Job was created with, without its trailing separator
// (the runs of a pipeline that names its Jobs "build-" count together);
// else the Job's name. A Job's name is a DNS subdomain of at most 253
// characters and a label value at most 63, so every owner name is bounded
// and safe in a label.
func OwnerOf(j *batchv1.Job, ownerLabel string) Owner {
	if name, _, ok := CronJobOwner(j); ok {
		return Owner{OwnerKindCronJob, name}
	}
	return Owner{OwnerKindJob, groupOf(j.Name, j.GenerateName, j.Labels[ownerLabel], ownerLabel != "")}
}

// groupOf picks a standalone Job's group (see OwnerOf).
func groupOf(name, generateName, label string, useLabel bool) string {
	if useLabel && label != "" && len(validation.IsValidLabelValue(label)) == 0 {
		return label
	}
	if g := strings.TrimRight(generateName, "-."); g != "" && strings.HasPrefix(name, generateName) {
		return g
	}
	return name
}

// Finish is a Job's outcome, counted once, when the watch shows it finish.
type Finish struct {
	Namespace string
	Owner     Owner
	Job       string
	UID       types.UID
	Outcome   string // OutcomeSucceeded or OutcomeFailed
	Reason    string // one of FailedReasons when failed, "" when succeeded
	// At is when it finished (the terminal condition's time), or when
	// the exporter saw it if the condition has none.
	At time.Time
}

// Outcome reads a Job record's terminal state: the outcome ("" while the
// Job has not finished), the reason of a failure and when it finished. A
// FailureTarget or SuccessCriteriaMet condition counts already, as in the
// Summary (terminalState), so a Job is finished once, from the first of
// the two conditions the controller writes.
func (r *JobRecord) Outcome() (outcome, reason string, at time.Time) {
	var s Summary
	s.terminalState(r.Conditions)
	switch {
	case s.Failed:
		return OutcomeFailed, s.FailedReason, s.FailedAt
	case s.Complete:
		at := s.CompletedAt
		if ct := recordTime(r.CompletionTime); !ct.IsZero() {
			at = ct
		}
		return OutcomeSucceeded, "", at
	}
	return "", "", time.Time{}
}

// FinishOf is the Finish of a finished Job record; false while it runs.
// seen is the time used when the condition carries none.
func FinishOf(r *JobRecord, seen time.Time) (Finish, bool) {
	if r == nil {
		return Finish{}, false
	}
	outcome, reason, at := r.Outcome()
	if outcome == "" {
		return Finish{}, false
	}
	if at.IsZero() {
		at = seen
	}
	return Finish{Namespace: r.Namespace, Owner: r.Owner, Job: r.Name, UID: r.UID,
		Outcome: outcome, Reason: reason, At: at}, true
}

// PodFailed reports failures of one pod, counted once each, when the
// watch shows them: the pod failing (phase Failed, or deleted before it
// succeeded while its Job still runs, as the controller counts it), and
// for restartPolicy OnFailure each container restart.
type PodFailed struct {
	Namespace string
	Owner     Owner
	Job       string
	Pod       string
	// Failures are the new failures by container, reason and exit code,
	// as kubejob_pod_failures labels them (Count: how many).
	Failures []PodFailure
}

// NewPodFailures are the failures a pod's change from old to cur adds
// (nil when it adds none): the pod's failure if old had none, and the
// restarts cur has beyond old's (restartPolicy OnFailure), judged with the
// Job j's semantics. old is nil for a pod first seen: then every failure
// cur shows is new. A pod being deleted counts as failed only while its Job
// has not finished (the Job controller's accounting ends with the Job; the
// clean-up of a finished Job's pods fails nothing).
func NewPodFailures(old, cur *PodRecord, j *JobRecord) []PodFailure {
	if cur == nil || j == nil {
		return nil
	}
	c := contextOf(j)
	nf := cur.facts()
	if nf.jobUID != "" && nf.jobUID != j.UID {
		return nil
	}
	finished, _, _ := j.Outcome()
	counts := func(f *podFacts) bool {
		if f.phase == corev1.PodFailed {
			return true
		}
		return finished == "" && f.failed(c.onlyReplaceFailed)
	}
	var out []PodFailure
	var of podFacts
	if old != nil {
		of = old.facts()
	}
	// An old state being deleted was counted then (the Job ran) or was
	// clean-up (it had finished): its pod reaching phase Failed afterwards
	// (the kubelet's last word on a deleted pod, which may arrive after the
	// Job's own watch showed it finished) is not a new failure.
	if counts(&nf) && (old == nil || !counts(&of) && !old.Deleting()) {
		if pf := contributionOf(&nf, &c).failure; pf.Reason != "" || pf.Container != "" {
			pf.Count = 1
			out = append(out, pf)
		}
	}
	if c.onFailure {
		// A container's restarts are all listed under its last
		// termination's reason: what a change adds is the difference in
		// its total, under the reason it has now.
		for _, r := range nf.restarts {
			before := int64(0)
			for _, o := range of.restarts {
				if o.Container == r.Container {
					before += o.Count
				}
			}
			if r.Count > before {
				r.Count -= before
				out = append(out, r)
			}
		}
	}
	return out
}

// Ended tells whether a pod's record shows it ended: phase Succeeded or
// Failed.
func (r *PodRecord) Ended() bool {
	f := r.facts()
	return f.phase == corev1.PodSucceeded || f.phase == corev1.PodFailed
}

// Evidence tells whether a pod's record says why its Job struggles: the
// pod failed, waits for a reason (an image pull, a config error, a crash
// loop), or its containers restarted. A pod deleted while running well
// says nothing: its deletion is not evidence.
func (r *PodRecord) Evidence() bool {
	f := r.facts()
	return f.phase == corev1.PodFailed || f.waiting != "" || len(f.restarts) > 0
}

// DepartedOf is the Departed evidence of a Job's gone pods: the records
// the exporter kept of them (their last state with Evidence), summarized
// as the Summary summarizes the pods present.
func DepartedOf(j *JobRecord, gone []*PodRecord) Departed {
	if j == nil || len(gone) == 0 {
		return Departed{}
	}
	a := NewAggregate(j)
	for _, r := range gone {
		a.Add(r)
	}
	var s Summary
	s.podFacts(a, Options{})
	return Departed{Pods: a.Pods(), Attempts: s.Attempts, PodFailures: s.PodFailures, Waiting: s.Waiting, FailedHeld: s.FailedHeld}
}
