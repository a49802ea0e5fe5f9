package harness

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

// DriverOptions tunes the pod driver. Zero values take the defaults.
type DriverOptions struct {
	NodeName       string        // node the pods are bound to (default "e2e-node"; no Node object is needed)
	StartDelay     time.Duration // Pending/ContainerCreating before the containers start (default 100ms)
	RunTime        time.Duration // how long a container runs when the outcome gives no run= (default 500ms)
	RestartBackoff time.Duration // CrashLoopBackOff wait before an OnFailure restart (default 500ms)
	ImagePullDelay time.Duration // ErrImagePull before ImagePullBackOff (default 500ms)
	// NoOrphanGC disables deleting the pods of a deleted Job (the garbage
	// collector's job in a real cluster; no garbage collector runs here).
	NoOrphanGC bool
}

func (o *DriverOptions) defaults() {
	if o.NodeName == "" {
		o.NodeName = "e2e-node"
	}
	if o.StartDelay <= 0 {
		o.StartDelay = 100 * time.Millisecond
	}
	if o.RunTime <= 0 {
		o.RunTime = 500 * time.Millisecond
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = 500 * time.Millisecond
	}
	if o.ImagePullDelay <= 0 {
		o.ImagePullDelay = 500 * time.Millisecond
	}
}

// PodDriver plays the kubelet for every pod in the cluster: it binds pods to
// a fake node and moves them through Pending, Running and Succeeded/Failed
// with real container statuses, following each pod's OutcomeAnnotation. It
// also finishes pod deletions (marks the pod terminated, then deletes it with
// grace period 0, as the kubelet does) and deletes the pods of deleted Jobs.
type PodDriver struct {
	client kubernetes.Interface
	opts   DriverOptions
	log    io.Writer

	mu       sync.Mutex
	pods     map[types.UID]*podRun
	deleting map[types.UID]bool
	attempts map[string]int
	last     map[types.UID]*v1.Pod // what the last status write returned
	wg       sync.WaitGroup
}

type podRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewPodDriver returns a driver; call Start to run it. log may be nil.
func NewPodDriver(client kubernetes.Interface, opts DriverOptions, log io.Writer) (*PodDriver, error) {
	opts.defaults()
	if log == nil {
		log = io.Discard
	}
	return &PodDriver{
		client:   client,
		opts:     opts,
		log:      log,
		pods:     map[types.UID]*podRun{},
		deleting: map[types.UID]bool{},
		attempts: map[string]int{},
		last:     map[types.UID]*v1.Pod{},
	}, nil
}

func (d *PodDriver) logf(format string, args ...any) {
	fmt.Fprintf(d.log, "%s pod-driver: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Start watches pods and Jobs until ctx is done; it returns once the caches
// are synced.
func (d *PodDriver) Start(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(d.client, 0)
	podInf := factory.Core().V1().Pods().Informer()
	_, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { d.onPod(ctx, obj.(*v1.Pod)) },
		UpdateFunc: func(_, obj any) { d.onPod(ctx, obj.(*v1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				d.forget(p.UID)
			}
		},
	})
	if err != nil {
		return err
	}
	if !d.opts.NoOrphanGC {
		jobInf := factory.Batch().V1().Jobs().Informer()
		_, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if j, ok := obj.(*batchv1.Job); ok {
					d.goRun(func() { d.collectOrphans(ctx, j) })
				}
			},
		})
		if err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("pod driver: cache for %v did not sync", typ)
		}
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); <-ctx.Done(); factory.Shutdown() }()
	return nil
}

// Wait blocks until every goroutine of the driver has ended (after the
// context given to Start is done).
func (d *PodDriver) Wait() { d.wg.Wait() }

func (d *PodDriver) goRun(f func()) {
	d.wg.Add(1)
	go func() { defer d.wg.Done(); f() }()
}

func (d *PodDriver) onPod(ctx context.Context, pod *v1.Pod) {
	if ctx.Err() != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		if d.deleting[pod.UID] {
			return
		}
		d.deleting[pod.UID] = true
		run := d.pods[pod.UID]
		pod := pod.DeepCopy()
		d.goRun(func() { d.finishDeletion(ctx, pod, run) })
		return
	}
	if _, ok := d.pods[pod.UID]; ok || isTerminal(pod) || pod.Status.Phase == v1.PodRunning {
		// Already driven, finished, or started by an earlier driver.
		return
	}
	runCtx, cancel := context.WithCancel(ctx)
	run := &podRun{cancel: cancel, done: make(chan struct{})}
	d.pods[pod.UID] = run
	pod = pod.DeepCopy()
	d.goRun(func() {
		defer close(run.done)
		if err := d.drive(runCtx, pod); err != nil && runCtx.Err() == nil {
			d.logf("%s/%s: %v", pod.Namespace, pod.Name, err)
		}
	})
}

