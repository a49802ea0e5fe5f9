package job

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

// checkSummarizeLeavesInput asserts Summarize does not modify the objects
// it reads (the informers' caches hand out shared objects).
func checkSummarizeLeavesInput(t testing.TB, j *batchv1.Job, ps []*corev1.Pod) {
	t.Helper()
	jBefore := j.DeepCopy()
	var psBefore []*corev1.Pod
	for _, p := range ps {
		psBefore = append(psBefore, p.DeepCopy())
	}
	Summarize(j, ps, nil, Options{Backoff: DefaultBackoff})
	if !reflect.DeepEqual(j, jBefore) || !reflect.DeepEqual(ps, psBefore) {
		t.Errorf("Job %s/%s: Summarize modified its input", j.Namespace, j.Name)
	}
}

func TestSummarizeLeavesFixtureClusterAlone(t *testing.T) {
	var jobs []*batchv1.Job
	var all []*corev1.Pod
	for _, o := range fixture.Cluster() {
		switch o := o.(type) {
		case *batchv1.Job:
			jobs = append(jobs, o)
		case *corev1.Pod:
			all = append(all, o)
		}
	}
	if len(jobs) < 10 || len(all) < 20 {
		t.Fatalf("fixture cluster has %d jobs, %d pods", len(jobs), len(all))
	}
	for _, j := range jobs {
		// Every pod of the cluster: Summarize picks the Job's own.
		checkSummarizeLeavesInput(t, j, all)
	}
}

func TestSummarizeCreateFailures(t *testing.T) {
	j := fixture.Job("quota", "blocked").BackoffLimit(2).Started(0)
	quota := NewEventRecord(fixture.FailedCreate(j.J, "a", `pods "blocked-x" is forbidden: exceeded quota: q`, 5, 90))
	quotaOld := NewEventRecord(fixture.FailedCreate(j.J, "b", `pods "blocked-y" is forbidden: exceeded quota: q`, 2, 40))
	psa := NewEventRecord(fixture.FailedCreate(j.J, "c", `violates PodSecurity "baseline:latest": hostPath volumes`, 1, 60))
	earlier := fixture.Job("quota", "blocked")
	earlier.J.UID = "uid-earlier"
	other := NewEventRecord(fixture.FailedCreate(earlier.J, "d", `Pod "blocked-z" is invalid: x`, 1, 100))
	events := []*EventRecord{quota, quotaOld, psa, other, nil}
	opts := Options{Backoff: DefaultBackoff}

	s := Summarize(j.J, nil, events, opts)
	want := []CreateFailure{{Cause: CreateCauseQuota, Last: at(90), Count: 7}, {Cause: CreateCausePodSecurity, Last: at(60), Count: 1}}
	if !reflect.DeepEqual(s.CreateFailures, want) {
		t.Errorf("CreateFailures = %+v\nwant %+v", s.CreateFailures, want)
	}
	if !s.WithoutPods {
		t.Error("a started Job with no pod is not WithoutPods")
	}

	// A pod created after a failure makes that failure history; in the
	// same second it is history too (event times have seconds only).
	for _, tt := range []struct {
		created int
		want    []string
	}{
		{70, []string{CreateCauseQuota}},
		{90, nil},
		{91, nil},
	} {
		p := fixture.Pod(j.J, "p", tt.created).Running(tt.created + 1)
		s := Summarize(j.J, pods(p), events, opts)
		var got []string
		for _, f := range s.CreateFailures {
			got = append(got, f.Cause)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pod created at %d: causes %v, want %v", tt.created, got, tt.want)
		}
		if s.WithoutPods {
			t.Errorf("pod created at %d: WithoutPods with a pod", tt.created)
		}
	}

	// Finished or suspended Jobs are not stuck, whatever events remain.
	for name, jb := range map[string]*fixture.JobBuilder{
		"failed":    fixture.Job("quota", "blocked").Started(0).Failed("DeadlineExceeded", 100),
		"complete":  fixture.Job("quota", "blocked").Started(0).Status(0, 0, 1, 0).Complete(100),
		"suspended": fixture.Job("quota", "blocked").Suspend(),
	} {
		s := Summarize(jb.J, nil, events, opts)
		if len(s.CreateFailures) != 0 || s.WithoutPods {
			t.Errorf("%s Job: CreateFailures %+v WithoutPods %v", name, s.CreateFailures, s.WithoutPods)
		}
	}
}

