package job

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
)

func TestOwnerOf(t *testing.T) {
	gen := func(name, generateName string, labels map[string]string) *fixture.JobBuilder {
		b := fixture.Job("ns", name)
		b.J.GenerateName, b.J.Labels = generateName, labels
		return b
	}
	for _, tc := range []struct {
		name  string
		job   *fixture.JobBuilder
		label string
		want  Owner
	}{
		{"CronJob run", fixture.Job("ns", "nightly-29012345").OwnedByCronJob("nightly"), "", Owner{OwnerKindCronJob, "nightly"}},
		{"CronJob wins over the label", gen("nightly-29012345", "", map[string]string{"app": "x"}).OwnedByCronJob("nightly"), "app", Owner{OwnerKindCronJob, "nightly"}},
		{"plain name", fixture.Job("ns", "migrate"), "", Owner{OwnerKindJob, "migrate"}},
		{"generateName", gen("build-x7k2p", "build-", nil), "", Owner{OwnerKindJob, "build"}},
		{"generateName ending in a dot", gen("etl.v2.abcde", "etl.v2.", nil), "", Owner{OwnerKindJob, "etl.v2"}},
		{"generateName the name does not start with", gen("other", "build-", nil), "", Owner{OwnerKindJob, "other"}},
		{"generateName of separators only", gen("-abcde", "-", nil), "", Owner{OwnerKindJob, "-abcde"}},
		{"label", gen("build-x7k2p", "build-", map[string]string{"app.kubernetes.io/name": "builder"}), "app.kubernetes.io/name", Owner{OwnerKindJob, "builder"}},
		{"label not configured", gen("build-x7k2p", "build-", map[string]string{"app.kubernetes.io/name": "builder"}), "", Owner{OwnerKindJob, "build"}},
		{"label missing", gen("build-x7k2p", "build-", nil), "app.kubernetes.io/name", Owner{OwnerKindJob, "build"}},
		{"label empty", gen("build-x7k2p", "build-", map[string]string{"team": ""}), "team", Owner{OwnerKindJob, "build"}},
		{"forged CronJob owner", func() *fixture.JobBuilder {
			b := fixture.Job("ns", "j").OwnedByCronJob("x")
			b.J.OwnerReferences[0].APIVersion = "evil/v1"
			return b
		}(), "", Owner{OwnerKindJob, "j"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OwnerOf(tc.job.J, tc.label); got != tc.want {
				t.Errorf("OwnerOf = %+v, want %+v", got, tc.want)
			}
			if got := NewJobRecordOwned(tc.job.J, tc.label).Owner; got != tc.want {
				t.Errorf("record's Owner = %+v, want %+v", got, tc.want)
			}
		})
	}
	// A label value the API server would refuse (labels are validated on
	// write; a record may still come from elsewhere) is no owner name.
	if got := groupOf("j", "", strings.Repeat("a", 64), true); got != "j" {
		t.Errorf("a label value over 63 characters became the owner %q", got)
	}
}

