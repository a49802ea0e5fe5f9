package watcher

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// The fakes the watcher's tests drive it with: a Sink and a Recorder that
// keep every call, and an API server (fakeAPI) that serves list and watch
// calls as a real one does.

// Sink methods, as fakeSink records them.
const (
	jobChanged     = "JobChanged"
	jobGone        = "JobGone"
	jobDeleted     = "JobDeleted"
	jobFinished    = "JobFinished"
	podFailed      = "PodFailed"
	podFinished    = "PodFinished"
	cronJobChanged = "CronJobChanged"
	cronJobGone    = "CronJobGone"
	cronJobObjects = "CronJobObjects"
	queueEvicted   = "QueueEvicted"
)

// sinkCall is one call of the Sink: the method and what it was handed.
type sinkCall struct {
	method string
	// key is the Job's or CronJob's "namespace/name" ("" for
	// CronJobObjects).
	key     string
	summary *job.Summary // JobChanged, JobDeleted
	finish  job.Finish   // JobFinished
	failure job.PodFailed
	held    job.PodFinished // PodFinished
	cronJob *cronjob.Record
	trusted bool             // CronJobObjects
	evicted job.QueueEvicted // QueueEvicted
}

// fakeSink is a Sink that keeps every call, in the order made.
type fakeSink struct {
	mu  sync.Mutex
	log []sinkCall
}

var _ Sink = (*fakeSink)(nil)

func (s *fakeSink) add(c sinkCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, c)
}

func (s *fakeSink) JobChanged(key string, sum *job.Summary) {
	s.add(sinkCall{method: jobChanged, key: key, summary: sum})
}
func (s *fakeSink) JobGone(key string) { s.add(sinkCall{method: jobGone, key: key}) }
func (s *fakeSink) JobDeleted(key string, sum *job.Summary) {
	s.add(sinkCall{method: jobDeleted, key: key, summary: sum})
}
func (s *fakeSink) JobFinished(f job.Finish) {
	s.add(sinkCall{method: jobFinished, key: f.Namespace + "/" + f.Job, finish: f})
}
func (s *fakeSink) PodFailed(f job.PodFailed) {
	s.add(sinkCall{method: podFailed, key: f.Namespace + "/" + f.Job, failure: f})
}
func (s *fakeSink) PodFinished(f job.PodFinished) {
	s.add(sinkCall{method: podFinished, key: f.Namespace + "/" + f.Job, held: f})
}
func (s *fakeSink) CronJobChanged(r *cronjob.Record) {
	s.add(sinkCall{method: cronJobChanged, key: r.Key(), cronJob: r})
}
func (s *fakeSink) CronJobGone(key string) { s.add(sinkCall{method: cronJobGone, key: key}) }
func (s *fakeSink) CronJobObjects(trusted bool) {
	s.add(sinkCall{method: cronJobObjects, trusted: trusted})
}
func (s *fakeSink) QueueEvicted(e job.QueueEvicted) {
	s.add(sinkCall{method: queueEvicted, key: e.Namespace + "/" + e.Job, evicted: e})
}

// calls are the calls of method (every method for "") about key (any
// for ""), in order.
func (s *fakeSink) calls(method, key string) []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinkCall
	for _, c := range s.log {
		if (method == "" || c.method == method) && (key == "" || c.key == key) {
			out = append(out, c)
		}
	}
	return out
}

// summary is the last Summary JobChanged handed over for key, nil if none
// or if JobGone came after it: what a renderer shows now.
func (s *fakeSink) summary(key string) *job.Summary {
	var last *job.Summary
	for _, c := range s.calls("", key) {
		switch c.method {
		case jobChanged:
			last = c.summary
		case jobGone:
			last = nil
		}
	}
	return last
}

// snapshot is what outlives Jobs: the outcomes, the pod failures and the
// last Summaries of deleted Jobs, in order.
func (s *fakeSink) snapshot() (finishes []job.Finish, failures []job.PodFailed, deleted []*job.Summary) {
	for _, c := range s.calls("", "") {
		switch c.method {
		case jobFinished:
			finishes = append(finishes, c.finish)
		case podFailed:
			failures = append(failures, c.failure)
		case jobDeleted:
			deleted = append(deleted, c.summary)
		}
	}
	return finishes, failures, deleted
}

