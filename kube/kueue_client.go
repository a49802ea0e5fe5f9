package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// Kueue's resources, as the API server names them.
const (
	KueueWorkloads   = "workloads"
	KueueLocalQueues = "localqueues"
)

// AddKueueToScheme registers the minimal Kueue types (kueue.go) at every
// version the exporter reads, with the meta types (ListOptions, WatchEvent)
// each group version needs to encode options and decode watch events.
func AddKueueToScheme(s *runtime.Scheme) error {
	for _, v := range KueueVersions {
		gv := schema.GroupVersion{Group: KueueGroup, Version: v}
		s.AddKnownTypes(gv, &Workload{}, &WorkloadList{}, &LocalQueue{}, &LocalQueueList{})
		metav1.AddToGroupVersion(s, gv)
	}
	return nil
}

// newKueueClients makes one REST client per version of KueueVersions, on
// cfg's rate limiter and httpClient. Custom resources are served in JSON
// (and CBOR), never protobuf: the clients ask for JSON only, and decode it
// without conversion into the minimal types, which the decoder fills
// field by field, skipping what they do not name.
func newKueueClients(cfg rest.Config, httpClient *http.Client) (map[string]*rest.RESTClient, error) {
	out := map[string]*rest.RESTClient{}
	for _, v := range KueueVersions {
		gc := cfg
		gv := schema.GroupVersion{Group: KueueGroup, Version: v}
		gc.GroupVersion, gc.APIPath = &gv, "/apis"
		gc.ContentType, gc.AcceptContentTypes = runtime.ContentTypeJSON, runtime.ContentTypeJSON
		gc.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
		if gc.UserAgent == "" {
			gc.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		c, err := rest.RESTClientForConfigAndClient(&gc, httpClient)
		if err != nil {
			return nil, err
		}
		out[v] = c
	}
	return out, nil
}

// KueueVersionOf is the version of Kueue's API the exporter reads from a
// served group: the first of KueueVersions it serves, "" for none.
func KueueVersionOf(group *metav1.APIGroup) string {
	for _, want := range KueueVersions {
		if slices.ContainsFunc(group.Versions, func(v metav1.GroupVersionForDiscovery) bool { return v.Version == want }) {
			return want
		}
	}
	return ""
}

// KueueVersion reads the discovery document of Kueue's group
// (/apis/kueue.x-k8s.io, an APIGroup): not found means Kueue is not
// installed; a group serving none of KueueVersions (an older or newer
// Kueue) is read as absent too.
func (c *restClient) KueueVersion(ctx context.Context) (string, error) {
	raw, err := c.core.Get().AbsPath("/apis", KueueGroup).Do(ctx).Raw()
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var group metav1.APIGroup
	if err := json.Unmarshal(raw, &group); err != nil {
		return "", fmt.Errorf("decoding the discovery of %s: %w", KueueGroup, err)
	}
	return KueueVersionOf(&group), nil
}

// kueueClient is the REST client of a version of KueueVersions.
func (c *restClient) kueueClient(version string) (*rest.RESTClient, error) {
	rc, ok := c.kueue[version]
	if !ok {
		return nil, fmt.Errorf("%s version %q is not one the exporter reads (%v)", KueueGroup, version, KueueVersions)
	}
	return rc, nil
}

func (c *restClient) ListWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*WorkloadList, error) {
	rc, err := c.kueueClient(version)
	if err != nil {
		return nil, err
	}
	return list(ctx, rc, KueueWorkloads, namespace, opts, &WorkloadList{})
}

func (c *restClient) WatchWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	rc, err := c.kueueClient(version)
	if err != nil {
		return nil, err
	}
	return watchResource(ctx, rc, KueueWorkloads, namespace, opts)
}

func (c *restClient) ListLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*LocalQueueList, error) {
	rc, err := c.kueueClient(version)
	if err != nil {
		return nil, err
	}
	return list(ctx, rc, KueueLocalQueues, namespace, opts, &LocalQueueList{})
}

func (c *restClient) WatchLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	rc, err := c.kueueClient(version)
	if err != nil {
		return nil, err
	}
	return watchResource(ctx, rc, KueueLocalQueues, namespace, opts)
}

func (c *budgetedClient) KueueVersion(ctx context.Context) (string, error) {
	return c.of(ctx).KueueVersion(ctx)
}

func (c *budgetedClient) ListWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*WorkloadList, error) {
	return c.of(ctx).ListWorkloads(ctx, version, namespace, opts)
}

func (c *budgetedClient) WatchWorkloads(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchWorkloads(ctx, version, namespace, opts)
}

func (c *budgetedClient) ListLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (*LocalQueueList, error) {
	return c.of(ctx).ListLocalQueues(ctx, version, namespace, opts)
}

func (c *budgetedClient) WatchLocalQueues(ctx context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.of(ctx).WatchLocalQueues(ctx, version, namespace, opts)
}