func TestSummarizeWithoutPods(t *testing.T) {
	opts := Options{Backoff: DefaultBackoff}
	tests := []struct {
		name string
		job  *fixture.JobBuilder
		want bool
	}{
		{"started, no pod", fixture.Job("ns", "a").Started(0), true},
		{"not started yet (controller has not synced it)", fixture.Job("ns", "b"), false},
		{"parallelism 0: no pods by design", fixture.Job("ns", "c").Started(0), false},
		{"pods counted in the status only", fixture.Job("ns", "d").Started(0).Status(0, 0, 1, 0), false},
		{"terminating pods", fixture.Job("ns", "e").Started(0), false},
		{"a failure not yet counted", fixture.Job("ns", "f").Started(0), false},
	}
	tests[2].job.J.Spec.Parallelism = ptr.To[int32](0)
	tests[4].job.J.Status.Terminating = ptr.To[int32](1)
	tests[5].job.J.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: []types.UID{"x"}}
	for _, tt := range tests {
		if got := Summarize(tt.job.J, nil, nil, opts).WithoutPods; got != tt.want {
			t.Errorf("%s: WithoutPods = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSummarizeStartTimeout: pods in a normal start count as waiting only
// once pending for StartTimeout, with the step they are in, and Recheck
// says when the next one gets there.
func TestSummarizeStartTimeout(t *testing.T) {
	j := fixture.Job("web", "slow").InitContainer("wait").Started(0).Status(5, 0, 0, 0)
	gated := fixture.Pod(j.J, "d", 0)
	gated.P.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
	ps := pods(
		fixture.Pod(j.J, "a", 0).Waiting("ContainerCreating"),
		fixture.Pod(j.J, "b", 103).Initializing(104),
		// Every container of a pod with init containers waits in
		// PodInitializing until they finish; none runs: the containers
		// are not created (a volume that does not mount).
		fixture.Pod(j.J, "h", 200).Waiting("PodInitializing"),
		fixture.Pod(j.J, "c", 0), // no status: no scheduler
		gated,
		fixture.Pod(j.J, "e", 0).Running(10),
		fixture.Pod(j.J, "f", 0).Waiting("ContainerCreating").Deleting(50, 30),
	)
	opts := Options{Backoff: DefaultBackoff, StartTimeout: 5 * time.Minute}

	tests := []struct {
		now     int
		waiting []ReasonCount
		pods    []string
		recheck time.Time
	}{
		// Rechecks are rounded up to 10s: a's 300s stays, b's 403s
		// becomes 410s.
		{now: 299, recheck: at(300)},
		{now: 300, waiting: []ReasonCount{{WaitingContainerCreating, 1}, {WaitingNotScheduled, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-c", "slow-d"}, recheck: at(410)},
		{now: 410, waiting: []ReasonCount{{WaitingContainerCreating, 1}, {WaitingNotScheduled, 1}, {WaitingPodInitializing, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-b", "slow-c", "slow-d"}, recheck: at(500)},
		{now: 500, waiting: []ReasonCount{{WaitingContainerCreating, 2}, {WaitingNotScheduled, 1}, {WaitingPodInitializing, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-b", "slow-c", "slow-d", "slow-h"}},
	}
	for _, tt := range tests {
		opts.Now = at(tt.now)
		s := Summarize(j.J, ps, nil, opts)
		if !reflect.DeepEqual(s.Waiting, tt.waiting) || !reflect.DeepEqual(s.WaitingPods, tt.pods) || !s.Recheck.Equal(tt.recheck) {
			t.Errorf("at %ds: Waiting %+v pods %v recheck %v\nwant %+v %v %v", tt.now, s.Waiting, s.WaitingPods, s.Recheck, tt.waiting, tt.pods, tt.recheck)
		}
	}
	// Without a time (or a timeout) the normal start never counts.
	for _, o := range []Options{{StartTimeout: time.Minute}, {Now: at(1000)}} {
		if s := Summarize(j.J, ps, nil, o); len(s.Waiting) != 0 || !s.Recheck.IsZero() {
			t.Errorf("%+v: Waiting %+v Recheck %v", o, s.Waiting, s.Recheck)
		}
	}
}

func TestWaitingPodsBounded(t *testing.T) {
	j := fixture.Job("web", "many").Started(0).Status(20, 0, 0, 0)
	var bs []*fixture.PodBuilder
	for i := 0; i < 20; i++ {
		bs = append(bs, fixture.Pod(j.J, string(rune('a'+i)), 0).Waiting("ImagePullBackOff"))
	}
	s := summarize(j, bs...)
	if len(s.WaitingPods) != MaxWaitingPods || s.WaitingPods[0] != "many-a" || s.Waiting[0].Count != 20 {
		t.Errorf("WaitingPods %v, Waiting %+v", s.WaitingPods, s.Waiting)
	}
}

func TestDeletedByTTL(t *testing.T) {
	s := Summary{Failed: true, FailedAt: at(100), TTLSecondsAfterFinished: ptr.To[int32](60)}
	if s.DeletedByTTL() {
		t.Error("a Job not deleted was deleted by its TTL")
	}
	for _, tc := range []struct {
		deleted int
		want    bool
	}{{150, false}, {159, true}, {160, true}, {3600, true}} {
		s.Deleted = at(tc.deleted)
		if got := s.DeletedByTTL(); got != tc.want {
			t.Errorf("deleted at %ds (failed at 100s, TTL 60s): DeletedByTTL = %v, want %v", tc.deleted, got, tc.want)
		}
	}
	s.TTLSecondsAfterFinished = nil
	s.Deleted = at(3600)
	if s.DeletedByTTL() {
		t.Error("a Job without a TTL was deleted by its TTL")
	}
	running := Summary{Deleted: at(10), TTLSecondsAfterFinished: ptr.To[int32](0)}
	if running.DeletedByTTL() {
		t.Error("a Job deleted before it finished was deleted by its TTL")
	}
}

// fuzzJob builds a Job and pods from fuzzed bytes: each pod takes 4
// bytes (phase and shape, exit code, flags, index), reasons and
// annotation values come from the fuzzed strings.
func fuzzJob(data []byte, reason, ann string, failed, restarts, exit int32) (*batchv1.Job, []*corev1.Pod) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	mode := next()
	jb := fixture.Job("fz", "job").InitContainer("init").Started(0).Status(1, 0, 0, failed)
	j := jb.J
	j.Spec.Template.Spec.InitContainers = append(j.Spec.Template.Spec.InitContainers, corev1.Container{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
	if mode&1 != 0 {
		jb.Indexed(failed, 4)
		j.Status.CompletedIndexes = ann
		j.Status.FailedIndexes = &reason
	}
	if mode&2 != 0 {
		jb.PerIndex(restarts, exit)
	}
	if mode&4 != 0 {
		jb.OnFailure()
	}
	if mode&8 != 0 {
		jb.FailJobOnExitCodes(exit, 1).IgnoreDisruptions()
		j.Spec.PodFailurePolicy.Rules = append(j.Spec.PodFailurePolicy.Rules, batchv1.PodFailurePolicyRule{
			Action: batchv1.PodFailurePolicyAction(reason), OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOperator(ann), Values: []int32{exit}},
		})
	}
	if mode&16 != 0 {
		j.Spec.BackoffLimit, j.Spec.Completions = nil, nil
	}
	if mode&32 != 0 {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobConditionType(ann), Status: corev1.ConditionTrue, Reason: reason})
	}
	if mode&64 != 0 {
		jb.FailureTarget(reason, int(exit%1000))
	}
	if mode&128 != 0 {
		jb.Suspend().Deadline(int64(restarts))
	}
	j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: make([]types.UID, int(next())%3)}

	var pods []*corev1.Pod
	for i := 0; len(data) > 0 && i < 64; i++ {
		shape, code, flags, index := next(), next(), next(), next()
		ec := int32(code) - 2 // -2..253
		if flags&64 != 0 {
			ec = exit
		}
		pb := fixture.Pod(j, strconv.Itoa(i), int(index))
		switch shape % 8 {
		case 0: // pending, no statuses
		case 1:
			pb.Waiting(reason)
		case 2:
			pb.Unschedulable()
		case 3:
			pb.Running(int(index)).Restarted("app", restarts, reason, ec, int(code))
		case 4:
			pb.Succeeded(int(code))
		case 5:
			pb.FailedWith("app", ec, reason, int(code))
		case 6:
			pb.InitFailed("init", ec, reason, int(code))
		case 7:
			pb.Evicted(int(code))
		}
		p := pb.P
		if flags&1 != 0 {
			pb.Deleting(int(code), int64(restarts))
		}
		if flags&2 != 0 {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason})
		}
		if flags&4 != 0 {
			p.Status.Reason = reason
		}
		if flags&8 != 0 {
			pb.Index(int(index)%5, int(code))
			p.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = ann
		}
		if flags&16 != 0 {
			p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: ann, batchv1.JobIndexFailureCountAnnotation: reason, "junk": ann}
			p.Labels["junk"] = reason
		}
		if flags&32 != 0 {
			p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{
				Name: "proxy", RestartCount: restarts,
				State:                corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: ec, Reason: reason, FinishedAt: metav1.NewTime(fixture.T0.Add(time.Duration(exit) * time.Second))}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: ann}},
			})
		}
		if flags&128 != 0 {
			p.OwnerReferences[0].UID = "someone-else"
		}
		if shape&8 != 0 {
			p.Status.Phase = corev1.PodPhase(ann)
		}
		if shape&32 != 0 {
			// Started, requesting: what its failed runs held counts.
			start := fixture.At(int(index) - 10)
			p.Status.StartTime = &start
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(code)*250, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(int64(flags)<<30, resource.BinarySI),
				"nvidia.com/gpu":      *resource.NewQuantity(int64(index%3), resource.DecimalSI),
			}
		}
		if shape&64 != 0 {
			// Started when the API's times begin, requesting more than
			// any node has: sums far beyond 64 bits.
			start := metav1.NewTime(time.Unix(minAPISeconds, 0).UTC())
			p.Status.StartTime = &start
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
				corev1.ResourceMemory: *resource.NewQuantity(math.MaxInt64, resource.BinarySI),
				"amd.com/gpu":         *resource.NewQuantity(math.MaxInt64, resource.DecimalSI),
			}
		}
		if shape&16 != 0 {
			pods = append(pods, nil)
		}
		pods = append(pods, p)
	}
	return j, pods
}

