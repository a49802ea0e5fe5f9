package job

import (
	"math/bits"
	"slices"
	"strings"
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
// FinishedTime), or when its deletion begins, running to its
// deletionTimestamp or now, whichever is earlier (deletionTimestamp is
// the end of the grace period, in the future while the pod stops): while
// its Job runs, if the Job controller counts the deleted pod as failed
// (as NewPodFailures; a suspension's and a preemption's deletions too);
// once its Job finished, under the Job's outcome: the controller removes
// the pods still running of a Job that failed (its deadline, its backoff
// limit, a FailJob rule), whose time went into the failure, and of a Job
// that succeeded (completions or a success policy met). A pod whose
// deletion was seen already is not counted again when the kubelet's last
// status reaches the watch; a Job that replaces only failed pods
// (podReplacementPolicy Failed) counts a pod deleted while it runs when
// the pod's phase becomes Failed, as its controller does.
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
// now, and counts as a deletion does in PodFinish (failed while its Job
// runs, else under the Job's outcome). Any other last state was
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
		case jobFinished != "" && !f.deleted.IsZero() && !c.onlyReplaceFailed:
			// The Job controller removes the pods still running when
			// the Job finishes: a failed Job's at its deadline, its
			// backoff limit or a FailJob rule (their time was spent
			// on the failure), a succeeded Job's once its completions
			// or success policy are met (spent on the success). It
			// deletes them before it writes the Job's condition, so
			// the watch mostly shows the deletion while the Job still
			// runs (failed, above); this is the other order. A Job
			// that replaces only failed pods counts such a pod when
			// its phase becomes Failed (above), as its controller
			// does.
			return jobFinished, true
		}
		return "", false
	}
	outcome, ok := finishes(&nf)
	if !ok || nf.started.IsZero() {
		return PodFinished{}, false
	}
	// An old state being deleted was counted then; only a running Job
	// that replaces failed pods alone counts its deleted pod when the
	// pod's phase becomes Failed.
	if of != nil {
		if _, done := finishes(of); done || !of.deleted.IsZero() && !c.onlyReplaceFailed {
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
	failedRuns, lastRun := nf.runs(end)
	out := PodFinished{Namespace: j.Namespace, Owner: j.Owner, Job: j.Name, Pod: nf.name}
	out.Held = nf.requests.held(out.Held, OutcomeFailed, failedRuns)
	out.Held = nf.requests.held(out.Held, outcome, lastRun)
	return out, len(out.Held) > 0
}

// runs splits a pod's running time, from its start to end, where its last
// run began (lastRunStart, restartPolicy OnFailure): before it the runs
// that failed, after it the last run. Both are zero for a pod that never
// started or an end not after the start.
func (f *podFacts) runs(end time.Time) (failedRuns, lastRun time.Duration) {
	if f.started.IsZero() || !end.After(f.started) {
		return 0, 0
	}
	split := f.started
	if f.lastRun.After(split) {
		split = f.lastRun
		if split.After(end) {
			split = end
		}
	}
	return split.Sub(f.started), end.Sub(split)
}

// failedSpans are the times a pod present has held its request in runs
// that failed, as PodFinish counts them failed, read from its record
// alone (no clock, so an Aggregate keeps their sum): all of a pod in phase
// Failed (runs to its end, FinishedTime), and of any other pod the runs
// before its last one (restartPolicy OnFailure). A pod being deleted
// before it reached phase Failed, which PodFinish counts failed until its
// deletion, counts here once its phase is Failed: until then its end is
// not known.
func (f *podFacts) failedSpans() (time.Duration, time.Duration) {
	switch f.phase {
	case corev1.PodFailed:
		return f.runs(f.finished)
	case corev1.PodSucceeded:
		failedRuns, _ := f.runs(f.finished)
		return failedRuns, 0
	}
	failedRuns, _ := f.runs(f.lastRun)
	return failedRuns, 0
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

// heldSum is resource-time summed exactly: per resource, the request in
// the unit the record keeps (millicores, bytes, devices) times
// nanoseconds, in 128 bits, so that counting pods in and out in any order
// leaves the sum of the pods present, whatever their number and size.
type heldSum struct {
	cpu, memory uint128
	extended    []extendedSum // sorted by name, non-zero only
}

type extendedSum struct {
	name string
	sum  uint128
}

// add counts what the request held for d in (sign 1) or out (sign -1).
func (s *heldSum) add(r *podRequests, d time.Duration, sign int) {
	if d <= 0 {
		return
	}
	s.cpu = s.cpu.add(product(r.cpuMilli, d), sign)
	s.memory = s.memory.add(product(r.memory, d), sign)
	for _, x := range r.extended {
		k, found := slices.BinarySearchFunc(s.extended, x.name, func(e extendedSum, name string) int { return strings.Compare(e.name, name) })
		if !found {
			s.extended = slices.Insert(s.extended, k, extendedSum{name: x.name})
		}
		e := &s.extended[k]
		if e.sum = e.sum.add(product(x.count, d), sign); e.sum == (uint128{}) {
			s.extended = slices.Delete(s.extended, k, k+1)
		}
	}
}

// failed appends the sum as the failed resource-time it is, in the
// Summary's order (cpu, memory, the extended resources by name), non-zero
// values only.
func (s *heldSum) failed(dst []ResourceTime) []ResourceTime {
	add := func(resource string, v uint128, unit float64) {
		if v != (uint128{}) {
			dst = append(dst, ResourceTime{Outcome: OutcomeFailed, Resource: resource, Value: v.float() / unit})
		}
	}
	add(ResourceCPU, s.cpu, 1e3*1e9)
	add(ResourceMemory, s.memory, 1e9)
	for _, x := range s.extended {
		add(x.name, x.sum, 1e9)
	}
	return dst
}

// uint128 is an unsigned 128-bit integer; sums wrap as uint64 does, so
// taking out what was added always restores the sum.
type uint128 struct{ hi, lo uint64 }

// product is a request (not negative, as the record keeps it) times a
// duration (positive).
func product(request int64, d time.Duration) uint128 {
	hi, lo := bits.Mul64(uint64(max(request, 0)), uint64(d))
	return uint128{hi, lo}
}

func (x uint128) add(y uint128, sign int) uint128 {
	if sign < 0 {
		lo, borrow := bits.Sub64(x.lo, y.lo, 0)
		hi, _ := bits.Sub64(x.hi, y.hi, borrow)
		return uint128{hi, lo}
	}
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, carry)
	return uint128{hi, lo}
}

func (x uint128) float() float64 { return float64(x.hi)*(1<<64) + float64(x.lo) }
