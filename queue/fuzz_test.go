package queue

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/kueue"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// source hands out fuzzed bytes; zero once they run out.
type source struct{ b []byte }

func (s *source) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *source) pick(from []string) string { return from[int(s.byte())%len(from)] }

// checkKept fails unless v is valid UTF-8 within limit bytes, and equal to
// in when in already was.
func checkKept(t *testing.T, what, in, v string, limit int) {
	t.Helper()
	if len(v) > limit || !utf8.ValidString(v) {
		t.Fatalf("%s kept as %d bytes (bound %d), valid UTF-8 %v: %.80q", what, len(v), limit, utf8.ValidString(v), v)
	}
	if len(in) <= limit && utf8.ValidString(in) && v != in {
		t.Fatalf("%s %.80q within its bound kept as %.80q", what, in, v)
	}
}

// FuzzWorkloadRecord: a Workload with arbitrary strings in every field
// the exporter reads (owner reference, queue names, conditions of any
// type, status, reason and message) never makes RecordWorkload or StateOf
// panic; every string kept is within its bound and valid, a name or
// reference kept only when valid, a cause and an eviction reason always
// one of their bounded sets.
func FuzzWorkloadRecord(f *testing.F) {
	f.Add("train", "0c4a3b0e-8f4e-4d5b-9a51-5d6c2b7e9f10", "gpu", "team-a", "Pending",
		"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed", []byte{0, 0, 1, 2, 3, 4, 5})
	f.Add("x; rm -rf /", "../uid", "GPU", strings.Repeat("q", 300), strings.Repeat("R", 2000),
		"é"+strings.Repeat("m", 5000)+"\xff", []byte{7, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Add("train", "u-1", "gpu", "cq", "Inadmissible", "LocalQueue gpu doesn't exist", []byte{255, 3, 0, 3, 1, 2})
	f.Fuzz(func(t *testing.T, owner, uid, queue, clusterQueue, reason, message string, data []byte) {
		s := &source{data}
		strs := []string{owner, uid, queue, clusterQueue, reason, message, ""}
		w := &kube.Workload{ObjectMeta: metav1.ObjectMeta{
			Namespace: "team-a", Name: "job-train-5c8a1", UID: "0c4a3b0e-8f4e-4d5b-9a51-000000000001",
			CreationTimestamp: fixture.At(int(s.byte())),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: s.pick([]string{"batch/v1", reason}), Kind: s.pick([]string{"Job", reason}),
				Name: owner, UID: types.UID(uid), Controller: ptr.To(s.byte()%4 != 0),
			}},
		}, Spec: kube.WorkloadSpec{QueueName: queue}}
		if b := s.byte(); b%3 != 0 {
			w.Spec.Active = ptr.To(b%3 == 1)
		}
		if s.byte()%2 == 0 {
			w.Status.Admission = &kube.WorkloadAdmission{ClusterQueue: clusterQueue}
		}
		if b := s.byte(); b%2 == 0 {
			n := int32(b)
			w.Status.RequeueState = &kube.RequeueState{Count: &n}
		}
		if b := s.byte(); b%2 == 0 {
			w.Status.SchedulingStats = &kube.SchedulingStats{}
			for range b % 5 {
				// Counts anywhere in int32, a forged status's included.
				n := int32(uint32(s.byte())<<24 | uint32(s.byte()))
				w.Status.SchedulingStats.Evictions = append(w.Status.SchedulingStats.Evictions,
					kube.SchedulingStatsEviction{Reason: s.pick(strs), Count: n})
			}
		}
		condTypes := []string{"QuotaReserved", "Admitted", "Evicted", "Preempted", "Finished", "PodsReady", reason}
		statuses := []string{"True", "False", "Unknown", reason}
		for range s.byte() % 8 {
			w.Status.Conditions = append(w.Status.Conditions, metav1.Condition{
				Type: s.pick(condTypes), Status: metav1.ConditionStatus(s.pick(statuses)),
				Reason: s.pick(strs), Message: s.pick(strs), LastTransitionTime: fixture.At(int(s.byte())),
			})
		}
		r := record(w)
		if r.Evictions < 0 {
			t.Fatalf("%d evictions", r.Evictions)
		}

		ref := w.OwnerReferences[0]
		validJob := *ref.Controller && ref.APIVersion == "batch/v1" && ref.Kind == "Job" && job.ValidName(owner) && job.ValidUID(ref.UID)
		if (r.JobName != "") != validJob || (validJob && (r.JobName != owner || r.JobUID != ref.UID)) {
			t.Fatalf("owner reference %+v kept as %q %q", ref, r.JobName, r.JobUID)
		}
		checkQueueName(t, "queue name", queue, r.QueueName)
		if w.Status.Admission != nil {
			checkQueueName(t, "ClusterQueue", clusterQueue, r.ClusterQueue)
		} else if r.ClusterQueue != "" {
			t.Fatalf("ClusterQueue %q kept without an admission", r.ClusterQueue)
		}
		for typ, c := range map[string]Condition{"QuotaReserved": r.QuotaReserved, "Admitted": r.Admitted, "Evicted": r.Evicted, "Preempted": r.Preempted, "Finished": r.Finished} {
			i := slices.IndexFunc(w.Status.Conditions, func(c metav1.Condition) bool { return c.Type == typ })
			if (i >= 0) != c.Present {
				t.Fatalf("%s present %v in the record, %v in the Workload", typ, c.Present, i >= 0)
			}
			if i < 0 {
				continue
			}
			in := w.Status.Conditions[i]
			checkKept(t, typ+" reason", in.Reason, c.Reason, job.MaxReasonLength)
			if typ == "QuotaReserved" || typ == "Evicted" {
				checkKept(t, typ+" message", in.Message, c.Message, job.MaxQueueMessage)
			} else if c.Message != "" {
				t.Fatalf("%s message kept", typ)
			}
			if c.True != (in.Status == metav1.ConditionTrue) {
				t.Fatalf("%s status %q kept as true %v", typ, in.Status, c.True)
			}
		}
		i := slices.IndexFunc(w.Status.Conditions, func(c metav1.Condition) bool { return c.Type == "QuotaReserved" })
		if quotaFalse := i >= 0 && w.Status.Conditions[i].Status == metav1.ConditionFalse; quotaFalse != (r.QuotaCause != "") ||
			r.QuotaCause != "" && !slices.Contains(job.QueueCauses, r.QuotaCause) {
			t.Fatalf("QuotaReserved false %v, cause %q", quotaFalse, r.QuotaCause)
		}

		j := queuedJob(owner, queue)
		j.UID = ref.UID
		if s.byte()%2 == 0 {
			j.Spec.Suspend = ptr.To(false)
		}
		q := StateOf(job.NewJobRecord(j), []*WorkloadRecord{r}, nil, now)
		if job.QueueNameOf(j.Labels) == "" {
			if q != nil {
				t.Fatalf("a Job without a valid queue label has a Queue: %+v", q)
			}
			return
		}
		switch q.State {
		case job.QueueWaiting:
			if !slices.Contains(job.QueueCauses, q.Cause) {
				t.Fatalf("waiting with cause %q", q.Cause)
			}
		case job.QueueAdmittedSuspended, job.QueueRunning, job.QueueDeactivated:
			if q.Cause != "" {
				t.Fatalf("%s with cause %q", q.State, q.Cause)
			}
		default:
			t.Fatalf("state %q", q.State)
		}
		if q.Since.After(now) {
			t.Fatalf("since %v, after now", q.Since)
		}
		if q.Message != "" && q.Message != r.QuotaReserved.Message && q.Message != r.Evicted.Message {
			t.Fatalf("message %.80q is none of the Workload's", q.Message)
		}
		checkKept(t, "message", q.Message, q.Message, job.MaxQueueMessage)
		if e := q.LastEviction; e.Reason != "" && !slices.Contains(job.QueueEvictionReasons, e.Reason) {
			t.Fatalf("eviction reason %q", e.Reason)
		}
		if _, ok := EvictionOf(r, r); ok {
			t.Fatal("the same record counted as an eviction")
		}
	})
}

