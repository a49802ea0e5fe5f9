package job

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// refCountIndexes is parseIndexesFromString (indexed_job_utils.go) ported
// line by line (strings.Split, strconv.Atoi, break at completions), then
// the union of the intervals it keeps; reversed intervals are dropped.
func refCountIndexes(list string, completions int) int64 {
	if list == "" {
		return 0
	}
	type iv struct{ first, last int }
	var ivs []iv
	for _, s := range strings.Split(list, ",") {
		limits := strings.Split(s, "-")
		first, err := strconv.Atoi(limits[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(limits) > 1 {
			if last, err = strconv.Atoi(limits[1]); err != nil {
				continue
			}
			if last >= completions {
				last = completions - 1
			}
		}
		if last >= first {
			ivs = append(ivs, iv{first, last})
		}
	}
	sort.Slice(ivs, func(a, b int) bool { return ivs[a].first < ivs[b].first })
	var total int64
	covered := -1
	for _, v := range ivs {
		if v.last <= covered {
			continue
		}
		total += int64(v.last - max(v.first, covered+1) + 1)
		covered = v.last
	}
	return total
}

func FuzzCountIndexes(f *testing.F) {
	for _, s := range []string{"", "0", "1,3-5,7", "1-3,2-4", "5,1", "3-1", "a", "-1", "0-4294967295", " 1", "+1", "1-3-9", ",,", "1,1,1", "2147483646", "99999999999999999999", "0-\xff"} {
		for _, c := range []int32{0, 1, 5, 10, math.MaxInt32, -1} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, list string, completions int32) {
		got := CountIndexes(list, completions)
		if got < 0 {
			t.Fatalf("CountIndexes(%q, %d) = %d < 0", list, completions, got)
		}
		bound := int64(math.MaxInt32)
		if completions > 0 {
			bound = int64(completions)
		}
		if got > bound {
			t.Fatalf("CountIndexes(%q, %d) = %d > %d", list, completions, got, bound)
		}
		if want := refCountIndexes(list, int(bound)); got != want {
			t.Fatalf("CountIndexes(%q, %d) = %d, controller port gives %d", list, completions, got, want)
		}
	})
}

var causeKinds = []string{"OOMKilled", "CommandNotFound", "NotExecutable", "Killed", "Terminated", "Error", "ImagePull", "Config", "Unschedulable", "NotStarting", "Evicted", "Deadline", "Disrupted", "Unknown"}

func checkLabel(t *testing.T, what, v string, allowed []string) {
	t.Helper()
	if !utf8.ValidString(v) || !slices.Contains(allowed, v) {
		t.Fatalf("%s = %q, not in %q", what, v, allowed)
	}
}

func FuzzClassify(f *testing.F) {
	for _, r := range slices.Concat(FailedReasons, ContainerReasons, WaitingReasons, PodReasons) {
		f.Add(r, int32(1))
	}
	f.Add("", int32(0))
	f.Add("ContainerCreating", int32(137))
	f.Add("OutOf\xff", int32(-1))
	f.Add("\xc3\x28", int32(256))
	f.Add("Terminated", int32(math.MaxInt32))
	f.Fuzz(func(t *testing.T, reason string, code int32) {
		checkLabel(t, "FailedReason", FailedReason(reason), FailedReasons)
		checkLabel(t, "ContainerReason", ContainerReason(reason), ContainerReasons)
		if w, ok := WaitingReason(reason); ok {
			checkLabel(t, "WaitingReason", w, WaitingReasons)
		} else if w != "" {
			t.Fatalf("WaitingReason(%q) = %q, false", reason, w)
		}
		ec := ExitCode(code)
		if !utf8.ValidString(ec) || (ec != Other && (code < 0 || code > 255 || ec != strconv.Itoa(int(code)))) {
			t.Fatalf("ExitCode(%d) = %q", code, ec)
		}
		for _, deleted := range []bool{false, true} {
			checkLabel(t, "podReason", podReason(reason, reason, deleted), PodReasons)
			checkLabel(t, "podReason", podReason(reason, "", deleted), PodReasons)
		}
		checkLabel(t, "ExplainExit.Kind", ExplainExit(code, reason).Kind, causeKinds)
		checkLabel(t, "ExplainPodReason.Kind", ExplainPodReason(reason).Kind, causeKinds)
		checkLabel(t, "ExplainWaiting.Kind", ExplainWaiting(reason).Kind, causeKinds)
	})
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
		if s.CompletedIndexes < 0 || s.FailedIndexes < 0 {
			t.Fatalf("CompletedIndexes %d FailedIndexes %d", s.CompletedIndexes, s.FailedIndexes)
		}
		if !s.Finished && !s.Suspended && s.BackoffDelay > 0 && !s.LastFailure.IsZero() && !s.NextRetry.Equal(s.LastFailure.Add(s.BackoffDelay)) {
			t.Fatalf("NextRetry %v, LastFailure %v + %v", s.NextRetry, s.LastFailure, s.BackoffDelay)
		}
		checkSummarizeLeavesInput(t, j, pods)
	})
}
