package job

import (
	"reflect"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

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

// TestPodFactsEdgeCases: the facts of pods whose every field a fact is
// read from is odd: sidecars, a custom condition read by an
// onPodConditions rule, index annotations in non-canonical but valid
// forms, and junk.
func TestPodFactsEdgeCases(t *testing.T) {
	j := fixture.Job("ml", "edge").Indexed(4, 4).PerIndex(3, -1).InitContainer("init").Started(0).Status(1, 0, 0, 2)
	j.J.Spec.Template.Spec.InitContainers = append(j.J.Spec.Template.Spec.InitContainers, corev1.Container{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
	j.J.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionFailIndex, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "ConfigIssue", Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("proxy"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{143}}},
	}}
	a := fixture.Pod(j.J, "a", 0).Index(1, 0).FailedWith("app", 1, "Error", 10)
	a.P.Status.Conditions = append(a.P.Status.Conditions, corev1.PodCondition{Type: "ConfigIssue", Status: corev1.ConditionTrue, Message: "x"})
	b := fixture.Pod(j.J, "b", 11).Index(1, 1).FailedWith("app", 2, "Error", 20)
	b.P.Annotations[batchv1.JobCompletionIndexAnnotation] = "+0000000000000000001"
	b.P.Annotations[batchv1.JobIndexFailureCountAnnotation] = "00000000000000000001"
	b.P.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "2"
	b.P.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("init", 0, 12), terminatedAt("proxy", 143, 25)}
	c := fixture.Pod(j.J, "c", 21).Index(2, 0).Running(22).Restarted("app", 2, "OOMKilled", 137, 21)
	c.P.Annotations[batchv1.JobIndexFailureCountAnnotation] = "hunter2-SECRET"
	d := fixture.Pod(j.J, "d", 0).Index(3, 0).Waiting("ImagePullBackOff")
	d.P.Annotations[batchv1.JobCompletionIndexAnnotation] = "-3"
	pods := []*corev1.Pod{a.P, b.P, c.P, d.P, nil}
	checkSummarizeLeavesInput(t, j.J, pods)

	fb := NewPodRecord(b.P).facts()
	if fb.index != 1 || fb.indexFailures != 1 || fb.indexIgnored != 2 || fb.failure == nil || fb.failure.container != "app" ||
		fb.failure.exitCode != 2 || !fb.finished.Equal(fixture.At(25).Time) {
		t.Errorf("pod b: facts %+v (failure %+v)", fb, fb.failure)
	}
	if fc := NewPodRecord(c.P).facts(); fc.index != 2 || fc.indexFailures != -1 || fc.failure != nil ||
		!reflect.DeepEqual(fc.restarts, []PodFailure{{Container: "app", Reason: "OOMKilled", ExitCode: "137", Count: 2}}) {
		t.Errorf("pod c: facts %+v", fc)
	}
	if fd := NewPodRecord(d.P).facts(); fd.index != -1 || fd.waiting != "ImagePullBackOff" || fd.pending != "" {
		t.Errorf("pod d: facts %+v", fd)
	}

	s := Summarize(j.J, pods, nil, Options{Backoff: DefaultBackoff})
	// a: FailIndex by its condition; b: the app container's exit (the
	// sidecar's 143 comes last), ignored by the rule on the sidecar, and
	// finished with the sidecar.
	if len(s.Attempts) != 2 ||
		s.Attempts[0].Pod != "edge-a" || s.Attempts[0].Index != 1 || s.Attempts[0].PolicyAction != "FailIndex" || s.Attempts[0].ExitCode != 1 ||
		s.Attempts[1].Pod != "edge-b" || s.Attempts[1].Index != 1 || s.Attempts[1].PolicyAction != "Ignore" || s.Attempts[1].ExitCode != 2 ||
		s.Attempts[1].Container != "app" || !s.Attempts[1].FinishedAt.Equal(fixture.At(25).Time) {
		t.Errorf("Attempts %+v", s.Attempts)
	}
	// The delay of the index that failed last: its failures (1) and
	// ignored failures (2) before b, plus b's.
	if s.BackoffDelay != DefaultBackoff.Delay(4) || !s.LastFailure.Equal(fixture.At(25).Time) {
		t.Errorf("BackoffDelay %v after %v, want %v after %v", s.BackoffDelay, s.LastFailure, DefaultBackoff.Delay(4), fixture.At(25).Time)
	}
	// Index 1: a counts (0 + 1), b is ignored (1 + 0); c's junk count and
	// d's invalid index give nothing. Never restarts: c's do not count.
	if !reflect.DeepEqual(s.IndexFailures, []IndexFailure{{1, 1}}) || s.Retries != 2 ||
		!reflect.DeepEqual(s.Waiting, []ReasonCount{{"ImagePullBackOff", 1}}) || !reflect.DeepEqual(s.WaitingPods, []string{"edge-d"}) {
		t.Errorf("IndexFailures %+v, Retries %d, Waiting %+v %v", s.IndexFailures, s.Retries, s.Waiting, s.WaitingPods)
	}
}
