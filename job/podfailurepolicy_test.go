package job

import (
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func exitRule(action batchv1.PodFailurePolicyAction, op batchv1.PodFailurePolicyOnExitCodesOperator, container *string, codes ...int32) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: container, Operator: op, Values: codes}}
}

func condRule(action batchv1.PodFailurePolicyAction, typ corev1.PodConditionType) batchv1.PodFailurePolicyRule {
	return batchv1.PodFailurePolicyRule{Action: action, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: typ, Status: corev1.ConditionTrue}}}
}

// Expected actions follow matchPodFailurePolicy (pod_failure_policy.go).
func TestPolicyAction(t *testing.T) {
	const (
		in     = batchv1.PodFailurePolicyOnExitCodesOpIn
		notIn  = batchv1.PodFailurePolicyOnExitCodesOpNotIn
		failJ  = batchv1.PodFailurePolicyActionFailJob
		ignore = batchv1.PodFailurePolicyActionIgnore
		count  = batchv1.PodFailurePolicyActionCount
		failI  = batchv1.PodFailurePolicyActionFailIndex
	)
	j := fixture.Job("ns", "j").InitContainer("migrate").J
	j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, corev1.Container{Name: "side"})
	exit42 := fixture.Pod(j, "a", 0).FailedWith("app", 42, "Error", 10).P
	exit1 := fixture.Pod(j, "b", 0).FailedWith("app", 1, "Error", 10).P
	exit0 := fixture.Pod(j, "c", 0).FailedWith("app", 0, "Completed", 10).P
	initFail := fixture.Pod(j, "d", 0).InitFailed("migrate", 3, "Error", 10).P
	disrupted := fixture.Pod(j, "e", 0).Disrupted("PreemptionByScheduler", 10).P // app exit 137
	running := fixture.Pod(j, "f", 0).Running(1).P
	configIssue := fixture.Pod(j, "g", 0).FailedWith("app", 1, "Error", 10).P
	configIssue.Status.Conditions = append(configIssue.Status.Conditions, corev1.PodCondition{Type: "ConfigIssue", Status: corev1.ConditionTrue})
	disruptedFalse := fixture.Pod(j, "h", 0).FailedWith("app", 1, "Error", 10).P
	disruptedFalse.Status.Conditions = append(disruptedFalse.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse})

	policy := func(rules ...batchv1.PodFailurePolicyRule) *batchv1.PodFailurePolicy {
		return &batchv1.PodFailurePolicy{Rules: rules}
	}
	tests := []struct {
		name   string
		policy *batchv1.PodFailurePolicy
		pod    *corev1.Pod
		want   batchv1.PodFailurePolicyAction
	}{
		{"nil policy", nil, exit42, ""},
		{"nil pod", policy(exitRule(failJ, notIn, nil)), nil, ""},
		{"no rules", policy(), exit42, ""},
		{"In matches", policy(exitRule(failJ, in, nil, 42)), exit42, failJ},
		{"In does not match", policy(exitRule(failJ, in, nil, 42)), exit1, ""},
		{"NotIn matches", policy(exitRule(failJ, notIn, nil, 1, 2)), exit42, failJ},
		{"NotIn does not match", policy(exitRule(failJ, notIn, nil, 1, 2)), exit1, ""},
		{"In with containerName matches", policy(exitRule(failJ, in, ptr.To("app"), 42)), exit42, failJ},
		{"In with other containerName", policy(exitRule(failJ, in, ptr.To("side"), 42)), exit42, ""},
		{"NotIn with containerName skips zero exit of that container", policy(exitRule(failJ, notIn, ptr.To("side"), 1)), exit42, ""},
		{"init container matches", policy(exitRule(failJ, in, nil, 3)), initFail, failJ},
		{"init container matches by name", policy(exitRule(failI, in, ptr.To("migrate"), 3)), initFail, failI},
		{"exit 0 never matches NotIn", policy(exitRule(failJ, notIn, nil, 1)), exit0, ""},
		{"exit 0 never matches In 0", policy(exitRule(failJ, in, nil, 0)), exit0, ""},
		{"running container has no exit code", policy(exitRule(failJ, notIn, nil)), running, ""},
		{"Ignore on DisruptionTarget", policy(condRule(ignore, corev1.DisruptionTarget)), disrupted, ignore},
		{"DisruptionTarget False does not match", policy(condRule(ignore, corev1.DisruptionTarget)), disruptedFalse, ""},
		{"any condition type", policy(condRule(failJ, "ConfigIssue")), configIssue, failJ},
		{"first match wins: ignore before failJob", policy(condRule(ignore, corev1.DisruptionTarget), exitRule(failJ, in, nil, 137)), disrupted, ignore},
		{"first match wins: failJob before ignore", policy(exitRule(failJ, in, nil, 137), condRule(ignore, corev1.DisruptionTarget)), disrupted, failJ},
		{"non-matching rule skipped", policy(exitRule(failJ, in, nil, 1), exitRule(count, in, nil, 42)), exit42, count},
		{"unknown operator never matches", policy(exitRule(failJ, "Bogus", nil, 1), exitRule(count, notIn, nil)), exit42, count},
		{"unknown action passed over", policy(exitRule("Bogus", in, nil, 42), exitRule(ignore, in, nil, 42)), exit42, ignore},
		{"unknown action only", policy(exitRule("Bogus", in, nil, 42)), exit42, ""},
		{"empty onPodConditions never matches", policy(batchv1.PodFailurePolicyRule{Action: failJ, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{}}), disrupted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PolicyAction(tt.policy, tt.pod); got != tt.want {
				t.Errorf("PolicyAction = %q, want %q", got, tt.want)
			}
		})
	}
}
