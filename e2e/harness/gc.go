package harness

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	memory "k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
)

// InvisibleToGCLabel hides an object from the harness's garbage
// collector (Options.GarbageCollector): its monitors list and watch with
// the selector !InvisibleToGCLabel, so the collector never deletes such an
// object nor removes its owner references. It is for a test that needs an
// object a real collector would remove at once, e.g. a Job whose owner
// reference names a CronJob that does not exist (TestForgedOwners): in a
// cluster it exists until the collector gets to it, and the exporter must
// read it right meanwhile. Its dependents need the label too (a Job's pod
// template): the collector learns of an owner from its dependents' owner
// references and then reads it, and its owner references, from the API.
// The pods of such a Job are not collected after it (the pod driver's
// orphan collection still deletes them, unless NoOrphanGC).
const InvisibleToGCLabel = "e2e.kube-job-exporter.io/invisible-to-gc"

const (
	// gcWorkers is kube-controller-manager's --concurrent-gc-syncs default.
	gcWorkers = 20
	// gcSyncPeriod is how often the collector re-reads discovery (new
	// resources, e.g. CRDs) and the RESTMapper is reset, as in
	// kube-controller-manager.
	gcSyncPeriod = 30 * time.Second
)

// startGarbageCollector runs the real garbage collector the way
// kube-controller-manager's newGarbageCollectorController and
// CreateControllerContext set it up: a metadata client, a RESTMapper from
// (cached) discovery reset periodically, monitors (informers) for every
// deletable resource through typed informers where they exist and metadata
// informers otherwise, events ignored; objects with InvisibleToGCLabel
// left out. It returns once every monitor has
// synced, so that owner references are honoured from then on.
func (c *Cluster) startGarbageCollector(startCtx, runCtx context.Context) error {
	cfg := rest.AddUserAgent(rest.CopyConfig(c.restConfig), "generic-garbage-collector")
	metadataClient, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	client := c.clientFor("generic-garbage-collector")
	restMapper := restmapper.NewDeferredDiscoveryRESTMapper(
		memory.NewMemCacheClient(c.clientFor("controller-discovery").Discovery()))
	restMapper.Reset()

	hide := func(o *metav1.ListOptions) { o.LabelSelector = "!" + InvisibleToGCLabel }
	typed := informers.NewSharedInformerFactoryWithOptions(c.clientFor("gc-informers"), 0, informers.WithTweakListOptions(hide))
	meta := metadatainformer.NewFilteredSharedInformerFactory(metadataClient, 0, metav1.NamespaceAll, hide)
	// The controllers' informers are started already: monitors may start
	// as soon as they exist.
	informersStarted := make(chan struct{})
	close(informersStarted)
	gc, err := garbagecollector.NewGarbageCollector(runCtx, client, metadataClient, restMapper,
		garbagecollector.DefaultIgnoredResources(),
		informerfactory.NewInformerFactory(typed, meta), informersStarted)
	if err != nil {
		return err
	}

	c.wg.Add(3)
	go func() {
		defer c.wg.Done()
		gc.Run(runCtx, gcWorkers, gcSyncPeriod)
	}()
	go func() {
		defer c.wg.Done()
		// Discovery through its own client, not the RESTMapper's (see Sync).
		gc.Sync(runCtx, c.clientFor("generic-garbage-collector-discovery").Discovery(), gcSyncPeriod)
	}()
	go func() {
		defer c.wg.Done()
		wait.UntilWithContext(runCtx, func(context.Context) { restMapper.Reset() }, gcSyncPeriod)
		// The monitors are stopped (gc.Run returned or returns); wait for
		// the informers' goroutines.
		typed.Shutdown()
		meta.Shutdown()
	}()

	logger := klog.FromContext(runCtx)
	syncCtx, cancel := context.WithTimeout(startCtx, time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(syncCtx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		return gc.IsSynced(logger), nil
	}); err != nil {
		return fmt.Errorf("monitors not synced: %w", err)
	}
	return nil
}