func (d *PodDriver) forget(uid types.UID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if run := d.pods[uid]; run != nil {
		run.cancel()
	}
	delete(d.pods, uid)
	delete(d.deleting, uid)
	delete(d.last, uid)
}

// nextAttempt counts runs per Job (and completion index); pods without a
// controlling Job count on their own.
func (d *PodDriver) nextAttempt(pod *v1.Pod) int {
	key := string(pod.UID)
	if ref := metav1.GetControllerOf(pod); ref != nil {
		key = string(ref.UID) + "/" + pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts[key]++
	return d.attempts[key]
}

func completionIndex(pod *v1.Pod) int {
	if s, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]; ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return -1
}

func isTerminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

// sleep waits d or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// drive runs one pod's life. It returns when the pod is terminal, stays in
// a waiting state for good, or ctx is cancelled (deletion, driver stop).
func (d *PodDriver) drive(ctx context.Context, pod *v1.Pod) error {
	outcome, err := ParseOutcome(pod.Annotations[OutcomeAnnotation])
	if err != nil {
		return err
	}
	index := completionIndex(pod)
	step := outcome.Resolve(index, d.nextAttempt(pod))
	d.logf("%s/%s: index %d: %+v", pod.Namespace, pod.Name, index, step)
	ps := &podState{pod: pod}
	now := metav1.Now()

	if step.Action == ActUnschedulable {
		return d.write(ctx, pod, func(st *v1.PodStatus) {
			st.Phase = v1.PodPending
			setCondition(st, v1.PodScheduled, v1.ConditionFalse, v1.PodReasonUnschedulable,
				"0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
		})
	}

	// Scheduling: bind to the fake node, as the scheduler would.
	if pod.Spec.NodeName == "" {
		err := d.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
			Target:     v1.ObjectReference{Kind: "Node", Name: d.opts.NodeName},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("bind: %w", err)
		}
	}
	ps.startTime = now
	if err := d.write(ctx, pod, func(st *v1.PodStatus) {
		ps.pending(st, "ContainerCreating", "")
	}); err != nil {
		return err
	}
	if !sleep(ctx, d.opts.StartDelay) {
		return nil
	}

	switch step.Action {
	case ActImagePull:
		image := containerImage(pod, step.Container)
		if err := d.write(ctx, pod, func(st *v1.PodStatus) {
			ps.pending(st, "ErrImagePull", fmt.Sprintf("failed to pull and unpack image %q: not found", image))
		}); err != nil {
			return err
		}
		if !sleep(ctx, d.opts.ImagePullDelay) {
			return nil
		}
		return d.write(ctx, pod, func(st *v1.PodStatus) {
			ps.pending(st, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", image))
		})
	case ActInvalidImage:
		return d.write(ctx, pod, func(st *v1.PodStatus) {
			ps.pending(st, "InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name", containerImage(pod, step.Container)))
		})
	case ActConfigError:
		return d.write(ctx, pod, func(st *v1.PodStatus) {
			ps.pending(st, "CreateContainerConfigError", `secret "e2e-missing" not found`)
		})
	case ActVolumeMissing:
		// The kubelet retries the mount and says so in an event; the
		// containers are never created.
		return d.event(ctx, pod, v1.EventTypeWarning, "FailedMount",
			`MountVolume.SetUp failed for volume "credentials" : secret "e2e-missing-volume" not found`)
	case ActInitHang:
		return d.write(ctx, pod, ps.initializing)
	}

	for {
		// Containers run.
		ps.started = metav1.Now()
		if err := d.write(ctx, pod, ps.running); err != nil {
			return err
		}
		run := step.Run
		if run == 0 {
			run = d.opts.RunTime
		}
		if step.Forever || step.Action == ActRunForever {
			<-ctx.Done()
			return nil
		}
		if !sleep(ctx, run) {
			return nil
		}
		ps.finished = metav1.Now()

		switch {
		case step.Action == ActSucceed:
			return d.write(ctx, pod, ps.succeeded)
		case step.Action == ActDisruption:
			return d.write(ctx, pod, ps.disrupted)
		case pod.Spec.RestartPolicy == v1.RestartPolicyNever:
			return d.write(ctx, pod, func(st *v1.PodStatus) { ps.failed(st, step) })
		}
		// OnFailure: the kubelet restarts the failed container in place.
		if err := d.write(ctx, pod, func(st *v1.PodStatus) { ps.crashLoop(st, step) }); err != nil {
			return err
		}
		if !sleep(ctx, d.opts.RestartBackoff) {
			return nil
		}
		ps.restarts[ps.failing(step)]++
		step = outcome.Resolve(index, d.nextAttempt(pod))
		d.logf("%s/%s: restart: %+v", pod.Namespace, pod.Name, step)
	}
}

