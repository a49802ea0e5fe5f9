package job

import (
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyInputs are what a podFailurePolicy rule reads of a failed pod:
// its containers that terminated with a non-zero exit code (regular
// containers, then init containers) and its conditions.
type policyInputs struct {
	exits      []containerExit
	conditions []conditionStatus
}

type containerExit struct {
	name string
	code int32
}

type conditionStatus struct {
	typ    corev1.PodConditionType
	status corev1.ConditionStatus
}

func policyInputsOf(p *corev1.Pod) policyInputs {
	var in policyInputs
	for _, ss := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, cs := range ss {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				in.exits = append(in.exits, containerExit{cs.Name, t.ExitCode})
			}
		}
	}
	for _, c := range p.Status.Conditions {
		in.conditions = append(in.conditions, conditionStatus{corev1.PodConditionType(intern(string(c.Type))), corev1.ConditionStatus(intern(string(c.Status)))})
	}
	return in
}

// PolicyAction returns the action of the first podFailurePolicy rule that
// matches a failed pod, or "" when no rule matches (the failure counts).
// See policyInputs.action.
func PolicyAction(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) batchv1.PodFailurePolicyAction {
	if pod == nil {
		return ""
	}
	return policyInputsOf(pod).action(policy)
}

// action mirrors matchPodFailurePolicy in pod_failure_policy.go: rules are
// evaluated in order; an onExitCodes rule matches a terminated container
// (regular containers first, then init containers) with a non-zero exit
// code for the In or NotIn operator (any other operator never matches); an
// onPodConditions rule matches a condition of the given type and status. A
// matching rule whose action is not one of Ignore, FailIndex, Count and
// FailJob is passed over, as the controller's switch does, so the result
// is always one of those four or "".
func (in policyInputs) action(policy *batchv1.PodFailurePolicy) batchv1.PodFailurePolicyAction {
	if policy == nil {
		return ""
	}
	for _, rule := range policy.Rules {
		matched := false
		switch {
		case rule.OnExitCodes != nil:
			matched = in.matchExitCodes(rule.OnExitCodes)
		case rule.OnPodConditions != nil:
			matched = in.matchConditions(rule.OnPodConditions)
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

func (in policyInputs) matchConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) bool {
	for _, c := range in.conditions {
		for _, want := range patterns {
			if c.typ == want.Type && c.status == want.Status {
				return true
			}
		}
	}
	return false
}

func (in policyInputs) matchExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement) bool {
	for _, e := range in.exits {
		if req.ContainerName != nil && *req.ContainerName != e.name {
			continue
		}
		switch req.Operator {
		case batchv1.PodFailurePolicyOnExitCodesOpIn:
			if slices.Contains(req.Values, e.code) {
				return true
			}
		case batchv1.PodFailurePolicyOnExitCodesOpNotIn:
			if !slices.Contains(req.Values, e.code) {
				return true
			}
		}
	}
	return false
}
