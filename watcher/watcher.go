// Package watcher keeps the exporter's view of Jobs, their Pods and the Job
// controller's FailedCreate events: client-go shared informers (reduced to
// compact records by job.RecordJob/RecordPod/RecordEvent), a work queue of
// Job keys, and one worker that recomputes a Job's summary whenever the Job,
// one of its pods or an event about it changes, or when a pending pod
// reaches the start timeout. Metrics are rendered there, never on a scrape.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Resources watched, the values of the resource label of the exporter's own
// metrics.
const (
	ResourceJobs     = "jobs"
	ResourcePods     = "pods"
	ResourceEvents   = "events"
	ResourceCronJobs = "cronjobs"
	// Kueue's, with Config.Kueue.
	ResourceWorkloads   = kube.KueueWorkloads
	ResourceLocalQueues = kube.KueueLocalQueues
)

// Recorder receives the watch health and activity, for the exporter's own
// metrics.
type Recorder interface {
	// ListWatchResult reports the outcome of a list or watch call.
	ListWatchResult(resource, verb string, err error)
	// Synced reports whether a resource's informers have synced.
	Synced(resource string, synced bool)
	// EventProcessed reports the time from a watch event to the updated
	// metrics.
	EventProcessed(delay time.Duration)
	// Permissions reports which needed permissions on a resource RBAC
	// denies now ("list pods in namespace x"); none means all allowed.
	Permissions(resource string, denied []string)
	// KueueAPI reports what the discovery of Kueue's API found (with
	// Config.Kueue): the version watched, or found false while the API
	// server does not serve it.
	KueueAPI(version string, found bool)
}

// Sink receives what the watcher learns: each Job's Summary when it
// changes and when the Job goes, and the CronJob objects. Data flows one
// way, informers → model (the Summaries) → renderers: the watcher never
// reads back what it gave. Its methods are called concurrently: JobChanged,
// JobGone and JobFinished from the worker, JobDeleted, PodFailed,
// PodFinished, QueueEvicted and the CronJob methods from the informers'
// handlers (one goroutine per resource and namespace scope).
type Sink interface {
	JobChanged(key string, s *job.Summary)
	// JobGone: the Job is no longer reported (deleted, or out of the
	// selection).
	JobGone(key string)
	// JobDeleted hands over the last Summary of a Job its watch saw
	// deleted (s.Deleted set), from the final state the delete event
	// carried, the pods still cached and those already gone
	// (Summary.Departed): the evidence that outlives the Job. JobGone
	// follows, once the worker reaches the Job.
	JobDeleted(key string, s *job.Summary)
	// JobFinished reports a Job's outcome, once, when its watch shows the
	// Job finish (see outcomeBook).
	JobFinished(f job.Finish)
	// PodFailed reports new failures of a Job's pod, once each, when its
	// watch shows them.
	PodFailed(f job.PodFailed)
	// PodFinished reports the resource-time a Job's pod held, once per
	// pod, when its watch shows it finish (job.PodFinish, job.PodGone).
	PodFinished(f job.PodFinished)
	// QueueEvicted reports an eviction of a Job's Kueue Workload, once,
	// when its watch shows it (queue.EvictionOf; with Config.Kueue): never
	// from an initial list, nor for another shard's Job.
	QueueEvicted(e job.QueueEvicted)
	CronJobChanged(r *cronjob.Record)
	CronJobGone(key string)
	// CronJobObjects says whether the CronJob objects can be relied on
	// (listed, watched, allowed); without them the renderers fall back
	// to what the runs say.
	CronJobObjects(trusted bool)
}

