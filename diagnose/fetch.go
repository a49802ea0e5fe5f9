package diagnose

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Fetch reads a Job and its pods once and summarizes them.
func Fetch(ctx context.Context, client kubernetes.Interface, namespace, name string, opts job.Options) (job.Summary, error) {
	// A list by name, not a get: the exporter's ServiceAccount may only
	// list and watch, and diagnose should work with it too.
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return job.Summary{}, fmt.Errorf("reading job %s/%s: %w", namespace, name, err)
	}
	var j *batchv1.Job
	for i := range jobs.Items {
		if jobs.Items[i].Name == name { // servers honour the selector; be sure anyway
			j = &jobs.Items[i]
		}
	}
	if j == nil {
		return job.Summary{}, fmt.Errorf("job %s not found in namespace %s", name, namespace)
	}
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + name})
	if err != nil {
		return job.Summary{}, fmt.Errorf("listing pods of job %s/%s: %w", namespace, name, err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return job.Summarize(j, pods, opts), nil
}
