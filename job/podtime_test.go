package job

import (
	"testing"
	"time"

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

func terminatedAt(name string, code int32, at int) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: fixture.At(at)}}}
}

func runningCS(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: fixture.At(1)}}}
}

// Expected values follow getFinishedTime (backoff_utils.go).
func TestFinishedTime(t *testing.T) {
	always := ptr.To(corev1.ContainerRestartPolicyAlways)
	pod := func(mut func(p *corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{}
		p.CreationTimestamp = fixture.At(-100)
		p.Spec.InitContainers = []corev1.Container{{Name: "init"}, {Name: "proxy", RestartPolicy: always}}
		p.Spec.Containers = []corev1.Container{{Name: "a"}, {Name: "b"}}
		mut(p)
		return p
	}
	readyFalse := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: fixture.At(50)}
	readyTrue := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: fixture.At(2)}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want int
	}{
		{"all containers finished: latest", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20), terminatedAt("b", 0, 10)}
			p.Status.Conditions = []corev1.PodCondition{readyFalse}
		}), 20},
		{"one container running: Ready=False transition", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20), runningCS("b")}
			p.Status.Conditions = []corev1.PodCondition{readyFalse}
		}), 50},
		{"finishedAt unset: Ready=False transition", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
			p.Status.Conditions = []corev1.PodCondition{readyFalse}
		}), 50},
		{"Ready=True, deleting: deletion minus grace", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{runningCS("a")}
			p.Status.Conditions = []corev1.PodCondition{readyTrue}
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr.To(fixture.At(100)), ptr.To[int64](30)
		}), 70},
		{"Ready=False without transition time, deleting without grace", pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			p.DeletionTimestamp = ptr.To(fixture.At(100))
		}), 100},
		{"first Ready condition is the one read", pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{readyTrue, readyFalse}
		}), -100},
		{"nothing: creation time", pod(func(p *corev1.Pod) {}), -100},
		{"sidecar finished later counts", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20), terminatedAt("b", 0, 21)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("init", 0, 5), terminatedAt("proxy", 143, 25)}
		}), 25},
		{"sidecar still running: not finished", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20), terminatedAt("b", 0, 21)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("init", 0, 5), runningCS("proxy")}
			p.Status.Conditions = []corev1.PodCondition{readyFalse}
		}), 50},
		{"regular init container not read", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20), terminatedAt("b", 0, 21)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("init", 0, 90), terminatedAt("proxy", 0, 15)}
		}), 21},
		{"regular init container running not read", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminatedAt("a", 1, 20)}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{runningCS("init")}
		}), 20},
		{"only a sidecar status", pod(func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("proxy", 0, 7)}
		}), 7},
		{"no statuses: Ready=False", pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{readyFalse}
		}), 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := fixture.T0.Add(time.Duration(tt.want) * time.Second)
			if got := FinishedTime(tt.pod); !got.Equal(want) {
				t.Errorf("FinishedTime = %v, want %v", got, want)
			}
		})
	}
}
