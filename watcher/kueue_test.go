package watcher

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Kueue's objects as Kueue v0.17 writes them (pkg/workload, the scheduler,
// the Job integration's ConstructWorkload), reduced to what the exporter
// reads.

// queuedJob is a Job Kueue manages: labelled with its LocalQueue and
// created suspended (Kueue's webhook suspends it).
func queuedJob(name, lq string) *batchv1.Job {
	j := fixture.Job("ns", name).Suspend().J
	j.Labels = map[string]string{job.QueueLabel: lq}
	return j
}

// workloadOf is the Workload Kueue makes for j: controlled by the Job,
// queued in its LocalQueue.
func workloadOf(j *batchv1.Job) *kube.Workload {
	return &kube.Workload{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: j.Namespace, Name: "job-" + j.Name + "-5c8a1", UID: "wl-" + j.UID,
			CreationTimestamp: fixture.At(1),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: kube.WorkloadSpec{QueueName: j.Labels[job.QueueLabel]},
	}
}

func setCondition(w *kube.Workload, typ string, status bool, reason, message string, at int) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&w.Status.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: message, LastTransitionTime: fixture.At(at)})
}

// pending is the scheduler's failed attempt: no quota.
func pending(w *kube.Workload, at int) *kube.Workload {
	setCondition(w, "QuotaReserved", false, "Pending",
		"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed", at)
	return w
}

// admitted is the scheduler admitting w in clusterQueue, which resets a
// true Evicted condition.
func admitted(w *kube.Workload, clusterQueue string, at int) *kube.Workload {
	w.Status.Admission = &kube.WorkloadAdmission{ClusterQueue: clusterQueue}
	setCondition(w, "QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue "+clusterQueue, at)
	setCondition(w, "Admitted", true, "Admitted", "The workload is admitted", at)
	if apimeta.IsStatusConditionTrue(w.Status.Conditions, "Evicted") {
		setCondition(w, "Evicted", false, "QuotaReserved", "Previously evicted", at)
	}
	return w
}

// preempted is the preemptor's eviction, then the quota's release.
func preempted(w *kube.Workload, at int) *kube.Workload {
	msg := "Preempted to accommodate a workload (UID: 9e1d) due to prioritization in the ClusterQueue"
	setCondition(w, "Preempted", true, "InClusterQueue", msg, at)
	setCondition(w, "Evicted", true, "Preempted", msg, at)
	setCondition(w, "QuotaReserved", false, "Pending", msg, at)
	setCondition(w, "Admitted", false, "NoReservation", "The workload has no reservation", at)
	w.Status.Admission = nil
	return w
}

func localQueue(name, clusterQueue string) *kube.LocalQueue {
	return &kube.LocalQueue{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: kube.LocalQueueSpec{ClusterQueue: clusterQueue}}
}

// createKueue creates Workloads and LocalQueues (copies) in the fake API.
func createKueue(t *testing.T, api *fakeAPI, objs ...runtime.Object) {
	t.Helper()
	for _, o := range objs {
		if err := api.CreateKueue(o.DeepCopyObject()); err != nil {
			t.Fatal(err)
		}
	}
}

// waitQueue waits until the Job key's last Summary has a Queue that ok
// accepts, and returns it.
func (r *running) waitQueue(t *testing.T, key, what string, ok func(*job.Queue) bool) *job.Queue {
	t.Helper()
	var q *job.Queue
	waitFor(t, key+": "+what, func() bool {
		s := r.sink.summary(key)
		if s == nil {
			return false
		}
		q = s.Queue
		return ok(q)
	})
	return q
}

