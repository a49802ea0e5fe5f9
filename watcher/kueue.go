package watcher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/queue"
)

// Kueue (Config.Kueue). Its API is a set of custom resources that may be
// installed after the exporter starts, or removed: a goroutine asks
// whether the API server serves it (kube.Client.KueueVersion) at start and
// every KueueDiscoveryInterval while it does not. Once it does, each scope
// gets informers of Workloads (indexed by their Job) and LocalQueues; once
// both synced, every Summary of a Job labelled with a queue name carries
// its place in the queue (queue.StateOf). A list or watch that finds the
// API gone (404: the CRDs were deleted) stops them, takes the Queue off
// the Summaries and goes back to discovery. Readiness never waits for any
// of it: a cluster without Kueue, or without the permission, gets every
// other metric.

// DefaultKueueDiscoveryInterval is how often Kueue's API is looked for
// while the API server does not serve it: a cluster that installs Kueue
// gets its queue series within a minute, for one small request a minute
// otherwise.
const DefaultKueueDiscoveryInterval = time.Minute

// workloadJobIndex indexes Workload records by their Job's
// "namespace/name".
const workloadJobIndex = "job"

// jobQueueIndex indexes Job records by "namespace/queue name", so a
// LocalQueue's change reaches the Jobs that name it.
const jobQueueIndex = "queue"

func jobQueueKeys(obj any) ([]string, error) {
	if r, ok := obj.(*job.JobRecord); ok && r.QueueName != "" {
		return []string{r.Namespace + "/" + r.QueueName}, nil
	}
	return nil, nil
}

// kueueWatch are the informers of Kueue's API at one version, for as long
// as it is served.
type kueueWatch struct {
	version string
	scopes  map[string]*kueueScope // by the namespace of the Watcher's scope
	// synced is set once every informer's initial list reached its
	// handlers: from then on the Summaries carry a Queue.
	synced atomic.Bool
	// gone is closed when a list or watch finds the API not served.
	gone     chan struct{}
	goneOnce sync.Once
	// workloads and localQueues count the objects in the caches, as the
	// handlers see them come and go (Watcher.KueueObjects).
	workloads, localQueues atomic.Int64
}

// kueueScope are the Kueue informers of one of the Watcher's scopes.
type kueueScope struct {
	scope                                *scope
	workloads, localQueues               cache.SharedIndexInformer
	workloadsHandler, localQueuesHandler cache.ResourceEventHandlerRegistration
}

func (k *kueueWatch) lost() { k.goneOnce.Do(func() { close(k.gone) }) }

// notFound notes an error saying the API is not served, and passes it on.
func (k *kueueWatch) notFound(err error) error {
	if apierrors.IsNotFound(err) {
		k.lost()
	}
	return err
}

// hasSynced tells whether the informers of resource synced in every scope.
func (k *kueueWatch) hasSynced(resource string) bool {
	for _, ks := range k.scopes {
		inf, reg := ks.workloads, ks.workloadsHandler
		if resource == ResourceLocalQueues {
			inf, reg = ks.localQueues, ks.localQueuesHandler
		}
		if !inf.HasSynced() || !reg.HasSynced() {
			return false
		}
	}
	return true
}

// runKueue discovers Kueue's API and watches it while it is served, until
// ctx is done.
func (w *Watcher) runKueue(ctx context.Context) {
	interval := w.cfg.KueueDiscoveryInterval
	if interval <= 0 {
		interval = DefaultKueueDiscoveryInterval
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		version, err := w.cfg.Client.KueueVersion(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Not known to be absent: what was reported stands.
			w.cfg.Logger.Warn("cannot look for Kueue's API", "group", kube.KueueGroup, "err", err)
		case version == "":
			w.cfg.Recorder.KueueAPI("", false)
		default:
			w.cfg.Recorder.KueueAPI(version, true)
			w.watchKueue(ctx, version, interval)
		}
		t.Reset(interval)
	}
}

