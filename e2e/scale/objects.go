// Package scale measures the exporter binary against the e2e harness's real
// kube-apiserver with thousands of Jobs and pods: time to ready, heap and
// RSS, heap per tracked Job and Pod, scrape latency and size, series count,
// the delay from a pod status update to /metrics, heap after churn, and
// what the events watch costs under a stream of pod Warning events it must
// not receive (events.go).
//
// The Jobs carry spec.managedBy, so the harness's real Job controller leaves
// them alone; the test writes every Job and pod status itself (the harness
// runs with NoPodDriver). See docs/scale.md and e2e/scale.mk.
package scale

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// managedBy makes the built-in Job controller skip the Jobs (JobManagedBy,
// GA in Kubernetes 1.35): this test is their controller.
const managedBy = "scale.kube-job-exporter.io/test"

// Job kinds, by index i: i%4 == 0 failed (every pod OOMKilled, backoffLimit
// exceeded), 1 running after exit-127 failures, 2 and 3 complete after
// retries (exit 1, then success). Every 5th Job is Indexed (completions 1).
type kind int

const (
	kindOOM kind = iota
	kindRunning127
	kindComplete
)

func kindOf(i int) kind {
	switch i % 4 {
	case 0:
		return kindOOM
	case 1:
		return kindRunning127
	default:
		return kindComplete
	}
}

func jobName(i int) string    { return fmt.Sprintf("job-%06d", i) }
func podName(i, p int) string { return fmt.Sprintf("job-%06d-%02d", i, p) }
func namespaceOf(prefix string, i, namespaces int) string {
	return fmt.Sprintf("%s-%02d", prefix, i%namespaces)
}

// batch describes a set of Jobs: indexes [first, first+count), podsPerJob pods each.
type batch struct {
	prefix     string // namespace prefix
	namespaces int
	first      int
	count      int
	podsPerJob int
}

func (b batch) pods() int { return b.count * b.podsPerJob }

var base = time.Now().Add(-2 * time.Hour).Truncate(time.Second)

func ptr[T any](v T) *T { return &v }

func newJob(ns string, i, pods int) *batchv1.Job {
	k := kindOf(i)
	limit := int32(pods + 2) // running and complete Jobs: not exceeded
	if k == kindOOM {
		limit = int32(pods - 1)
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName(i), Namespace: ns, Labels: map[string]string{"app": "scale", "team": fmt.Sprintf("team-%d", i%7)}},
		Spec: batchv1.JobSpec{
			ManagedBy:    ptr(managedBy),
			BackoffLimit: ptr(limit),
			Template: v1.PodTemplateSpec{
				Spec: v1.PodSpec{
					RestartPolicy: v1.RestartPolicyNever,
					Containers: []v1.Container{{
						Name: "main", Image: "registry.example.com/batch/worker:1.4.2",
						Command: []string{"/bin/worker", "--input=s3://bucket/data"},
						Resources: v1.ResourceRequirements{
							Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("256Mi")},
						},
					}},
				},
			},
		},
	}
	if i%5 == 0 {
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr(int32(1)), ptr(int32(1))
	}
	return j
}

func cond(t batchv1.JobConditionType, reason string, at metav1.Time) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: v1.ConditionTrue, Reason: reason, LastProbeTime: at, LastTransitionTime: at}
}

// jobStatus is what the Job controller would have written for kind k with
// pods pods.
func jobStatus(j *batchv1.Job, i, pods int) batchv1.JobStatus {
	start := metav1.NewTime(base.Add(time.Duration(i%600) * time.Second))
	end := metav1.NewTime(start.Add(time.Duration(pods) * time.Minute))
	st := batchv1.JobStatus{StartTime: &start, Ready: ptr(int32(0)), Terminating: ptr(int32(0)),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}}
	switch kindOf(i) {
	case kindOOM:
		st.Failed = int32(pods)
		st.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, end),
			cond(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, end),
		}
	case kindRunning127:
		st.Failed, st.Active, st.Ready = int32(pods-1), 1, ptr(int32(1))
	case kindComplete:
		st.Failed, st.Succeeded = int32(pods-1), 1
		st.CompletionTime = &end
		st.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, end),
			cond(batchv1.JobComplete, "", end),
		}
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			st.CompletedIndexes = "0"
		}
	}
	return st
}

func newPod(j *batchv1.Job, i, p int) *v1.Pod {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: podName(i, p), Namespace: j.Namespace,
			Labels: map[string]string{
				batchv1.JobNameLabel:       j.Name,
				batchv1.ControllerUidLabel: string(j.UID),
				"job-name":                 j.Name,
				"controller-uid":           string(j.UID),
			},
			Annotations: map[string]string{},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: *j.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = fmt.Sprintf("node-%03d", (i+p)%200)
	if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = "0"
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = "0"
	}
	return pod
}

func podCond(t v1.PodConditionType, ok bool, reason string, at metav1.Time) v1.PodCondition {
	s := v1.ConditionFalse
	if ok {
		s = v1.ConditionTrue
	}
	return v1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: at}
}