// Config selects what is watched.
type Config struct {
	Client kube.Client
	// Namespaces to watch; empty means all.
	Namespaces []string
	// ExcludeNamespaces are left out (only with all namespaces).
	ExcludeNamespaces []string
	// JobSelector is a label selector for Jobs ("" for all).
	JobSelector string
	// OwnerLabel groups standalone Jobs' outcomes by the value of this
	// label (job.OwnerOf); "" groups them by generateName or name.
	OwnerLabel string
	// Events watches the Job controller's FailedCreate events (pods the API
	// server refuses to create). They are optional: readiness never waits
	// for them, so a cluster that denies the permission still gets every
	// other metric.
	Events bool
	// CronJobs watches the CronJob objects: schedules, the controller's
	// status, and which CronJobs exist. Optional like Events: without the
	// permission the per-CronJob series come from the runs alone.
	CronJobs bool
	// Kueue watches Kueue's Workloads and LocalQueues, once its API is
	// found (asked at start and every KueueDiscoveryInterval while
	// absent): where each Kueue-managed Job stands in its queue
	// (Summary.Queue) and its Workload's evictions (Sink.QueueEvicted).
	// Optional like Events: readiness never waits for it.
	Kueue bool
	// KueueDiscoveryInterval is how often Kueue's API is looked for while
	// it is absent (0: DefaultKueueDiscoveryInterval).
	KueueDiscoveryInterval time.Duration
	// Summarize configures the Job semantics (backoff).
	Summarize job.Options
	// Shard selects this replica's part of the Jobs (zero value: all).
	Shard Shard
	// PermissionCheckInterval is how often RBAC is asked whether the
	// watches are still allowed (0: never).
	PermissionCheckInterval time.Duration
	Logger                  *slog.Logger
	Recorder                Recorder
}

// podJobIndex indexes pods by the "namespace/name" of their controlling Job.
const podJobIndex = "job"

// jobPodLabel is set by the Job controller (Kubernetes ≥ 1.27) on every pod
// it creates; selecting on it keeps unrelated pods out of the cache.
const jobPodLabel = batchv1.JobNameLabel

// eventJobIndex indexes events by the "namespace/name" of their Job.
const eventJobIndex = "job"

// eventListBounds bound the events informer's list: every string is cut
// to 2 KiB as it is read. Of a FailedCreate message, job.RecordEvent reads
// only its start (the API server's words come first); no byte bound, since
// the informer must see every event of the list.
var eventListBounds = kube.EventBounds{MaxString: 2 << 10}

// scope is one set of informers: all namespaces, or one namespace.
type scope struct {
	namespace string
	jobs      cache.SharedIndexInformer
	pods      cache.SharedIndexInformer
	events    cache.SharedIndexInformer // nil unless Config.Events
	cronJobs  cache.SharedIndexInformer // nil unless Config.CronJobs
	// handlers are the event handler registrations: synced once the
	// initial list has reached the handlers, not just the cache.
	jobsHandler, podsHandler, eventsHandler, cronJobsHandler cache.ResourceEventHandlerRegistration
}

// Watcher watches Jobs and Pods and keeps the metrics up to date.
type Watcher struct {
	cfg Config
	// selector is Config.JobSelector parsed, nil for all Jobs.
	selector labels.Selector
	sink     Sink
	scopes   []*scope
	// queue holds Job keys to render; a key also comes back by itself
	// when a pending pod of the Job reaches the start timeout. Run makes
	// it (its timer goroutine lives as long as the queue).
	queue workqueue.TypedDelayingInterface[string]

	pods   atomic.Int64 // pods in the caches
	events atomic.Int64 // FailedCreate events in the caches
	// cronJobsDown is set while the CronJob list or watch fails, or RBAC
	// denies it: the per-CronJob series then fall back to the runs.
	cronJobsDown atomic.Bool

	mu       sync.Mutex
	pending  map[string]time.Time // key → time of its oldest unprocessed event
	inFlight int                  // keys being processed

	// aggMu guards aggregates: the pod aggregates of the Jobs with at
	// least keepAggregate pods, kept up to date by the pod handlers, so an
	// event of a big Job costs the same as one of a small Job. Smaller
	// Jobs are summarized from their pods each time (as cheap, and no
	// memory kept).
	aggMu      sync.Mutex
	aggregates map[string]*job.Aggregate

	// outcomes knows which Jobs have finished, so that each outcome is
	// reported once; departed keeps the last state of Jobs' pods that
	// are gone.
	outcomes outcomeBook
	departed departedPods

	// kueue are the informers of Kueue's API while it is served (nil
	// without Config.Kueue, before it is found and after it goes).
	kueue atomic.Pointer[kueueWatch]
}

// keepAggregate is the number of pods from which a Job's Aggregate is
// kept between events rather than rebuilt from its pods.
const keepAggregate = 64

type apiResource struct{ resource, group string }

// resources are the resources watched, with their API groups.
func (cfg Config) resources() []apiResource {
	rs := []apiResource{{ResourceJobs, "batch"}, {ResourcePods, ""}}
	if cfg.Events {
		rs = append(rs, apiResource{ResourceEvents, ""})
	}
	if cfg.CronJobs {
		rs = append(rs, apiResource{ResourceCronJobs, "batch"})
	}
	if cfg.Kueue {
		rs = append(rs, apiResource{ResourceWorkloads, kube.KueueGroup}, apiResource{ResourceLocalQueues, kube.KueueGroup})
	}
	return rs
}

