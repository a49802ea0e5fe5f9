// Package scale measures the exporter binary against the e2e harness's real
// kube-apiserver with thousands of Jobs and pods, the runs of CronJobs:
// time to ready, heap and RSS, heap per tracked Job and Pod and per
// CronJob object, scrape latency and size, series count, the delay from a
// pod status update to /metrics, heap after churn, and
// what the events watch costs under a stream of pod Warning events it must
// not receive (events.go).
//
// The Jobs carry spec.managedBy, so the harness's real Job controller leaves
// them alone; the test writes every Job and pod status itself (the harness
// runs with NoPodDriver). In TestScale and the sharding test every 10 Jobs
// are the runs of one CronJob, suspended, which the real CronJob
// controller leaves alone too. See docs/scale.md and e2e/scale.mk.
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

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
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
	// runsPerCronJob > 0 makes the Jobs runs of CronJobs: Jobs
	// [c·n, (c+1)·n) are the n runs of CronJob c, in its namespace, with
	// its controller owner reference and named as the CronJob controller
	// names them (first and count are multiples of n). 0: Jobs of their
	// own, named job-NNNNNN.
	runsPerCronJob int
}

func (b batch) pods() int { return b.count * b.podsPerJob }

// cronJobs is the number of CronJobs of b.
func (b batch) cronJobs() int {
	if b.runsPerCronJob <= 0 {
		return 0
	}
	return b.count / b.runsPerCronJob
}

// cronOf is the CronJob of Job i.
func (b batch) cronOf(i int) int { return i / b.runsPerCronJob }

// namespace is Job i's: its CronJob's, so a CronJob's runs share it.
func (b batch) namespace(i int) string {
	if b.runsPerCronJob > 0 {
		return namespaceOf(b.prefix, b.cronOf(i), b.namespaces)
	}
	return namespaceOf(b.prefix, i, b.namespaces)
}

// jobName is "<cronjob>-<scheduled time in minutes since the epoch>" for
// a CronJob's run, as the CronJob controller names them (the exporter's
// sharding keeps a CronJob's runs together by that suffix), else
// job-NNNNNN.
func (b batch) jobName(i int) string {
	if b.runsPerCronJob > 0 {
		c, n := b.cronOf(i), b.runsPerCronJob
		return fmt.Sprintf("%s-%d", cronJobName(c), scheduledTime(c, i%n, n).Unix()/60)
	}
	return fmt.Sprintf("job-%06d", i)
}

func (b batch) podName(i, p int) string { return fmt.Sprintf("%s-%02d", b.jobName(i), p) }

func cronJobName(c int) string { return fmt.Sprintf("cron-%05d", c) }

// cronHour is the hour of the CronJobs' daily schedules (the controller's
// and the exporter's local time): 12 hours after the run starts, so that
// no schedule comes due during it (they are suspended too).
var cronHour = base.Add(14 * time.Hour).Hour()

// cronSchedule is CronJob c's: daily at cronHour, minute c%60.
func cronSchedule(c int) string { return fmt.Sprintf("%d %d * * *", c%60, cronHour) }

// scheduledTime is when run r of the n runs of CronJob c was due: the
// newest (r = n-1) the last time its schedule came before base, each older
// one a day earlier.
func scheduledTime(c, r, n int) time.Time {
	t := time.Date(base.Year(), base.Month(), base.Day(), cronHour, c%60, 0, 0, time.Local)
	for t.After(base) {
		t = t.AddDate(0, 0, -1)
	}
	return t.AddDate(0, 0, -(n - 1 - r))
}

// cronHistory is the CronJobs' successfulJobsHistoryLimit and
// failedJobsHistoryLimit: high enough that the real CronJob controller,
// which trims finished runs beyond them even while a CronJob is suspended,
// deletes none of the test's.
const cronHistory = 100

