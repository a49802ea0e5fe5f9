package diagnose

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/queue"
)

// workloadJobUIDLabel is the label Kueue sets on a Job's Workloads: the
// Job's UID (jobframework, constants.JobUIDLabel).
const workloadJobUIDLabel = "kueue.x-k8s.io/job-uid"

// fetchQueue reads where the unfinished Job j, labelled with a queue
// name, stands in its Kueue queue: its Workloads (those it controls) and
// its LocalQueue, read as the exporter's informers read them (package
// queue). Best effort: Kueue absent, a read forbidden or failing leaves
// the queue unknown (nil) and says why in note; it never fails the
// report, which stands without it.
func fetchQueue(ctx context.Context, client kube.Client, j *batchv1.Job, now time.Time) (q *job.Queue, note string) {
	rec := job.NewJobRecord(j)
	version, err := client.KueueVersion(ctx)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("Kueue's API could not be looked up: %v", err)
	case version == "":
		return nil, "the Job names LocalQueue " + rec.QueueName + " (label " + job.QueueLabel + "), but Kueue's API (" + kube.KueueGroup + ") is not served: Kueue is not installed"
	}
	// Kueue labels the Workloads of a Job with its UID: listing by it
	// reads one Workload, not every Workload of the namespace (finished
	// ones are kept, each with its pod templates). A Workload without the
	// label (made by hand, an older Kueue) is found by the whole list.
	list, err := client.ListWorkloads(ctx, version, j.Namespace, metav1.ListOptions{LabelSelector: workloadJobUIDLabel + "=" + string(j.UID)})
	if err == nil && len(list.Items) == 0 {
		list, err = client.ListWorkloads(ctx, version, j.Namespace, metav1.ListOptions{})
	}
	if err != nil {
		return nil, fmt.Sprintf("Kueue's Workloads in namespace %s could not be read: %v", j.Namespace, err)
	}
	var workloads []*queue.WorkloadRecord
	for i := range list.Items {
		obj, err := queue.RecordWorkload(&list.Items[i])
		if r, ok := obj.(*queue.WorkloadRecord); err == nil && ok && r.JobUID == j.UID {
			workloads = append(workloads, r)
		}
	}
	var lq *queue.LocalQueueRecord
	lqs, err := client.ListLocalQueues(ctx, version, j.Namespace, metav1.ListOptions{FieldSelector: "metadata.name=" + rec.QueueName})
	if err != nil {
		note = fmt.Sprintf("LocalQueue %s could not be read: %v", rec.QueueName, err)
	} else {
		for i := range lqs.Items {
			if lqs.Items[i].Name != rec.QueueName { // servers honour the selector; be sure anyway
				continue
			}
			if obj, err := queue.RecordLocalQueue(&lqs.Items[i]); err == nil {
				lq, _ = obj.(*queue.LocalQueueRecord)
			}
		}
	}
	return queue.StateOf(rec, workloads, lq, now), note
}