// event records an event about the pod as the kubelet of d's node would.
func (d *PodDriver) event(ctx context.Context, pod *v1.Pod, typ, reason, message string) error {
	now := metav1.Now()
	_, err := d.client.CoreV1().Events(pod.Namespace).Create(ctx, &v1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, GenerateName: pod.Name + "."},
		InvolvedObject: v1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		},
		Type: typ, Reason: reason, Message: message,
		Source:         v1.EventSource{Component: "kubelet", Host: d.opts.NodeName},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "kubelet", ReportingInstance: d.opts.NodeName,
	}, metav1.CreateOptions{})
	return err
}

// write replaces the pod's status with what mutate makes of it. It starts
// from the object its last write returned (one request per step, which
// matters for scale tests) and re-reads the pod on a conflict (the Job
// controller updates pods too, to remove its finalizer).
func (d *PodDriver) write(ctx context.Context, pod *v1.Pod, mutate func(*v1.PodStatus)) error {
	d.mu.Lock()
	cur := d.last[pod.UID]
	d.mu.Unlock()
	if cur == nil {
		cur = pod
	}
	cur = cur.DeepCopy()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur == nil {
			fresh, err := d.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if fresh.UID != pod.UID {
				return fmt.Errorf("pod was replaced")
			}
			cur = fresh
		}
		if isTerminal(cur) {
			return nil // never resurrect a finished pod
		}
		mutate(&cur.Status)
		updated, err := d.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			cur = nil
			return err
		}
		d.mu.Lock()
		if _, tracked := d.pods[pod.UID]; tracked {
			d.last[pod.UID] = updated
		}
		d.mu.Unlock()
		return nil
	})
}

// finishDeletion does what the kubelet does for a pod being deleted: kill
// its containers (SIGTERM, exit 143), report the pod terminal, then delete it
// with grace period 0. The Job controller removes its finalizer.
func (d *PodDriver) finishDeletion(ctx context.Context, pod *v1.Pod, run *podRun) {
	if run != nil {
		run.cancel()
		<-run.done
	}
	if ctx.Err() != nil {
		return
	}
	now := metav1.Now()
	err := d.write(ctx, pod, func(st *v1.PodStatus) {
		for i := range st.ContainerStatuses {
			cs := &st.ContainerStatuses[i]
			cs.Ready = false
			cs.Started = ptr(false)
			if cs.State.Running != nil {
				cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
					ExitCode: 143, Reason: "Error", StartedAt: cs.State.Running.StartedAt, FinishedAt: now,
					ContainerID: cs.ContainerID,
				}}
			}
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyAlways {
			st.Phase = v1.PodSucceeded
		} else {
			st.Phase = v1.PodFailed
		}
		setCondition(st, v1.PodReady, v1.ConditionFalse, "PodFailed", "")
		setCondition(st, v1.ContainersReady, v1.ConditionFalse, "PodFailed", "")
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		d.logf("%s/%s: terminate: %v", pod.Namespace, pod.Name, err)
	}
	err = d.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		d.logf("%s/%s: delete: %v", pod.Namespace, pod.Name, err)
	}
}

// collectOrphans deletes the pods of a deleted Job, as the garbage collector
// would for ownerReferences.
func (d *PodDriver) collectOrphans(ctx context.Context, job *batchv1.Job) {
	pods, err := d.client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID),
	})
	if err != nil {
		if ctx.Err() == nil {
			d.logf("job %s/%s deleted: list pods: %v", job.Namespace, job.Name, err)
		}
		return
	}
	for _, p := range pods.Items {
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != job.UID || p.DeletionTimestamp != nil {
			continue
		}
		err := d.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &p.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			d.logf("job %s/%s deleted: delete pod %s: %v", job.Namespace, job.Name, p.Name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func containerImage(pod *v1.Pod, name string) string {
	for _, c := range pod.Spec.Containers {
		if name == "" || c.Name == name {
			return c.Image
		}
	}
	return ""
}