// watchKueue runs the informers of Kueue's API at version until ctx is
// done or the API is gone (then looked for again after recheck).
func (w *Watcher) watchKueue(ctx context.Context, version string, recheck time.Duration) {
	k, err := w.newKueueWatch(version)
	if err != nil {
		w.cfg.Logger.Error("cannot watch Kueue's API", "group", kube.KueueGroup, "version", version, "err", err)
		return
	}
	w.cfg.Logger.Info("watching Kueue's Workloads and LocalQueues", "group", kube.KueueGroup, "version", version)
	kctx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { cancel(); running.Wait() }()
	for _, ks := range k.scopes {
		for _, inf := range []cache.SharedIndexInformer{ks.workloads, ks.localQueues} {
			running.Go(func() { inf.RunWithContext(kctx) })
		}
	}
	w.kueue.Store(k)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	synced := map[string]bool{}
	for _, r := range []string{ResourceWorkloads, ResourceLocalQueues} {
		w.cfg.Recorder.Synced(r, false)
	}
	for {
		if !k.synced.Load() {
			for _, r := range []string{ResourceWorkloads, ResourceLocalQueues} {
				if !synced[r] && k.hasSynced(r) {
					synced[r] = true
					w.cfg.Recorder.Synced(r, true)
				}
			}
			if synced[ResourceWorkloads] && synced[ResourceLocalQueues] {
				k.synced.Store(true)
				// Every Kueue-managed Job now has a Queue, also those
				// no Workload or LocalQueue event named.
				w.enqueueQueuedJobs()
				t.Stop()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-k.gone:
			w.cfg.Logger.Warn("Kueue's API is gone, looking for it again", "group", kube.KueueGroup, "version", version, "in", recheck)
			w.kueue.Store(nil)
			for _, r := range []string{ResourceWorkloads, ResourceLocalQueues} {
				w.cfg.Recorder.Synced(r, false)
			}
			w.cfg.Recorder.KueueAPI("", false)
			w.enqueueQueuedJobs()
			return
		case <-t.C:
		}
	}
}

// enqueueQueuedJobs queues every Job labelled with a queue name.
func (w *Watcher) enqueueQueuedJobs() {
	for _, sc := range w.scopes {
		idx := sc.jobs.GetIndexer()
		for _, v := range idx.ListIndexFuncValues(jobQueueIndex) {
			w.enqueueQueue(sc, v)
		}
	}
}

// enqueueQueue queues the Jobs of sc that name the LocalQueue
// "namespace/name".
func (w *Watcher) enqueueQueue(sc *scope, queueKey string) {
	objs, _ := sc.jobs.GetIndexer().ByIndex(jobQueueIndex, queueKey)
	for _, o := range objs {
		if r, ok := o.(*job.JobRecord); ok {
			w.enqueue(r.Namespace + "/" + r.Name)
		}
	}
}

// newKueueWatch builds the Kueue informers of every scope at version.
func (w *Watcher) newKueueWatch(version string) (*kueueWatch, error) {
	k := &kueueWatch{version: version, scopes: map[string]*kueueScope{}, gone: make(chan struct{})}
	client, fieldSel := w.cfg.Client, w.fieldSelector()
	tweak := func(o *metav1.ListOptions) { o.FieldSelector = fieldSel }
	for _, sc := range w.scopes {
		ns := sc.namespace
		ks := &kueueScope{scope: sc}
		workloadsLW := w.listWatch(ResourceWorkloads, tweak, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l, err := client.ListWorkloads(ctx, version, ns, o)
			return l, k.notFound(err)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			wi, err := client.WatchWorkloads(ctx, version, ns, o)
			return wi, k.notFound(err)
		})
		localQueuesLW := w.listWatch(ResourceLocalQueues, tweak, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l, err := client.ListLocalQueues(ctx, version, ns, o)
			return l, k.notFound(err)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			wi, err := client.WatchLocalQueues(ctx, version, ns, o)
			return wi, k.notFound(err)
		})
		ks.workloads = cache.NewSharedIndexInformer(workloadsLW, &kube.Workload{}, 0, cache.Indexers{workloadJobIndex: queue.WorkloadJobKeys})
		ks.localQueues = cache.NewSharedIndexInformer(localQueuesLW, &kube.LocalQueue{}, 0, cache.Indexers{})
		for _, inf := range []informer{
			{ks.workloads, w.recordWorkload, ResourceWorkloads, cache.ResourceEventHandlerDetailedFuncs{
				AddFunc: func(obj any, initial bool) {
					k.workloads.Add(1)
					// The initial list is what happened before: an
					// eviction it shows may predate the exporter.
					if !initial {
						w.workloadChanged(sc, nil, obj)
					}
					w.enqueueWorkloadJob(obj)
				},
				UpdateFunc: func(old, obj any) { w.workloadChanged(sc, old, obj); w.enqueueWorkloadJob(obj) },
				DeleteFunc: func(obj any) { k.workloads.Add(-1); w.enqueueWorkloadJob(obj) },
			}, &ks.workloadsHandler},
			{ks.localQueues, queue.RecordLocalQueue, ResourceLocalQueues, cache.ResourceEventHandlerFuncs{
				AddFunc:    func(obj any) { k.localQueues.Add(1); w.localQueueChanged(sc, obj) },
				UpdateFunc: func(_, obj any) { w.localQueueChanged(sc, obj) },
				DeleteFunc: func(obj any) { k.localQueues.Add(-1); w.localQueueChanged(sc, obj) },
			}, &ks.localQueuesHandler},
		} {
			if err := w.setUp(inf); err != nil {
				return nil, err
			}
		}
		k.scopes[ns] = ks
	}
	return k, nil
}