// Resources are the resources watched: jobs, pods and, with Events,
// CronJobs and Kueue, events, cronjobs, workloads and localqueues.
func (cfg Config) Resources() []string {
	var out []string
	for _, r := range cfg.resources() {
		out = append(out, r.resource)
	}
	return out
}

// FieldError is a Config field whose value the watcher cannot use. It
// names the fields as Config does (Shard.Index for Config.Shard.Index), so
// a caller says it in its own terms: cmd/kube-job-exporter names the flag
// that set each field.
type FieldError struct {
	// Fields are the fields at fault, more than one when only their
	// combination is wrong.
	Fields []string
	// Reason says what is wrong with their values, naming no field.
	Reason string
}

func (e *FieldError) Error() string {
	return strings.Join(e.Fields, " and ") + ": " + e.Reason
}

// Validate checks the selection before anything connects; its error is a
// *FieldError.
func (cfg Config) Validate() error {
	if err := cfg.Shard.Validate(); err != nil {
		return err
	}
	if cfg.JobSelector != "" {
		if _, err := labels.Parse(cfg.JobSelector); err != nil {
			return &FieldError{Fields: []string{"JobSelector"}, Reason: fmt.Sprintf("%q is not a label selector: %v", cfg.JobSelector, err)}
		}
	}
	if len(cfg.Namespaces) > 0 && len(cfg.ExcludeNamespaces) > 0 {
		return &FieldError{Fields: []string{"Namespaces", "ExcludeNamespaces"}, Reason: "cannot be used together"}
	}
	for _, f := range []struct {
		field string
		list  []string
	}{{"Namespaces", cfg.Namespaces}, {"ExcludeNamespaces", cfg.ExcludeNamespaces}} {
		for _, ns := range f.list {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return &FieldError{Fields: []string{f.field}, Reason: fmt.Sprintf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))}
			}
		}
	}
	return nil
}

// parseSelector parses a label selector Validate has checked; nil for "".
func parseSelector(s string) labels.Selector {
	if s == "" {
		return nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil
	}
	return sel
}

// New validates the configuration and builds the informers.
func New(cfg Config, sink Sink) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		cfg: cfg, sink: sink,
		selector:   parseSelector(cfg.JobSelector),
		pending:    map[string]time.Time{},
		aggregates: map[string]*job.Aggregate{},
		outcomes:   newOutcomeBook(),
		departed:   newDepartedPods(),
	}
	namespaces := cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		s, err := w.newScope(ns)
		if err != nil {
			return nil, err
		}
		w.scopes = append(w.scopes, s)
	}
	return w, nil
}

func (w *Watcher) fieldSelector() string {
	var parts []string
	for _, ns := range w.cfg.ExcludeNamespaces {
		parts = append(parts, "metadata.namespace!="+ns)
	}
	return strings.Join(parts, ",")
}

