package kubefake

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Kueue's API in the fake: absent until InstallKueue, then served at the
// versions installed from a tracker of its own (the fake clientset's
// scheme knows no Kueue types). Every call is an action of the fake
// clientset (Actions() shows them; reactors prepended by a test run
// first), served by a reactor that New prepends. Objects are stored once,
// whatever the version a call names: the versions serve the same fields.

// kueueFake is the state of the fake's Kueue API.
type kueueFake struct {
	mu       sync.Mutex
	versions []string // served, none: not installed
	tracker  k8stesting.ObjectTracker
	watches  []watch.Interface // open, ended on UninstallKueue
	// versions of each resource's last change, as the tracker counts
	// them (it starts at 1, and a create or update adds 1): written into
	// each object, as an API server writes its resourceVersion, so a
	// watch resumed from an object's version misses nothing.
	resourceVersions map[string]int64
}

// kueueStored is the version objects are stored at.
var kueueStored = kube.KueueVersions[0]

// kueueKinds are the kinds of Kueue's resources.
var kueueKinds = map[string]string{kube.KueueWorkloads: "Workload", kube.KueueLocalQueues: "LocalQueue"}

var kueueScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := kube.AddKueueToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func newKueueTracker() k8stesting.ObjectTracker {
	return k8stesting.NewObjectTracker(kueueScheme, serializer.NewCodecFactory(kueueScheme).UniversalDecoder())
}

// discoveryResource is the resource of the discovery action KueueVersion
// records: a get of the group itself.
var discoveryResource = schema.GroupVersionResource{Group: kube.KueueGroup}

// InstallKueue makes the fake serve Kueue's API at versions (as an API
// server does once Kueue's CRDs are installed).
func (c *Client) InstallKueue(versions ...string) {
	c.kueue.mu.Lock()
	defer c.kueue.mu.Unlock()
	c.kueue.versions = slices.Clone(versions)
}

// UninstallKueue removes Kueue's API, as deleting its CRDs does: the
// objects go, open watches end, and calls are answered 404.
func (c *Client) UninstallKueue() {
	c.kueue.mu.Lock()
	defer c.kueue.mu.Unlock()
	c.kueue.versions = nil
	c.kueue.tracker = newKueueTracker()
	c.kueue.resourceVersions = nil
	for _, w := range c.kueue.watches {
		w.Stop()
	}
	c.kueue.watches = nil
}

// kueueResourceOf is the resource a Kueue object is of.
func kueueResourceOf(obj runtime.Object) (string, error) {
	switch obj.(type) {
	case *kube.Workload:
		return kube.KueueWorkloads, nil
	case *kube.LocalQueue:
		return kube.KueueLocalQueues, nil
	}
	return "", fmt.Errorf("kubefake: %T is not a Kueue object", obj)
}

func storedResource(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: kube.KueueGroup, Version: kueueStored, Resource: resource}
}

// CreateKueue creates a Workload or LocalQueue (its resourceVersion set);
// watches see it added.
func (c *Client) CreateKueue(obj runtime.Object) error {
	return c.changeKueue(obj, false)
}

// UpdateKueue replaces a Workload or LocalQueue (its resourceVersion
// set); watches see it modified.
func (c *Client) UpdateKueue(obj runtime.Object) error {
	return c.changeKueue(obj, true)
}

func (c *Client) changeKueue(obj runtime.Object, update bool) error {
	resource, err := kueueResourceOf(obj)
	if err != nil {
		return err
	}
	obj = obj.DeepCopyObject()
	m, err := metav1meta(obj)
	if err != nil {
		return err
	}
	k := c.kueue
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.resourceVersions == nil {
		k.resourceVersions = map[string]int64{}
	}
	next := max(k.resourceVersions[resource], 1) + 1
	m.SetResourceVersion(strconv.FormatInt(next, 10))
	if update {
		err = k.tracker.Update(storedResource(resource), obj, m.GetNamespace())
	} else {
		err = k.tracker.Create(storedResource(resource), obj, m.GetNamespace())
	}
	if err == nil {
		k.resourceVersions[resource] = next
	}
	return err
}

// DeleteKueue deletes the Workload or LocalQueue (resource
// kube.KueueWorkloads or kube.KueueLocalQueues) namespace/name.
func (c *Client) DeleteKueue(resource, namespace, name string) error {
	return c.kueueTracker().Delete(storedResource(resource), namespace, name)
}

func metav1meta(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("kubefake: %T has no object metadata", obj)
	}
	return m, nil
}

func (c *Client) kueueTracker() k8stesting.ObjectTracker {
	c.kueue.mu.Lock()
	defer c.kueue.mu.Unlock()
	return c.kueue.tracker
}

// served is the tracker when version is served, else the API server's 404.
func (k *kueueFake) served(gvr schema.GroupVersionResource) (k8stesting.ObjectTracker, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !slices.Contains(k.versions, gvr.Version) {
		return nil, apierrors.NewNotFound(gvr.GroupResource(), "")
	}
	return k.tracker, nil
}

