package diagnose

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Fetch reads a Job and its pods once and summarizes them.
func Fetch(ctx context.Context, client kubernetes.Interface, namespace, name string, opts job.Options) (job.Summary, error) {
	j, err := client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return job.Summary{}, fmt.Errorf("job %s not found in namespace %s", name, namespace)
	}
	if err != nil {
		return job.Summary{}, fmt.Errorf("reading job %s/%s: %w", namespace, name, err)
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