func (w *Watcher) newScope(ns string) (*scope, error) {
	fieldSel := w.fieldSelector()
	client := w.cfg.Client
	jobsLW := w.listWatch(ResourceJobs, func(o *metav1.ListOptions) {
		o.LabelSelector, o.FieldSelector = w.cfg.JobSelector, fieldSel
	}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.ListJobs(ctx, ns, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return client.WatchJobs(ctx, ns, o)
	})
	podsLW := w.listWatch(ResourcePods, func(o *metav1.ListOptions) {
		o.LabelSelector, o.FieldSelector = jobPodLabel, fieldSel
	}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return client.ListPods(ctx, ns, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return client.WatchPods(ctx, ns, o)
	})
	jobIndexers := cache.Indexers{}
	if w.cfg.Kueue {
		jobIndexers[jobQueueIndex] = jobQueueKeys
	}
	s := &scope{
		namespace: ns,
		jobs:      cache.NewSharedIndexInformer(jobsLW, &batchv1.Job{}, 0, jobIndexers),
		pods: cache.NewSharedIndexInformer(podsLW, &corev1.Pod{}, 0, cache.Indexers{
			podJobIndex: podJobKeys,
		}),
	}
	informers := []informer{
		{s.jobs, w.recordJob, ResourceJobs, cache.ResourceEventHandlerDetailedFuncs{
			AddFunc:    func(obj any, initial bool) { w.jobSeen(nil, obj, initial); w.enqueueJob(obj) },
			UpdateFunc: func(old, obj any) { w.jobSeen(old, obj, false); w.enqueueJob(obj) },
			DeleteFunc: func(obj any) { w.jobDeleted(s, obj); w.enqueueJob(obj) },
		}, &s.jobsHandler},
		{s.pods, w.recordPod, ResourcePods, cache.ResourceEventHandlerDetailedFuncs{
			// What outlives the pod is read first, then its Job is
			// queued: the sync that follows sees (and, for a Job that
			// went, drops) what was kept.
			AddFunc: func(obj any, initial bool) {
				w.pods.Add(1)
				if !initial {
					w.podSeen(s, nil, obj)
				}
				w.podChanged(nil, obj)
			},
			UpdateFunc: func(old, obj any) { w.podSeen(s, old, obj); w.podChanged(old, obj) },
			DeleteFunc: func(obj any) { w.pods.Add(-1); w.podGone(s, obj); w.podChanged(obj, nil) },
		}, &s.podsHandler},
	}
	if w.cfg.Events {
		// A list page of events is streamed with every string cut (the
		// watch decodes one event at a time anyway): a tenant's huge
		// FailedCreate-reason events cost no more than their cut form.
		eventsFieldSel := job.EventFieldSelector
		if fieldSel != "" {
			eventsFieldSel += "," + fieldSel
		}
		eventsLW := w.listWatch(ResourceEvents, func(o *metav1.ListOptions) {
			o.FieldSelector = eventsFieldSel
		}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return kube.ListEventsBounded(ctx, client, ns, o, eventListBounds)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.WatchEvents(ctx, ns, o)
		})
		s.events = cache.NewSharedIndexInformer(eventsLW, &corev1.Event{}, 0, cache.Indexers{
			eventJobIndex: eventJobKeys,
		})
		informers = append(informers, informer{s.events, job.RecordEvent, ResourceEvents, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { w.events.Add(1); w.enqueueEventJob(obj) },
			UpdateFunc: func(_, obj any) { w.enqueueEventJob(obj) },
			DeleteFunc: func(obj any) { w.events.Add(-1); w.enqueueEventJob(obj) },
		}, &s.eventsHandler})
	}
	if w.cfg.CronJobs {
		cronJobsLW := w.listWatch(ResourceCronJobs, func(o *metav1.ListOptions) {
			o.FieldSelector = fieldSel
		}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return client.ListCronJobs(ctx, ns, o)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.WatchCronJobs(ctx, ns, o)
		})
		s.cronJobs = cache.NewSharedIndexInformer(cronJobsLW, &batchv1.CronJob{}, 0, cache.Indexers{})
		informers = append(informers, informer{s.cronJobs, cronjob.Transform, ResourceCronJobs, cache.ResourceEventHandlerFuncs{
			AddFunc:    w.setCronJob,
			UpdateFunc: func(_, obj any) { w.setCronJob(obj) },
			DeleteFunc: w.deleteCronJob,
		}, &s.cronJobsHandler})
	}
	for _, inf := range informers {
		if err := w.setUp(inf); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// informer is an informer with what the watcher sets on it before it
// runs: its transform, the resource its health is reported as, its
// handler and where the handler's registration goes.
type informer struct {
	informer     cache.SharedIndexInformer
	transform    cache.TransformFunc
	resource     string
	handler      cache.ResourceEventHandler
	registration *cache.ResourceEventHandlerRegistration
}

// setUp sets inf's transform, watch error handler and event handler.
func (w *Watcher) setUp(inf informer) error {
	if err := inf.informer.SetTransform(inf.transform); err != nil {
		return err
	}
	resource := inf.resource
	if err := inf.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		// Failed list and watch calls were recorded by listWatch;
		// what remains are watch streams that broke.
		var rec *recordedError
		if !errors.As(err, &rec) {
			w.cfg.Recorder.ListWatchResult(resource, "watch", err)
		}
	}); err != nil {
		return err
	}
	reg, err := inf.informer.AddEventHandler(inf.handler)
	if err != nil {
		return err
	}
	*inf.registration = reg
	return nil
}