// react serves the actions on Kueue's group: discovery, lists.
func (k *kueueFake) react(action k8stesting.Action) (bool, runtime.Object, error) {
	gvr := action.GetResource()
	if gvr.Group != kube.KueueGroup {
		return false, nil, nil
	}
	if gvr == discoveryResource {
		k.mu.Lock()
		defer k.mu.Unlock()
		if len(k.versions) == 0 {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: kube.KueueGroup}, "")
		}
		g := &metav1.APIGroup{Name: kube.KueueGroup}
		for _, v := range k.versions {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: kube.KueueGroup + "/" + v, Version: v})
		}
		g.PreferredVersion = g.Versions[0]
		return true, g, nil
	}
	t, err := k.served(gvr)
	if err != nil {
		return true, nil, err
	}
	list, ok := action.(k8stesting.ListActionImpl)
	if !ok {
		return true, nil, apierrors.NewMethodNotSupported(gvr.GroupResource(), action.GetVerb())
	}
	kind := schema.GroupVersionKind{Group: kube.KueueGroup, Version: kueueStored, Kind: kueueKinds[gvr.Resource]}
	obj, err := t.List(storedResource(gvr.Resource), kind, action.GetNamespace(), list.GetListOptions())
	return true, obj, err
}

// reactWatch serves the watches on Kueue's group, from the list's
// resource version on (what changed in between is replayed).
func (k *kueueFake) reactWatch(action k8stesting.Action) (bool, watch.Interface, error) {
	gvr := action.GetResource()
	if gvr.Group != kube.KueueGroup {
		return false, nil, nil
	}
	t, err := k.served(gvr)
	if err != nil {
		return true, nil, err
	}
	opts := action.(k8stesting.WatchAction).GetWatchRestrictions()
	w, err := t.Watch(storedResource(gvr.Resource), action.GetNamespace(), metav1.ListOptions{ResourceVersion: opts.ResourceVersion})
	if err != nil {
		return true, nil, err
	}
	k.mu.Lock()
	k.watches = append(k.watches, w)
	k.mu.Unlock()
	return true, w, nil
}

func kueueResource(version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: kube.KueueGroup, Version: version, Resource: resource}
}

// KueueVersion is a get of Kueue's group (its discovery document): "" when
// the fake does not serve it.
func (c *Client) KueueVersion(context.Context) (string, error) {
	obj, err := c.Invokes(k8stesting.NewRootGetAction(discoveryResource, kube.KueueGroup), nil)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	g, ok := obj.(*metav1.APIGroup)
	if !ok {
		return "", fmt.Errorf("kubefake: discovery of %s answered %T", kube.KueueGroup, obj)
	}
	return kube.KueueVersionOf(g), nil
}

// ListWorkloads lists the Workloads of namespace ("" all).
func (c *Client) ListWorkloads(_ context.Context, version, namespace string, opts metav1.ListOptions) (*kube.WorkloadList, error) {
	gvr := kueueResource(version, kube.KueueWorkloads)
	obj, err := c.Invokes(k8stesting.NewListActionWithOptions(gvr, gvr.GroupVersion().WithKind("Workload"), namespace, opts), nil)
	if err != nil {
		return nil, err
	}
	l, ok := obj.(*kube.WorkloadList)
	if !ok {
		return nil, fmt.Errorf("kubefake: a list of workloads answered %T", obj)
	}
	// The tracker answers every object; the API server filters by the
	// label selector (diagnose lists a Job's Workloads by its UID label).
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, err
	}
	if !sel.Empty() {
		out := *l
		out.Items = nil
		for _, w := range l.Items {
			if sel.Matches(labels.Set(w.Labels)) {
				out.Items = append(out.Items, w)
			}
		}
		return &out, nil
	}
	return l, nil
}

// WatchWorkloads watches the Workloads of namespace ("" all).
func (c *Client) WatchWorkloads(_ context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.InvokesWatch(k8stesting.NewWatchActionWithOptions(kueueResource(version, kube.KueueWorkloads), namespace, opts))
}

// ListLocalQueues lists the LocalQueues of namespace ("" all).
func (c *Client) ListLocalQueues(_ context.Context, version, namespace string, opts metav1.ListOptions) (*kube.LocalQueueList, error) {
	gvr := kueueResource(version, kube.KueueLocalQueues)
	obj, err := c.Invokes(k8stesting.NewListActionWithOptions(gvr, gvr.GroupVersion().WithKind("LocalQueue"), namespace, opts), nil)
	if err != nil {
		return nil, err
	}
	l, ok := obj.(*kube.LocalQueueList)
	if !ok {
		return nil, fmt.Errorf("kubefake: a list of localqueues answered %T", obj)
	}
	return l, nil
}

// WatchLocalQueues watches the LocalQueues of namespace ("" all).
func (c *Client) WatchLocalQueues(_ context.Context, version, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.InvokesWatch(k8stesting.NewWatchActionWithOptions(kueueResource(version, kube.KueueLocalQueues), namespace, opts))
}

// KueueActions are the calls made on Kueue's API (discovery included).
func (c *Client) KueueActions() []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range c.Actions() {
		if a.GetResource().Group == kube.KueueGroup {
			out = append(out, a)
		}
	}
	return out
}
