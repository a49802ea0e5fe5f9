package queue

import (
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

var now = fixture.T0.Add(time.Hour)

func at(s int) time.Time { return fixture.At(s).UTC() }

// stateOf is StateOf for the Job and its Workloads as the caches keep them.
func stateOf(j *batchv1.Job, lq *LocalQueueRecord, ws ...*kube.Workload) *job.Queue {
	var rs []*WorkloadRecord
	for _, w := range ws {
		rs = append(rs, record(w))
	}
	return StateOf(job.NewJobRecord(j), rs, lq, now)
}

// TestWaitingCause: a Job waiting for admission gets the cause Kueue's
// conditions tell, and Kueue's message, whatever the names in it.
func TestWaitingCause(t *testing.T) {
	const (
		gpuQuota = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed"
		maxCap   = "couldn't assign flavors to pod set main: insufficient quota for cpu in flavor default, previously considered podsets requests (0) + current podset request (10) > maximum capacity (8)"
		taint    = "couldn't assign flavors to pod set main: untolerated taint spot=true:NoSchedule in flavor spot"
	)
	pending := func(msg string) func(*kueue.WorkloadBuilder) {
		return func(w *kueue.WorkloadBuilder) { w.Pending(msg, 5) }
	}
	inadmissible := func(msg string) func(*kueue.WorkloadBuilder) {
		return func(w *kueue.WorkloadBuilder) { w.Inadmissible(msg, 5) }
	}
	for _, tt := range []struct {
		what        string
		do          func(*kueue.WorkloadBuilder)
		cause, msg  string
		noWorkloads bool
	}{
		{what: "no Workload", noWorkloads: true, cause: job.QueueCauseNoWorkload},
		{what: "not yet tried by the scheduler", do: func(*kueue.WorkloadBuilder) {}, cause: job.QueueCauseQueued},
		{what: "no unused GPU quota", do: pending(gpuQuota), cause: job.QueueCauseInsufficientQuota, msg: gpuQuota},
		{what: "preempting for it", do: pending(gpuQuota + ". Pending the preemption of 2 workload(s)"), cause: job.QueueCauseInsufficientQuota},
		{what: "quota in one flavor, a taint in the other",
			do:    pending("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor on-demand, 2 more needed, untolerated taint spot=true:NoSchedule in flavor spot"),
			cause: job.QueueCauseInsufficientQuota},
		{what: "more than the quota with borrowing", do: pending(maxCap), cause: job.QueueCauseNoFlavorFits, msg: maxCap},
		{what: "untolerated taint", do: pending(taint), cause: job.QueueCauseNoFlavorFits},
		{what: "node affinity", do: pending("couldn't assign flavors to pod set main: flavor a100 doesn't match node affinity"), cause: job.QueueCauseNoFlavorFits},
		{what: "one pod set waits for quota, another fits no flavor",
			do:    pending("couldn't assign flavors to pod set driver: insufficient unused quota for cpu in flavor default, 1 more needed; couldn't assign flavors to pod set workers: flavor default doesn't match node affinity"),
			cause: job.QueueCauseNoFlavorFits},
		{what: "two pod sets wait for quota",
			do:    pending("couldn't assign flavors to pod set driver: insufficient unused quota for cpu in flavor default, 1 more needed; couldn't assign flavors to pod set workers: insufficient unused quota for memory in flavor default, 4Gi more needed"),
			cause: job.QueueCauseInsufficientQuota},
		{what: "a pod set named like the quota message",
			do:    pending("couldn't assign flavors to pod set insufficient-unused-quota-for: flavor default doesn't match node affinity"),
			cause: job.QueueCauseNoFlavorFits},
		{what: "the assigner's error", do: pending("failed to assign flavors to pod set main: insufficient unused quota for x"), cause: job.QueueCauseOther},
		{what: "LocalQueue missing", do: inadmissible("LocalQueue gpu doesn't exist"), cause: job.QueueCauseLocalQueueMissing, msg: "LocalQueue gpu doesn't exist"},
		{what: "LocalQueue deleted", do: inadmissible("LocalQueue gpu is terminating or missing"), cause: job.QueueCauseLocalQueueMissing},
		{what: "LocalQueue named like a state", do: inadmissible("LocalQueue is-stopped doesn't exist"), cause: job.QueueCauseLocalQueueMissing},
		{what: "LocalQueue inactive", do: inadmissible("LocalQueue gpu is inactive"), cause: job.QueueCauseLocalQueueInactive},
		{what: "LocalQueue stopped", do: inadmissible("LocalQueue gpu is stopped"), cause: job.QueueCauseLocalQueueInactive},
		{what: "ClusterQueue missing", do: inadmissible("ClusterQueue team-a doesn't exist"), cause: job.QueueCauseClusterQueueMissing},
		{what: "ClusterQueue deleted", do: inadmissible("ClusterQueue team-a is terminating or missing"), cause: job.QueueCauseClusterQueueMissing},
		{what: "ClusterQueue not in the scheduler's snapshot", do: pending("ClusterQueue team-a not found"), cause: job.QueueCauseClusterQueueMissing},
		{what: "ClusterQueue inactive", do: inadmissible("ClusterQueue team-a is inactive"), cause: job.QueueCauseClusterQueueInactive},
		{what: "ClusterQueue inactive, said by the scheduler", do: pending("ClusterQueue team-a is inactive"), cause: job.QueueCauseClusterQueueInactive},
		{what: "ClusterQueue stopped", do: inadmissible("ClusterQueue team-a is stopped"), cause: job.QueueCauseClusterQueueInactive},
		{what: "a queue message with more after it", do: inadmissible("ClusterQueue team-a is inactive, really"), cause: job.QueueCauseOther},
		{what: "admission checks not ready", do: func(w *kueue.WorkloadBuilder) { w.ChecksPending("team-a", 5) },
			cause: job.QueueCauseAdmissionChecks, msg: "Quota reserved in ClusterQueue team-a"},
		{what: "waiting for pods ready elsewhere", do: func(w *kueue.WorkloadBuilder) {
			unreserve(w.W, "Waiting", "waiting for all admitted workloads to be in PodsReady condition", 5)
		}, cause: job.QueueCauseOther},
		{what: "admission gated", do: func(w *kueue.WorkloadBuilder) {
			unreserve(w.W, "AdmissionGated", "Admission is gated by: example.com/gate", 5)
		}, cause: job.QueueCauseOther},
		{what: "namespace not selected", do: pending("Workload namespace doesn't match ClusterQueue selector"), cause: job.QueueCauseOther},
		{what: "DRA claims", do: inadmissible("DynamicResourceAllocation feature does not support use of resource claims"), cause: job.QueueCauseOther},
	} {
		j := queuedJob("train", "gpu")
		var ws []*kube.Workload
		if !tt.noWorkloads {
			w := kueue.Workload(j, 1)
			tt.do(w)
			ws = append(ws, w.W)
		}
		q := stateOf(j, nil, ws...)
		if q == nil || q.State != job.QueueWaiting || q.Cause != tt.cause {
			t.Errorf("%s: %+v, want Waiting with cause %s", tt.what, q, tt.cause)
			continue
		}
		if tt.msg != "" && q.Message != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.what, q.Message, tt.msg)
		}
		if !slices.Contains(job.QueueCauses, q.Cause) {
			t.Errorf("%s: cause %q not one of job.QueueCauses", tt.what, q.Cause)
		}
	}
}