// recordWorkload is the Workload informer's transform: the record, or
// only its skeleton for a Workload of no Job or of another shard's Job
// (its events change nothing this replica reports).
func (w *Watcher) recordWorkload(obj any) (any, error) {
	out, err := queue.RecordWorkload(obj)
	if r, ok := out.(*queue.WorkloadRecord); ok && (r.JobName == "" || !w.cfg.Shard.Owns(r.Namespace+"/"+r.JobName)) {
		return &queue.WorkloadRecord{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}, err
	}
	return out, err
}

// workloadRecord is a Workload handler's object as a record.
func workloadRecord(obj any) *queue.WorkloadRecord {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	r, _ := obj.(*queue.WorkloadRecord)
	return r
}

func (w *Watcher) enqueueWorkloadJob(obj any) {
	if r := workloadRecord(obj); r != nil && r.JobName != "" {
		w.enqueue(r.Namespace + "/" + r.JobName)
	}
}

// workloadChanged reports the eviction a Workload's change from old (nil:
// first seen after the initial list) to cur shows, once, under its Job's
// owner: only for a Job of this replica's cache and shard, the very Job
// (UID) that owns the Workload.
func (w *Watcher) workloadChanged(sc *scope, old, cur any) {
	rec := workloadRecord(cur)
	if rec == nil || rec.JobName == "" {
		return
	}
	key := rec.Namespace + "/" + rec.JobName
	if !w.cfg.Shard.Owns(key) {
		return
	}
	ev, ok := queue.EvictionOf(workloadRecord(old), rec)
	if !ok {
		return
	}
	obj, exists, err := sc.jobs.GetIndexer().GetByKey(key)
	j, isJob := obj.(*job.JobRecord)
	if err != nil || !exists || !isJob || (rec.JobUID != "" && rec.JobUID != j.UID) {
		return
	}
	w.sink.QueueEvicted(job.QueueEvicted{Namespace: j.Namespace, Owner: j.Owner, Job: j.Name, Eviction: ev})
}

// localQueueChanged queues the Jobs of sc that name the LocalQueue.
func (w *Watcher) localQueueChanged(sc *scope, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if r, ok := obj.(*queue.LocalQueueRecord); ok {
		w.enqueueQueue(sc, r.Namespace+"/"+r.Name)
	}
}

// KueueObjects are the numbers of Workloads and LocalQueues in the caches
// (0 while Kueue's API is not watched), counted by the event handlers as
// Pods counts pods.
func (w *Watcher) KueueObjects() (workloads, localQueues int) {
	k := w.kueue.Load()
	if k == nil {
		return 0, 0
	}
	return int(k.workloads.Load()), int(k.localQueues.Load())
}

// kueueOf are the Kueue informers and those of sc while they are synced,
// nil otherwise.
func (w *Watcher) kueueOf(sc *scope) (*kueueWatch, *kueueScope) {
	k := w.kueue.Load()
	if k == nil || !k.synced.Load() || k.scopes[sc.namespace] == nil {
		return nil, nil
	}
	return k, k.scopes[sc.namespace]
}

// queueOf is where the Job j (key) stands in its Kueue queue; nil for a
// Job without a queue name, and while Kueue's informers are not synced.
func (w *Watcher) queueOf(sc *scope, key string, j *job.JobRecord, now time.Time) *job.Queue {
	_, ks := w.kueueOf(sc)
	if ks == nil || j.QueueName == "" {
		return nil
	}
	workloads, lq := ks.recordsOf(key, j)
	return queue.StateOf(j, workloads, lq, now)
}

// recordsOf are the Workloads of the Job j (key) and its LocalQueue (nil
// if not cached).
func (ks *kueueScope) recordsOf(key string, j *job.JobRecord) ([]*queue.WorkloadRecord, *queue.LocalQueueRecord) {
	var workloads []*queue.WorkloadRecord
	objs, _ := ks.workloads.GetIndexer().ByIndex(workloadJobIndex, key)
	for _, o := range objs {
		if r, ok := o.(*queue.WorkloadRecord); ok {
			workloads = append(workloads, r)
		}
	}
	var lq *queue.LocalQueueRecord
	if o, exists, err := ks.localQueues.GetIndexer().GetByKey(j.Namespace + "/" + j.QueueName); err == nil && exists {
		lq, _ = o.(*queue.LocalQueueRecord)
	}
	return workloads, lq
}

// addQueueVersions adds to a Job's Version what its Queue is computed
// from: that Kueue is watched (and at which version), the resource
// versions of its Workloads and LocalQueue.
func (w *Watcher) addQueueVersions(sc *scope, key string, j *job.JobRecord, add func([]byte)) {
	k, ks := w.kueueOf(sc)
	if ks == nil || j.QueueName == "" {
		return
	}
	add(fmt.Appendf(nil, "kueue %s", k.version))
	workloads, lq := ks.recordsOf(key, j)
	for _, r := range workloads {
		add([]byte(r.ResourceVersion))
	}
	if lq != nil {
		add([]byte("localqueue " + lq.ResourceVersion))
	}
}
