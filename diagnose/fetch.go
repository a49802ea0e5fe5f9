package diagnose

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Evidence is what Fetch read about one Job.
type Evidence struct {
	Summary job.Summary
	// Events of the Job and of the pods that explain it best (or, when
	// they are gone, of its pods found by name: FetchJobEvents), folded,
	// newest first; EventsErr says why some could not be read.
	Events    []Event
	EventsErr error
	// QueueNote says why where the Job stands in its Kueue queue
	// (Summary.Queue) could not be read; "" when it was, or the Job has
	// no queue.
	QueueNote string
	// logTargets are the containers FetchLogs reads.
	logTargets []logTarget
}

// Fetch reads a Job, its pods and the events about them once, and
// summarizes them; for a Job in a Kueue queue, where it stands there too
// (best effort: Evidence.QueueNote says why not).
func Fetch(ctx context.Context, client kube.Client, namespace, name string, opts job.Options) (Evidence, error) {
	// A list by name, not a get: the exporter's ServiceAccount may only
	// list and watch, and diagnose should work with it too.
	jobs, err := client.ListJobs(ctx, namespace, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return Evidence{}, fmt.Errorf("reading job %s/%s: %w", namespace, name, err)
	}
	var j *batchv1.Job
	for i := range jobs.Items {
		if jobs.Items[i].Name == name { // servers honour the selector; be sure anyway
			j = &jobs.Items[i]
		}
	}
	if j == nil {
		return Evidence{}, fmt.Errorf("job %s not found in namespace %s", name, namespace)
	}
	list, err := client.ListPods(ctx, namespace, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + name})
	if err != nil {
		return Evidence{}, fmt.Errorf("listing pods of job %s/%s: %w", namespace, name, err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	// The Job's events, once: its FailedCreate events make the summary
	// (as the exporter's watch does), all of them the report.
	jobEvents, jobErr := listEvents(ctx, client, namespace, "Job", name, j.UID)
	var failedCreate []*job.EventRecord
	for i := range jobEvents {
		if r := job.NewEventRecord(&jobEvents[i]); r.Cause != "" {
			failedCreate = append(failedCreate, r)
		}
	}
	ev := Evidence{Summary: job.Summarize(j, pods, failedCreate, opts)}
	if ev.Summary.QueueName != "" && !ev.Summary.Finished {
		now := opts.Now
		if now.IsZero() {
			now = time.Now()
		}
		ev.Summary.Queue, ev.QueueNote = fetchQueue(ctx, client, j, now)
	}
	named, gone, podErr := podEvents(ctx, client, ev.Summary)
	ev.Events, ev.EventsErr = foldEvents(name, append(jobEvents, named...), gone), errors.Join(jobErr, podErr)
	ev.logTargets = logTargets(ev.Summary.Attempts, pods)
	return ev, nil
}
