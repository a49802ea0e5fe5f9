package kube

import (
	"context"
	"net/http"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Client is every call the exporter and diagnose make to the API server,
// and nothing more. The production implementation (NewClient) is a REST
// client whose scheme knows only core/v1, batch/v1 and authorization/v1
// (and the few fields of Kueue's objects it reads, kueue.go):
// client-go's clientset registers every API group in its scheme, and a
// binary that links it carries all of them: 73.8 MB instead of 40.8, and
// 13 MiB more of the binary's pages resident (docs/scale.md).
type Client interface {
	ListJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.JobList, error)
	WatchJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	ListCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.CronJobList, error)
	WatchCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	ListPods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error)
	WatchPods(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	ListEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EventList, error)
	WatchEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	// PodLogs reads a container's log (pods/log), whole, as the API
	// server sends it within opts' limits.
	PodLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) ([]byte, error)
	// CreateSelfSubjectAccessReview asks RBAC whether the exporter may do
	// what review describes.
	CreateSelfSubjectAccessReview(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview) (*authorizationv1.SelfSubjectAccessReview, error)
	// Version reads the API server's /version document (JSON).
	Version(ctx context.Context) ([]byte, error)
	// KueueVersion is the version of Kueue's API group the exporter
	// reads (the first of KueueVersions the API server serves), "" with
	// a nil error when the group is not served (Kueue not installed).
	KueueVersion(ctx context.Context) (string, error)
	// Workloads and LocalQueues of Kueue's API at version (KueueVersion),
	// decoded from JSON into the minimal types of kueue.go.
	ListWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*WorkloadList, error)
	WatchWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	ListLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*LocalQueueList, error)
	WatchLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error)
}

// scheme knows the types the Client decodes and encodes: core/v1
// (pods, events, pod log options), batch/v1 (Jobs, CronJobs),
// authorization/v1 (SelfSubjectAccessReview), the minimal Kueue types at
// each of KueueVersions (kueue_client.go), and the unversioned meta
// types (ListOptions, Status) that every group shares.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme, authorizationv1.AddToScheme, AddKueueToScheme} {
		if err := add(s); err != nil {
			panic(err) // registering generated types fails only on a programming error
		}
	}
	return s
}()

// parameterCodec encodes options (ListOptions, PodLogOptions) as query
// parameters.
var parameterCodec = runtime.NewParameterCodec(scheme)

// restClient implements Client with one rest.RESTClient per API group,
// sharing one HTTP client and one rate limiter, as client-go's clientset
// does. Requests for objects prefer protobuf, like client-go's typed
// clients: smaller and faster to decode than JSON. Kueue's resources are
// custom resources, served in JSON only: one JSON client per version.
type restClient struct {
	core, batch, authorization *rest.RESTClient
	kueue                      map[string]*rest.RESTClient // by version
}

// NewClient builds the Client for cfg, on httpClient.
func NewClient(cfg *rest.Config, httpClient *http.Client) (Client, error) {
	c := *cfg
	if c.RateLimiter == nil && c.QPS > 0 {
		// One budget for every group, as client-go's clientset shares it.
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	group := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		gc := c
		gc.GroupVersion, gc.APIPath = &gv, apiPath
		// Honours client-go's CBOR feature gates as its typed clients do.
		gc.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(scheme, serializer.NewCodecFactory(scheme)).WithoutConversion()
		if gc.UserAgent == "" {
			gc.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		return rest.RESTClientForConfigAndClient(&gc, httpClient)
	}
	var rc restClient
	var err error
	if rc.core, err = group(corev1.SchemeGroupVersion, "/api"); err != nil {
		return nil, err
	}
	if rc.batch, err = group(batchv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	if rc.authorization, err = group(authorizationv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	if rc.kueue, err = newKueueClients(c, httpClient); err != nil {
		return nil, err
	}
	return &rc, nil
}

// list lists a namespaced resource (all namespaces for "") into into.
func list[L runtime.Object](ctx context.Context, c *rest.RESTClient, resource, namespace string, opts metav1.ListOptions, into L) (L, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	err := c.Get().
		UseProtobufAsDefaultIfPreferred(true).
		NamespaceIfScoped(namespace, namespace != "").
		Resource(resource).
		VersionedParams(&opts, parameterCodec).
		Timeout(timeout).
		Do(ctx).
		Into(into)
	return into, err
}

// watchResource watches a namespaced resource (all namespaces for "").
func watchResource(ctx context.Context, c *rest.RESTClient, resource, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	opts.Watch = true
	return c.Get().
		UseProtobufAsDefaultIfPreferred(true).
		NamespaceIfScoped(namespace, namespace != "").
		Resource(resource).
		VersionedParams(&opts, parameterCodec).
		Timeout(timeout).
		Watch(ctx)
}

func (c *restClient) ListJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.JobList, error) {
	return list(ctx, c.batch, "jobs", namespace, opts, &batchv1.JobList{})
}

func (c *restClient) WatchJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return watchResource(ctx, c.batch, "jobs", namespace, opts)
}

func (c *restClient) ListCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (*batchv1.CronJobList, error) {
	return list(ctx, c.batch, "cronjobs", namespace, opts, &batchv1.CronJobList{})
}

func (c *restClient) WatchCronJobs(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return watchResource(ctx, c.batch, "cronjobs", namespace, opts)
}

func (c *restClient) ListPods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return list(ctx, c.core, "pods", namespace, opts, &corev1.PodList{})
}

func (c *restClient) WatchPods(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return watchResource(ctx, c.core, "pods", namespace, opts)
}

func (c *restClient) ListEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EventList, error) {
	return list(ctx, c.core, "events", namespace, opts, &corev1.EventList{})
}

func (c *restClient) WatchEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return watchResource(ctx, c.core, "events", namespace, opts)
}

func (c *restClient) PodLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) ([]byte, error) {
	return c.core.Get().Namespace(namespace).Name(pod).Resource("pods").SubResource("log").
		VersionedParams(opts, parameterCodec).DoRaw(ctx)
}

func (c *restClient) CreateSelfSubjectAccessReview(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview) (*authorizationv1.SelfSubjectAccessReview, error) {
	opts := metav1.CreateOptions{}
	out := &authorizationv1.SelfSubjectAccessReview{}
	err := c.authorization.Post().
		UseProtobufAsDefaultIfPreferred(true).
		Resource("selfsubjectaccessreviews").
		VersionedParams(&opts, parameterCodec).
		Body(review).
		Do(ctx).
		Into(out)
	return out, err
}

func (c *restClient) Version(ctx context.Context) ([]byte, error) {
	return c.core.Get().AbsPath("/version").Do(ctx).Raw()
}
