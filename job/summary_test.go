package job

import (
	"reflect"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func at(s int) time.Time { return fixture.T0.Add(time.Duration(s) * time.Second) }

func pods(bs ...*fixture.PodBuilder) []*corev1.Pod {
	out := make([]*corev1.Pod, len(bs))
	for i, b := range bs {
		out[i] = b.P
	}
	return out
}

func summarize(j *fixture.JobBuilder, ps ...*fixture.PodBuilder) Summary {
	return Summarize(j.J, pods(ps...), nil, Options{Backoff: DefaultBackoff})
}

func checkFailures(t *testing.T, s Summary, want ...PodFailure) {
	t.Helper()
	if len(want) == 0 && len(s.PodFailures) == 0 {
		return
	}
	if !reflect.DeepEqual(s.PodFailures, want) {
		t.Errorf("PodFailures = %+v\nwant %+v", s.PodFailures, want)
	}
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestSummarizeOOMEveryAttempt(t *testing.T) {
	j := fixture.Job("batch", "oom").BackoffLimit(2).MemoryLimit("app", "512Mi").Started(0).Status(0, 0, 0, 3).Failed("BackoffLimitExceeded", 75)
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).FailedWith("app", 137, "OOMKilled", 20),
		fixture.Pod(j.J, "b", 30).FailedWith("app", 137, "OOMKilled", 45),
		fixture.Pod(j.J, "c", 65).FailedWith("app", 137, "OOMKilled", 75))
	if s.Retries != 3 || !s.Failed || !s.Finished || s.Complete || s.FailedReason != batchv1.JobReasonBackoffLimitExceeded {
		t.Errorf("Retries %d Failed %v Finished %v Complete %v FailedReason %q", s.Retries, s.Failed, s.Finished, s.Complete, s.FailedReason)
	}
	if *s.BackoffLimit != 2 {
		t.Errorf("BackoffLimit = %d", *s.BackoffLimit)
	}
	checkFailures(t, s, PodFailure{Container: "app", Reason: "OOMKilled", ExitCode: "137", Count: 3})
	checkTime(t, "FailedAt", s.FailedAt, at(75))
	checkTime(t, "LastFailure", s.LastFailure, at(75))
	checkTime(t, "NextRetry", s.NextRetry, time.Time{})
	if s.FailuresSinceSuccess != 3 || s.BackoffDelay != 40*time.Second {
		t.Errorf("FailuresSinceSuccess %d BackoffDelay %v, want 3, 40s", s.FailuresSinceSuccess, s.BackoffDelay)
	}
	if len(s.Attempts) != 3 {
		t.Fatalf("Attempts = %+v", s.Attempts)
	}
	for i, a := range s.Attempts {
		if a.Pod != []string{"oom-a", "oom-b", "oom-c"}[i] || a.Container != "app" || a.Init || a.Reason != "OOMKilled" ||
			a.ExitCode != 137 || !a.HasExit || a.Index != -1 || a.Cause.Kind != "OOMKilled" || !a.Cause.Deterministic || a.PolicyAction != "" {
			t.Errorf("Attempts[%d] = %+v", i, a)
		}
	}
	if want := []ContainerSpec{{Name: "app", Image: "registry.example/app:v1", MemoryLimit: 512 << 20}}; !reflect.DeepEqual(s.Containers, want) {
		t.Errorf("Containers = %+v, want %+v", s.Containers, want)
	}
}