func TestFinishOf(t *testing.T) {
	seen := at(1000)
	for _, tc := range []struct {
		name string
		job  *fixture.JobBuilder
		want Finish
		ok   bool
	}{
		{"running", fixture.Job("ns", "j").Started(0), Finish{}, false},
		{"suspended", fixture.Job("ns", "j").Suspend(), Finish{}, false},
		{"failed", fixture.Job("ns", "j").Started(0).Failed("BackoffLimitExceeded", 30),
			Finish{Outcome: OutcomeFailed, Reason: "BackoffLimitExceeded", At: at(30)}, true},
		// The controller writes FailureTarget first and Failed later: the
		// Job is finished from the first, and stays the same outcome.
		{"failure target", fixture.Job("ns", "j").Started(0).FailureTarget("DeadlineExceeded", 20),
			Finish{Outcome: OutcomeFailed, Reason: "DeadlineExceeded", At: at(20)}, true},
		{"unknown reason", fixture.Job("ns", "j").Started(0).Failed("SomethingNew", 30),
			Finish{Outcome: OutcomeFailed, Reason: Other, At: at(30)}, true},
		{"complete", fixture.Job("ns", "j").Started(0).Complete(40),
			Finish{Outcome: OutcomeSucceeded, At: at(40)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FinishOf(NewJobRecord(tc.job.J), seen)
			if ok != tc.ok {
				t.Fatalf("finished = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			tc.want.Namespace, tc.want.Job, tc.want.UID = "ns", "j", tc.job.J.UID
			tc.want.Owner = Owner{OwnerKindJob, "j"}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FinishOf = %+v, want %+v", got, tc.want)
			}
		})
	}
	// A condition without a time finishes when seen.
	j := fixture.Job("ns", "j").Started(0).Failed("BackoffLimitExceeded", 30)
	for i := range j.J.Status.Conditions {
		j.J.Status.Conditions[i].LastTransitionTime.Reset()
	}
	if f, _ := FinishOf(NewJobRecord(j.J), seen); !f.At.Equal(seen) {
		t.Errorf("a failure without a condition time finished at %v, want when seen (%v)", f.At, seen)
	}
}

func TestNewPodFailures(t *testing.T) {
	never := fixture.Job("ns", "j").Started(0)
	rec := func(b *fixture.PodBuilder) *PodRecord { return NewPodRecord(b.P) }
	running := rec(fixture.Pod(never.J, "a", 1).Running(2))
	failed := rec(fixture.Pod(never.J, "a", 1).FailedWith("app", 1, "Error", 9))
	oom := rec(fixture.Pod(never.J, "a", 1).FailedWith("app", 137, "OOMKilled", 9))
	deleting := rec(fixture.Pod(never.J, "a", 1).Running(2).Deleting(8, 30))
	succeeded := rec(fixture.Pod(never.J, "a", 1).Succeeded(9))
	errorOne := []PodFailure{{Container: "app", Reason: "Error", ExitCode: "1", Count: 1}}

	check := func(name string, old, cur *PodRecord, j *JobRecord, want []PodFailure) {
		t.Helper()
		if got := NewPodFailures(old, cur, j); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: NewPodFailures = %+v, want %+v", name, got, want)
		}
	}
	j := NewJobRecord(never.J)
	check("running → failed", running, failed, j, errorOne)
	check("failed → failed (a re-list, a later update)", failed, failed, j, nil)
	check("first seen failed", nil, failed, j, errorOne)
	check("failed → another reason (a forged or late status)", failed, oom, j, nil)
	check("running → succeeded", running, succeeded, j, nil)
	check("running", nil, running, j, nil)
	check("nil pod", running, nil, j, nil)
	check("nil Job", running, failed, nil, nil)
	// A pod deleted before it succeeded is a failure as the controller
	// counts it, while its Job runs; once the Job finished, deleting its
	// pods is clean-up, not a failure.
	if got := NewPodFailures(running, deleting, j); len(got) != 1 || got[0].Count != 1 {
		t.Errorf("a running Job's pod deleted while running: NewPodFailures = %+v, want one failure", got)
	}
	// The pod's deletion arrives while the Job runs (counted), its phase
	// Failed after the Job's watch showed the Job failed: once.
	deletedFailed := rec(fixture.Pod(never.J, "a", 1).FailedWith("app", 137, "Error", 9).Deleting(8, 30))
	failedJob := NewJobRecord(fixture.Job("ns", "j").Started(0).FailureTarget("DeadlineExceeded", 8).J)
	check("deleting → Failed after the Job failed", deleting, deletedFailed, failedJob, nil)
	check("deleting → Failed while the Job runs", deleting, deletedFailed, j, nil)
	done := NewJobRecord(fixture.Job("ns", "j").Started(0).Complete(10).J)
	check("clean-up of a finished Job", running, deleting, done, nil)
	// A pod of an earlier Job of the same name (by UID) is not this Job's.
	other := fixture.Job("ns", "j").Started(0)
	other.J.UID = "another"
	check("another Job's pod", running, failed, NewJobRecord(other.J), nil)

	// restartPolicy OnFailure: each restart is a failure, under the
	// reason of the container's last termination.
	onFailure := fixture.Job("ns", "j").OnFailure().Started(0)
	jo := NewJobRecord(onFailure.J)
	r1 := rec(fixture.Pod(onFailure.J, "a", 1).Running(2).Restarted("app", 1, "Error", 1, 5))
	r3 := rec(fixture.Pod(onFailure.J, "a", 1).Running(2).Restarted("app", 3, "Error", 1, 7))
	r4oom := rec(fixture.Pod(onFailure.J, "a", 1).Running(2).Restarted("app", 4, "OOMKilled", 137, 8))
	check("first restart", rec(fixture.Pod(onFailure.J, "a", 1).Running(2)), r1, jo,
		[]PodFailure{{Container: "app", Reason: "Error", ExitCode: "1", Count: 1}})
	check("two more restarts", r1, r3, jo, []PodFailure{{Container: "app", Reason: "Error", ExitCode: "1", Count: 2}})
	check("a restart of another reason", r3, r4oom, jo, []PodFailure{{Container: "app", Reason: "OOMKilled", ExitCode: "137", Count: 1}})
	check("no new restart", r3, r3, jo, nil)
	check("first seen with restarts", nil, r3, jo, []PodFailure{{Container: "app", Reason: "Error", ExitCode: "1", Count: 3}})
	// Restarts never count for restartPolicy Never (the kubelet does not
	// restart; a forged restart count must not count).
	check("restarts of a Never Job", running, rec(fixture.Pod(never.J, "a", 1).Running(2).Restarted("app", 3, "Error", 1, 7)), j, nil)
}

func TestDepartedOf(t *testing.T) {
	j := fixture.Job("ns", "j").Started(0).Deadline(60)
	pulling := NewPodRecord(fixture.Pod(j.J, "a", 1).Waiting("ImagePullBackOff").P)
	failed := NewPodRecord(fixture.Pod(j.J, "b", 1).FailedWith("app", 127, "Error", 9).P)
	if !pulling.Evidence() || !failed.Evidence() {
		t.Fatal("a pulling and a failed pod must be evidence")
	}
	if NewPodRecord(fixture.Pod(j.J, "c", 1).Running(2).P).Evidence() {
		t.Error("a running pod without restarts is no evidence")
	}
	d := DepartedOf(NewJobRecord(j.J), []*PodRecord{pulling, failed})
	if d.Pods != 2 || len(d.Attempts) != 1 || d.Attempts[0].Pod != "j-b" || d.Attempts[0].ExitCode != 127 {
		t.Errorf("DepartedOf attempts = %+v (pods %d), want the failed pod j-b with exit 127", d.Attempts, d.Pods)
	}
	if !reflect.DeepEqual(d.Waiting, []ReasonCount{{"ImagePullBackOff", 1}}) {
		t.Errorf("DepartedOf waiting = %+v, want ImagePullBackOff", d.Waiting)
	}
	if got := DepartedOf(NewJobRecord(j.J), nil); !reflect.DeepEqual(got, Departed{}) {
		t.Errorf("DepartedOf of nothing = %+v", got)
	}
}