// listWatchCall is one ListWatchResult report.
type listWatchCall struct {
	resource, verb string
	err            error
}

// fakeRecorder is a Recorder that keeps every report.
type fakeRecorder struct {
	mu        sync.Mutex
	results   []listWatchCall
	synced    map[string][]bool // every Synced report per resource, in order
	processed []time.Duration
	// denied is what the last permission check reported per resource,
	// nil until one reported.
	denied map[string][]string
	// kueueAPI are the KueueAPI reports, in order: the version, "" for
	// not found.
	kueueAPI []string
}

var _ Recorder = (*fakeRecorder)(nil)

func (r *fakeRecorder) ListWatchResult(resource, verb string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, listWatchCall{resource, verb, err})
}

func (r *fakeRecorder) Synced(resource string, synced bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.synced == nil {
		r.synced = map[string][]bool{}
	}
	r.synced[resource] = append(r.synced[resource], synced)
}

func (r *fakeRecorder) EventProcessed(delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.processed = append(r.processed, delay)
}

func (r *fakeRecorder) Permissions(resource string, denied []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.denied == nil {
		r.denied = map[string][]string{}
	}
	r.denied[resource] = denied
}

func (r *fakeRecorder) KueueAPI(version string, found bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !found {
		version = ""
	}
	r.kueueAPI = append(r.kueueAPI, version)
}

// kueueReports are the KueueAPI reports, in order ("" for not found).
func (r *fakeRecorder) kueueReports() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.kueueAPI...)
}

// resultsOf are the list or watch outcomes reported for resource.
func (r *fakeRecorder) resultsOf(resource, verb string) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []error
	for _, c := range r.results {
		if c.resource == resource && c.verb == verb {
			out = append(out, c.err)
		}
	}
	return out
}

// syncs are the Synced reports of resource, in order.
func (r *fakeRecorder) syncs(resource string) []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.synced[resource]...)
}

// reportedSynced tells whether resource was last reported synced.
func (r *fakeRecorder) reportedSynced(resource string) bool {
	s := r.syncs(resource)
	return len(s) > 0 && s[len(s)-1]
}

func (r *fakeRecorder) delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.processed...)
}

// fakeAPI is kubefake's client made to serve list and watch calls as an
// API server does, where the fake clientset does not: field selectors
// (--watch.namespaces-exclude, the events' FailedCreate selector) filter lists
// and watches, label selectors filter watches, and an object that stops
// matching a watch's selectors reaches it as DELETED with its previous
// content (the API server's watch cache sends that, see
// k8s.io/apiserver's cacher). expire breaks the open watches of a
// resource as an API server that compacted its history does, so the
// informers list again.
type fakeAPI struct {
	*kubefake.Client

	mu      sync.Mutex
	watches map[string][]*selectingWatch // open watches by resource
	// watchers is how many watches of each resource the watchers
	// running against it open: one per scope (see waitWatching).
	watchers map[string]int
}

// kinds are the kinds of the resources the watcher lists.
var kinds = map[string]schema.GroupVersionKind{
	ResourceJobs:     batchv1.SchemeGroupVersion.WithKind("Job"),
	ResourceCronJobs: batchv1.SchemeGroupVersion.WithKind("CronJob"),
	ResourcePods:     corev1.SchemeGroupVersion.WithKind("Pod"),
	ResourceEvents:   corev1.SchemeGroupVersion.WithKind("Event"),
}