func TestSummarizeDeterministicExit(t *testing.T) {
	tests := []struct {
		code   int32
		reason string
		kind   string
	}{
		{127, "Error", "CommandNotFound"},
		{126, "Error", "NotExecutable"},
		{126, "StartError", "NotExecutable"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.reason, func(t *testing.T) {
			j := fixture.Job("batch", "nf").BackoffLimit(4).Started(0).Status(0, 0, 0, 2)
			s := summarize(j,
				fixture.Pod(j.J, "a", 0).FailedWith("app", tt.code, tt.reason, 5),
				fixture.Pod(j.J, "b", 15).FailedWith("app", tt.code, tt.reason, 20))
			checkFailures(t, s, PodFailure{Container: "app", Reason: tt.reason, ExitCode: ExitCode(tt.code), Count: 2})
			for _, a := range s.Attempts {
				if a.Cause.Kind != tt.kind || !a.Cause.Deterministic {
					t.Errorf("Attempt %s Cause = %+v, want %s, deterministic", a.Pod, a.Cause, tt.kind)
				}
			}
			// Unfinished: two failures since no success, 20s backoff from
			// the last failure at 20s.
			if s.Retries != 2 || s.Finished || s.FailuresSinceSuccess != 2 || s.BackoffDelay != 20*time.Second {
				t.Errorf("Retries %d Finished %v FailuresSinceSuccess %d BackoffDelay %v", s.Retries, s.Finished, s.FailuresSinceSuccess, s.BackoffDelay)
			}
			checkTime(t, "NextRetry", s.NextRetry, at(40))
		})
	}
}

func TestSummarizeTransientThenSuccess(t *testing.T) {
	j := fixture.Job("batch", "flaky").Started(0).Status(0, 0, 1, 1).Complete(60)
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 10),
		fixture.Pod(j.J, "b", 25).Succeeded(60))
	if s.Retries != 1 || s.FailuresSinceSuccess != 0 || s.BackoffDelay != 0 || !s.Complete || !s.Finished || s.Failed {
		t.Errorf("Retries %d FailuresSinceSuccess %d BackoffDelay %v Complete %v Finished %v Failed %v", s.Retries, s.FailuresSinceSuccess, s.BackoffDelay, s.Complete, s.Finished, s.Failed)
	}
	checkTime(t, "NextRetry", s.NextRetry, time.Time{})
	checkTime(t, "CompletedAt", s.CompletedAt, at(60))
	checkTime(t, "LastFailure", s.LastFailure, at(10))
	checkFailures(t, s, PodFailure{Container: "app", Reason: "Error", ExitCode: "1", Count: 1})
	if s.Pods != (PodCounts{Succeeded: 1, Failed: 1}) {
		t.Errorf("Pods = %+v", s.Pods)
	}
}

// newBackoffRecord: only failures that finished after the newest success
// count toward the backoff.
func TestSummarizeFailuresAfterSuccess(t *testing.T) {
	j := fixture.Job("batch", "many").Started(0).Status(1, 0, 1, 3)
	j.J.Spec.Completions = ptr.To[int32](3)
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 5),
		fixture.Pod(j.J, "b", 0).Succeeded(10),
		fixture.Pod(j.J, "c", 11).FailedWith("app", 2, "Error", 20),
		fixture.Pod(j.J, "d", 21).FailedWith("app", 2, "Error", 30),
		fixture.Pod(j.J, "e", 41).Running(42))
	if s.Retries != 3 || s.FailuresSinceSuccess != 2 || s.BackoffDelay != 20*time.Second {
		t.Errorf("Retries %d FailuresSinceSuccess %d BackoffDelay %v, want 3, 2, 20s", s.Retries, s.FailuresSinceSuccess, s.BackoffDelay)
	}
	checkTime(t, "LastFailure", s.LastFailure, at(30))
	checkTime(t, "NextRetry", s.NextRetry, at(50))
	checkFailures(t, s,
		PodFailure{Container: "app", Reason: "Error", ExitCode: "1", Count: 1},
		PodFailure{Container: "app", Reason: "Error", ExitCode: "2", Count: 2})
}

func TestSummarizeRetriesIncludeUncounted(t *testing.T) {
	j := fixture.Job("batch", "u").Started(0).Status(0, 0, 0, 2)
	j.J.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: []types.UID{"x", "y"}, Succeeded: []types.UID{"z"}}
	if s := summarize(j); s.Retries != 4 {
		t.Errorf("Retries = %d, want status.failed 2 + 2 uncounted failed", s.Retries)
	}
}