// TestCauseReadFromWholeMessage: the cause is read from Kueue's whole
// message, although the message kept is cut to its bound.
func TestCauseReadFromWholeMessage(t *testing.T) {
	var podSets []string
	for i := range 40 {
		podSets = append(podSets, "couldn't assign flavors to pod set worker-"+strings.Repeat("x", i%5)+": insufficient unused quota for cpu in flavor default, 1 more needed")
	}
	podSets = append(podSets, "couldn't assign flavors to pod set last: untolerated taint spot=true:NoSchedule in flavor spot")
	j := queuedJob("train", "gpu")
	w := kueue.Workload(j, 1)
	w.Pending(strings.Join(podSets, "; "), 5)
	q := stateOf(j, nil, w.W)
	if q.Cause != job.QueueCauseNoFlavorFits || len(q.Message) > job.MaxQueueMessage || !strings.HasSuffix(q.Message, job.CutMarker) {
		t.Fatalf("cause %s, message of %d bytes ending %q; want NoFlavorFits, cut to %d", q.Cause, len(q.Message), q.Message[len(q.Message)-8:], job.MaxQueueMessage)
	}
}

// TestStates: the state of a Kueue-managed Job and since when, through
// Kueue's life of a Workload.
func TestStates(t *testing.T) {
	type want struct {
		state             job.QueueState
		since             time.Time
		cause, clusterQ   string
		evictions         int32
		lastEvictedReason string
	}
	lq := &LocalQueueRecord{Namespace: "team-a", Name: "gpu", ClusterQueue: "cq-from-lq"}
	for _, tt := range []struct {
		what  string
		build func(j *batchv1.Job) []*kube.Workload
		lq    *LocalQueueRecord
		want  want
	}{
		{"no Workload yet: since the Job was created", func(*batchv1.Job) []*kube.Workload { return nil }, lq,
			want{state: job.QueueWaiting, since: at(0), cause: job.QueueCauseNoWorkload, clusterQ: "cq-from-lq"}},
		{"waiting: since the Workload was created", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Pending("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default, 1 more needed", 9)
			return []*kube.Workload{w.W}
		}, nil, want{state: job.QueueWaiting, since: at(2), cause: job.QueueCauseInsufficientQuota}},
		{"admitted, Job still suspended: since admitted", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			return []*kube.Workload{w.W}
		}, lq, want{state: job.QueueAdmittedSuspended, since: at(20), clusterQ: "team-a"}},
		{"running: since admitted", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			j.Spec.Suspend = ptr.To(false)
			return []*kube.Workload{w.W}
		}, nil, want{state: job.QueueRunning, since: at(20), clusterQ: "team-a"}},
		{"preempted and requeued: waits since the eviction", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			w.Preempt("InClusterQueue", 300)
			return []*kube.Workload{w.W}
		}, lq, want{state: job.QueueWaiting, since: at(300), cause: job.QueueCauseOther, clusterQ: "cq-from-lq", evictions: 1, lastEvictedReason: "InClusterQueue"}},
		{"evicted, quota not yet released", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			setCondition(w.W, "Evicted", true, "PodsReadyTimeout", "Exceeded the PodsReady timeout team-a/job-train", 400)
			return []*kube.Workload{w.W}
		}, nil, want{state: job.QueueWaiting, since: at(400), cause: job.QueueCauseOther, clusterQ: "team-a", lastEvictedReason: "PodsReadyTimeout"}},
		{"readmitted after an eviction", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			w.Preempt("InCohortReclamation", 300)
			w.Admit("team-b", 500)
			return []*kube.Workload{w.W}
		}, nil, want{state: job.QueueAdmittedSuspended, since: at(500), clusterQ: "team-b", evictions: 1}},
		{"deactivated: since its eviction", func(j *batchv1.Job) []*kube.Workload {
			w := kueue.Workload(j, 2)
			w.Admit("team-a", 20)
			w.W.Spec.Active = ptr.To(false)
			w.Evict("DeactivatedDueToMaximumExecutionTimeExceeded", "The workload is deactivated due to exceeding the maximum execution time", 600)
			return []*kube.Workload{w.W}
		}, nil, want{state: job.QueueDeactivated, since: at(600), evictions: 1, lastEvictedReason: "MaximumExecutionTimeExceeded"}},
		{"the LocalQueue of another name is not the Job's", func(*batchv1.Job) []*kube.Workload { return nil },
			&LocalQueueRecord{Namespace: "team-a", Name: "cpu", ClusterQueue: "other"},
			want{state: job.QueueWaiting, since: at(0), cause: job.QueueCauseNoWorkload}},
		{"created by a clock ahead: since now", func(j *batchv1.Job) []*kube.Workload {
			return []*kube.Workload{kueue.Workload(j, 7200).W}
		}, nil, want{state: job.QueueWaiting, since: now, cause: job.QueueCauseQueued}},
		{"the Workload of an earlier Job of the same name is not this Job's", func(j *batchv1.Job) []*kube.Workload {
			old := kueue.Workload(j, 30)
			old.W.OwnerReferences[0].UID = "uid-of-the-deleted-job"
			old.Admit("team-a", 40)
			return []*kube.Workload{old.W, kueue.Workload(j, 3).W}
		}, nil, want{state: job.QueueWaiting, since: at(3), cause: job.QueueCauseQueued}},
		{"several Workloads: the newest", func(j *batchv1.Job) []*kube.Workload {
			older := kueue.Workload(j, 3)
			older.Admit("team-a", 10)
			newer := kueue.Workload(j, 50)
			newer.W.Name += "-2"
			return []*kube.Workload{newer.W, older.W}
		}, nil, want{state: job.QueueWaiting, since: at(50), cause: job.QueueCauseQueued}},
	} {
		j := queuedJob("train", "gpu")
		ws := tt.build(j)
		q := stateOf(j, tt.lq, ws...)
		if q == nil {
			t.Errorf("%s: no Queue", tt.what)
			continue
		}
		got := want{q.State, q.Since, q.Cause, q.ClusterQueue, q.Evictions, q.LastEviction.Reason}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.what, got, tt.want)
		}
		if q.Name != "gpu" {
			t.Errorf("%s: queue %q, want gpu", tt.what, q.Name)
		}
	}
}

