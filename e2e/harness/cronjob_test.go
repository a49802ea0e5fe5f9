package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// stepTimer logs each startup step (Options.Progress) with the time the
// previous one took.
type stepTimer struct {
	t     *testing.T
	mu    sync.Mutex
	start time.Time
	last  time.Time
	prev  string
	steps map[string]time.Duration
}

func newStepTimer(t *testing.T) *stepTimer {
	now := time.Now()
	return &stepTimer{t: t, start: now, last: now, steps: map[string]time.Duration{}}
}

func (s *stepTimer) progress(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endStep()
	s.prev = fmt.Sprintf(format, args...)
}

func (s *stepTimer) endStep() {
	now := time.Now()
	if s.prev != "" {
		s.steps[s.prev] = now.Sub(s.last)
		s.t.Logf("startup: %-60s %s", s.prev, now.Sub(s.last).Round(time.Millisecond))
	}
	s.last = now
}

func (s *stepTimer) done() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endStep()
	s.prev = ""
	return time.Since(s.start)
}

func (s *stepTimer) step(prefix string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range s.steps {
		if strings.HasPrefix(k, prefix) {
			return d
		}
	}
	return 0
}

func createNamespace(t *testing.T, ctx context.Context, client kubernetes.Interface, name string) {
	t.Helper()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestCronJobController runs the real CronJob controller, on by default, on
// the real API server: an every-minute CronJob's run completes and the
// CronJob's status records it; a Forbid CronJob whose run hangs skips the
// next minute; without the garbage collector a deleted CronJob leaves its
// Jobs (DeleteCronJobWithRuns removes them); the history limit applies to
// RunOf Jobs of a suspended CronJob. The minute-schedule cases run in
// parallel: about 2 minutes in all.
func TestCronJobController(t *testing.T) {
	if testing.Short() {
		t.Skip("minute schedules: about 2 minutes")
	}
	ctx := context.Background()
	steps := newStepTimer(t)
	c, err := Start(ctx, Options{Progress: steps.progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	t.Logf("control plane up in %s (CronJob controller: %s)", steps.done().Round(time.Millisecond),
		steps.step("starting the CronJob controller").Round(time.Millisecond))
	client := c.Client()

	t.Run("every-minute", func(t *testing.T) {
		t.Parallel()
		ns := "cron-every-minute"
		createNamespace(t, ctx, client, ns)
		created := time.Now()
		if _, err := client.BatchV1().CronJobs(ns).Create(ctx,
			CronJob(ns, "tick", "* * * * *", OutcomeJob(ns, "x", "succeed").Spec), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, runs, err := WaitRuns(ctx, client, ns, "tick", 1, 75*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		run := runs[0]
		sched, ok := ScheduledTime(&run)
		if !ok {
			t.Fatalf("run %s has no %s annotation: %v", run.Name, batchv1.CronJobScheduledTimestampAnnotation, run.Annotations)
		}
		t.Logf("run %s scheduled %s, created %s after the CronJob (%s after its scheduled time)", run.Name,
			sched.UTC().Format(time.TimeOnly), run.CreationTimestamp.Sub(created).Round(time.Second),
			run.CreationTimestamp.Sub(sched))
		if sched.Second() != 0 || sched.Before(created.Truncate(time.Second)) {
			t.Errorf("scheduled time %s: want the first minute boundary after the CronJob's creation %s", sched, created)
		}
		done, err := WaitRunFinished(ctx, client, ns, run.Name, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !isComplete(done) || done.Status.CompletionTime == nil {
			t.Fatalf("run %s finished without completing: %+v", run.Name, done.Status)
		}
		err = Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
			cj, err := client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			st := cj.Status
			// The controller writes the status just after creating the run.
			if st.LastScheduleTime == nil {
				return false, "status.lastScheduleTime unset", nil
			}
			// A second run may have started meanwhile (a slow machine): its
			// time is the next minute.
			if lst := st.LastScheduleTime.Time; !lst.Equal(sched) && !lst.Equal(sched.Add(time.Minute)) {
				return false, "", fmt.Errorf("status.lastScheduleTime %s, want the run's scheduled time %s", fmtTime(st.LastScheduleTime), sched)
			}
			if st.LastSuccessfulTime == nil {
				return false, "status.lastSuccessfulTime unset", nil
			}
			if !st.LastSuccessfulTime.Equal(done.Status.CompletionTime) {
				return false, "", fmt.Errorf("status.lastSuccessfulTime %s, want the run's completionTime %s", fmtTime(st.LastSuccessfulTime), fmtTime(done.Status.CompletionTime))
			}
			for _, a := range st.Active {
				if a.UID == run.UID {
					return false, "the completed run is still in status.active", nil
				}
			}
			return true, "", nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("forbid-skips-while-running", func(t *testing.T) {
		t.Parallel()
		ns := "cron-forbid"
		createNamespace(t, ctx, client, ns)
		cj := CronJob(ns, "hang", "* * * * *", OutcomeJob(ns, "x", "run=forever").Spec)
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
		if _, err := client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, runs, err := WaitRuns(ctx, client, ns, "hang", 1, 75*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		first := runs[0]
		sched, ok := ScheduledTime(&first)
		if !ok {
			t.Fatalf("run %s has no scheduled-time annotation", first.Name)
		}
		next := sched.Add(time.Minute)
		t.Logf("first run %s scheduled %s; waiting past %s", first.Name, sched.UTC().Format(time.TimeOnly), next.UTC().Format(time.TimeOnly))
		// The controller decides at the next minute: with the run active
		// and Forbid, it records JobAlreadyActive instead of a run. The
		// event, not a sleep, says it has made that decision.
		ev, err := WaitEvent(ctx, client, ns, "CronJob", "hang", "JobAlreadyActive", time.Until(next)+20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if at := eventTime(ev); at.Before(next) {
			t.Errorf("JobAlreadyActive at %s, before the next schedule %s", at, next)
		}
		got, runs, err := CronJobRuns(ctx, client, ns, "hang")
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 {
			t.Fatalf("%d runs after the next minute, want only %s: %v", len(runs), first.Name, names(runs))
		}
		if lst := got.Status.LastScheduleTime; lst == nil || !lst.Time.Equal(sched) {
			t.Errorf("status.lastScheduleTime %s, want the first run's %s", fmtTime(lst), sched)
		}
		if len(got.Status.Active) != 1 || got.Status.Active[0].UID != first.UID {
			t.Errorf("status.active %v, want the first run", got.Status.Active)
		}
		if got.Status.LastSuccessfulTime != nil {
			t.Errorf("status.lastSuccessfulTime %s, want unset", fmtTime(got.Status.LastSuccessfulTime))
		}
		if j, err := client.BatchV1().Jobs(ns).Get(ctx, first.Name, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		} else if Deref(j.Status.Ready) != 1 || isFinished(j) {
			t.Errorf("first run: ready %d, conditions %v; want its pod running", Deref(j.Status.Ready), j.Status.Conditions)
		}
	})

	// Without the garbage collector (the default), a CronJob deleted with
	// background propagation leaves its Jobs; DeleteCronJobWithRuns does
	// what the collector would.
	t.Run("delete-without-gc", func(t *testing.T) {
		t.Parallel()
		ns := "cron-delete"
		createNamespace(t, ctx, client, ns)
		cj, err := client.BatchV1().CronJobs(ns).Create(ctx,
			SuspendedCronJob(ns, "nightly", "0 3 * * *", OutcomeJob(ns, "x", "succeed").Spec), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"nightly-1", "nightly-2"} {
			if _, err := client.BatchV1().Jobs(ns).Create(ctx, RunOf(OutcomeJob(ns, name, "run=forever"), cj), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		background := metav1.DeletePropagationBackground
		if err := client.BatchV1().CronJobs(ns).Delete(ctx, "nightly", metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if l, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		} else if len(l.Items) != 2 {
			t.Fatalf("%d Jobs left after the CronJob's deletion, want 2 (no garbage collector)", len(l.Items))
		}

		// The helper, on a CronJob that still exists.
		cj2, err := client.BatchV1().CronJobs(ns).Create(ctx,
			SuspendedCronJob(ns, "hourly", "0 * * * *", OutcomeJob(ns, "x", "succeed").Spec), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.BatchV1().Jobs(ns).Create(ctx, RunOf(OutcomeJob(ns, "hourly-1", "run=forever"), cj2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := DeleteCronJobWithRuns(ctx, client, ns, "hourly"); err != nil {
			t.Fatal(err)
		}
		if _, err := client.BatchV1().Jobs(ns).Get(ctx, "hourly-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("hourly-1 after DeleteCronJobWithRuns: %v", err)
		}
		if _, err := client.BatchV1().Jobs(ns).Get(ctx, "nightly-1", metav1.GetOptions{}); err != nil {
			t.Fatalf("another CronJob's run: %v", err)
		}
		waitNoPods(t, ctx, client, ns, "job-name=hourly-1")
	})

	// The controller cleans up finished RunOf Jobs of a suspended CronJob
	// beyond its history limits (failedJobsHistoryLimit defaults to 1).
	t.Run("history-limit-applies-to-runof", func(t *testing.T) {
		t.Parallel()
		ns := "cron-history"
		createNamespace(t, ctx, client, ns)
		cj, err := client.BatchV1().CronJobs(ns).Create(ctx,
			SuspendedCronJob(ns, "nightly", "0 3 * * *", OutcomeJob(ns, "x", "succeed").Spec), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cj.Spec.FailedJobsHistoryLimit == nil || *cj.Spec.FailedJobsHistoryLimit != 1 ||
			cj.Spec.SuccessfulJobsHistoryLimit == nil || *cj.Spec.SuccessfulJobsHistoryLimit != 3 {
			t.Fatalf("API defaults: failedJobsHistoryLimit %v, successfulJobsHistoryLimit %v", cj.Spec.FailedJobsHistoryLimit, cj.Spec.SuccessfulJobsHistoryLimit)
		}
		for _, name := range []string{"nightly-29000001", "nightly-29000002"} {
			j := RunOf(OutcomeJob(ns, name, "exit=1"), cj)
			j.Spec.BackoffLimit = ptr(int32(0))
			if _, err := client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := WaitRunFinished(ctx, client, ns, name, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		err = Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
			_, runs, err := CronJobRuns(ctx, client, ns, "nightly")
			if err != nil {
				return false, "", err
			}
			return len(runs) == 1 && runs[0].Name == "nightly-29000002", fmt.Sprintf("runs %v, want the newer failed one only", names(runs)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := WaitEvent(ctx, client, ns, "CronJob", "nightly", "SuccessfulDelete", 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGarbageCollector runs the real garbage collector (Options.
// GarbageCollector): a CronJob deleted with background propagation takes
// its Jobs along, and their pods (the pod driver's own orphan collection
// off, so the collector does it).
func TestGarbageCollector(t *testing.T) {
	ctx := context.Background()
	steps := newStepTimer(t)
	c, err := Start(ctx, Options{GarbageCollector: true, PodDriver: DriverOptions{NoOrphanGC: true}, Progress: steps.progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	t.Logf("control plane up in %s (garbage collector: %s)", steps.done().Round(time.Millisecond),
		steps.step("starting the garbage collector").Round(time.Millisecond))
	client := c.Client()
	ns := "gc"
	createNamespace(t, ctx, client, ns)
	cj, err := client.BatchV1().CronJobs(ns).Create(ctx,
		SuspendedCronJob(ns, "nightly", "0 3 * * *", OutcomeJob(ns, "x", "succeed").Spec), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, RunOf(OutcomeJob(ns, "nightly-1", "succeed"), cj), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, RunOf(OutcomeJob(ns, "nightly-2", "run=forever"), cj), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitRunFinished(ctx, client, ns, "nightly-1", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		j, err := client.BatchV1().Jobs(ns).Get(ctx, "nightly-2", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return Deref(j.Status.Ready) == 1, "nightly-2's pod not ready", nil
	}); err != nil {
		t.Fatal(err)
	}
	// A Job without owner stays.
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, OutcomeJob(ns, "standalone", "run=forever"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	deleted := time.Now()
	background := metav1.DeletePropagationBackground
	if err := client.BatchV1().CronJobs(ns).Delete(ctx, "nightly", metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		t.Fatal(err)
	}
	if err := Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		l, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		left := names(l.Items)
		return len(l.Items) == 1 && l.Items[0].Name == "standalone", fmt.Sprintf("Jobs %v, want only standalone", left), nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("the CronJob's Jobs gone %s after its deletion", time.Since(deleted).Round(time.Millisecond))
	for _, j := range []string{"nightly-1", "nightly-2"} {
		waitNoPods(t, ctx, client, ns, "job-name="+j)
	}
	t.Logf("and their pods %s after", time.Since(deleted).Round(time.Millisecond))
	if pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=standalone"}); err != nil {
		t.Fatal(err)
	} else if len(pods.Items) != 1 {
		t.Errorf("standalone has %d pods, want 1", len(pods.Items))
	}
}

func waitNoPods(t *testing.T, ctx context.Context, client kubernetes.Interface, ns, selector string) {
	t.Helper()
	if err := Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, "", err
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods %s left", len(pods.Items), selector), nil
	}); err != nil {
		t.Fatal(err)
	}
}

func isComplete(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

func isFinished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

func names(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}

func eventTime(e *v1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}