func TestSummarizeDeadline(t *testing.T) {
	tests := []struct {
		name string
		job  *fixture.JobBuilder
		want time.Time
	}{
		{"running", fixture.Job("b", "d").Deadline(60).Started(10).Status(1, 1, 0, 0), at(70)},
		{"failed", fixture.Job("b", "d").Deadline(60).Started(0).Status(0, 0, 0, 1).Failed("DeadlineExceeded", 60), time.Time{}},
		{"complete", fixture.Job("b", "d").Deadline(60).Started(0).Status(0, 0, 1, 0).Complete(30), time.Time{}},
		{"failure target", fixture.Job("b", "d").Deadline(60).Started(0).FailureTarget("DeadlineExceeded", 60), time.Time{}},
		{"suspended", fixture.Job("b", "d").Deadline(60).Started(0).Suspend(), time.Time{}},
		{"not started", fixture.Job("b", "d").Deadline(60), time.Time{}},
		{"no deadline", fixture.Job("b", "d").Started(0), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.job)
			checkTime(t, "Deadline", s.Deadline, tt.want)
		})
	}
	if s := summarize(fixture.Job("b", "d").Deadline(60).Started(0).Failed("DeadlineExceeded", 60)); s.FailedReason != batchv1.JobReasonDeadlineExceeded || *s.ActiveDeadlineSeconds != 60 {
		t.Errorf("FailedReason %q ActiveDeadlineSeconds %v", s.FailedReason, s.ActiveDeadlineSeconds)
	}
	if s := summarize(fixture.Job("b", "d").Suspend()); !s.Suspended || s.Finished {
		t.Errorf("Suspended %v Finished %v", s.Suspended, s.Finished)
	}
}

func TestSummarizePodFailurePolicyIgnore(t *testing.T) {
	// status.failed excludes the failure an Ignore rule matched
	// (nonIgnoredFailedPodsCount); the backoff record does not
	// (newBackoffRecord gets every new failed pod).
	j := fixture.Job("ml", "policy").FailJobOnExitCodes(42).IgnoreDisruptions().Started(0).Status(1, 0, 0, 1)
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).Disrupted("PreemptionByScheduler", 20),
		fixture.Pod(j.J, "b", 25).FailedWith("app", 1, "Error", 40),
		fixture.Pod(j.J, "c", 60).Running(61))
	if s.Retries != 1 {
		t.Errorf("Retries = %d, want 1 (status.failed)", s.Retries)
	}
	if len(s.Attempts) != 2 {
		t.Fatalf("Attempts = %+v", s.Attempts)
	}
	if a := s.Attempts[0]; a.Pod != "policy-a" || a.PolicyAction != "Ignore" || a.Reason != PodReasonPreempted || a.HasExit || a.Container != "" {
		t.Errorf("Attempts[0] = %+v", a)
	}
	if a := s.Attempts[1]; a.Pod != "policy-b" || a.PolicyAction != "" || a.Reason != "Error" || a.ExitCode != 1 {
		t.Errorf("Attempts[1] = %+v", a)
	}
	if s.FailuresSinceSuccess != 2 || s.BackoffDelay != 20*time.Second {
		t.Errorf("FailuresSinceSuccess %d BackoffDelay %v, want 2, 20s", s.FailuresSinceSuccess, s.BackoffDelay)
	}
	checkTime(t, "NextRetry", s.NextRetry, at(60))

	// The FailJob rule matched: the controller fails the Job with
	// reason PodFailurePolicy.
	j2 := fixture.Job("ml", "policy2").FailJobOnExitCodes(42).Started(0).Status(0, 0, 0, 1).Failed("PodFailurePolicy", 40)
	s2 := summarize(j2, fixture.Pod(j2.J, "a", 0).FailedWith("app", 42, "Error", 40))
	if s2.FailedReason != batchv1.JobReasonPodFailurePolicy || len(s2.Attempts) != 1 || s2.Attempts[0].PolicyAction != "FailJob" {
		t.Errorf("FailedReason %q Attempts %+v", s2.FailedReason, s2.Attempts)
	}
}

