package job

import (
	"math"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podContext is what of the Job decides a pod's contribution.
type podContext struct {
	uid                                             types.UID
	indexed, onFailure, perIndex, onlyReplaceFailed bool
	policy                                          *batchv1.PodFailurePolicy
}

func contextOf(j *JobRecord) podContext {
	return podContext{
		uid:               j.UID,
		indexed:           j.Indexed,
		onFailure:         j.RestartPolicy == corev1.RestartPolicyOnFailure,
		perIndex:          j.BackoffLimitPerIndex != nil,
		onlyReplaceFailed: onlyReplaceFailedPods(j),
		policy:            j.PodFailurePolicy,
	}
}

func (c podContext) equal(o podContext) bool {
	p, q := c.policy, o.policy
	c.policy, o.policy = nil, nil
	return c == o && (p == q || reflect.DeepEqual(p, q))
}

// onlyReplaceFailedPods mirrors the controller's onlyReplaceFailedPods,
// which reads only podReplacementPolicy; the API server defaults that
// field to Failed whenever podFailurePolicy is set (SetDefaults_Job), so a
// podFailurePolicy is treated the same here for objects that skipped
// defaulting.
func onlyReplaceFailedPods(j *JobRecord) bool {
	if j.PodReplacementPolicy != nil && *j.PodReplacementPolicy == batchv1.Failed {
		return true
	}
	return j.PodFailurePolicy != nil
}

type podKind uint8

const (
	podOther podKind = iota
	podSucceeded
	podFailed
)

// contribution is what one pod adds to its Job's Summary, as the Job
// controller reads it: its facts, decided for the Job.
type contribution struct {
	kind     podKind
	at       time.Time  // finished (succeeded or failed)
	failure  PodFailure // failed: its key in PodFailures
	restarts []PodFailure
	index    int32 // the completion index, -1 if none
	indexVal int32 // the index's failure count this pod gives
	waiting  string
	pending  string // the step of a normal start it is in, if pending
}

func contributionOf(f *podFacts, c *podContext) contribution {
	out := contribution{index: f.completionIndex(c.indexed)}
	if c.onFailure {
		out.restarts = f.restarts
	}
	switch {
	case f.phase == corev1.PodSucceeded:
		out.kind, out.at = podSucceeded, f.finished
	case f.failed(c.onlyReplaceFailed):
		out.kind, out.at = podFailed, f.finished
		a := f.attempt(c)
		out.failure = PodFailure{Container: a.Container, Reason: a.Reason, ExitCode: exitLabel(a)}
		if out.index >= 0 {
			counted := int32(0)
			if a.PolicyAction != string(batchv1.PodFailurePolicyActionIgnore) {
				counted = 1
			}
			out.indexVal = addSat(f.indexFailureCount(), counted)
		}
	default:
		// Pending or running (or an unknown phase).
		if out.index >= 0 {
			out.indexVal = f.indexFailureCount()
		}
		out.waiting, out.pending = f.waiting, f.pending
	}
	return out
}

// completionIndex is the pod's completion index, read from the annotation
// only as the controller's getCompletionIndex does (the label of the same
// name is informational), or -1.
func (f *podFacts) completionIndex(indexed bool) int32 {
	if !indexed {
		return -1
	}
	return f.index
}

// failed mirrors isPodFailed in job_controller.go: a pod in phase Failed,
// or, unless the Job only replaces failed pods (onlyReplaceFailedPods), a
// pod being deleted before it succeeded: it never gets the chance to
// reach Failed.
func (f *podFacts) failed(onlyReplaceFailed bool) bool {
	if f.phase == corev1.PodFailed {
		return true
	}
	return !onlyReplaceFailed && f.failure != nil
}

// IsPodFailed tells whether the Job controller counts a pod as failed
// (podFacts.failed). A nil pod is not failed.
func IsPodFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if p == nil {
		return false
	}
	f := factsOf(p, nil)
	return f.failed(j != nil && onlyReplaceFailedPods(NewJobRecord(j)))
}

// attempt is a failed pod's Attempt, with the podFailurePolicy action that
// matched it.
func (f *podFacts) attempt(c *podContext) Attempt {
	a := Attempt{Pod: f.name, Index: f.completionIndex(c.indexed), FinishedAt: f.finished}
	if ff := f.failure; ff != nil {
		a.Container, a.Init, a.Reason = ff.container, ff.init, ff.reason
		a.ExitCode, a.HasExit = ff.exitCode, ff.hasExit
		a.PolicyAction = string(ff.policy.action(c.policy))
	}
	if a.HasExit {
		a.Cause = ExplainExit(a.ExitCode, a.Reason)
	} else {
		a.Cause = ExplainPodReason(a.Reason)
	}
	return a
}

func exitLabel(a Attempt) string {
	if !a.HasExit {
		return ""
	}
	return ExitCode(a.ExitCode)
}

// indexFailureCount is the job-index-failure-count annotation: failures of
// the index before this pod was created. Like the controller's
// parseIndexFailureCountAnnotation, junk or out-of-range values count as 0.
func (f *podFacts) indexFailureCount() int32 { return max(f.indexFailures, 0) }

func (f *podFacts) indexIgnoredCount() int32 { return max(f.indexIgnored, 0) }

// addSat adds two non-negative int32 counts, saturating at MaxInt32 (the
// annotations are user-writable, so their sum must not wrap negative).
func addSat(a, b int32) int32 {
	if s := int64(a) + int64(b); s < math.MaxInt32 {
		return int32(s)
	}
	return math.MaxInt32
}