// recordJob is the Job informer's transform: the compact record, or only
// its skeleton for another shard's Job.
func (w *Watcher) recordJob(obj any) (any, error) {
	out, err := job.RecordJobWith(w.cfg.OwnerLabel, w.cfg.Summarize)(obj)
	r, ok := out.(*job.JobRecord)
	if !ok {
		return out, err
	}
	if !w.cfg.Shard.Owns(r.Namespace + "/" + r.Name) {
		return r.Skeleton(), nil
	}
	// The API server sends a Job relabelled out of --watch.job-selector as a
	// deletion: its record says so, so that it is not reported deleted.
	if j, isJob := obj.(*batchv1.Job); isJob && w.selector != nil && !w.selector.Matches(labels.Set(j.Labels)) {
		r.Unselected = true
	}
	return r, err
}

// recordPod is the pod informer's transform (see recordJob).
func (w *Watcher) recordPod(obj any) (any, error) {
	out, err := job.RecordPodWith(w.cfg.Summarize)(obj)
	if r, ok := out.(*job.PodRecord); ok {
		if key, ok := r.ControllerJobKey(); !ok || !w.cfg.Shard.Owns(key) {
			return r.Skeleton(), nil
		}
	}
	return out, err
}

// listWatch wraps list and watch calls so every outcome reaches the
// Recorder: a failing call marks the watch down with its reason, the next
// successful one marks it up again.
func (w *Watcher) listWatch(resource string, tweak func(*metav1.ListOptions),
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	// The wrapper keeps the client's word on watch-list (streaming initial
	// list) support: fake clientsets say they lack it.
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			obj, err := list(ctx, o)
			w.result(resource, "list", err)
			return obj, markRecorded(err)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			wi, err := watchFn(ctx, o)
			if err != nil {
				w.result(resource, "watch", err)
				return nil, markRecorded(err)
			}
			// A watch that opened is not yet a working watch: see
			// observedWatch.
			return newObservedWatch(wi, func(err error) { w.result(resource, "watch", err) }), nil
		},
	}, w.cfg.Client)
}

// result reports a list or watch outcome to the Recorder, and keeps the
// CronJob watch's own health: an expired watch is a normal re-list, any
// other error means the CronJob objects cannot be trusted to be complete.
func (w *Watcher) result(resource, verb string, err error) {
	w.cfg.Recorder.ListWatchResult(resource, verb, err)
	if resource == ResourceCronJobs && (err == nil || ClassifyError(err) != ErrExpired) {
		w.cronJobsDown.Store(err != nil)
	}
}

// setCronJob and deleteCronJob are the CronJob informer's handlers: a
// CronJob's series follow its object directly (no queue: rendering one is
// cheap).
func (w *Watcher) setCronJob(obj any) {
	if r, ok := obj.(*cronjob.Record); ok && w.cfg.Shard.OwnsGroup(r.Key()) {
		w.sink.CronJobChanged(r)
	}
}

func (w *Watcher) deleteCronJob(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if r, ok := obj.(*cronjob.Record); ok {
		w.sink.CronJobGone(r.Key())
	}
}

// recordedError marks an error the Recorder has already seen, so the
// informer's error handler, which sees it again, does not count it twice.
// It unwraps, so the reflector still recognises expired watches and
// throttling.
type recordedError struct{ err error }

func (e *recordedError) Error() string { return e.err.Error() }
func (e *recordedError) Unwrap() error { return e.err }

func markRecorded(err error) error {
	if err == nil {
		return nil
	}
	return &recordedError{err}
}

// podJobKeys indexes a pod under its controlling Job.
func podJobKeys(obj any) ([]string, error) {
	if r, ok := obj.(*job.PodRecord); ok {
		if key, ok := r.ControllerJobKey(); ok {
			return []string{key}, nil
		}
	}
	return nil, nil
}

// eventJobKeys indexes an event under the Job it is about.
func eventJobKeys(obj any) ([]string, error) {
	if r, ok := obj.(*job.EventRecord); ok {
		if key := r.JobKey(); key != "" {
			return []string{key}, nil
		}
	}
	return nil, nil
}

func (w *Watcher) enqueueEventJob(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if r, ok := obj.(*job.EventRecord); ok {
		if key := r.JobKey(); key != "" {
			w.enqueue(key)
		}
	}
}

func (w *Watcher) enqueueJob(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		w.cfg.Logger.Warn("skipping an object without a key", "err", err)
		return
	}
	w.enqueue(key)
}