func TestSummarizeIndexedPerIndex(t *testing.T) {
	j := fixture.Job("ml", "shards").Indexed(5, 5).PerIndex(2, 1).IgnoreDisruptions().Started(0).Status(2, 0, 1, 4).Indexes("3", "")
	ignoredReplacement := fixture.Pod(j.J, "1b", 16).Index(1, 0).Running(17)
	ignoredReplacement.P.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "1"
	s := summarize(j,
		fixture.Pod(j.J, "0a", 0).Index(0, 0).FailedWith("app", 1, "Error", 10),
		fixture.Pod(j.J, "0b", 11).Index(0, 1).FailedWith("app", 1, "Error", 30),
		fixture.Pod(j.J, "1a", 0).Index(1, 0).Disrupted("PreemptionByScheduler", 15), // ignored
		ignoredReplacement,
		fixture.Pod(j.J, "2a", 0).Index(2, 0).FailedWith("app", 137, "OOMKilled", 12),
		fixture.Pod(j.J, "2b", 13).Index(2, 1).Running(14),
		fixture.Pod(j.J, "3a", 0).Index(3, 0).FailedWith("app", 3, "Error", 8),
		fixture.Pod(j.J, "3b", 9).Index(3, 1).Succeeded(20))
	want := []IndexFailure{{Index: 0, Failures: 2}, {Index: 2, Failures: 1}, {Index: 3, Failures: 1}}
	if !reflect.DeepEqual(s.IndexFailures, want) {
		t.Errorf("IndexFailures = %+v, want %+v", s.IndexFailures, want)
	}
	if !s.Indexed || s.CompletionMode != "Indexed" || s.CompletedIndexes != 1 || s.FailedIndexes != 0 || s.Retries != 4 {
		t.Errorf("Indexed %v mode %q CompletedIndexes %d FailedIndexes %d Retries %d", s.Indexed, s.CompletionMode, s.CompletedIndexes, s.FailedIndexes, s.Retries)
	}
	if *s.BackoffLimitPerIndex != 2 || *s.MaxFailedIndexes != 1 {
		t.Errorf("BackoffLimitPerIndex %d MaxFailedIndexes %d", *s.BackoffLimitPerIndex, *s.MaxFailedIndexes)
	}
	// getRemainingTimePerIndex: the last failed pod (0b, at 30s) had failure
	// count 1, so its index waits Delay(1+0+1) = 20s.
	if s.BackoffDelay != 20*time.Second {
		t.Errorf("BackoffDelay = %v, want 20s", s.BackoffDelay)
	}
	checkTime(t, "NextRetry", s.NextRetry, at(50))
	idx := map[string]int32{}
	for _, a := range s.Attempts {
		idx[a.Pod] = a.Index
	}
	if idx["shards-0b"] != 0 || idx["shards-1a"] != 1 || idx["shards-2a"] != 2 || idx["shards-3a"] != 3 {
		t.Errorf("attempt indexes = %v", idx)
	}

	// The per-index delay counts ignored failures too
	// (getIndexAbsoluteFailureCount): 2 + 1 + 1 failures → 80s.
	j2 := fixture.Job("ml", "x").Indexed(2, 2).PerIndex(5, -1).Started(0)
	last := fixture.Pod(j2.J, "0", 90).Index(0, 2).FailedWith("app", 1, "Error", 100)
	last.P.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = "1"
	s2 := summarize(j2, last)
	if s2.BackoffDelay != 80*time.Second || !reflect.DeepEqual(s2.IndexFailures, []IndexFailure{{0, 3}}) {
		t.Errorf("BackoffDelay %v IndexFailures %+v, want 80s, [{0 3}]", s2.BackoffDelay, s2.IndexFailures)
	}
	checkTime(t, "NextRetry", s2.NextRetry, at(180))

	// Failed indexes and the terminal reason.
	j3 := fixture.Job("ml", "y").Indexed(5, 5).PerIndex(1, 1).Started(0).Indexes("0,2", "1,3").Failed("MaxFailedIndexesExceeded", 50)
	s3 := summarize(j3)
	if s3.FailedIndexes != 2 || s3.CompletedIndexes != 2 || s3.FailedReason != batchv1.JobReasonMaxFailedIndexesExceeded {
		t.Errorf("FailedIndexes %d CompletedIndexes %d FailedReason %q", s3.FailedIndexes, s3.CompletedIndexes, s3.FailedReason)
	}

	// Pods of an Indexed Job without a usable completion index annotation
	// (getCompletionIndex reads only the annotation) have index -1.
	j4 := fixture.Job("ml", "z").Indexed(3, 3).PerIndex(1, -1).Started(0)
	labelOnly := fixture.Pod(j4.J, "a", 0).Index(1, 0).FailedWith("app", 1, "Error", 5)
	delete(labelOnly.P.Annotations, batchv1.JobCompletionIndexAnnotation)
	junk := fixture.Pod(j4.J, "b", 0).Index(2, 0).FailedWith("app", 1, "Error", 6)
	junk.P.Annotations[batchv1.JobCompletionIndexAnnotation] = "two"
	s4 := summarize(j4, labelOnly, junk)
	if len(s4.IndexFailures) != 0 || s4.Attempts[0].Index != -1 || s4.Attempts[1].Index != -1 {
		t.Errorf("IndexFailures %+v Attempts %+v", s4.IndexFailures, s4.Attempts)
	}
}

