package job

import (
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
)

// Other is the label value every unknown reason or out-of-range exit code
// folds into, so label values stay bounded whatever the cluster sends.
const Other = "Other"

// FailedReasons are the terminal reasons of a Job: the reason of its Failed (or interim
// FailureTarget) condition, as the Job controller sets them.
var FailedReasons = []string{
	batchv1.JobReasonBackoffLimitExceeded,
	batchv1.JobReasonDeadlineExceeded,
	batchv1.JobReasonPodFailurePolicy,
	batchv1.JobReasonFailedIndexes,
	batchv1.JobReasonMaxFailedIndexesExceeded,
	Other,
}

// ContainerReasons are the terminated-container reasons the kubelet and
// container runtimes set, kept as label values.
var ContainerReasons = []string{
	"OOMKilled",          // memory limit hit, exit code 137
	"Error",              // non-zero exit of the process itself
	"ContainerCannotRun", // runtime could not start the process (bad entrypoint)
	"StartError",         // start failed, e.g. exec format error, missing binary
	"DeadlineExceeded",   // pod activeDeadlineSeconds hit
	"Completed",          // exit 0 (seen on init containers of failed pods)
	Other,
}

// Pod-level failure reasons: the pod failed without a container exit to
// blame (evicted, node gone, deleted, disrupted).
const (
	PodReasonEvicted        = "Evicted"
	PodReasonDeadline       = "DeadlineExceeded"
	PodReasonShutdown       = "Shutdown"
	PodReasonNodeLost       = "NodeLost"
	PodReasonAdmission      = "UnexpectedAdmissionError"
	PodReasonOutOfResources = "OutOfResources"
	PodReasonPreempted      = "Preempted"
	PodReasonDisrupted      = "Disrupted"
	PodReasonDeleted        = "Deleted"
)

// PodReasons lists the pod-level failure reasons.
var PodReasons = []string{
	PodReasonEvicted, PodReasonDeadline, PodReasonShutdown, PodReasonNodeLost,
	PodReasonAdmission, PodReasonOutOfResources, PodReasonPreempted,
	PodReasonDisrupted, PodReasonDeleted, Other,
}

// Reasons a pending pod has not started, past Options.StartTimeout: steps
// every pod goes through, so they count as stuck only once they last.
const (
	// WaitingContainerCreating: scheduled, but the kubelet has not started
	// the containers: a volume (Secret, ConfigMap, PVC) that does not
	// mount, a sandbox or network that cannot be set up, a node gone.
	WaitingContainerCreating = "ContainerCreating"
	// WaitingPodInitializing: an init container runs and does not finish.
	WaitingPodInitializing = "PodInitializing"
	// WaitingSchedulingGated: a scheduling gate is still set (a queueing
	// controller has not admitted the pod).
	WaitingSchedulingGated = "SchedulingGated"
	// WaitingNotScheduled: no scheduler has bound the pod or reported on
	// it (a schedulerName nothing serves, a scheduler down).
	WaitingNotScheduled = "NotScheduled"
)

// waitingNow are the container waiting reasons (and Unschedulable) that
// mean a pod is stuck as soon as they show.
var waitingNow = []string{
	"ErrImagePull",
	"ImagePullBackOff",
	"InvalidImageName",
	"CreateContainerConfigError",
	"CrashLoopBackOff",
	"Unschedulable",
}

// StartingReasons are the steps of a normal start; a pod counts as waiting
// in one only once it has been pending for Options.StartTimeout.
var StartingReasons = []string{WaitingContainerCreating, WaitingPodInitializing, WaitingSchedulingGated, WaitingNotScheduled}

// WaitingReasons are the reasons a pod is stuck before running its work
// (the values of kubejob_pods_waiting's reason label). None of them counts
// toward backoffLimit except CrashLoopBackOff, whose restarts count for
// restartPolicy OnFailure: the pod never fails, so only a deadline ends
// such a Job.
var WaitingReasons = slices.Concat(waitingNow, StartingReasons, []string{Other})

// transientWaiting are container waiting reasons of a healthy start; they
// are not reported as stuck until the pod has been pending for
// StartTimeout.
var transientWaiting = map[string]bool{WaitingContainerCreating: true, WaitingPodInitializing: true, "": true}

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return Other
}

// FailedReason folds a Job condition reason into FailedReasons.
func FailedReason(reason string) string { return oneOf(reason, FailedReasons) }

// ContainerReason folds a terminated-container reason into ContainerReasons.
func ContainerReason(reason string) string { return oneOf(reason, ContainerReasons) }

// WaitingReason folds a container waiting reason into WaitingReasons
// (unknown ones into Other); ok is false for the reasons of a normal start
// (ContainerCreating, PodInitializing), which count only after
// StartTimeout.
func WaitingReason(reason string) (string, bool) {
	if transientWaiting[reason] {
		return "", false
	}
	return oneOf(reason, waitingNow), true
}

// ExitCode renders an exit code as a bounded label value: "0" to "255" as
// POSIX exit statuses are, anything else (runtimes report negative or huge
// values on odd failures) as Other.
func ExitCode(code int32) string {
	if code < 0 || code > 255 {
		return Other
	}
	return strconv.Itoa(int(code))
}