func FuzzSummarize(f *testing.F) {
	f.Add([]byte{0, 1, 5, 139, 0, 0}, "OOMKilled", "0", int32(3), int32(2), int32(137))
	f.Add([]byte{1, 0, 5, 3, 8, 2, 5, 4, 8, 2, 4, 50, 8, 3}, "Error", "1", int32(5), int32(1), int32(1))
	f.Add([]byte{3, 2, 3, 10, 8, 1, 0, 0, 1, 0, 7, 30, 2, 0}, "PreemptionByScheduler", "-1", int32(-1), int32(-5), int32(-1))
	f.Add([]byte{4, 0, 3, 139, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0}, "\xff\xfe", "hunter2-SECRET", int32(math.MaxInt32), int32(math.MaxInt32), int32(math.MaxInt32))
	f.Add([]byte{2, 1, 5, 3, 24, 7, 6, 130, 40, 9, 13, 20, 1, 4}, "DeadlineExceeded", "2147483647", int32(math.MinInt32), int32(math.MinInt32), int32(math.MinInt32))
	f.Add([]byte{255, 2, 5, 145, 73, 1, 21, 1, 145, 2}, "Count", "NotIn", int32(0), int32(3), int32(42))
	f.Fuzz(func(t *testing.T, data []byte, reason, ann string, failed, restarts, exit int32) {
		j, pods := fuzzJob(data, reason, ann, failed, restarts, exit)
		// FailedCreate events with fuzzed messages and times, one of an
		// earlier Job of the same name; the start timeout judged at a
		// fuzzed time.
		earlier := j.DeepCopy()
		earlier.UID = "uid-earlier"
		events := []*EventRecord{
			NewEventRecord(fixture.FailedCreate(j, "a", reason, restarts, int(exit%100000))),
			NewEventRecord(fixture.FailedCreate(j, "b", ann, failed, int(failed%100000))),
			NewEventRecord(fixture.FailedCreate(earlier, "c", reason, 1, 10)),
		}
		now := fixture.T0.Add(time.Duration(restarts) * time.Second)
		s := Summarize(j, pods, events, Options{Backoff: DefaultBackoff, StartTimeout: time.Minute, Now: now})
		if s.Retries < 0 || s.FailuresSinceSuccess < 0 || s.BackoffDelay < 0 || s.BackoffDelay > DefaultBackoff.Max {
			t.Fatalf("Retries %d FailuresSinceSuccess %d BackoffDelay %v", s.Retries, s.FailuresSinceSuccess, s.BackoffDelay)
		}
		if s.Failed {
			checkLabel(t, "FailedReason", s.FailedReason, FailedReasons)
		}
		exitCodes := []string{"", Other}
		for c := 0; c <= 255; c++ {
			exitCodes = append(exitCodes, strconv.Itoa(c))
		}
		reasons := slices.Concat(ContainerReasons, PodReasons)
		for _, pf := range s.PodFailures {
			checkLabel(t, "PodFailure.Reason", pf.Reason, reasons)
			checkLabel(t, "PodFailure.ExitCode", pf.ExitCode, exitCodes)
			if pf.Count <= 0 {
				t.Fatalf("PodFailure %+v", pf)
			}
		}
		for _, w := range s.Waiting {
			checkLabel(t, "Waiting.Reason", w.Reason, WaitingReasons)
		}
		if len(s.WaitingPods) > MaxWaitingPods {
			t.Fatalf("%d WaitingPods", len(s.WaitingPods))
		}
		if !s.Recheck.IsZero() && !s.Recheck.After(now) {
			t.Fatalf("Recheck %v not after now %v", s.Recheck, now)
		}
		for i, c := range s.CreateFailures {
			checkLabel(t, "CreateFailure.Cause", c.Cause, CreateCauses)
			if s.Finished || s.Suspended || c.Count < 0 || (i > 0 && c.Last.After(s.CreateFailures[i-1].Last)) {
				t.Fatalf("CreateFailures %+v of a Job finished %v suspended %v", s.CreateFailures, s.Finished, s.Suspended)
			}
		}
		if s.WithoutPods && (s.Finished || s.Suspended || s.Pods != (PodCounts{})) {
			t.Fatalf("WithoutPods with %+v, finished %v, suspended %v", s.Pods, s.Finished, s.Suspended)
		}
		actions := []string{"", "Ignore", "FailJob", "FailIndex", "Count"}
		for _, a := range s.Attempts {
			checkLabel(t, "Attempt.Reason", a.Reason, reasons)
			checkLabel(t, "Attempt.PolicyAction", a.PolicyAction, actions)
			checkLabel(t, "Attempt.Cause.Kind", a.Cause.Kind, causeKinds)
		}
		for i, x := range s.IndexFailures {
			if x.Failures <= 0 || x.Index < 0 {
				t.Fatalf("IndexFailures[%d] = %+v", i, x)
			}
			if i > 0 {
				p := s.IndexFailures[i-1]
				if p.Failures < x.Failures || (p.Failures == x.Failures && p.Index >= x.Index) {
					t.Fatalf("IndexFailures not worst first: %+v", s.IndexFailures)
				}
			}
		}
		for i, h := range s.FailedHeld {
			if h.Outcome != OutcomeFailed || !(h.Value > 0) || math.IsInf(h.Value, 0) ||
				i > 0 && h.Resource == s.FailedHeld[i-1].Resource {
				t.Fatalf("FailedHeld %+v", s.FailedHeld)
			}
		}
		if s.CompletedIndexes < 0 || s.FailedIndexes < 0 {
			t.Fatalf("CompletedIndexes %d FailedIndexes %d", s.CompletedIndexes, s.FailedIndexes)
		}
		if !s.Finished && !s.Suspended && s.BackoffDelay > 0 && !s.LastFailure.IsZero() && !s.NextRetry.Equal(s.LastFailure.Add(s.BackoffDelay)) {
			t.Fatalf("NextRetry %v, LastFailure %v + %v", s.NextRetry, s.LastFailure, s.BackoffDelay)
		}
		checkSummarizeLeavesInput(t, j, pods)
	})
}
