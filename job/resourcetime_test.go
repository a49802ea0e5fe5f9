package job

import (
	"reflect"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
)

// gpuJob is a running Job whose pods request 2 cores, 4 GiB and a GPU.
func gpuJob(name string) *fixture.JobBuilder {
	b := fixture.Job("ns", name).Started(0)
	b.J.Spec.Template.Spec.Containers[0].Resources.Requests = res("cpu=2", "memory=4Gi", "nvidia.com/gpu=1")
	return b
}

// started is a pod of j that the kubelet started at t.
func started(j *batchv1.Job, at int) *fixture.PodBuilder {
	p := fixture.Pod(j, "a", 0).Running(at)
	t := fixture.At(at)
	p.P.Status.StartTime = &t
	return p
}

// held is what gpuJob's pod holds for seconds under outcome.
func held(outcome string, seconds float64) []ResourceTime {
	return []ResourceTime{
		{outcome, ResourceCPU, 2 * seconds},
		{outcome, ResourceMemory, 4 << 30 * seconds},
		{outcome, "nvidia.com/gpu", seconds},
	}
}

func TestPodFinish(t *testing.T) {
	running := gpuJob("j").J
	finished := gpuJob("j").Failed("BackoffLimitExceeded", 200).J
	onFailure := gpuJob("j").OnFailure().J
	replaceFailed := gpuJob("j").J
	replaceFailed.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	now := fixture.At(100).Time

	// An OnFailure pod whose container ran 3 times and succeeded: the
	// last run began at 40.
	restarted := func() *corev1.Pod {
		p := started(onFailure, 10).Succeeded(70).P
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount, cs.State.Terminated.StartedAt = 2, fixture.At(40)
		return p
	}
	otherJob := started(running, 10).FailedWith("app", 1, "Error", 70).P
	otherJob.OwnerReferences[0].UID = "another"
	noStart := started(running, 10).FailedWith("app", 1, "Error", 70).P
	noStart.Status.StartTime = nil
	noRequests := gpuJob("j").J
	noRequests.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}

	for _, tc := range []struct {
		name     string
		job      *batchv1.Job
		old, cur *corev1.Pod
		want     []ResourceTime // nil: not counted
	}{
		{"succeeded", running, started(running, 10).P, started(running, 10).Succeeded(70).P, held(OutcomeSucceeded, 60)},
		{"failed", running, started(running, 10).P, started(running, 10).FailedWith("app", 1, "Error", 70).P, held(OutcomeFailed, 60)},
		{"first seen finished (after the initial list)", running, nil, started(running, 10).Succeeded(70).P, held(OutcomeSucceeded, 60)},
		{"known finished", running, started(running, 10).Succeeded(70).P, started(running, 10).Succeeded(70).P, nil},
		{"known failed, then deleted", running, started(running, 10).FailedWith("app", 1, "Error", 70).P,
			started(running, 10).FailedWith("app", 1, "Error", 70).Deleting(80, 0).P, nil},
		{"still running", running, nil, started(running, 10).P, nil},
		{"OnFailure restarts count as failed", onFailure, started(onFailure, 10).P, restarted(),
			append(held(OutcomeFailed, 30), held(OutcomeSucceeded, 30)...)},
		{"deleted while its Job runs: to the deletion", running, started(running, 10).P, started(running, 10).Deleting(50, 30).P,
			held(OutcomeFailed, 40)},
		{"deleted while its Job runs: to now, within the grace period", running, started(running, 10).P,
			started(running, 10).Deleting(150, 30).P, held(OutcomeFailed, 90)},
		{"deleted, then failed: counted at the deletion", running, started(running, 10).Deleting(50, 30).P,
			started(running, 10).FailedWith("app", 137, "Error", 60).Deleting(50, 30).P, nil},
		{"deleted after its Job finished: clean-up", finished, started(finished, 10).P, started(finished, 10).Deleting(50, 30).P, nil},
		{"clean-up, then failed", finished, started(finished, 10).Deleting(50, 30).P,
			started(finished, 10).FailedWith("app", 137, "Error", 60).Deleting(50, 30).P, nil},
		{"replacing failed pods only: deleted is not finished", replaceFailed, started(replaceFailed, 10).P,
			started(replaceFailed, 10).Deleting(50, 30).P, nil},
		{"replacing failed pods only: counted when it fails", replaceFailed, started(replaceFailed, 10).Deleting(50, 30).P,
			started(replaceFailed, 10).FailedWith("app", 137, "Error", 60).Deleting(50, 30).P, held(OutcomeFailed, 50)},
		{"another Job's pod", running, nil, otherJob, nil},
		{"never started", running, nil, noStart, nil},
		{"nothing requested", noRequests, nil, started(noRequests, 10).Succeeded(70).P, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old *PodRecord
			if tc.old != nil {
				old = NewPodRecord(tc.old)
			}
			j := NewJobRecord(tc.job)
			got, ok := PodFinish(old, NewPodRecord(tc.cur), j, now)
			if tc.want == nil {
				if ok {
					t.Errorf("counted %+v, want nothing", got.Held)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got.Held, tc.want) {
				t.Errorf("held %+v (%v), want %+v", got.Held, ok, tc.want)
			}
			if got.Namespace != "ns" || got.Job != "j" || got.Pod != tc.cur.Name || got.Owner != j.Owner {
				t.Errorf("identity = %s/%s pod %s owner %+v", got.Namespace, got.Job, got.Pod, got.Owner)
			}
		})
	}
}

func TestPodGone(t *testing.T) {
	running := gpuJob("j").J
	finished := gpuJob("j").Complete(200).J
	now := fixture.At(100).Time
	for _, tc := range []struct {
		name string
		job  *batchv1.Job
		last *corev1.Pod
		want []ResourceTime
	}{
		{"removed while running, its Job runs: failed, to now", running, started(running, 10).P, held(OutcomeFailed, 90)},
		{"removed while running after its Job finished: clean-up", finished, started(finished, 10).P, nil},
		{"its finish was seen", running, started(running, 10).Succeeded(70).P, nil},
		{"its deletion was seen", running, started(running, 10).Deleting(50, 30).P, nil},
		{"never started", running, fixture.Pod(running, "a", 0).P, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PodGone(NewPodRecord(tc.last), NewJobRecord(tc.job), now)
			if tc.want == nil {
				if ok {
					t.Errorf("counted %+v, want nothing", got.Held)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got.Held, tc.want) {
				t.Errorf("held %+v (%v), want %+v", got.Held, ok, tc.want)
			}
		})
	}
}