func newFakeAPI(objs ...runtime.Object) *fakeAPI {
	a := &fakeAPI{Client: kubefake.New(objs...), watches: map[string][]*selectingWatch{}, watchers: map[string]int{}}
	a.PrependReactor("list", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		gvk, ok := kinds[action.GetResource().Resource]
		if !ok {
			return false, nil, nil
		}
		r := action.(k8stesting.ListAction).GetListRestrictions()
		list, err := a.Tracker().List(action.GetResource(), gvk, action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return true, nil, err
		}
		var kept []runtime.Object
		for _, o := range items {
			if selects(r.Labels, r.Fields, o) {
				kept = append(kept, o)
			}
		}
		return true, list, meta.SetList(list, kept)
	})
	a.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		resource := action.GetResource().Resource
		gvk, ok := kinds[resource]
		if !ok {
			return false, nil, nil
		}
		wa := action.(k8stesting.WatchActionImpl)
		r := wa.GetWatchRestrictions()
		// What each object was before the watch: the previous content
		// of its first change.
		existing, err := a.Tracker().List(action.GetResource(), gvk, action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(existing)
		if err != nil {
			return true, nil, err
		}
		inner, err := a.Tracker().Watch(action.GetResource(), action.GetNamespace(), wa.ListOptions)
		if err != nil {
			return true, nil, err
		}
		w := newSelectingWatch(inner, func(o runtime.Object) bool { return selects(r.Labels, r.Fields, o) }, items)
		a.mu.Lock()
		a.watches[resource] = append(a.watches[resource], w)
		a.mu.Unlock()
		w.onStop = func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.watches[resource] = slices.DeleteFunc(a.watches[resource], func(o *selectingWatch) bool { return o == w })
		}
		return true, w, nil
	})
	return a
}

// expire ends every open watch of resource with the API server's "410
// Gone: too old resource version": the informers list it again.
func (a *fakeAPI) expire(resource string) {
	a.mu.Lock()
	open := slices.Clone(a.watches[resource])
	a.mu.Unlock()
	gone := apierrors.NewResourceExpired("too old resource version")
	for _, w := range open {
		w.send(watch.Event{Type: watch.Error, Object: &gone.ErrStatus})
	}
}

// selects tells whether the selectors match o, with the fields the API
// server can select these resources by.
func selects(l labels.Selector, f fields.Selector, o runtime.Object) bool {
	m, err := meta.Accessor(o)
	if err != nil {
		return false
	}
	set := fields.Set{"metadata.namespace": m.GetNamespace(), "metadata.name": m.GetName()}
	if e, ok := o.(*corev1.Event); ok {
		set["involvedObject.kind"], set["type"], set["reason"] = e.InvolvedObject.Kind, e.Type, e.Reason
	}
	return (l == nil || l.Matches(labels.Set(m.GetLabels()))) && (f == nil || f.Matches(set))
}

// selectingWatch passes on a tracker watch's events as the API server's
// watch with selectors would send them.
type selectingWatch struct {
	inner  watch.Interface
	match  func(runtime.Object) bool
	prev   map[string]runtime.Object // the last state of each object, matching or not
	out    chan watch.Event
	inject chan watch.Event
	done   chan struct{}
	stop   sync.Once
	onStop func() // set before the watch is handed out
}

func newSelectingWatch(inner watch.Interface, match func(runtime.Object) bool, existing []runtime.Object) *selectingWatch {
	w := &selectingWatch{inner: inner, match: match, prev: map[string]runtime.Object{},
		out: make(chan watch.Event), inject: make(chan watch.Event), done: make(chan struct{})}
	for _, o := range existing {
		w.prev[objectKey(o)] = o
	}
	go w.run()
	return w
}

func objectKey(o runtime.Object) string {
	m, err := meta.Accessor(o)
	if err != nil {
		return ""
	}
	return m.GetNamespace() + "/" + m.GetName()
}

func (w *selectingWatch) run() {
	defer close(w.out)
	for {
		select {
		case ev, ok := <-w.inner.ResultChan():
			if !ok {
				return
			}
			if ev, ok := w.selected(ev); ok && !w.pass(ev) {
				return
			}
		case ev := <-w.inject:
			if !w.pass(ev) {
				return
			}
		case <-w.done:
			return
		}
	}
}