func TestSummarizeOnFailureRestarts(t *testing.T) {
	// pastBackoffLimitOnFailure sums restartCount over the init and
	// regular containers of pods in phase Pending or Running only.
	j := fixture.Job("batch", "onfailure").OnFailure().BackoffLimit(10).InitContainer("init").Started(0).Status(2, 1, 0, 1)
	running := fixture.Pod(j.J, "a", 0).Running(1).Restarted("app", 3, "OOMKilled", 137, 50)
	pending := fixture.Pod(j.J, "b", 0)
	pending.P.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", RestartCount: 2,
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	succeeded := fixture.Pod(j.J, "c", 0).Succeeded(40)
	succeeded.P.Status.ContainerStatuses[0].RestartCount = 5
	unknown := fixture.Pod(j.J, "d", 0).Running(1).Restarted("app", 7, "Error", 2, 30)
	unknown.P.Status.Phase = corev1.PodUnknown
	failed := fixture.Pod(j.J, "e", 0).FailedWith("app", 1, "Error", 20)
	failed.P.Status.ContainerStatuses[0].RestartCount = 4
	noLast := fixture.Pod(j.J, "f", 0).Running(1)
	noLast.P.Status.ContainerStatuses[0].RestartCount = 1 // no lastState recorded

	s := summarize(j, running, pending, succeeded, unknown, failed, noLast)
	if s.Retries != 1+3+2+1 {
		t.Errorf("Retries = %d, want status.failed 1 + restarts 3+2+1", s.Retries)
	}
	if s.RestartPolicy != "OnFailure" {
		t.Errorf("RestartPolicy = %q", s.RestartPolicy)
	}
	checkFailures(t, s,
		PodFailure{Container: "app", Reason: "Error", ExitCode: "1", Count: 1},
		PodFailure{Container: "app", Reason: "OOMKilled", ExitCode: "137", Count: 3},
		PodFailure{Container: "app", Reason: Other, ExitCode: "", Count: 1},
		PodFailure{Container: "init", Reason: "Error", ExitCode: "1", Count: 2})

	// A running pod being deleted still has phase Running: its restarts
	// count, and (without podFailurePolicy) it is also a failed pod.
	j2 := fixture.Job("batch", "of2").OnFailure().Started(0).Status(1, 0, 0, 0)
	s2 := summarize(j2, fixture.Pod(j2.J, "a", 0).Running(1).Restarted("app", 2, "Error", 1, 10).Deleting(60, 30))
	if s2.Retries != 2 || len(s2.Attempts) != 1 || s2.Attempts[0].Reason != PodReasonDeleted {
		t.Errorf("Retries %d Attempts %+v", s2.Retries, s2.Attempts)
	}

	// restartPolicy Never: restart counts are not retries.
	j3 := fixture.Job("batch", "never").Started(0).Status(1, 0, 0, 0)
	if s3 := summarize(j3, fixture.Pod(j3.J, "a", 0).Running(1).Restarted("app", 4, "Error", 1, 10)); s3.Retries != 0 || len(s3.PodFailures) != 0 {
		t.Errorf("Never: Retries %d PodFailures %+v", s3.Retries, s3.PodFailures)
	}
}

