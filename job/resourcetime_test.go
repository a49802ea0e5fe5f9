package job

import (
	"reflect"
	"strconv"
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
	// At its deadline the controller deletes the running pods and
	// writes FailureTarget, then Failed once they are gone; the watch
	// may show the Job's condition before the pod's deletion.
	deadline := gpuJob("j").FailureTarget("DeadlineExceeded", 45).J
	rfDeadline := gpuJob("j").FailureTarget("DeadlineExceeded", 45).J
	rfDeadline.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	succeeded := gpuJob("j").Complete(45).J
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
		{"running when its Job failed: deleted, failed to the deletion", finished, started(finished, 10).P, started(finished, 10).Deleting(50, 30).P,
			held(OutcomeFailed, 40)},
		{"running at its Job's deadline: failed to the deletion", deadline, started(deadline, 10).P, started(deadline, 10).Deleting(50, 30).P,
			held(OutcomeFailed, 40)},
		{"running when its Job succeeded: deleted, succeeded to the deletion", succeeded, started(succeeded, 10).P,
			started(succeeded, 10).Deleting(50, 30).P, held(OutcomeSucceeded, 40)},
		{"deleted after its Job finished, then failed: counted at the deletion", finished, started(finished, 10).Deleting(50, 30).P,
			started(finished, 10).FailedWith("app", 137, "Error", 60).Deleting(50, 30).P, nil},
		{"replacing failed pods only: deleted is not finished", replaceFailed, started(replaceFailed, 10).P,
			started(replaceFailed, 10).Deleting(50, 30).P, nil},
		{"replacing failed pods only: deleted, its Job failed, then it fails: counted when it fails", rfDeadline,
			started(rfDeadline, 10).Deleting(50, 30).P, started(rfDeadline, 10).FailedWith("app", 143, "Error", 60).Deleting(50, 30).P,
			held(OutcomeFailed, 50)},
		{"replacing failed pods only: deleted after its Job failed, not yet failed", rfDeadline, started(rfDeadline, 10).P,
			started(rfDeadline, 10).Deleting(50, 30).P, nil},
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
	failed := gpuJob("j").Failed("DeadlineExceeded", 200).J
	now := fixture.At(100).Time
	for _, tc := range []struct {
		name string
		job  *batchv1.Job
		last *corev1.Pod
		want []ResourceTime
	}{
		{"removed while running, its Job runs: failed, to now", running, started(running, 10).P, held(OutcomeFailed, 90)},
		{"removed while running after its Job succeeded: succeeded, to now", finished, started(finished, 10).P, held(OutcomeSucceeded, 90)},
		{"removed while running after its Job failed: failed, to now", failed, started(failed, 10).P, held(OutcomeFailed, 90)},
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

// TestSummaryFailedHeld: the Summary says what the failed runs of the
// pods present held, exactly, and as PodFinish counts each pod failed at
// its finish (one definition): 3 failed pods of 2 cores, 4 GiB and a GPU
// that ran 60s, 120s and 30s held 210 GPU-seconds; pods that succeeded,
// run, never started or are still being deleted add nothing, and the
// runs before the last of an OnFailure pod count whether it runs or
// ended.
func TestSummaryFailedHeld(t *testing.T) {
	j := gpuJob("j").J
	pod := func(name string, start int) *fixture.PodBuilder {
		p := fixture.Pod(j, name, start).Running(start)
		at := fixture.At(start)
		p.P.Status.StartTime = &at
		return p
	}
	noStart := pod("e", 0).FailedWith("app", 1, "Error", 50).P
	noStart.Status.StartTime = nil
	pods := []*corev1.Pod{
		pod("a", 10).FailedWith("app", 1, "Error", 70).P,
		pod("b", 100).FailedWith("app", 1, "Error", 220).P,
		pod("c", 200).Evicted(230).P, // no container end: the Ready=False transition
		pod("d", 300).Succeeded(400).P,
		noStart,
		pod("f", 500).P,
		pod("g", 500).Deleting(550, 30).P,
	}
	s := Summarize(j, pods, nil, Options{})
	if want := held(OutcomeFailed, 210); !reflect.DeepEqual(s.FailedHeld, want) {
		t.Errorf("FailedHeld %+v, want %+v", s.FailedHeld, want)
	}
	checkAsCounted(t, j, pods, s.FailedHeld)

	// restartPolicy OnFailure: a pod that restarted and runs held 30s in
	// failed runs (10 to 40), one that restarted and succeeded 20s more.
	of := gpuJob("of").OnFailure().J
	restarted := func(name string, lastRun int) *fixture.PodBuilder {
		p := fixture.Pod(of, name, 10).Running(lastRun)
		at := fixture.At(10)
		p.P.Status.StartTime = &at
		p.P.Status.ContainerStatuses[0].RestartCount = 2
		return p
	}
	runs := restarted("a", 40).P
	succeeded := restarted("b", 30).Succeeded(90).P
	succeeded.Status.ContainerStatuses[0].RestartCount = 2
	succeeded.Status.ContainerStatuses[0].State.Terminated.StartedAt = fixture.At(30)
	s = Summarize(of, []*corev1.Pod{runs, succeeded}, nil, Options{})
	if want := held(OutcomeFailed, 50); !reflect.DeepEqual(s.FailedHeld, want) {
		t.Errorf("OnFailure: FailedHeld %+v, want %+v", s.FailedHeld, want)
	}
	checkAsCounted(t, of, []*corev1.Pod{succeeded}, held(OutcomeFailed, 20))
}

// checkAsCounted checks that the ended pods' failed resource-time, as
// PodFinish counts each at its finish, is want.
func checkAsCounted(t *testing.T, j *batchv1.Job, pods []*corev1.Pod, want []ResourceTime) {
	t.Helper()
	sums := map[string]float64{}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			continue
		}
		f, _ := PodFinish(nil, NewPodRecord(p), NewJobRecord(j), fixture.At(1000).Time)
		for _, h := range f.Held {
			if h.Outcome == OutcomeFailed {
				sums[h.Resource] += h.Value
			}
		}
	}
	wants := map[string]float64{}
	for _, h := range want {
		wants[h.Resource] = h.Value
	}
	if !reflect.DeepEqual(sums, wants) {
		t.Errorf("counted failed %v, the Summary's %v", sums, wants)
	}
}

