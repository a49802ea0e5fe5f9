package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podFacts are what a Job's Summary needs of one of its pods. factsOf
// reads them from the pod, once, when the pod cache receives it; the cache
// keeps them encoded (PodRecord) and the Aggregate and the Summary's
// Attempts read them decoded, never the pod again. What depends on the Job
// as well (whether a pod being deleted counts as failed, which
// podFailurePolicy rule matches, the completion index of a non-Indexed
// Job) is decided from these facts and the Job (podContext).
type podFacts struct {
	// The head: what the informer's key and index functions read.
	name, resourceVersion string
	deleted               metav1.Time // deletionTimestamp, zero when not being deleted
	jobName               string      // the controlling Job, "" if none
	jobUID                types.UID   // its UID

	created  time.Time
	phase    corev1.PodPhase
	finished time.Time // FinishedTime
	// The Job controller's annotations (read by annotationInt), -1 when
	// missing or invalid: the completion index, the failures of the index
	// before this pod, and how many of those a podFailurePolicy ignored.
	index, indexFailures, indexIgnored int32

	// failure is set for a pod that failed, or is being deleted before it
	// succeeded (a failure unless the Job only replaces failed pods).
	failure *failureFacts
	// Of a pod not finished: the restarts of its containers by the last
	// termination (restarts), why it does not start (podWaitingReason),
	// and the step of a normal start it is in (pendingStep) otherwise.
	restarts []PodFailure
	waiting  string
	pending  string
}

// failureFacts are what failed in a pod (failureOf), and what a
// podFailurePolicy rule matches on.
type failureFacts struct {
	container string // "" for a pod-level failure
	init      bool
	reason    string // bounded: ContainerReasons or PodReasons
	exitCode  int32
	hasExit   bool
	policy    policyInputs
}

// factsOf reads a pod's facts: the one place a pod is read for its Job.
func factsOf(p *corev1.Pod) podFacts {
	f := podFacts{
		name: p.Name, resourceVersion: p.ResourceVersion,
		created: p.CreationTimestamp.Time, phase: corev1.PodPhase(intern(string(p.Status.Phase))),
		finished: FinishedTime(p),
		index:    annotation(p, batchv1.JobCompletionIndexAnnotation),
	}
	f.indexFailures = annotation(p, batchv1.JobIndexFailureCountAnnotation)
	f.indexIgnored = annotation(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
	if p.DeletionTimestamp != nil {
		f.deleted = *p.DeletionTimestamp
	}
	// The controller reference is the pod creator's to write: one whose
	// name or UID the API server would not have given a Job is no
	// controller, and is not kept.
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == "Job" {
		if ValidName(ref.Name) && ValidUID(ref.UID) {
			f.jobName, f.jobUID = ref.Name, ref.UID
		} else {
			countCut(CutOwnerReference, 1)
		}
	}
	deleting := p.DeletionTimestamp != nil
	switch {
	case p.Status.Phase == corev1.PodSucceeded:
	case p.Status.Phase == corev1.PodFailed || deleting:
		ff := failureOf(p)
		f.failure = &ff
	}
	// pastBackoffLimitOnFailure sums the restart counts of every pod in
	// phase Pending or Running, whether or not it is being deleted.
	if p.Status.Phase == corev1.PodPending || p.Status.Phase == corev1.PodRunning {
		f.restarts = restarts(p)
	}
	if !deleting && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		if r, ok := podWaitingReason(p); ok {
			f.waiting = r
		} else if p.Status.Phase == corev1.PodPending || p.Status.Phase == "" {
			f.pending = pendingStep(p)
		}
	}
	return f
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

// completionIndex is the pod's completion index, read from the annotation
// only as the controller's getCompletionIndex does (the label of the same
// name is informational), or -1.
func (f *podFacts) completionIndex(indexed bool) int32 {
	if !indexed {
		return -1
	}
	return f.index
}

// indexFailureCount is the job-index-failure-count annotation: failures of
// the index before this pod was created. Like the controller's
// parseIndexFailureCountAnnotation, junk or out-of-range values count as 0.
func (f *podFacts) indexFailureCount() int32 { return max(f.indexFailures, 0) }

func (f *podFacts) indexIgnoredCount() int32 { return max(f.indexIgnored, 0) }

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

// failureOf finds what failed in a failed pod. A pod-level cause
// (eviction, deadline, node shutdown, disruption) wins: the kubelet then
// kills the containers, and their exit codes are a consequence. Otherwise
// the first init container, then the first container, that terminated with
// a non-zero exit code is to blame. Sidecars (init containers with
// restartPolicy Always) come last: the kubelet stops them once the main
// containers are done, so their exit 137/143 is a consequence too.
func failureOf(p *corev1.Pod) failureFacts {
	f := failureFacts{policy: policyInputsOf(p)}
	disruption := ""
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			disruption = c.Reason
			if disruption == "" {
				disruption = "DisruptionTarget"
			}
		}
	}
	if r := podReason(p.Status.Reason, disruption, false); r != Other {
		f.reason = r
		return f
	}
	if cs, init := failingContainer(p); cs != nil {
		t := cs.State.Terminated
		f.container, f.init = Bounded(cs.Name, MaxLabelLength), init // a DNS label, unless pods/status was written by hand
		// ExplainExit reads only reasons ContainerReason keeps.
		f.reason, f.exitCode, f.hasExit = ContainerReason(t.Reason), t.ExitCode, true
		return f
	}
	f.reason = podReason(p.Status.Reason, disruption, p.DeletionTimestamp != nil)
	return f
}