func TestSummarizeWaiting(t *testing.T) {
	j := fixture.Job("web", "pull").InitContainer("init").Started(0).Status(8, 0, 0, 0)
	initWaiting := fixture.Pod(j.J, "e", 0)
	initWaiting.P.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}}}
	initWaiting.P.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
	crash := fixture.Pod(j.J, "h", 0).Running(1)
	crash.P.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).Waiting("ImagePullBackOff"),
		fixture.Pod(j.J, "b", 0).Waiting("CreateContainerConfigError"),
		fixture.Pod(j.J, "c", 0).Unschedulable(),
		fixture.Pod(j.J, "d", 0).Waiting("ContainerCreating"),
		initWaiting,
		fixture.Pod(j.J, "f", 0).Waiting("ImagePullBackOff"),
		fixture.Pod(j.J, "g", 0).Waiting("SomethingNew"),
		crash,
		fixture.Pod(j.J, "i", 0), // no statuses yet
		fixture.Pod(j.J, "k", 0).Waiting("PodInitializing"), // normal start
	)
	want := []ReasonCount{{"CrashLoopBackOff", 1}, {"CreateContainerConfigError", 1}, {"ErrImagePull", 1}, {"ImagePullBackOff", 2}, {Other, 1}, {"Unschedulable", 1}}
	if !reflect.DeepEqual(s.Waiting, want) {
		t.Errorf("Waiting = %+v\nwant %+v", s.Waiting, want)
	}
	if s.Retries != 0 || len(s.Attempts) != 0 || len(s.PodFailures) != 0 {
		t.Errorf("waiting counted as failure: Retries %d Attempts %+v", s.Retries, s.Attempts)
	}
}

func TestSummarizePodLevelFailures(t *testing.T) {
	j := fixture.Job("batch", "pl").Started(0).Status(0, 0, 0, 5)
	deadline := fixture.Pod(j.J, "e", 0).FailedWith("app", 137, "Error", 50)
	deadline.P.Status.Reason = "DeadlineExceeded"
	s := summarize(j,
		fixture.Pod(j.J, "a", 0).Evicted(10),
		fixture.Pod(j.J, "b", 0).Disrupted("PreemptionByScheduler", 20), // exit 137 is a consequence
		fixture.Pod(j.J, "c", 0).Running(1).Deleting(70, 30),            // deleted before a terminal phase
		fixture.Pod(j.J, "d", 0).Disrupted("DeletionByTaintManager", 30),
		deadline)
	checkFailures(t, s,
		PodFailure{Reason: PodReasonDeadline, Count: 1},
		PodFailure{Reason: PodReasonDeleted, Count: 1},
		PodFailure{Reason: PodReasonDisrupted, Count: 1},
		PodFailure{Reason: PodReasonEvicted, Count: 1},
		PodFailure{Reason: PodReasonPreempted, Count: 1})
	byPod := map[string]Attempt{}
	for _, a := range s.Attempts {
		byPod[a.Pod] = a
		if a.HasExit || a.Container != "" {
			t.Errorf("pod-level attempt %+v blames a container", a)
		}
	}
	if a := byPod["pl-a"]; a.Reason != PodReasonEvicted || a.Cause.Kind != "Evicted" || !a.FinishedAt.Equal(at(10)) {
		t.Errorf("evicted attempt %+v", a)
	}
	// Running pod, Ready=True: finish time is deletion minus grace.
	if a := byPod["pl-c"]; a.Reason != PodReasonDeleted || a.Cause.Kind != "Disrupted" || !a.FinishedAt.Equal(at(40)) {
		t.Errorf("deleted attempt %+v", a)
	}

	// With podFailurePolicy (podReplacementPolicy Failed) a deleting pod
	// is not failed until it reaches phase Failed.
	jp := fixture.Job("batch", "plp").IgnoreDisruptions().Started(0).Status(1, 0, 0, 0)
	sp := summarize(jp, fixture.Pod(jp.J, "a", 0).Running(1).Deleting(70, 30))
	if len(sp.Attempts) != 0 || len(sp.PodFailures) != 0 || len(sp.Waiting) != 0 || sp.FailuresSinceSuccess != 0 {
		t.Errorf("deleting pod with podFailurePolicy counted: %+v", sp)
	}
}

