package harness

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTTLAfterFinished runs the real TTL-after-finished controller
// (Options.TTLAfterFinished) with the real garbage collector (the pod
// driver's own orphan collection off, so the collector does it): a Job
// with ttlSecondsAfterFinished 0 that succeeds, and one that fails, are
// deleted by foreground propagation (a deletionTimestamp and the
// foregroundDeletion finalizer first, then gone) and their pods with
// them; a finished Job without a TTL stays.
func TestTTLAfterFinished(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Options{TTLAfterFinished: true}); err == nil {
		t.Fatal("Start with TTLAfterFinished and no GarbageCollector: no error")
	}
	steps := newStepTimer(t)
	c, err := Start(ctx, Options{GarbageCollector: true, TTLAfterFinished: true,
		PodDriver: DriverOptions{NoOrphanGC: true}, Progress: steps.progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	t.Logf("control plane up in %s (TTL-after-finished controller: %s)", steps.done().Round(time.Millisecond),
		steps.step("starting the TTL-after-finished controller").Round(time.Millisecond))
	client := c.Client()
	ns := "ttl"
	createNamespace(t, ctx, client, ns)

	// Every change of the namespace's Jobs, as a watch (the exporter's
	// view) delivers them.
	jw, err := WatchJobs(ctx, client, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer jw.Stop()

	created := map[string]*batchv1.Job{}
	for _, j := range []*batchv1.Job{
		ttlJob(OutcomeJob(ns, "succeeds", "succeed"), 0),
		ttlJob(OutcomeJob(ns, "fails", "exit=1"), 0),
		OutcomeJob(ns, "stays", "succeed"),
	} {
		j.Spec.BackoffLimit = ptr(int32(0))
		if created[j.Name], err = client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]batchv1.JobConditionType{"succeeds": batchv1.JobComplete, "fails": batchv1.JobFailed} {
		s, err := jw.WaitDeleted(ctx, created[name].UID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case Condition(s.Last, want) == nil:
			t.Errorf("%s: deleted without %s: %s", name, want, JobStatus(s.Last))
		case s.Finished.IsZero() || s.Deleting.IsZero() || !s.Foreground:
			t.Errorf("%s: the watch did not show it finish, then a foreground deletion (a deletionTimestamp and the %s finalizer): %+v",
				name, metav1.FinalizerDeleteDependents, s)
		default:
			t.Logf("%s: deletion began %s after the watch showed it %s, gone %s later", name,
				s.Deleting.Sub(s.Finished).Round(time.Millisecond), want, s.Deleted.Sub(s.Deleting).Round(time.Millisecond))
		}
		if _, err := client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: get after its deletion: %v, want NotFound", name, err)
		}
		// Foreground: the collector removed the pods before the Job.
		if pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name}); err != nil {
			t.Fatal(err)
		} else if len(pods.Items) != 0 {
			t.Errorf("%s: %d pods left after the Job's foreground deletion", name, len(pods.Items))
		}
	}
	if _, err := WaitRunFinished(ctx, client, ns, "stays", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if s, _ := jw.Job(created["stays"].UID); !s.Deleting.IsZero() {
		t.Errorf("the Job without ttlSecondsAfterFinished was deleted: %+v", s)
	}
	if pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=stays"}); err != nil {
		t.Fatal(err)
	} else if len(pods.Items) != 1 {
		t.Errorf("stays has %d pods, want 1", len(pods.Items))
	}
}

func ttlJob(j *batchv1.Job, seconds int32) *batchv1.Job {
	j.Spec.TTLSecondsAfterFinished = &seconds
	return j
}
