package job

import (
	"strconv"
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

	// What the pod held, for its resource-time (PodFinish): when the
	// kubelet started it (status.startTime), for restartPolicy OnFailure
	// when its last container run began (lastRunStart), and its effective
	// request (requestsOf).
	started, lastRun time.Time
	requests         podRequests
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
// extended are the extended resources whose requests it keeps (nil:
// DefaultExtendedResources).
func factsOf(p *corev1.Pod, extended []corev1.ResourceName) podFacts {
	f := podFacts{
		name: p.Name, resourceVersion: p.ResourceVersion,
		created: p.CreationTimestamp.Time, phase: corev1.PodPhase(intern(string(p.Status.Phase))),
		finished: FinishedTime(p),
		index:    annotation(p, batchv1.JobCompletionIndexAnnotation),
		lastRun:  lastRunStart(p),
		requests: requestsOf(&p.Spec, extended),
	}
	if p.Status.StartTime != nil {
		f.started = p.Status.StartTime.Time
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

// FinishedTime mirrors getFinishedTime in backoff_utils.go: the latest
// container finishedAt if every container finished, else the Ready=False
// transition (of the first Ready condition, as GetPodCondition finds it),
// else deletionTimestamp minus the grace period, else the creation time.
func FinishedTime(p *corev1.Pod) time.Time {
	if t, ok := containersFinished(p); ok {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		if c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
		break
	}
	if p.DeletionTimestamp != nil {
		grace := int64(0)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp.Time
}

func containersFinished(p *corev1.Pod) (time.Time, bool) {
	var latest time.Time
	found := false
	sidecars := sidecarNames(p)
	if sidecars == nil {
		sidecars = map[string]bool{}
	}
	check := func(statuses []corev1.ContainerStatus, only map[string]bool) bool {
		for _, cs := range statuses {
			if only != nil && !only[cs.Name] {
				continue
			}
			t := cs.State.Terminated
			if t == nil || t.FinishedAt.IsZero() {
				return false
			}
			if !found || t.FinishedAt.After(latest) {
				latest, found = t.FinishedAt.Time, true
			}
		}
		return true
	}
	if !check(p.Status.ContainerStatuses, nil) || !check(p.Status.InitContainerStatuses, sidecars) {
		return time.Time{}, false
	}
	return latest, found
}

// lastRunStart is, for a pod with restartPolicy OnFailure whose
// containers restarted, when the last run of them began: the latest start
// of the current run of a container that restarted (running or
// terminated), or, for one waiting to restart, the end of its last run.
// The time before it went to runs that failed. Zero for any other pod.
// Sidecars restart by design and are left out.
func lastRunStart(p *corev1.Pod) time.Time {
	if p.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return time.Time{}
	}
	var last time.Time
	sidecars := sidecarNames(p)
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if cs.RestartCount <= 0 || sidecars[cs.Name] {
				continue
			}
			var t metav1.Time
			switch {
			case cs.State.Running != nil:
				t = cs.State.Running.StartedAt
			case cs.State.Terminated != nil:
				t = cs.State.Terminated.StartedAt
			case cs.LastTerminationState.Terminated != nil:
				t = cs.LastTerminationState.Terminated.FinishedAt
			}
			if t.After(last) {
				last = t.Time
			}
		}
	}
	return last
}

// annotation is annotationInt, -1 when missing or invalid: how podFacts
// keeps it (and the record encodes it).
func annotation(p *corev1.Pod, key string) int32 {
	if n, ok := annotationInt(p, key); ok {
		return n
	}
	return -1
}

// annotationInt parses one of the Job controller's integer pod
// annotations as the controller does (base 10, int32):
// false, with 0, when it is missing, junk, negative or past int32.
func annotationInt(p *corev1.Pod, key string) (int32, bool) {
	v, ok := p.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
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

func failingContainer(p *corev1.Pod) (*corev1.ContainerStatus, bool) {
	sidecars := sidecarNames(p)
	failed := func(cs *corev1.ContainerStatus) bool {
		t := cs.State.Terminated
		return t != nil && t.ExitCode != 0
	}
	for i := range p.Status.InitContainerStatuses {
		if cs := &p.Status.InitContainerStatuses[i]; !sidecars[cs.Name] && failed(cs) {
			return cs, true
		}
	}
	for i := range p.Status.ContainerStatuses {
		if cs := &p.Status.ContainerStatuses[i]; failed(cs) {
			return cs, false
		}
	}
	for i := range p.Status.InitContainerStatuses {
		if cs := &p.Status.InitContainerStatuses[i]; sidecars[cs.Name] && failed(cs) {
			return cs, true
		}
	}
	return nil, false
}

// sidecarNames are the init containers with restartPolicy Always.
func sidecarNames(p *corev1.Pod) map[string]bool {
	var out map[string]bool
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			if out == nil {
				out = map[string]bool{}
			}
			out[c.Name] = true
		}
	}
	return out
}

// restarts are the restarts of a pending or running pod's containers, by
// their last terminated state; their sum is what pastBackoffLimitOnFailure
// compares with backoffLimit.
func restarts(p *corev1.Pod) []PodFailure {
	var out []PodFailure
	add := func(statuses []corev1.ContainerStatus) {
		for _, cs := range statuses {
			if cs.RestartCount <= 0 {
				continue
			}
			k := PodFailure{Container: Bounded(cs.Name, MaxLabelLength), Reason: Other}
			if t := cs.LastTerminationState.Terminated; t != nil {
				k.Reason, k.ExitCode = ContainerReason(t.Reason), ExitCode(t.ExitCode)
			}
			out = addFailure(out, k, int64(cs.RestartCount))
		}
	}
	add(p.Status.InitContainerStatuses)
	add(p.Status.ContainerStatuses)
	return out
}

// podWaitingReason tells why a pending or running pod has not started its
// work: unschedulable, or a container (init containers first) waiting for a
// reason other than a normal start.
func podWaitingReason(p *corev1.Pod) (string, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return "Unschedulable", true
		}
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if w := cs.State.Waiting; w != nil {
				if r, ok := WaitingReason(w.Reason); ok {
					return r, true
				}
			}
		}
	}
	return "", false
}

// pendingStep names the step of its start a pending pod is in.
func pendingStep(p *corev1.Pod) string {
	scheduled := false
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			scheduled = true
		} else if c.Reason == corev1.PodReasonSchedulingGated {
			return WaitingSchedulingGated
		}
	}
	// A pod bound through the scheduler has PodScheduled=True; one given
	// a node by its spec has container statuses once the kubelet saw it.
	if !scheduled && len(p.Status.ContainerStatuses) == 0 && len(p.Status.InitContainerStatuses) == 0 {
		return WaitingNotScheduled
	}
	// The kubelet reports every container of a pod with init containers
	// as waiting in PodInitializing until they finish, also when no init
	// container could even be created (a volume that does not mount): only
	// an init container that runs is one that does not finish.
	for _, cs := range p.Status.InitContainerStatuses {
		if cs.State.Running != nil && !sidecarNames(p)[cs.Name] {
			return WaitingPodInitializing
		}
	}
	return WaitingContainerCreating
}