// TestNoQueue: a finished Job, or one without the queue label (suspended
// by a person), has no Queue, whatever Workload names it.
func TestNoQueue(t *testing.T) {
	queued := func() *fixture.JobBuilder { return &fixture.JobBuilder{J: queuedJob("train", "gpu")} }
	invalid := queued()
	invalid.J.Labels[job.QueueLabel] = "GPU Queue"
	for _, tt := range []struct {
		what string
		j    *batchv1.Job
	}{
		{"suspended without the label", fixture.Job("team-a", "train").Suspend().J},
		{"an invalid queue label", invalid.J},
		{"completed", queued().Complete(90).J},
		{"failed", queued().Failed("BackoffLimitExceeded", 90).J},
	} {
		w := kueue.Workload(queuedJob("train", "gpu"), 1)
		w.Admit("team-a", 5)
		if q := stateOf(tt.j, nil, w.W); q != nil {
			t.Errorf("%s: %+v, want no Queue", tt.what, q)
		}
	}
	if q := StateOf(nil, nil, nil, now); q != nil {
		t.Errorf("no Job: %+v", q)
	}
}

// TestWorkloadJobKeys: a Workload is indexed under its Job's key, one
// without a valid Job owner under none; tombstones pass the transforms.
func TestWorkloadJobKeys(t *testing.T) {
	j := queuedJob("train", "gpu")
	keys, err := WorkloadJobKeys(record(kueue.Workload(j, 1).W))
	if err != nil || !slices.Equal(keys, []string{"team-a/train"}) {
		t.Fatalf("keys %v, %v; want [team-a/train]", keys, err)
	}
	orphan := kueue.Workload(j, 1)
	orphan.W.OwnerReferences = nil
	if keys, _ := WorkloadJobKeys(record(orphan.W)); keys != nil {
		t.Fatalf("a Workload without a Job indexed under %v", keys)
	}
	tomb := struct{ Key string }{"team-a/job-train"}
	for _, f := range []func(any) (any, error){RecordWorkload, RecordLocalQueue} {
		if got, err := f(tomb); err != nil || got != tomb {
			t.Fatalf("a tombstone became %v, %v", got, err)
		}
	}
	if keys, _ := WorkloadJobKeys(tomb); keys != nil {
		t.Fatalf("a tombstone indexed under %v", keys)
	}
}