// podReason maps a failed pod's status reason and disruption condition to a
// pod-level reason.
func podReason(statusReason, disruptionReason string, deleted bool) string {
	switch {
	case statusReason == "Evicted":
		return PodReasonEvicted
	case statusReason == "DeadlineExceeded":
		return PodReasonDeadline
	case statusReason == "Shutdown" || statusReason == "Terminated":
		return PodReasonShutdown
	case statusReason == "NodeLost":
		return PodReasonNodeLost
	case statusReason == "UnexpectedAdmissionError":
		return PodReasonAdmission
	case strings.HasPrefix(statusReason, "OutOf"):
		return PodReasonOutOfResources
	case disruptionReason == "PreemptionByScheduler":
		return PodReasonPreempted
	case disruptionReason != "":
		return PodReasonDisrupted
	case deleted:
		return PodReasonDeleted
	}
	return Other
}

// Cause is what an exit code and reason mean to the person on call.
type Cause struct {
	// Kind is a stable identifier: OOMKilled, CommandNotFound,
	// NotExecutable, Killed, Terminated, Error, ImagePull, Config,
	// Unschedulable, NotStarting, Evicted, Deadline, Disrupted, Unknown.
	Kind string
	// Meaning is one sentence in plain words.
	Meaning string
	// Deterministic is true when retrying the same pod spec fails the same
	// way (wrong command, missing permission): raising backoffLimit only
	// wastes the cluster's time.
	Deterministic bool
}

// ExplainExit classifies a terminated container by exit code and reason.
func ExplainExit(exitCode int32, reason string) Cause {
	switch {
	case reason == "OOMKilled":
		return Cause{"OOMKilled", "the container used more memory than its limit and the kernel killed it (exit 137)", true}
	case exitCode == 127:
		return Cause{"CommandNotFound", "exit 127: the command was not found in the image (wrong command/args or PATH)", true}
	case exitCode == 126:
		return Cause{"NotExecutable", "exit 126: the command exists but cannot be executed (permissions, missing execute bit, wrong architecture)", true}
	case reason == "ContainerCannotRun" || reason == "StartError":
		return Cause{"NotExecutable", "the runtime could not start the container's process (" + reason + ")", true}
	case exitCode == 137:
		return Cause{"Killed", "exit 137 without OOMKilled: the process was killed by SIGKILL (eviction, preemption, liveness failure or an external kill)", false}
	case exitCode == 143:
		return Cause{"Terminated", "exit 143: the process was stopped by SIGTERM (deletion, deadline or node shutdown)", false}
	case reason == "DeadlineExceeded":
		return Cause{"Deadline", "the pod ran past its activeDeadlineSeconds", false}
	case exitCode > 128 && exitCode < 160:
		return Cause{"Killed", "the process died from signal " + strconv.Itoa(int(exitCode-128)), false}
	case exitCode != 0:
		return Cause{"Error", "the application exited with code " + strconv.Itoa(int(exitCode)) + ": read its logs", false}
	}
	return Cause{"Unknown", "the container did not report a failing exit", false}
}

// ExplainPodReason classifies a pod-level failure reason (see PodReasons).
func ExplainPodReason(reason string) Cause {
	switch reason {
	case PodReasonEvicted:
		return Cause{"Evicted", "the kubelet evicted the pod, usually for node memory or disk pressure", false}
	case PodReasonDeadline:
		return Cause{"Deadline", "the pod ran past its activeDeadlineSeconds", false}
	case PodReasonPreempted, PodReasonDisrupted, PodReasonShutdown, PodReasonNodeLost, PodReasonDeleted:
		return Cause{"Disrupted", "the pod was stopped from outside (" + reason + "), not by its own failure", false}
	case PodReasonOutOfResources, PodReasonAdmission:
		return Cause{"Unschedulable", "the node refused the pod at admission (" + reason + ")", false}
	}
	return Cause{"Unknown", "the pod failed without a container exit code", false}
}

// ExplainWaiting classifies a waiting reason (see WaitingReasons).
func ExplainWaiting(reason string) Cause {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
		return Cause{"ImagePull", "the image cannot be pulled (" + reason + "): wrong name or tag, missing registry credentials, or registry unreachable", true}
	case "CreateContainerConfigError":
		return Cause{"Config", "the container config refers to something missing (a ConfigMap, Secret or key)", true}
	case "CrashLoopBackOff":
		return Cause{"Error", "the container keeps crashing and the kubelet is backing off its restarts", false}
	case "Unschedulable":
		return Cause{"Unschedulable", "no node can take the pod (resources, taints, affinity, quotas)", false}
	case WaitingContainerCreating:
		return Cause{"NotStarting", "the pod is scheduled but its containers are not created: a volume that cannot mount (a missing Secret, ConfigMap or PVC), a sandbox or network the node cannot set up; the pod's events say which", false}
	case WaitingPodInitializing:
		return Cause{"NotStarting", "an init container runs and does not finish: read its logs", false}
	case WaitingSchedulingGated:
		return Cause{"NotStarting", "the pod still has scheduling gates: the controller that set them (a queue such as Kueue) has not admitted it", false}
	case WaitingNotScheduled:
		return Cause{"NotStarting", "no scheduler has bound the pod: check spec.schedulerName and that the scheduler runs", false}
	}
	return Cause{"Unknown", "the pod is waiting (" + reason + ")", false}
}
