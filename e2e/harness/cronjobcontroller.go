package harness

import (
	"context"

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
	return c.runController(startCtx, runCtx, factory, func(ctx context.Context) { cc.Run(ctx, cronJobWorkers) })
}