func TestKueueQueueOfJobs(t *testing.T) {
	api := newFakeAPI()
	api.InstallKueue("v1beta2")
	waiting, noWorkload, plain := queuedJob("train", "team-a"), queuedJob("infer", "team-b"), fixture.Job("ns", "plain").Suspend().J
	for _, j := range []*batchv1.Job{waiting, noWorkload, plain} {
		create(t, api, j)
	}
	wl := pending(workloadOf(waiting), 5)
	createKueue(t, api, wl, localQueue("team-a", "gpu"), localQueue("team-b", "cpu"))
	r := runWatcher(t, api, Config{Kueue: true})
	r.waitSynced(t)

	q := r.waitQueue(t, "ns/train", "waiting", func(q *job.Queue) bool { return q != nil })
	// Waiting since the Workload was made: the scheduler's attempts
	// change the message, not the wait.
	want := job.Queue{Name: "team-a", ClusterQueue: "gpu", Workload: wl.Name, State: job.QueueWaiting, Since: fixture.At(1).UTC(),
		Cause: job.QueueCauseInsufficientQuota, Message: wl.Status.Conditions[0].Message}
	if !q.Since.Equal(want.Since) {
		t.Errorf("Since %v, want %v", q.Since, want.Since)
	}
	q.Since = want.Since
	if fmt.Sprint(*q) != fmt.Sprint(want) {
		t.Errorf("Queue\n %+v\nwant\n %+v", *q, want)
	}
	q = r.waitQueue(t, "ns/infer", "waiting without a Workload", func(q *job.Queue) bool { return q != nil })
	if q.State != job.QueueWaiting || q.Cause != job.QueueCauseNoWorkload || q.ClusterQueue != "cpu" {
		t.Errorf("a Job without a Workload: %+v", *q)
	}
	// A Job without the queue label is not Kueue's: suspended by a person.
	if s := r.sink.summary("ns/plain"); s == nil || s.Queue != nil {
		t.Errorf("a Job without a queue label: %+v", s)
	}

	// Admitted, not yet started; then started. A Summary computed
	// before is not reused: the Workload is part of the Job's Version.
	before, _ := r.w.Version("ns/train")
	if err := api.UpdateKueue(admitted(wl, "gpu", 20)); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(t, "ns/train", "admitted", func(q *job.Queue) bool {
		return q != nil && q.State == job.QueueAdmittedSuspended && q.Since.Equal(fixture.At(20).Time)
	})
	if after, _ := r.w.Version("ns/train"); after == before {
		t.Errorf("Version %q unchanged by the Workload's admission", after)
	}
	waiting.Spec.Suspend = ptr.To(false)
	if _, err := api.BatchV1().Jobs("ns").Update(t.Context(), waiting, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(t, "ns/train", "running", func(q *job.Queue) bool { return q != nil && q.State == job.QueueRunning })

	// A LocalQueue's change reaches the Jobs that name it.
	if err := api.UpdateKueue(localQueue("team-b", "cpu-spot")); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(t, "ns/infer", "the LocalQueue's new ClusterQueue", func(q *job.Queue) bool { return q != nil && q.ClusterQueue == "cpu-spot" })

	if wls, lqs := r.w.KueueObjects(); wls != 1 || lqs != 2 {
		t.Errorf("KueueObjects = %d workloads, %d localqueues; want 1, 2", wls, lqs)
	}
	if got := r.rec.kueueReports(); len(got) != 1 || got[0] != "v1beta2" {
		t.Errorf("KueueAPI reports %q, want [v1beta2]", got)
	}
	for _, res := range []string{ResourceWorkloads, ResourceLocalQueues} {
		if !r.rec.reportedSynced(res) {
			t.Errorf("%s not reported synced", res)
		}
		if errs := r.rec.resultsOf(res, "list"); len(errs) == 0 || errs[0] != nil {
			t.Errorf("%s lists reported %v", res, errs)
		}
	}
}

func TestKueueEvictionsCountedOnce(t *testing.T) {
	// Shard 0 of 2, with one Job of each shard.
	shard := Shard{Index: 0, Total: 2}
	var mine, theirs *batchv1.Job
	for i := 0; mine == nil || theirs == nil; i++ {
		j := queuedJob(fmt.Sprintf("train-%d", i), "team-a")
		if shard.Owns("ns/" + j.Name) {
			mine = j
		} else {
			theirs = j
		}
	}
	// A Workload already evicted when the exporter starts: its eviction
	// may predate the exporter, and is not counted.
	var before *batchv1.Job
	for i := 0; before == nil; i++ {
		if j := queuedJob(fmt.Sprintf("earlier-%d", i), "team-a"); shard.Owns("ns/" + j.Name) {
			before = j
		}
	}
	api := newFakeAPI()
	api.InstallKueue("v1beta2")
	wls := map[*batchv1.Job]*kube.Workload{}
	for _, j := range []*batchv1.Job{mine, theirs, before} {
		create(t, api, j)
		wls[j] = admitted(workloadOf(j), "gpu", 2)
	}
	preempted(wls[before], 3)
	createKueue(t, api, wls[mine], wls[theirs], wls[before], localQueue("team-a", "gpu"))
	r := runWatcher(t, api, Config{Kueue: true, Shard: shard})
	r.waitSynced(t)
	r.waitQueue(t, "ns/"+mine.Name, "admitted", func(q *job.Queue) bool { return q != nil })

	for _, j := range []*batchv1.Job{mine, theirs} {
		if err := api.UpdateKueue(preempted(wls[j], 10)); err != nil {
			t.Fatal(err)
		}
	}
	r.waitQueue(t, "ns/"+mine.Name, "evicted", func(q *job.Queue) bool { return q != nil && q.State == job.QueueWaiting })
	// The same eviction seen again (another status write, a re-list's
	// update) is not counted again.
	wls[mine].Status.RequeueState = &kube.RequeueState{Count: ptr.To[int32](1)}
	if err := api.UpdateKueue(wls[mine]); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(t, "ns/"+mine.Name, "the requeue", func(q *job.Queue) bool { return q != nil && q.Evictions == 1 })
	// Admitted and evicted again: a second eviction.
	if err := api.UpdateKueue(admitted(wls[mine], "gpu", 20)); err != nil {
		t.Fatal(err)
	}
	if err := api.UpdateKueue(preempted(wls[mine], 30)); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(t, "ns/"+mine.Name, "evicted again", func(q *job.Queue) bool {
		return q != nil && q.LastEviction.At.Equal(fixture.At(30).Time)
	})

	calls := r.sink.calls(queueEvicted, "")
	if len(calls) != 2 {
		t.Fatalf("%d evictions reported, want 2 (this shard's Job's, each once): %+v", len(calls), calls)
	}
	for i, c := range calls {
		e := c.evicted
		if e.Namespace != "ns" || e.Job != mine.Name || e.Owner.Name == "" || e.Eviction.Reason != "InClusterQueue" {
			t.Errorf("eviction %d: %+v", i, e)
		}
	}
	if !calls[0].evicted.Eviction.At.Equal(fixture.At(10).Time) || !calls[1].evicted.Eviction.At.Equal(fixture.At(30).Time) {
		t.Errorf("evictions at %v and %v, want 10s and 30s", calls[0].evicted.Eviction.At, calls[1].evicted.Eviction.At)
	}
}

func TestKueueAppearsAndGoes(t *testing.T) {
	api := newFakeAPI()
	j := queuedJob("train", "team-a")
	create(t, api, j)
	r := runWatcher(t, api, Config{Kueue: true, KueueDiscoveryInterval: 10 * time.Millisecond})
	r.waitSynced(t)
	waitFor(t, "Kueue's API reported absent", func() bool {
		reps := r.rec.kueueReports()
		return len(reps) > 0 && reps[0] == ""
	})
	if s := r.sink.summary("ns/train"); s == nil || s.Queue != nil || s.QueueName != "team-a" {
		t.Fatalf("without Kueue's API: %+v", s)
	}

	// Kueue installed: found at the next look.
	api.InstallKueue("v1beta1")
	createKueue(t, api, pending(workloadOf(j), 5))
	r.waitQueue(t, "ns/train", "the Queue once Kueue is found", func(q *job.Queue) bool {
		return q != nil && q.Cause == job.QueueCauseInsufficientQuota
	})
	waitFor(t, "Kueue's API reported found", func() bool {
		reps := r.rec.kueueReports()
		return len(reps) > 0 && reps[len(reps)-1] == "v1beta1"
	})

	// Its CRDs deleted: the Queue goes, discovery starts again.
	api.UninstallKueue()
	r.waitQueue(t, "ns/train", "no Queue once Kueue is gone", func(q *job.Queue) bool { return q == nil })
	waitFor(t, "Kueue's API reported gone", func() bool {
		reps := r.rec.kueueReports()
		return reps[len(reps)-1] == ""
	})
	if r.rec.reportedSynced(ResourceWorkloads) {
		t.Error("workloads still reported synced")
	}
	if wls, lqs := r.w.KueueObjects(); wls != 0 || lqs != 0 {
		t.Errorf("KueueObjects = %d, %d once Kueue is gone", wls, lqs)
	}
	// And back.
	api.InstallKueue("v1beta2")
	createKueue(t, api, pending(workloadOf(j), 5))
	r.waitQueue(t, "ns/train", "the Queue once Kueue is back", func(q *job.Queue) bool { return q != nil })
}

func TestKueueOff(t *testing.T) {
	api := newFakeAPI()
	api.InstallKueue("v1beta2")
	j := queuedJob("train", "team-a")
	create(t, api, j)
	createKueue(t, api, pending(workloadOf(j), 5))
	r := runWatcher(t, api, Config{})
	r.waitSynced(t)
	if s := r.sink.summary("ns/train"); s == nil || s.Queue != nil || s.QueueName != "team-a" {
		t.Errorf("Summary without Config.Kueue: %+v", s)
	}
	if a := api.KueueActions(); len(a) != 0 {
		t.Errorf("calls on Kueue's API without Config.Kueue: %v", a)
	}
	if got := r.rec.kueueReports(); len(got) != 0 {
		t.Errorf("KueueAPI reported %q without Config.Kueue", got)
	}
	for _, res := range (Config{}).Resources() {
		if res == ResourceWorkloads || res == ResourceLocalQueues {
			t.Errorf("resource %s watched without Config.Kueue", res)
		}
	}
}