// TestWaitSinceNeverMovesBack: through Kueue's sequences in which the Job
// stays stopped, since when it waits only moves forward: an eviction of
// a Workload never admitted (an admission check's retry on reserved
// quota), reset by the next reservation, does not move the wait to the
// eviction and back.
func TestWaitSinceNeverMovesBack(t *testing.T) {
	const preemption = "Preempted to accommodate a workload"
	type step struct {
		what  string
		do    func(w *kueue.WorkloadBuilder, j *batchv1.Job)
		since int // -1: not waiting (the Job runs)
	}
	running := func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) }
	stopped := func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }
	for _, seq := range []struct {
		what  string
		steps []step
	}{
		{"pending, admitted, preempted, requeued, pending again", []step{
			{"pending", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.Pending("insufficient unused quota", 5) }, 2},
			{"admitted, running", func(w *kueue.WorkloadBuilder, j *batchv1.Job) { w.Admit("team-a", 20); running(j) }, -1},
			{"evicted, still admitted", func(w *kueue.WorkloadBuilder, j *batchv1.Job) {
				setCondition(w.W, "Preempted", true, "InClusterQueue", preemption, 300)
				w.MarkEvicted("Preempted", preemption, 300)
				stopped(j)
			}, 300},
			{"quota released, requeued", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.Pending(preemption, 310) }, 310},
			{"pending again", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.Pending("insufficient unused quota", 400) }, 310},
			{"reserved, checks pending", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.ChecksPending("team-a", 500) }, 310},
			{"a check asks for a retry", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) {
				w.Evict("AdmissionCheck", "check retry", 600)
			}, 310},
			{"reserved again", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.ChecksPending("team-a", 700) }, 310},
		}},
		{"pending, reserved, a check's retry evicts, pending, reserved", []step{
			{"pending", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.Pending("insufficient unused quota", 5) }, 2},
			{"reserved, checks pending", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.ChecksPending("team-a", 100) }, 2},
			{"evicted by the check, quota still reserved", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) {
				w.MarkEvicted("AdmissionCheck", "check retry", 3600)
			}, 2},
			{"quota released", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.Pending("check retry", 3600) }, 2},
			{"reserved again: Evicted reset to False", func(w *kueue.WorkloadBuilder, _ *batchv1.Job) { w.ChecksPending("team-a", 3700) }, 2},
		}},
	} {
		j := queuedJob("train", "gpu")
		w := kueue.Workload(j, 2)
		last := time.Time{}
		for _, st := range seq.steps {
			st.do(w, j)
			q := stateOf(j, nil, w.W)
			if st.since < 0 {
				if q.State == job.QueueWaiting {
					t.Errorf("%s, %s: waiting, want not", seq.what, st.what)
				}
				last = time.Time{}
				continue
			}
			if q.State != job.QueueWaiting || !q.Since.Equal(at(st.since)) {
				t.Errorf("%s, %s: %s since %v, want Waiting since %v", seq.what, st.what, q.State, q.Since, at(st.since))
			}
			if q.Since.Before(last) {
				t.Errorf("%s, %s: the wait moved back from %v to %v", seq.what, st.what, last, q.Since)
			}
			last = q.Since
		}
	}
}

