package job

import (
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
)

// Other is the label value every unknown reason or out-of-range exit code
// folds into, so label values stay bounded whatever the cluster sends.
const Other = "Other"

// Terminal reasons of a Job: the reason of its Failed (or interim
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

// WaitingReasons are the reasons a pod is stuck before running. None of them
// counts toward backoffLimit: the pod never fails, so only a deadline ends
// such a Job.
var WaitingReasons = []string{
	"ErrImagePull",
	"ImagePullBackOff",
	"InvalidImageName",
	"CreateContainerConfigError",
	"CrashLoopBackOff",
	"Unschedulable",
	Other,
}

// transientWaiting are waiting reasons of a healthy start; they are not
// reported as stuck.
var transientWaiting = map[string]bool{"ContainerCreating": true, "PodInitializing": true, "": true}

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

// WaitingReason folds a waiting reason into WaitingReasons; ok is false for
// the reasons of a normal start (ContainerCreating, PodInitializing).
func WaitingReason(reason string) (string, bool) {
	if transientWaiting[reason] {
		return "", false
	}
	return oneOf(reason, WaitingReasons), true
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
	// Unschedulable, Evicted, Deadline, Disrupted, Unknown.
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
	}
	return Cause{"Unknown", "the pod is waiting (" + reason + ")", false}
}
