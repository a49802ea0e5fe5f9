package harness

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/kubernetes/pkg/controller/ttlafterfinished"
)

// ttlWorkers is kube-controller-manager's --concurrent-ttl-after-finished-syncs
// default.
const ttlWorkers = 5

// startTTLAfterFinishedController runs the real TTL-after-finished
// controller as kube-controller-manager's newTTLAfterFinishedController
// does: its own client ("ttl-after-finished-controller") and a Job
// informer, ttlafterfinished.New, Run with the default number of workers.
// It deletes a finished Job once its spec.ttlSecondsAfterFinished has
// passed (at once for 0), with foreground propagation and the Job's
// resourceVersion as precondition: the Job gets a deletionTimestamp and the
// foregroundDeletion finalizer, and only the garbage collector removes its
// pods and then the Job (Options.TTLAfterFinished requires
// Options.GarbageCollector). ttlafterfinished.New has the same signature
// from v1.34 to v1.37, so no build tag.
func (c *Cluster) startTTLAfterFinishedController(startCtx, runCtx context.Context) error {
	factory := informers.NewSharedInformerFactory(c.clientFor("ttl-after-finished-informers"), 0)
	tc := ttlafterfinished.New(runCtx, factory.Batch().V1().Jobs(), c.clientFor("ttl-after-finished-controller"))
	return c.runController(startCtx, runCtx, factory, func(ctx context.Context) { tc.Run(ctx, ttlWorkers) })
}