// checkQueueName fails unless a kept queue name is the value given, valid,
// or "" for an invalid one.
func checkQueueName(t *testing.T, what, in, kept string) {
	t.Helper()
	if want := map[bool]string{true: in, false: ""}[job.ValidName(in)]; kept != want {
		t.Fatalf("%s %.80q kept as %.80q, want %.80q", what, in, kept, want)
	}
}

// FuzzEvictionOf: a Workload goes through any sequence of what Kueue does
// to it (admission, evictions of every reason, preemptions, deletion and
// creation again under its name, other updates, seconds passing or not),
// and the watch delivers the states in order, each possibly again (a
// re-list) or not at all (missed while the watch was away), or after a
// restart (first seen). Each eviction — an Evicted condition turning
// true — is counted at most once; when the watch saw the state just
// before it, it is counted if the Workload was admitted then and not
// if it was not (a pending Workload deactivated, an admission check's
// retry on reserved quota); every reason counted is one of
// job.QueueEvictionReasons.
func FuzzEvictionOf(f *testing.F) {
	f.Add([]byte{5, 2, 1, 1, 0, 1, 1, 1}) // an update, then an eviction delivered twice
	f.Add([]byte{0, 0, 1, 2, 0, 3, 0, 0, 1, 5, 0})
	f.Add([]byte{0, 0, 2, 1, 0, 1, 0, 2, 1, 0, 4, 1, 0, 2, 3})
	f.Add([]byte{0, 1, 0, 0, 1, 0, 0, 1, 0, 3, 1, 0, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &source{data}
		reasons := []string{"PodsReadyTimeout", "AdmissionCheck", "ClusterQueueStopped", "LocalQueueStopped", "NodeFailures",
			"Deactivated", "DeactivatedDueToMaximumExecutionTimeExceeded", "EvictedOnManagerCluster"}
		preemptions := []string{"InClusterQueue", "InCohortReclamation", "InCohortFairSharing", "InCohortReclaimWhileBorrowing", "InCohort"}
		jb := queuedJob("train", "gpu")
		w := kueue.Workload(jb, 0)
		sec, uids, eviction := 0, 0, 0 // eviction: the id of the Workload's current eviction, 0 for none
		counted := map[int]int{}
		admittedEviction := map[int]bool{} // an eviction of an admitted Workload
		missed := false                    // a state since the one seen was not delivered
		var seen *WorkloadRecord           // what the watch delivered last
		seenEviction := 0
		for step := 0; len(s.b) > 0 && step < 200; step++ {
			wasEvicted := apimeta.IsStatusConditionTrue(w.W.Status.Conditions, "Evicted")
			wasAdmitted := apimeta.IsStatusConditionTrue(w.W.Status.Conditions, "Admitted")
			switch s.byte() % 7 {
			case 0:
				w.Admit("team-a", sec)
			case 1:
				w.Evict(s.pick(reasons), fmt.Sprintf("evicted %d", step), sec)
			case 2:
				w.Preempt(s.pick(preemptions), sec)
			case 3:
				sec += int(s.byte() % 3) // 0: the next change within the same second
			case 4:
				uids++
				w = kueue.Workload(jb, sec)
				w.W.UID = types.UID(fmt.Sprintf("0c4a3b0e-8f4e-4d5b-9a51-%012d", 1000000+uids))
			case 5:
				w.W.ResourceVersion += "1"
			case 6:
				w.ChecksPending("team-a", sec)
			}
			switch evicted := apimeta.IsStatusConditionTrue(w.W.Status.Conditions, "Evicted"); {
			case !evicted:
				eviction = 0
			case !wasEvicted || eviction == 0:
				eviction = step + 1 // Kueue's SetStatusCondition keeps the first eviction's time while it stays true
				admittedEviction[eviction] = wasAdmitted
			}
			cur, curEviction := record(w.W), eviction
			n := deliveries(s.byte())
			if n == 0 {
				missed = true
			}
			for range n {
				old := seen
				if s.byte()%16 == 0 {
					old = nil // the exporter restarted: the Workload is first seen
				}
				e, ok := EvictionOf(old, cur)
				if ok {
					counted[curEviction]++
					if curEviction == 0 || counted[curEviction] > 1 {
						t.Fatalf("step %d: eviction %d counted %d times (%+v)", step, curEviction, counted[curEviction], e)
					}
					if !slices.Contains(job.QueueEvictionReasons, e.Reason) {
						t.Fatalf("reason %q", e.Reason)
					}
					if old != nil && !missed && !admittedEviction[curEviction] {
						t.Fatalf("step %d: eviction %d of a Workload not admitted counted", step, curEviction)
					}
				} else if old != nil && !missed && curEviction != 0 && old.UID == cur.UID && seenEviction == 0 && admittedEviction[curEviction] {
					t.Fatalf("step %d: eviction %d of an admitted Workload seen turn true, not counted", step, curEviction)
				}
				seen, seenEviction, missed = cur, curEviction, false
			}
		}
	})
}

// deliveries is how many times the watch delivers a state: most once,
// some not at all (missed), some twice (a re-list).
func deliveries(b byte) int {
	switch b % 8 {
	case 0:
		return 0
	case 1:
		return 2
	}
	return 1
}
