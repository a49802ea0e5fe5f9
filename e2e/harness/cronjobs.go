package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// CronJob returns a CronJob the harness's CronJob controller runs: not
// suspended, concurrencyPolicy Allow, history limits left to the API
// defaults (3 successful, 1 failed). The controller schedules from the wall
// clock with minute granularity: with "* * * * *" the first run starts
// within 60s (plus ~0.1s) of creation, at the next minute boundary.
func CronJob(namespace, name, schedule string, template batchv1.JobSpec) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: batchv1.CronJobSpec{
			Schedule:    schedule,
			JobTemplate: batchv1.JobTemplateSpec{Spec: template},
		},
	}
}

// CronJobRuns returns the CronJob and the Jobs it controls (a controller
// owner reference with its UID, as the controller and RunOf set), oldest
// scheduled first.
func CronJobRuns(ctx context.Context, client kubernetes.Interface, namespace, cronjob string) (*batchv1.CronJob, []batchv1.Job, error) {
	cj, err := client.BatchV1().CronJobs(namespace).Get(ctx, cronjob, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	list, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	var runs []batchv1.Job
	for _, j := range list.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == cj.UID {
			runs = append(runs, j)
		}
	}
	sort.SliceStable(runs, func(a, b int) bool {
		ta, tb := runTime(&runs[a]), runTime(&runs[b])
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return runs[a].Name < runs[b].Name
	})
	return cj, runs, nil
}

// runTime orders runs: the scheduled time the controller wrote, else the
// creation time (RunOf's Jobs).
func runTime(j *batchv1.Job) time.Time {
	if t, ok := ScheduledTime(j); ok {
		return t
	}
	return j.CreationTimestamp.Time
}

// ScheduledTime is the run's scheduled time, from the annotation the
// CronJob controller sets (batch.kubernetes.io/cronjob-scheduled-timestamp);
// the CronJob's status.lastScheduleTime is the latest of these.
func ScheduledTime(j *batchv1.Job) (time.Time, bool) {
	v, ok := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// WaitRuns waits until the CronJob has started at least n runs and returns
// them, oldest first, with the CronJob as last read. timeout is measured
// from the call: for a "* * * * *" CronJob created just before, allow
// 60s for the first run and 60s more for each further one (plus a few
// seconds of slack for the controller's requeue and a loaded machine),
// e.g. WaitRuns(ctx, client, ns, name, 1, 75*time.Second).
func WaitRuns(ctx context.Context, client kubernetes.Interface, namespace, cronjob string, n int, timeout time.Duration) (*batchv1.CronJob, []batchv1.Job, error) {
	var cj *batchv1.CronJob
	var runs []batchv1.Job
	err := Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		c, r, err := CronJobRuns(ctx, client, namespace, cronjob)
		if err != nil {
			return false, "", err
		}
		cj, runs = c, r
		// The controller creates a run before the status update that
		// records it (lastScheduleTime): wait for both.
		return len(runs) >= n && cj.Status.LastScheduleTime != nil, fmt.Sprintf("CronJob %s/%s has %d runs, want %d (now %s, lastScheduleTime %s)",
			namespace, cronjob, len(runs), n, time.Now().UTC().Format(time.TimeOnly), fmtTime(cj.Status.LastScheduleTime)), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return cj, runs, nil
}

// WaitRunFinished waits until the Job has a Complete or Failed condition
// and returns it.
func WaitRunFinished(ctx context.Context, client kubernetes.Interface, namespace, job string, timeout time.Duration) (*batchv1.Job, error) {
	var out *batchv1.Job
	err := Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		j, err := client.BatchV1().Jobs(namespace).Get(ctx, job, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		out = j
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("Job %s/%s not finished: active %d, succeeded %d, failed %d",
			namespace, job, j.Status.Active, j.Status.Succeeded, j.Status.Failed), nil
	})
	return out, err
}

// WaitEvent waits for an event with this reason about the object
// (involvedObject kind and name, e.g. "CronJob", "nightly") and returns
// it. The CronJob controller records e.g. SuccessfulCreate, SawCompletedJob,
// JobAlreadyActive (a Forbid CronJob skipping a schedule), SuccessfulDelete
// (history limit), UnexpectedJob (an unfinished RunOf Job).
func WaitEvent(ctx context.Context, client kubernetes.Interface, namespace, kind, name, reason string, timeout time.Duration) (*corev1.Event, error) {
	var out *corev1.Event
	err := Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		l, err := client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason}.String(),
		})
		if err != nil {
			return false, "", err
		}
		if len(l.Items) > 0 {
			out = &l.Items[0]
			return true, "", nil
		}
		return false, fmt.Sprintf("no %s event for %s %s/%s", reason, kind, namespace, name), nil
	})
	return out, err
}

// DeleteCronJobWithRuns deletes a CronJob and then its Jobs (controlled by
// its UID, background propagation: their pods go too), as the garbage
// collector does for a CronJob deleted with background propagation.
// Clusters without Options.GarbageCollector need it: there a deleted
// CronJob leaves its Jobs. It returns once the CronJob and its runs are gone
// (a run the controller created while the CronJob was being deleted
// included).
func DeleteCronJobWithRuns(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	cj, err := client.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	err = client.BatchV1().CronJobs(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &cj.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return Eventually(ctx, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		if _, err := client.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			return false, "CronJob still there", nil
		} else if !apierrors.IsNotFound(err) {
			return false, "", err
		}
		l, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		var left []string
		for _, j := range l.Items {
			if ref := metav1.GetControllerOf(&j); ref == nil || ref.UID != cj.UID {
				continue
			}
			left = append(left, j.Name)
			if j.DeletionTimestamp != nil {
				continue
			}
			err := client.BatchV1().Jobs(namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
				PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &j.UID},
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return false, "", err
			}
		}
		return len(left) == 0, "runs left: " + strings.Join(left, ", "), nil
	})
}

func fmtTime(t *metav1.Time) string {
	if t == nil {
		return "unset"
	}
	return t.UTC().Format(time.RFC3339)
}