// newCronJob is CronJob c: suspended (the real CronJob controller starts
// no run of it: the test creates them), with the Jobs' template.
func newCronJob(b batch, c int) *batchv1.CronJob {
	first := c * b.runsPerCronJob
	tmpl := newJob(b, first)
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: cronJobName(c), Namespace: b.namespace(first), Labels: map[string]string{"app": "scale", "team": fmt.Sprintf("team-%d", c%7)}},
		Spec: batchv1.CronJobSpec{
			Schedule:                   cronSchedule(c),
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr(true),
			SuccessfulJobsHistoryLimit: ptr(int32(cronHistory)),
			FailedJobsHistoryLimit:     ptr(int32(cronHistory)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "scale"}},
				Spec:       tmpl.Spec,
			},
		},
	}
}

// cronStatus is what the CronJob controller would have written for
// CronJob c once its runs were as the test left them: the newest run's
// scheduled time, the running runs as active, the newest success.
func cronStatus(b batch, c int, jobs []*batchv1.Job) batchv1.CronJobStatus {
	n := b.runsPerCronJob
	last := metav1.NewTime(scheduledTime(c, n-1, n))
	st := batchv1.CronJobStatus{LastScheduleTime: &last}
	for _, j := range jobs {
		switch {
		case j.Status.CompletionTime != nil && j.Status.Succeeded > 0:
			if st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time) {
				st.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
			}
		case j.Status.Active > 0:
			st.Active = append(st.Active, v1.ObjectReference{
				Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
			})
		}
	}
	return st
}

var base = time.Now().Add(-2 * time.Hour).Truncate(time.Second)

func ptr[T any](v T) *T { return &v }

// newJob is Job i of b, without the owner reference to its CronJob.
func newJob(b batch, i int) *batchv1.Job {
	ns, pods := b.namespace(i), b.podsPerJob
	k := kindOf(i)
	limit := int32(pods + 2) // running and complete Jobs: not exceeded
	if k == kindOOM {
		limit = int32(pods - 1)
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: b.jobName(i), Namespace: ns, Labels: map[string]string{"app": "scale", "team": fmt.Sprintf("team-%d", i%7)}},
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
			Name: fmt.Sprintf("%s-%02d", j.Name, p), Namespace: j.Namespace,
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

// createBatch creates the namespaces, CronJobs, Jobs and pods of b and
// writes their statuses, with workers concurrent clients. It returns the
// number of API requests made.
func createBatch(ctx context.Context, cs kubernetes.Interface, b batch, workers int, progress func(done int)) (int64, error) {
	if n := b.runsPerCronJob; n > 0 && (b.first%n != 0 || b.count%n != 0) {
		return 0, fmt.Errorf("batch %s: Jobs [%d, %d) are not whole CronJobs of %d runs", b.prefix, b.first, b.first+b.count, n)
	}
	for n := 0; n < b.namespaces; n++ {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", b.prefix, n)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
			return 0, err
		}
	}
	var requests atomic.Int64
	// The CronJobs first: their runs name them, with their UIDs.
	firstCron := 0
	var crons []*batchv1.CronJob
	if b.runsPerCronJob > 0 {
		firstCron = b.first / b.runsPerCronJob
		crons = make([]*batchv1.CronJob, b.cronJobs())
		if _, err := forEach(ctx, firstCron, len(crons), workers, nil, &requests, func(ctx context.Context, c int) error {
			cj := newCronJob(b, c)
			created, err := cs.BatchV1().CronJobs(cj.Namespace).Create(ctx, cj, metav1.CreateOptions{})
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("create cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
			}
			crons[c-firstCron] = created
			return nil
		}); err != nil {
			return requests.Load(), err
		}
	}
	jobs := make([]*batchv1.Job, b.count)
	if _, err := forEach(ctx, b.first, b.count, workers, progress, &requests, func(ctx context.Context, i int) error {
		ns := b.namespace(i)
		j := newJob(b, i)
		if crons != nil {
			harness.RunOf(j, crons[b.cronOf(i)-firstCron])
		}
		j, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		requests.Add(1)
		if err != nil {
			return fmt.Errorf("create job %s/%s: %w", ns, b.jobName(i), err)
		}
		for p := 0; p < b.podsPerJob; p++ {
			pod, err := cs.CoreV1().Pods(ns).Create(ctx, newPod(j, i, p), metav1.CreateOptions{})
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("create pod %s/%s: %w", ns, b.podName(i, p), err)
			}
			podStatus(pod, i, p, b.podsPerJob)
			_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("pod status %s/%s: %w", ns, pod.Name, err)
			}
		}
		j.Status = jobStatus(j, i, b.podsPerJob)
		j, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{})
		requests.Add(1)
		if err != nil {
			return fmt.Errorf("job status %s/%s: %w", ns, b.jobName(i), err)
		}
		if crons != nil {
			jobs[i-b.first] = j
		}
		return nil
	}); err != nil {
		return requests.Load(), err
	}
	// The CronJobs' status, as their controller would have written it. It
	// writes the newest success itself too (suspended or not): retry on
	// its writes.
	_, err := forEach(ctx, firstCron, len(crons), workers, nil, &requests, func(ctx context.Context, c int) error {
		cj, n := crons[c-firstCron], b.runsPerCronJob
		runs := jobs[c*n-b.first : (c+1)*n-b.first]
		for {
			cj.Status = cronStatus(b, c, runs)
			_, err := cs.BatchV1().CronJobs(cj.Namespace).UpdateStatus(ctx, cj, metav1.UpdateOptions{})
			requests.Add(1)
			if !apierrors.IsConflict(err) {
				if err != nil {
					return fmt.Errorf("cronjob status %s/%s: %w", cj.Namespace, cj.Name, err)
				}
				return nil
			}
			if cj, err = cs.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("get cronjob %s/%s: %w", crons[c-firstCron].Namespace, crons[c-firstCron].Name, err)
			}
			requests.Add(1)
		}
	})
	return requests.Load(), err
}