// TestAggregateFailedHeld: counting failed pods in and out, in any order
// and of any size (sums far beyond 64 bits), leaves exactly what the pods
// present held, as a recomputation from them says; the Departed evidence
// of gone pods says what theirs held the same way.
func TestAggregateFailedHeld(t *testing.T) {
	j := gpuJob("j").J
	huge := func(name string, start int) *corev1.Pod {
		p := fixture.Pod(j, name, 0).FailedWith("app", 1, "Error", start+3600).P
		at := fixture.At(start)
		p.Status.StartTime = &at
		p.Spec.Containers[0].Resources.Requests = res("memory=7Ei", "nvidia.com/gpu=1000000")
		return p
	}
	r := &aggregateRun{t: t, a: NewAggregate(NewJobRecord(j)), cache: map[string]*PodRecord{}}
	check := func(step string) {
		t.Helper()
		got, want := r.summary(j, nil, Options{})
		if !reflect.DeepEqual(got.FailedHeld, want.FailedHeld) {
			t.Fatalf("%s: incremental %+v, from scratch %+v", step, got.FailedHeld, want.FailedHeld)
		}
	}
	for i := range 40 {
		r.set(huge(strconv.Itoa(i), i*10))
		check("add " + strconv.Itoa(i))
	}
	for i := 0; i < 40; i += 3 {
		r.delete("j-" + strconv.Itoa(i))
		check("delete " + strconv.Itoa(i))
	}
	for i := range 40 {
		r.delete("j-" + strconv.Itoa(i))
	}
	if got, _ := r.summary(j, nil, Options{}); got.FailedHeld != nil {
		t.Errorf("no pods left, FailedHeld %+v", got.FailedHeld)
	}

	gone := started(j, 10).FailedWith("app", 1, "Error", 70).P
	d := DepartedOf(NewJobRecord(j), []*PodRecord{NewPodRecord(gone)})
	if want := held(OutcomeFailed, 60); !reflect.DeepEqual(d.FailedHeld, want) {
		t.Errorf("Departed.FailedHeld %+v, want %+v", d.FailedHeld, want)
	}
}