func TestSummarizeInitContainerBlamed(t *testing.T) {
	j := fixture.Job("batch", "init").InitContainer("migrate").Started(0).Status(0, 0, 0, 1)
	s := summarize(j, fixture.Pod(j.J, "a", 0).InitFailed("migrate", 1, "Error", 8))
	checkFailures(t, s, PodFailure{Container: "migrate", Reason: "Error", ExitCode: "1", Count: 1})
	if a := s.Attempts[0]; !a.Init || a.Container != "migrate" || !a.FinishedAt.Equal(at(8)) {
		t.Errorf("Attempt = %+v", a)
	}

	// A sidecar (restartPolicy Always) killed after the main container
	// failed is a consequence: the main container is blamed.
	js := fixture.Job("batch", "sidecar").Started(0).Status(0, 0, 0, 1)
	js.J.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	p := fixture.Pod(js.J, "a", 0).FailedWith("app", 3, "Error", 30)
	p.P.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("proxy", 143, 31)}
	ss := summarize(js, p)
	checkFailures(t, ss, PodFailure{Container: "app", Reason: "Error", ExitCode: "3", Count: 1})
	if !ss.Attempts[0].FinishedAt.Equal(at(31)) {
		t.Errorf("FinishedAt = %v, want the sidecar's 31s", ss.Attempts[0].FinishedAt)
	}
	// Only the sidecar failed: it is blamed.
	p2 := fixture.Pod(js.J, "b", 0).FailedWith("app", 0, "Completed", 30)
	p2.P.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedAt("proxy", 137, 31)}
	if s2 := summarize(js, p2); s2.Attempts[0].Container != "proxy" || !s2.Attempts[0].Init {
		t.Errorf("Attempt = %+v", s2.Attempts[0])
	}
}

func TestSummarizeTerminalConditions(t *testing.T) {
	cond := func(typ batchv1.JobConditionType, status corev1.ConditionStatus, reason string, s int) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: fixture.At(s)}
	}
	tests := []struct {
		name                       string
		conds                      []batchv1.JobCondition
		completion                 *metav1.Time
		failed, complete, finished bool
		reason                     string
		when                       time.Time
	}{
		{"none", nil, nil, false, false, false, "", time.Time{}},
		{"FailureTarget only", []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", 30)}, nil, true, false, true, "BackoffLimitExceeded", at(30)},
		{"Failed wins over FailureTarget", []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", 30), cond(batchv1.JobFailed, corev1.ConditionTrue, "DeadlineExceeded", 31)}, nil, true, false, true, "DeadlineExceeded", at(31)},
		{"unknown failed reason", []batchv1.JobCondition{cond(batchv1.JobFailed, corev1.ConditionTrue, "Mystery", 5)}, nil, true, false, true, Other, at(5)},
		{"Failed False ignored", []batchv1.JobCondition{cond(batchv1.JobFailed, corev1.ConditionFalse, "BackoffLimitExceeded", 5)}, nil, false, false, false, "", time.Time{}},
		{"SuccessCriteriaMet only", []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "SuccessPolicy", 40)}, nil, false, true, true, "", at(40)},
		{"Complete with completionTime", []batchv1.JobCondition{cond(batchv1.JobComplete, corev1.ConditionTrue, "", 41)}, ptr.To(fixture.At(39)), false, true, true, "", at(39)},
		{"Suspended is not terminal", []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", 3)}, nil, false, false, false, "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := fixture.Job("b", "t").Started(0)
			j.J.Status.Conditions, j.J.Status.CompletionTime = tt.conds, tt.completion
			s := summarize(j)
			if s.Failed != tt.failed || s.Complete != tt.complete || s.Finished != tt.finished || s.FailedReason != tt.reason {
				t.Errorf("Failed %v Complete %v Finished %v FailedReason %q", s.Failed, s.Complete, s.Finished, s.FailedReason)
			}
			when := s.FailedAt
			if tt.complete {
				when = s.CompletedAt
			}
			checkTime(t, "terminal time", when, tt.when)
		})
	}
}

