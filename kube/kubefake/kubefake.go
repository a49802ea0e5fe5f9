// Package kubefake is kube.Client over client-go's fake clientset, for
// tests: each method makes the typed call the production client's request
// stands for (kube's client_test.go checks that the two send the same
// requests), so the tests drive the exporter through the very interface it
// uses against a real API server. The fake clientset stays reachable
// (embedded) for what tests do around the exporter: create and update
// objects, add reactors. Kueue's API, which the clientset does not know,
// is served from a tracker of its own (kueue.go: InstallKueue,
// CreateKueue, UpdateKueue). Only tests import it.
package kubefake

import (
	"context"
	"encoding/json"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Client is a kube.Client backed by a fake clientset. The clientset's
// IsWatchListSemanticsUnSupported is promoted with it: the informers then
// list and watch instead of asking for a streaming list the fake cannot
// serve.
type Client struct {
	*fake.Clientset
	kueue *kueueFake // Kueue's API (kueue.go)
}

var _ kube.Client = (*Client)(nil)

// New returns a Client whose fake clientset holds objs.
// Kueue's API is not served until InstallKueue.
func New(objs ...runtime.Object) *Client {
	c := &Client{Clientset: fake.NewClientset(objs...), kueue: &kueueFake{tracker: newKueueTracker()}}
	c.PrependReactor("*", "*", c.kueue.react)
	c.PrependWatchReactor("*", c.kueue.reactWatch)
	return c
}

// ListJobs is BatchV1().Jobs(namespace).List.
func (c *Client) ListJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.JobList, error) {
	return c.BatchV1().Jobs(namespace).List(ctx, opts)
}

// WatchJobs is BatchV1().Jobs(namespace).Watch.
func (c *Client) WatchJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.BatchV1().Jobs(namespace).Watch(ctx, opts)
}

// ListCronJobs is BatchV1().CronJobs(namespace).List.
func (c *Client) ListCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.CronJobList, error) {
	return c.BatchV1().CronJobs(namespace).List(ctx, opts)
}

// WatchCronJobs is BatchV1().CronJobs(namespace).Watch.
func (c *Client) WatchCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.BatchV1().CronJobs(namespace).Watch(ctx, opts)
}

// ListPods is CoreV1().Pods(namespace).List.
func (c *Client) ListPods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return c.CoreV1().Pods(namespace).List(ctx, opts)
}

// WatchPods is CoreV1().Pods(namespace).Watch.
func (c *Client) WatchPods(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.CoreV1().Pods(namespace).Watch(ctx, opts)
}

// ListEvents is CoreV1().Events(namespace).List.
func (c *Client) ListEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EventList, error) {
	return c.CoreV1().Events(namespace).List(ctx, opts)
}

// WatchEvents is CoreV1().Events(namespace).Watch.
func (c *Client) WatchEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.CoreV1().Events(namespace).Watch(ctx, opts)
}

// PodLogs is CoreV1().Pods(namespace).GetLogs(pod, opts).DoRaw: the
// fake's log body.
func (c *Client) PodLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) ([]byte, error) {
	return c.CoreV1().Pods(namespace).GetLogs(pod, opts).DoRaw(ctx)
}

// CreateSelfSubjectAccessReview is
// AuthorizationV1().SelfSubjectAccessReviews().Create.
func (c *Client) CreateSelfSubjectAccessReview(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview) (*authorizationv1.SelfSubjectAccessReview, error) {
	return c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
}

// Version is the fake discovery's server version, as the JSON of
// /version.
func (c *Client) Version(context.Context) ([]byte, error) {
	v, err := c.Discovery().ServerVersion()
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
