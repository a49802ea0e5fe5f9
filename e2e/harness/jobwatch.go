package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
)

// JobWatch records what a watch of a namespace's Jobs shows, as the
// exporter's watch sees it: a Job that the TTL-after-finished controller
// or a CronJob's history limit deletes the moment it finishes may be gone
// before a test polling the API sees it finished; its DELETED event still
// carries its final state.
type JobWatch struct {
	mu     sync.Mutex
	jobs   map[types.UID]*WatchedJob
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

// WatchedJob is one Job (one UID) as the watch showed it.
type WatchedJob struct {
	// Last is its last state: its final state once Deleted is set.
	Last *batchv1.Job
	// Finished is when the watch first showed it Complete or Failed
	// (zero until then).
	Finished time.Time
	// Deleting is when the watch first showed its deletionTimestamp, and
	// Foreground whether it had the foregroundDeletion finalizer then
	// (the TTL controller's deletions).
	Deleting   time.Time
	Foreground bool
	// Deleted is when the watch showed it deleted (zero until then).
	Deleted time.Time
}

// WatchJobs starts watching the namespace's Jobs; it returns once the
// watch is established, so that every Job created afterwards is seen.
// Stop ends it.
func WatchJobs(ctx context.Context, clientset kubernetes.Interface, namespace string) (*JobWatch, error) {
	client := clientset.BatchV1().Jobs(namespace)
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	// The watch lives until Stop, not ctx: its requests end with runCtx.
	runCtx, cancel := context.WithCancel(context.Background())
	w, err := client.Watch(runCtx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		cancel()
		return nil, err
	}
	jw := &JobWatch{jobs: map[types.UID]*WatchedJob{}, cancel: cancel, done: make(chan struct{})}
	for i := range list.Items {
		jw.record(watch.Added, &list.Items[i], time.Now())
	}
	go jw.run(runCtx, client, w, list.ResourceVersion)
	return jw, nil
}

// run follows the watch, and re-establishes it from the last resource
// version when the API server ends it.
func (jw *JobWatch) run(ctx context.Context, client batchclient.JobInterface, w watch.Interface, rv string) {
	defer close(jw.done)
	for {
		for ev := range w.ResultChan() {
			switch o := ev.Object.(type) {
			case *batchv1.Job:
				if ev.Type != watch.Bookmark { // a bookmark carries only its resource version
					jw.record(ev.Type, o, time.Now())
				}
				rv = o.ResourceVersion
			case *metav1.Status:
				if ev.Type == watch.Error {
					jw.fail(apierrors.FromObject(o))
					w.Stop()
					return
				}
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return
		}
		var err error
		if w, err = client.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}); err != nil {
			if ctx.Err() == nil {
				jw.fail(err)
			}
			return
		}
	}
}

func (jw *JobWatch) fail(err error) {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	jw.err = err
}

func (jw *JobWatch) record(typ watch.EventType, j *batchv1.Job, now time.Time) {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	s := jw.jobs[j.UID]
	if s == nil {
		s = &WatchedJob{}
		jw.jobs[j.UID] = s
	}
	s.Last = j.DeepCopy()
	if s.Finished.IsZero() && (Condition(j, batchv1.JobComplete) != nil || Condition(j, batchv1.JobFailed) != nil) {
		s.Finished = now
	}
	if s.Deleting.IsZero() && j.DeletionTimestamp != nil {
		s.Deleting = now
		for _, f := range j.Finalizers {
			s.Foreground = s.Foreground || f == metav1.FinalizerDeleteDependents
		}
	}
	if typ == watch.Deleted {
		s.Deleted = now
	}
}

// Stop ends the watch.
func (jw *JobWatch) Stop() {
	jw.cancel()
	<-jw.done
}

// WatchJobs watches the Env's namespace's Jobs (see WatchJobs) until the
// test ends.
func (e *Env) WatchJobs() *JobWatch {
	e.T.Helper()
	jw, err := WatchJobs(e.Ctx, e.Client, e.NS)
	if err != nil {
		e.T.Fatalf("watch jobs of %s: %v", e.NS, err)
	}
	e.T.Cleanup(jw.Stop)
	return jw
}

// WaitDeleted is JobWatch.WaitDeleted for the Job created as j, within
// JobTimeout; the test fails on timeout.
func (e *Env) WaitDeleted(jw *JobWatch, j *batchv1.Job) WatchedJob {
	e.T.Helper()
	s, err := jw.WaitDeleted(e.Ctx, j.UID, JobTimeout)
	if err != nil {
		e.T.Fatal(err)
	}
	return s
}

// Job is what the watch showed of the Job with this UID (a copy), false if
// nothing.
func (jw *JobWatch) Job(uid types.UID) (WatchedJob, bool) {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	s, ok := jw.jobs[uid]
	if !ok {
		return WatchedJob{}, false
	}
	c := *s
	c.Last = s.Last.DeepCopy()
	return c, true
}

// WaitDeleted waits until the watch shows the Job with this UID deleted
// and returns what it showed of it.
func (jw *JobWatch) WaitDeleted(ctx context.Context, uid types.UID, timeout time.Duration) (WatchedJob, error) {
	var out WatchedJob
	err := Eventually(ctx, timeout, func(context.Context) (bool, string, error) {
		jw.mu.Lock()
		err := jw.err
		jw.mu.Unlock()
		if err != nil {
			return false, "", fmt.Errorf("watch of Jobs: %w", err)
		}
		s, ok := jw.Job(uid)
		if !ok {
			return false, fmt.Sprintf("the watch has not shown the Job with UID %s", uid), nil
		}
		out = s
		return !s.Deleted.IsZero(), fmt.Sprintf("Job %s/%s (UID %s) not deleted: deletionTimestamp %v, finalizers %v, %s",
			s.Last.Namespace, s.Last.Name, uid, s.Last.DeletionTimestamp, s.Last.Finalizers, JobStatus(s.Last)), nil
	})
	return out, err
}