// TestStaleLocalQueueMissing: Kueue's "LocalQueue X doesn't exist" stays
// on the Workload after the LocalQueue is made; while the LocalQueue is
// in the cache and not being deleted, the Job is queued and the stale
// message is not shown.
func TestStaleLocalQueueMissing(t *testing.T) {
	const msg = "LocalQueue gpu doesn't exist"
	for _, tt := range []struct {
		what       string
		lq         *LocalQueueRecord
		cause, msg string
	}{
		{"no LocalQueue in the cache", nil, job.QueueCauseLocalQueueMissing, msg},
		{"the LocalQueue exists", &LocalQueueRecord{Namespace: "team-a", Name: "gpu", ClusterQueue: "team-a"}, job.QueueCauseQueued, ""},
		{"the LocalQueue is being deleted", &LocalQueueRecord{Namespace: "team-a", Name: "gpu", ClusterQueue: "team-a", Terminating: true},
			job.QueueCauseLocalQueueMissing, msg},
		{"another LocalQueue exists", &LocalQueueRecord{Namespace: "team-a", Name: "cpu", ClusterQueue: "team-a"}, job.QueueCauseLocalQueueMissing, msg},
	} {
		j := queuedJob("train", "gpu")
		w := kueue.Workload(j, 1).Inadmissible(msg, 5)
		q := stateOf(j, tt.lq, w.W)
		if q.State != job.QueueWaiting || q.Cause != tt.cause || q.Message != tt.msg {
			t.Errorf("%s: %s %s %q, want Waiting %s %q", tt.what, q.State, q.Cause, q.Message, tt.cause, tt.msg)
		}
	}
}
