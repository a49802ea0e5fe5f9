package harness

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/informers"
	cronjobcontroller "k8s.io/kubernetes/pkg/controller/cronjob"
)

// cronJobWorkers is kube-controller-manager's --concurrent-cron-job-syncs
// default.
const cronJobWorkers = 5

// startCronJobController runs the real CronJob controller (ControllerV2, as
// kube-controller-manager does) with its own client and informers, like the
// Job controller. It schedules from the wall clock with minute granularity;
// it also removes finished runs beyond a CronJob's
// successfulJobsHistoryLimit/failedJobsHistoryLimit (API defaults 3 and 1),
// suspended or not, with background propagation.
func (c *Cluster) startCronJobController(startCtx, runCtx context.Context) error {
	factory := informers.NewSharedInformerFactory(c.clientFor("cronjob-informers"), 0)
	cc, err := cronjobcontroller.NewControllerV2(runCtx, factory.Batch().V1().Jobs(),
		factory.Batch().V1().CronJobs(), c.clientFor("cronjob-controller"))
	if err != nil {
		return err
	}
	factory.Start(runCtx.Done())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cc.Run(runCtx, cronJobWorkers)
	}()
	syncCtx, cancel := context.WithTimeout(startCtx, time.Minute)
	defer cancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache for %v did not sync", typ)
		}
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); <-runCtx.Done(); factory.Shutdown() }()
	return nil
}