// failPod writes the status of a pod whose container exited with exit and reason.
func failPod(pod *v1.Pod, started time.Time, exit int32, reason string) {
	s, f := metav1.NewTime(started), metav1.NewTime(started.Add(30*time.Second))
	pod.Status = v1.PodStatus{
		Phase: v1.PodFailed, HostIP: "10.0.0.1", PodIP: "10.244.1.7", StartTime: &s, QOSClass: v1.PodQOSBurstable,
		Conditions: []v1.PodCondition{
			podCond(v1.PodReadyToStartContainers, false, "", f), podCond(v1.PodInitialized, true, "", s),
			podCond(v1.PodReady, false, "PodFailed", f), podCond(v1.ContainersReady, false, "PodFailed", f),
			podCond(v1.PodScheduled, true, "", s),
		},
		ContainerStatuses: []v1.ContainerStatus{{
			Name: "main", Image: pod.Spec.Containers[0].Image, ImageID: "registry.example.com/batch/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			ContainerID: "containerd://" + string(pod.UID), Started: ptr(false),
			State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: exit, Reason: reason, StartedAt: s, FinishedAt: f, ContainerID: "containerd://" + string(pod.UID),
			}},
		}},
	}
	if exit == 0 {
		pod.Status.Phase = v1.PodSucceeded
		pod.Status.Conditions[2].Reason, pod.Status.Conditions[3].Reason = "PodCompleted", "PodCompleted"
	}
}

func runPod(pod *v1.Pod, started time.Time) {
	s := metav1.NewTime(started)
	pod.Status = v1.PodStatus{
		Phase: v1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.244.1.7", StartTime: &s, QOSClass: v1.PodQOSBurstable,
		Conditions: []v1.PodCondition{
			podCond(v1.PodReadyToStartContainers, true, "", s), podCond(v1.PodInitialized, true, "", s),
			podCond(v1.PodReady, true, "", s), podCond(v1.ContainersReady, true, "", s),
			podCond(v1.PodScheduled, true, "", s),
		},
		ContainerStatuses: []v1.ContainerStatus{{
			Name: "main", Image: pod.Spec.Containers[0].Image, ImageID: "registry.example.com/batch/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			ContainerID: "containerd://" + string(pod.UID), Started: ptr(true), Ready: true,
			State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: s}},
		}},
	}
}

// podStatus writes pod p of Job i as kind k leaves it: every pod but the
// last failed; the last one OOMKilled too, running, or succeeded.
func podStatus(pod *v1.Pod, i, p, pods int) {
	started := base.Add(time.Duration(i%600)*time.Second + time.Duration(p)*time.Minute)
	last := p == pods-1
	switch kindOf(i) {
	case kindOOM:
		failPod(pod, started, 137, "OOMKilled")
	case kindRunning127:
		if last {
			runPod(pod, started)
		} else {
			failPod(pod, started, 127, "Error")
		}
	case kindComplete:
		if last {
			failPod(pod, started, 0, "Completed")
		} else {
			failPod(pod, started, 1, "Error")
		}
	}
}

// createBatch creates the namespaces, Jobs and pods of b and writes their
// statuses, with workers concurrent clients. It returns the number of API
// requests made.
func createBatch(ctx context.Context, cs kubernetes.Interface, b batch, workers int, progress func(done int)) (int64, error) {
	for n := 0; n < b.namespaces; n++ {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", b.prefix, n)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
			return 0, err
		}
	}
	var requests atomic.Int64
	return forEach(ctx, b.first, b.count, workers, progress, &requests, func(ctx context.Context, i int) error {
		ns := namespaceOf(b.prefix, i, b.namespaces)
		j, err := cs.BatchV1().Jobs(ns).Create(ctx, newJob(ns, i, b.podsPerJob), metav1.CreateOptions{})
		requests.Add(1)
		if err != nil {
			return fmt.Errorf("create job %s/%s: %w", ns, jobName(i), err)
		}
		for p := 0; p < b.podsPerJob; p++ {
			pod, err := cs.CoreV1().Pods(ns).Create(ctx, newPod(j, i, p), metav1.CreateOptions{})
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("create pod %s/%s: %w", ns, podName(i, p), err)
			}
			podStatus(pod, i, p, b.podsPerJob)
			_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("pod status %s/%s: %w", ns, pod.Name, err)
			}
		}
		j.Status = jobStatus(j, i, b.podsPerJob)
		_, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{})
		requests.Add(1)
		if err != nil {
			return fmt.Errorf("job status %s/%s: %w", ns, j.Name, err)
		}
		return nil
	})
}

// deleteBatch deletes the Jobs and pods of b (pods with grace period 0: no
// kubelet runs; Jobs with background propagation: no garbage collector runs,
// and the default orphan finalizer would never be removed).
func deleteBatch(ctx context.Context, cs kubernetes.Interface, b batch, workers int) (int64, error) {
	var requests atomic.Int64
	return forEach(ctx, b.first, b.count, workers, nil, &requests, func(ctx context.Context, i int) error {
		ns := namespaceOf(b.prefix, i, b.namespaces)
		if err := cs.BatchV1().Jobs(ns).Delete(ctx, jobName(i), metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
			return err
		}
		requests.Add(1)
		for p := 0; p < b.podsPerJob; p++ {
			if err := cs.CoreV1().Pods(ns).Delete(ctx, podName(i, p), metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
				return err
			}
			requests.Add(1)
		}
		return nil
	})
}

func forEach(ctx context.Context, first, count, workers int, progress func(int), requests *atomic.Int64, fn func(context.Context, int) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if d := done.Add(1); progress != nil && d%1000 == 0 {
					progress(int(d))
				}
			}
		}()
	}
feed:
	for i := first; i < first+count; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return requests.Load(), firstErr
}

// failRunningPod turns the running pod of kindRunning127 Job i into one more
// exit-127 failure: kubejob_pod_failures{exit_code="127"} of the Job goes
// from pods-1 to pods.
func failRunningPod(ctx context.Context, cs kubernetes.Interface, ns string, i, pods int) error {
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, podName(i, pods-1), metav1.GetOptions{})
	if err != nil {
		return err
	}
	failPod(pod, time.Now().Add(-30*time.Second), 127, "Error")
	_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