// podChanged is the pod informer's handler: the pod's old record (nil
// when added) leaves its Job's Aggregate, the new one (nil when deleted)
// enters it, and the Job is queued.
func (w *Watcher) podChanged(oldObj, newObj any) {
	old, oldKey := podRecord(oldObj)
	rec, key := podRecord(newObj)
	w.aggMu.Lock()
	if a := w.aggregates[oldKey]; a != nil && old != nil {
		if rec == nil {
			a.Delete(old) // a watch's delete event: a copy of the cached record
		} else {
			a.Remove(old)
		}
	}
	if a := w.aggregates[key]; a != nil && rec != nil {
		a.Add(rec)
	}
	w.aggMu.Unlock()
	if oldKey != "" && oldKey != key {
		w.enqueue(oldKey)
	}
	if key != "" {
		w.enqueue(key)
	}
}

// podRecord is a pod handler's object as a record and the key of its Job
// ("" if none).
func podRecord(obj any) (*job.PodRecord, string) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	r, ok := obj.(*job.PodRecord)
	if !ok {
		return nil, ""
	}
	key, _ := r.ControllerJobKey()
	return r, key
}

func (w *Watcher) enqueue(key string) {
	if !w.cfg.Shard.Owns(key) {
		return
	}
	w.mu.Lock()
	if _, ok := w.pending[key]; !ok {
		w.pending[key] = time.Now()
	}
	w.mu.Unlock()
	w.queue.Add(key)
}

// Run starts the informers and the worker, and blocks until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	w.queue = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{})
	defer w.queue.ShutDown()
	for _, s := range w.scopes {
		go s.jobs.RunWithContext(ctx)
		go s.pods.RunWithContext(ctx)
		if s.events != nil {
			go s.events.RunWithContext(ctx)
		}
		if s.cronJobs != nil {
			go s.cronJobs.RunWithContext(ctx)
		}
	}
	go w.reportSync(ctx)
	if w.cfg.CronJobs {
		go w.followCronJobWatch(ctx)
	}
	var checks sync.WaitGroup
	if w.cfg.Kueue {
		checks.Add(1)
		go func() { defer checks.Done(); w.runKueue(ctx) }()
	}
	if w.cfg.PermissionCheckInterval > 0 {
		checks.Add(1)
		go func() { defer checks.Done(); w.runPermissionChecks(ctx, w.cfg.PermissionCheckInterval) }()
	}
	defer checks.Wait()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for w.processNext() {
		}
	}()
	<-ctx.Done()
	w.queue.ShutDown()
	<-done
}