func TestSummarizeOwnership(t *testing.T) {
	j := fixture.Job("batch", "own").Started(0).Status(0, 0, 0, 1)
	other := fixture.Job("batch", "own").J // same name, new UID
	other.UID = "uid-recreated"
	mine := fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", 5)
	theirs := fixture.Pod(other, "b", 0).FailedWith("app", 2, "Error", 6)
	orphan := fixture.Pod(j.J, "c", 0).FailedWith("app", 3, "Error", 7)
	orphan.P.OwnerReferences = nil
	notController := fixture.Pod(j.J, "d", 0).FailedWith("app", 4, "Error", 8)
	notController.P.OwnerReferences[0].Controller = nil
	s := summarize(j, mine, theirs, orphan, notController)
	checkFailures(t, s, PodFailure{Container: "app", Reason: "Error", ExitCode: "1", Count: 1})
	if len(s.Attempts) != 1 || s.Attempts[0].Pod != "own-a" {
		t.Errorf("Attempts = %+v", s.Attempts)
	}
}

func TestSummarizeCronJobOwner(t *testing.T) {
	j := fixture.Job("batch", "nightly-1").OwnedByCronJob("nightly")
	if s := summarize(j); s.OwnerKind != "CronJob" || s.OwnerName != "nightly" {
		t.Errorf("owner %s/%s", s.OwnerKind, s.OwnerName)
	}
	// Only the controller reference counts.
	j.J.OwnerReferences = append([]metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "decoy", UID: "d"}}, j.J.OwnerReferences...)
	if s := summarize(j); s.OwnerKind != "CronJob" || s.OwnerName != "nightly" {
		t.Errorf("owner %s/%s, want the controller reference", s.OwnerKind, s.OwnerName)
	}
	j.J.OwnerReferences[1].Controller = ptr.To(false)
	if s := summarize(j); s.OwnerKind != "" || s.OwnerName != "" {
		t.Errorf("owner %s/%s without a controller reference", s.OwnerKind, s.OwnerName)
	}
}

func TestSummarizeNilAndEmpty(t *testing.T) {
	if s := Summarize(nil, nil, nil, Options{}); !reflect.DeepEqual(s, Summary{}) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
	empty := &batchv1.Job{}
	Summarize(empty, []*corev1.Pod{nil, {}}, nil, Options{})

	j := fixture.Job("b", "bare").Started(0).Status(0, 0, 0, 1)
	j.J.Spec.BackoffLimit, j.J.Spec.Completions, j.J.Spec.Parallelism, j.J.Spec.CompletionMode = nil, nil, nil, nil
	j.J.Spec.Template.Spec.Containers = nil
	j.J.Status.Ready, j.J.Status.Terminating = nil, nil
	bare := func(phase corev1.PodPhase) *corev1.Pod {
		p := fixture.Pod(j.J, string(phase), 0).P
		p.Status = corev1.PodStatus{Phase: phase}
		return p
	}
	ps := []*corev1.Pod{nil, bare(corev1.PodFailed), bare(corev1.PodRunning), bare(""), bare(corev1.PodSucceeded), nil}
	s := Summarize(j.J, ps, nil, Options{Backoff: DefaultBackoff})
	if s.BackoffLimit != nil || s.CompletionMode != "NonIndexed" || s.Retries != 1 || len(s.Attempts) != 1 {
		t.Errorf("summary = %+v", s)
	}
	if a := s.Attempts[0]; a.Reason != Other || a.HasExit || a.Cause.Kind != "Unknown" || !a.FinishedAt.Equal(at(0)) {
		t.Errorf("attempt without statuses = %+v", a)
	}

	// Indexed with nil completions: counts without an upper bound.
	ji := fixture.Job("b", "ix").Indexes("0-3", "5")
	ji.J.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	ji.J.Spec.Completions = nil
	if s := summarize(ji); s.CompletedIndexes != 4 || s.FailedIndexes != 1 {
		t.Errorf("CompletedIndexes %d FailedIndexes %d", s.CompletedIndexes, s.FailedIndexes)
	}

	// OnFailure with OnExitCodes policy over pods with nil states.
	jo := fixture.Job("b", "of").OnFailure().FailJobOnExitCodes(1).IgnoreDisruptions()
	po := fixture.Pod(jo.J, "a", 0).P
	po.Status.Phase = corev1.PodFailed
	po.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app"}}
	po.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "x", RestartCount: -3}}
	Summarize(jo.J, []*corev1.Pod{po}, nil, Options{})
}
