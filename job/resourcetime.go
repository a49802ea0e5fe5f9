package job

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodFinished is the resource-time one pod of a Job held, reported once,
// when the watch shows the pod finish (PodFinish).
type PodFinished struct {
	Namespace string
	Owner     Owner
	Job       string
	Pod       string
	// Held is what the pod held by outcome and resource, non-zero values
	// only, in a fixed order (failed first, then cpu, memory and the
	// extended resources as configured).
	Held []ResourceTime
}

// ResourceTime is a resource held for a time under an outcome: Value is
// the running time in seconds times the request, in the resource's base
// unit (cores, bytes, devices).
type ResourceTime struct {
	Outcome  string // OutcomeSucceeded or OutcomeFailed
	Resource string // ResourceCPU, ResourceMemory or an extended resource's name
	Value    float64
}

// PodFinish is the resource-time a pod's change from old to cur shows
// held, once per pod, judged with the Job j's semantics; false when the
// change finishes nothing. old is nil for a pod first seen after the
// initial list (the watcher never asks about the initial list: pods
// finished before this exporter's time are not counted).
//
// A pod finishes when its phase becomes Succeeded or Failed (outcome by
// phase, running time from status.startTime to its last container's end,
// FinishedTime), or when its deletion begins while its Job runs and the
// Job controller counts the deleted pod as failed (as NewPodFailures):
// failed, running to its deletionTimestamp or now, whichever is earlier
// (deletionTimestamp is the end of the grace period, in the future while
// the pod stops). The clean-up of a finished Job's pods is no finish, and
// a pod whose deletion was seen already is not counted again when the
// kubelet's last status reaches the watch; a Job that replaces only
// failed pods (podReplacementPolicy Failed) counts a deleted pod when its
// phase becomes Failed, as its controller does.
//
// For restartPolicy OnFailure the time before the last run of restarted
// containers began (lastRunStart) counts as failed: the runs that failed
// and the backoff between them held the pod's request; the last run
// counts under the pod's outcome.
//
// A pod without status.startTime never ran: nothing is guessed for it.
func PodFinish(old, cur *PodRecord, j *JobRecord, now time.Time) (PodFinished, bool) {
	if cur == nil || j == nil {
		return PodFinished{}, false
	}
	var of *podFacts
	if old != nil {
		f := old.facts()
		of = &f
	}
	return finishOf(of, cur.facts(), j, now)
}

// PodGone is the resource-time of a pod whose delete event is the first
// to show it gone: a pod removed while running with no deletion seen
// before (its last state neither finished nor being deleted) ran until
// now, and counts as failed if its Job runs. Any other last state was
// counted, or was not a finish, when its update came (PodFinish). A
// tombstone, the state of a pod whose end the watch missed, is not
// passed here: how it ended is not guessed.
func PodGone(last *PodRecord, j *JobRecord, now time.Time) (PodFinished, bool) {
	if last == nil || j == nil {
		return PodFinished{}, false
	}
	f := last.facts()
	if f.phase == corev1.PodSucceeded || f.phase == corev1.PodFailed || !f.deleted.IsZero() {
		return PodFinished{}, false
	}
	f.deleted = metav1.NewTime(now)
	f.failure = &failureFacts{} // deleted before it finished, as factsOf reads it
	return finishOf(nil, f, j, now)
}

// finishOf is PodFinish on the decoded facts (old nil: first seen).
func finishOf(of *podFacts, nf podFacts, j *JobRecord, now time.Time) (PodFinished, bool) {
	if nf.jobUID != "" && nf.jobUID != j.UID {
		return PodFinished{}, false
	}
	c := contextOf(j)
	jobFinished, _, _ := j.Outcome()
	finishes := func(f *podFacts) (string, bool) {
		switch {
		case f.phase == corev1.PodSucceeded:
			return OutcomeSucceeded, true
		case f.phase == corev1.PodFailed:
			return OutcomeFailed, true
		case jobFinished == "" && f.failed(c.onlyReplaceFailed):
			return OutcomeFailed, true
		}
		return "", false
	}
	outcome, ok := finishes(&nf)
	if !ok || nf.started.IsZero() {
		return PodFinished{}, false
	}
	// An old state being deleted was counted then (the Job ran), or was
	// clean-up (it had finished); only a Job that replaces failed pods
	// alone counts its deleted pod when it fails.
	if of != nil {
		if _, done := finishes(of); done || !of.deleted.IsZero() && (!c.onlyReplaceFailed || jobFinished != "") {
			return PodFinished{}, false
		}
	}
	end := nf.finished
	if nf.phase != corev1.PodSucceeded && nf.phase != corev1.PodFailed {
		end = now
		if d := nf.deleted.Time; !d.IsZero() && d.Before(end) {
			end = d
		}
	}
	if !end.After(nf.started) {
		return PodFinished{}, false
	}
	split := nf.started
	if nf.lastRun.After(split) {
		split = nf.lastRun
		if split.After(end) {
			split = end
		}
	}
	out := PodFinished{Namespace: j.Namespace, Owner: j.Owner, Job: j.Name, Pod: nf.name}
	out.Held = nf.requests.held(out.Held, OutcomeFailed, split.Sub(nf.started))
	out.Held = nf.requests.held(out.Held, outcome, end.Sub(split))
	return out, len(out.Held) > 0
}

// held appends what the request held for d under outcome, if anything.
func (r *podRequests) held(dst []ResourceTime, outcome string, d time.Duration) []ResourceTime {
	if d <= 0 {
		return dst
	}
	s := d.Seconds()
	add := func(resource string, v float64) {
		if v > 0 {
			dst = append(dst, ResourceTime{Outcome: outcome, Resource: resource, Value: v * s})
		}
	}
	add(ResourceCPU, float64(r.cpuMilli)/1000)
	add(ResourceMemory, float64(r.memory))
	for _, x := range r.extended {
		add(x.name, float64(x.count))
	}
	return dst
}
