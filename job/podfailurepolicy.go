package job

import (
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// PolicyAction returns the action of the first podFailurePolicy rule that
// matches a failed pod, or "" when no rule matches (the failure counts).
// It mirrors matchPodFailurePolicy in pod_failure_policy.go: rules are
// evaluated in order; an onExitCodes rule matches a terminated container
// (regular containers first, then init containers) with a non-zero exit code
// for the In or NotIn operator (any other operator never matches); an
// onPodConditions rule matches a condition of the given type and status. A
// matching rule whose action is not one of Ignore, FailIndex, Count and
// FailJob is passed over, as the controller's switch does, so the result
// is always one of those four or "".
func PolicyAction(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) batchv1.PodFailurePolicyAction {
	if policy == nil || pod == nil {
		return ""
	}
	for _, rule := range policy.Rules {
		matched := false
		switch {
		case rule.OnExitCodes != nil:
			matched = matchExitCodes(pod.Status.ContainerStatuses, rule.OnExitCodes) ||
				matchExitCodes(pod.Status.InitContainerStatuses, rule.OnExitCodes)
		case rule.OnPodConditions != nil:
			matched = matchConditions(pod.Status.Conditions, rule.OnPodConditions)
		}
		if !matched {
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyActionFailIndex,
			batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailJob:
			return rule.Action
		}
	}
	return ""
}

func matchConditions(conds []corev1.PodCondition, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) bool {
	for _, c := range conds {
		for _, want := range patterns {
			if c.Type == want.Type && c.Status == want.Status {
				return true
			}
		}
	}
	return false
}

func matchExitCodes(statuses []corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) bool {
	for _, cs := range statuses {
		t := cs.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != cs.Name {
			continue
		}
		switch req.Operator {
		case batchv1.PodFailurePolicyOnExitCodesOpIn:
			if slices.Contains(req.Values, t.ExitCode) {
				return true
			}
		case batchv1.PodFailurePolicyOnExitCodesOpNotIn:
			if !slices.Contains(req.Values, t.ExitCode) {
				return true
			}
		}
	}
	return false
}