// deleteBatch deletes the CronJobs, Jobs and pods of b (pods with grace
// period 0: no kubelet runs; CronJobs and Jobs with background
// propagation: no garbage collector runs, and the orphan finalizer would
// never be removed). The CronJobs go first, as when a team removes one:
// the exporter drops its series, then forgets its runs.
func deleteBatch(ctx context.Context, cs kubernetes.Interface, b batch, workers int) (int64, error) {
	var requests atomic.Int64
	bg := metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}
	if b.runsPerCronJob > 0 {
		if _, err := forEach(ctx, b.first/b.runsPerCronJob, b.cronJobs(), workers, nil, &requests, func(ctx context.Context, c int) error {
			requests.Add(1)
			return cs.BatchV1().CronJobs(b.namespace(c*b.runsPerCronJob)).Delete(ctx, cronJobName(c), bg)
		}); err != nil {
			return requests.Load(), err
		}
	}
	return forEach(ctx, b.first, b.count, workers, nil, &requests, func(ctx context.Context, i int) error {
		ns := b.namespace(i)
		if err := cs.BatchV1().Jobs(ns).Delete(ctx, b.jobName(i), bg); err != nil {
			return err
		}
		requests.Add(1)
		for p := 0; p < b.podsPerJob; p++ {
			if err := cs.CoreV1().Pods(ns).Delete(ctx, b.podName(i, p), metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
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

// failRunningPod turns the running pod of kindRunning127 Job i of b into
// one more exit-127 failure: kubejob_pod_failures{exit_code="127"} of the
// Job goes from pods-1 to pods.
func failRunningPod(ctx context.Context, cs kubernetes.Interface, b batch, i int) error {
	pod, err := cs.CoreV1().Pods(b.namespace(i)).Get(ctx, b.podName(i, b.podsPerJob-1), metav1.GetOptions{})
	if err != nil {
		return err
	}
	failPod(pod, time.Now().Add(-30*time.Second), 127, "Error")
	_, err = cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
