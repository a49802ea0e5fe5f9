package job

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// PolicyAction returns the action of the first podFailurePolicy rule that
// matches a failed pod, or "" when no rule matches (the failure counts).
// It mirrors matchPodFailurePolicy in pod_failure_policy.go: rules are
// evaluated in order; an onExitCodes rule matches a terminated container
// (regular containers first, then init containers) with a non-zero exit code
// for the In operator; an onPodConditions rule matches a condition of the
// given type and status.
func PolicyAction(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) batchv1.PodFailurePolicyAction {
	if policy == nil || pod == nil {
		return ""
	}
	for _, rule := range policy.Rules {
		switch {
		case rule.OnExitCodes != nil:
			if matchExitCodes(pod.Status.ContainerStatuses, rule.OnExitCodes) ||
				matchExitCodes(pod.Status.InitContainerStatuses, rule.OnExitCodes) {
				return rule.Action
			}
		case len(rule.OnPodConditions) > 0:
			for _, c := range pod.Status.Conditions {
				for _, want := range rule.OnPodConditions {
					if c.Type == want.Type && c.Status == want.Status {
						return rule.Action
					}
				}
			}
		}
	}
	return ""
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
		in := false
		for _, v := range req.Values {
			if v == t.ExitCode {
				in = true
				break
			}
		}
		if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
			return true
		}
	}
	return false
}