// selected is ev as the selectors let it through, false if not at all.
func (w *selectingWatch) selected(ev watch.Event) (watch.Event, bool) {
	if ev.Type != watch.Added && ev.Type != watch.Modified && ev.Type != watch.Deleted {
		return ev, true
	}
	key := objectKey(ev.Object)
	prev, hadPrev := w.prev[key]
	was := hadPrev && w.match(prev)
	if ev.Type == watch.Deleted {
		delete(w.prev, key)
		return ev, w.match(ev.Object)
	}
	w.prev[key] = ev.Object
	is := w.match(ev.Object)
	switch {
	case is && was:
		return watch.Event{Type: watch.Modified, Object: ev.Object}, true
	case is:
		return watch.Event{Type: watch.Added, Object: ev.Object}, true
	case was:
		return watch.Event{Type: watch.Deleted, Object: prev}, true
	}
	return ev, false
}

func (w *selectingWatch) pass(ev watch.Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-w.done:
		return false
	}
}

// send puts ev in the stream, unless the watch is stopped.
func (w *selectingWatch) send(ev watch.Event) {
	select {
	case w.inject <- ev:
	case <-w.done:
	}
}

func (w *selectingWatch) ResultChan() <-chan watch.Event { return w.out }

func (w *selectingWatch) Stop() {
	w.stop.Do(func() {
		close(w.done)
		w.inner.Stop()
		w.onStop()
	})
}

// running is a Watcher running against a fakeAPI, with the Sink and
// Recorder it reports to.
type running struct {
	w    *Watcher
	api  *fakeAPI
	sink *fakeSink
	rec  *fakeRecorder
}

// runWatcher runs a watcher of cfg (its Client and Recorder set here)
// against api until the test ends; it does not wait for anything.
func runWatcher(t *testing.T, api *fakeAPI, cfg Config) *running {
	t.Helper()
	r := &running{api: api, sink: &fakeSink{}, rec: &fakeRecorder{}}
	cfg.Client, cfg.Recorder = api.Client, r.rec
	if cfg.Summarize.Backoff == (job.Backoff{}) {
		cfg.Summarize.Backoff = job.DefaultBackoff
	}
	w, err := New(cfg, r.sink)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	api.mu.Lock()
	for _, resource := range cfg.Resources() {
		api.watchers[resource] += len(w.scopes)
	}
	api.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// waitSynced waits until the Recorder heard that the initial lists of
// Jobs and pods reached the Sink (every Job they named was rendered), and
// their watches are open.
func (r *running) waitSynced(t *testing.T) {
	t.Helper()
	waitFor(t, "the initial lists", func() bool {
		return r.rec.reportedSynced(ResourceJobs) && r.rec.reportedSynced(ResourcePods)
	})
	r.waitWatching(t, ResourceJobs, ResourcePods)
}

// waitWatching waits until every watcher running against the fake API
// watches resources. The fake replays what changed between a list and
// its watch, except deletions: a test deletes only once the watch is
// open.
func (r *running) waitWatching(t *testing.T, resources ...string) {
	t.Helper()
	for _, resource := range resources {
		waitFor(t, resource+" watched", func() bool {
			r.api.mu.Lock()
			defer r.api.mu.Unlock()
			return len(r.api.watches[resource]) >= r.api.watchers[resource]
		})
	}
}

// startWatcher runs an unsharded or sharded watcher over a fake API
// holding jobs until the test ends, once its initial lists reached the
// Sink.
func startWatcher(t *testing.T, shard Shard, jobs ...*batchv1.Job) (*Watcher, *kubefake.Client, *fakeSink) {
	t.Helper()
	api := newFakeAPI()
	for _, j := range jobs {
		create(t, api, j)
	}
	r := runWatcher(t, api, Config{Shard: shard})
	r.waitSynced(t)
	return r.w, api.Client, r.sink
}

// create creates obj (a Job, Pod, CronJob or Event) in the fake API.
func create(t *testing.T, api *fakeAPI, obj runtime.Object) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch o := obj.(type) {
	case *batchv1.Job:
		_, err = api.BatchV1().Jobs(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *batchv1.CronJob:
		_, err = api.BatchV1().CronJobs(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Pod:
		_, err = api.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Event:
		_, err = api.CoreV1().Events(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		t.Fatalf("create: %T", obj)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
