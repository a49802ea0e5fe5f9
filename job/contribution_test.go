package job

import (
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Expected values follow isPodFailed and onlyReplaceFailedPods
// (job_controller.go), with podReplacementPolicy defaulted to Failed when
// podFailurePolicy is set (SetDefaults_Job).
func TestIsPodFailed(t *testing.T) {
	plain := fixture.Job("ns", "j").J
	withPolicy := fixture.Job("ns", "p").IgnoreDisruptions().J
	replaceFailed := fixture.Job("ns", "r").J
	replaceFailed.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	replaceAny := fixture.Job("ns", "t").J
	replaceAny.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)

	tests := []struct {
		name string
		pod  *corev1.Pod
		job  *batchv1.Job
		want bool
	}{
		{"failed phase", fixture.Pod(plain, "a", 0).FailedWith("app", 1, "Error", 5).P, plain, true},
		{"failed phase with policy", fixture.Pod(withPolicy, "a", 0).FailedWith("app", 1, "Error", 5).P, withPolicy, true},
		{"running", fixture.Pod(plain, "a", 0).Running(1).P, plain, false},
		{"pending", fixture.Pod(plain, "a", 0).P, plain, false},
		{"succeeded", fixture.Pod(plain, "a", 0).Succeeded(5).P, plain, false},
		{"running and deleting", fixture.Pod(plain, "a", 0).Running(1).Deleting(9, 30).P, plain, true},
		{"pending and deleting", fixture.Pod(plain, "a", 0).Deleting(9, 30).P, plain, true},
		{"succeeded and deleting", fixture.Pod(plain, "a", 0).Succeeded(5).Deleting(9, 30).P, plain, false},
		{"deleting with podFailurePolicy", fixture.Pod(withPolicy, "a", 0).Running(1).Deleting(9, 30).P, withPolicy, false},
		{"deleting with podReplacementPolicy Failed", fixture.Pod(replaceFailed, "a", 0).Running(1).Deleting(9, 30).P, replaceFailed, false},
		{"deleting with podReplacementPolicy TerminatingOrFailed", fixture.Pod(replaceAny, "a", 0).Running(1).Deleting(9, 30).P, replaceAny, true},
		{"nil pod", nil, plain, false},
		{"nil job, failed", fixture.Pod(plain, "a", 0).FailedWith("app", 1, "Error", 5).P, nil, true},
		{"nil job, deleting", fixture.Pod(plain, "a", 0).Running(1).Deleting(9, 30).P, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPodFailed(tt.pod, tt.job); got != tt.want {
				t.Errorf("IsPodFailed = %v, want %v", got, tt.want)
			}
		})
	}
}