// reportSync publishes the sync state until the initial lists of Jobs and
// Pods have reached the handlers and every Job they named has been
// rendered: only then is the output complete (a Job rendered before its
// pods arrived lacks its failures), so only then is the exporter ready.
// Events are reported on their own, when their list arrives: readiness does
// not wait for them (they may be denied, see Config.Events).
func (w *Watcher) reportSync(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	rendered, eventsSynced, slowed := false, !w.cfg.Events, false
	for {
		if !rendered {
			jobsSynced, podsSynced := w.synced()
			rendered = jobsSynced && podsSynced && w.Pending() == 0
			w.cfg.Recorder.Synced(ResourceJobs, jobsSynced && rendered)
			w.cfg.Recorder.Synced(ResourcePods, podsSynced && rendered)
			if rendered {
				w.cfg.Logger.Info("caches synced", "jobs", w.jobsCached())
			}
		}
		if !eventsSynced {
			eventsSynced = w.eventsSynced()
			w.cfg.Recorder.Synced(ResourceEvents, eventsSynced)
		}
		if rendered && eventsSynced {
			return
		}
		if rendered && !slowed {
			// Only events are left (they may be denied for good): no
			// need to ask ten times a second.
			t.Reset(time.Second)
			slowed = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// followCronJobWatch tells the CronJob series whether the CronJob objects
// can be relied on (listed, watched, allowed), and the Recorder whether
// they synced: until they are, and whenever they fail, the series come
// from the runs alone.
func (w *Watcher) followCronJobWatch(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		synced := w.cronJobsSynced()
		w.cfg.Recorder.Synced(ResourceCronJobs, synced)
		w.sink.CronJobObjects(synced && !w.cronJobsDown.Load())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Watcher) cronJobsSynced() bool {
	for _, s := range w.scopes {
		if s.cronJobs != nil && (!s.cronJobs.HasSynced() || !s.cronJobsHandler.HasSynced()) {
			return false
		}
	}
	return true
}

func (w *Watcher) eventsSynced() bool {
	for _, s := range w.scopes {
		if s.events != nil && (!s.events.HasSynced() || !s.eventsHandler.HasSynced()) {
			return false
		}
	}
	return true
}

// jobsCached is the number of Jobs in the caches (another shard's too).
func (w *Watcher) jobsCached() int {
	n := 0
	for _, s := range w.scopes {
		n += len(s.jobs.GetStore().ListKeys())
	}
	return n
}

// JobsSynced tells whether the initial list of Jobs is in the caches:
// from then on Tracks answers for every Job.
func (w *Watcher) JobsSynced() bool {
	jobs, _ := w.synced()
	return jobs
}

func (w *Watcher) synced() (jobs, pods bool) {
	jobs, pods = true, true
	for _, s := range w.scopes {
		jobs = jobs && s.jobs.HasSynced() && s.jobsHandler.HasSynced()
		pods = pods && s.pods.HasSynced() && s.podsHandler.HasSynced()
	}
	return jobs, pods
}

// Pods is the number of pods in the caches, counted by the event handlers
// (a scrape must not list 100k cache keys to count them).
func (w *Watcher) Pods() int { return int(w.pods.Load()) }

// Events is the number of FailedCreate events in the caches, counted by
// the event handlers as Pods counts pods.
func (w *Watcher) Events() int { return int(w.events.Load()) }

func (w *Watcher) processNext() bool {
	key, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(key)
	w.mu.Lock()
	since, ok := w.pending[key]
	delete(w.pending, key)
	w.inFlight++
	w.mu.Unlock()
	w.sync(key)
	if ok {
		w.cfg.Recorder.EventProcessed(time.Since(since))
	}
	w.mu.Lock()
	w.inFlight--
	w.mu.Unlock()
	return true
}

// Pending is the number of Jobs with events not yet reflected in the
// metrics. Tests and benchmarks wait for it to reach 0 after a sync.
func (w *Watcher) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) + w.inFlight
}

// sync recomputes one Job from the caches: state, not event counting, so
// processing a key twice, or after a re-list, gives the same series.
// The Job's outcomes seen until now (see outcomeBook) are reported after
// its state: taken before the state is read, since a handler stores the
// object in the cache before it holds the outcome, so the state read
// shows at least what they say.
func (w *Watcher) sync(key string) {
	finishes := w.outcomes.take(key)
	defer func() {
		for _, f := range finishes {
			w.sink.JobFinished(f)
		}
	}()
	s, ok := w.Summary(key)
	if !ok {
		w.aggMu.Lock()
		delete(w.aggregates, key)
		w.aggMu.Unlock()
		w.departed.take(key)
		w.sink.JobGone(key)
		return
	}
	w.sink.JobChanged(key, &s)
	if !s.Recheck.IsZero() {
		w.queue.AddAfter(key, time.Until(s.Recheck))
	}
}

// Summary computes the current summary of the Job "namespace/name" from the
// caches, as of now; false for a Job this replica does not track (absent,
// or another shard's, of which the cache keeps a skeleton only).
func (w *Watcher) Summary(key string) (job.Summary, bool) {
	sc := w.scopeFor(key)
	if sc == nil || !w.cfg.Shard.Owns(key) {
		return job.Summary{}, false
	}
	obj, exists, err := sc.jobs.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return job.Summary{}, false
	}
	j, ok := obj.(*job.JobRecord)
	if !ok {
		return job.Summary{}, false
	}
	var events []*job.EventRecord
	if sc.events != nil {
		objs, _ := sc.events.GetIndexer().ByIndex(eventJobIndex, key)
		for _, o := range objs {
			if r, ok := o.(*job.EventRecord); ok {
				events = append(events, r)
			}
		}
	}
	opts := w.cfg.Summarize
	opts.Now = time.Now()
	w.aggMu.Lock()
	defer w.aggMu.Unlock()
	a := w.aggregates[key]
	departed := w.departed.of(key)
	if !a.Fits(j, len(events) > 0) {
		// A new Job, one that grew big, a Job whose spec changed what a
		// pod counts as, or an Aggregate that lost an order-dependent
		// fact: (re)built from the pods in the cache, which the pod
		// handlers may not have seen yet; records count once either way.
		a = job.NewAggregate(j)
		objs, _ := sc.pods.GetIndexer().ByIndex(podJobIndex, key)
		for _, o := range objs {
			if r, ok := o.(*job.PodRecord); ok {
				a.Add(r)
			}
		}
		if a.Pods() >= keepAggregate {
			w.aggregates[key] = a
		} else {
			delete(w.aggregates, key)
		}
	}
	s := job.SummarizeAggregate(j, a, events, opts)
	s.Departed = job.DepartedOf(j, departed)
	s.Queue = w.queueOf(sc, key, j, opts.Now)
	return s, true
}

// Version identifies the state of the Job "namespace/name" and of its pods,
// events, Workloads and LocalQueue in the caches, without decoding them: it changes whenever one
// of them does (their resource versions), so a Summary computed at one
// Version can be reused while the Version stays.
func (w *Watcher) Version(key string) (string, bool) {
	sc := w.scopeFor(key)
	if sc == nil || !w.cfg.Shard.Owns(key) {
		return "", false
	}
	obj, exists, err := sc.jobs.GetIndexer().GetByKey(key)
	rec, ok := obj.(*job.JobRecord)
	if err != nil || !exists || !ok {
		return "", false
	}
	// An order-independent sum of the members' resource versions: the
	// index hands them out in no fixed order.
	var sum, n uint64
	var buf []byte
	add := func(rv []byte) {
		h := fnv.New64a()
		h.Write(rv)
		sum += h.Sum64()
		n++
	}
	pods, _ := sc.pods.GetIndexer().ByIndex(podJobIndex, key)
	for _, o := range pods {
		if r, ok := o.(*job.PodRecord); ok {
			buf = r.AppendResourceVersion(buf[:0])
			add(buf)
		}
	}
	if sc.events != nil {
		events, _ := sc.events.GetIndexer().ByIndex(eventJobIndex, key)
		for _, o := range events {
			if r, ok := o.(*job.EventRecord); ok {
				add([]byte(r.ResourceVersion))
			}
		}
	}
	w.addQueueVersions(sc, key, rec, add)
	return fmt.Sprintf("%s/%s/%d/%x", rec.UID, rec.ResourceVersion, n, sum), true
}

// Tracks tells whether this replica reports the Job "namespace/name": it
// is in the caches (its namespace watched, not excluded, its labels
// matching --watch.job-selector) and of this replica's shard. Whatever else
// reports per Job (the pod metrics) asks this, so every filter applies to
// it once.
func (w *Watcher) Tracks(key string) bool {
	sc := w.scopeFor(key)
	if sc == nil || !w.cfg.Shard.Owns(key) {
		return false
	}
	_, exists, err := sc.jobs.GetIndexer().GetByKey(key)
	return err == nil && exists
}

// ShardOf tells which shard reports the Job "namespace/name", of how many,
// and whether it is this replica's.
func (w *Watcher) ShardOf(key string) (shard, total int, mine bool) {
	return w.cfg.Shard.Of(key), w.cfg.Shard.Total, w.cfg.Shard.Owns(key)
}

// scopeFor is the scope that watches the Job "namespace/name"; nil for a
// namespace not watched or excluded (the API server filters excluded
// namespaces out already; this holds for whatever asks by key).
func (w *Watcher) scopeFor(key string) *scope {
	ns, _, _ := strings.Cut(key, "/")
	if slices.Contains(w.cfg.ExcludeNamespaces, ns) {
		return nil
	}
	for _, s := range w.scopes {
		if s.namespace == metav1.NamespaceAll || s.namespace == ns {
			return s
		}
	}
	return nil
}

// AggregatesKept is the number of Jobs whose pod Aggregate is kept between
// events (those with keepAggregate pods or more); for tests and benchmarks.
func (w *Watcher) AggregatesKept() int {
	w.aggMu.Lock()
	defer w.aggMu.Unlock()
	return len(w.aggregates)
}

// SetBackoff sets the Job controller's backoff the Summaries are computed
// with, replacing Config.Summarize's: the exporter learns it from the API
// server's version, which it may read only long after New (it serves its
// own metrics and health meanwhile). Call it before Run: every Summary
// comes from the caches, which Run fills, so none is computed with the
// old one.
func (w *Watcher) SetBackoff(b job.Backoff) { w.cfg.Summarize.Backoff = b }

// Options are the Job semantics the Summaries are computed with (Now
// unset: Summary judges at the time it is called).
func (w *Watcher) Options() job.Options { return w.cfg.Summarize }
