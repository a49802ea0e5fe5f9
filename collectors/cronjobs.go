package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// CronJobs are the CronJobs the watcher reports: a cronjob.Book, the
// model the Sink feeds and the pages read, wired to the renderer of its
// per-CronJob families, whose series are in Store.
type CronJobs struct {
	*cronjob.Book
	Store *metricstore.Store
}

// NewCronJobs returns an empty Book and the per-CronJob metrics it
// renders.
func NewCronJobs() *CronJobs {
	m := cronJobMetrics{store: metricstore.New(families(cronJobGenerators))}
	return &CronJobs{Book: cronjob.NewBook(m), Store: m.store}
}

// Len is the number of CronJobs reported.
func (c *CronJobs) Len() int { return c.Store.Len() }

// cronJobMetrics renders what a cronjob.Book reports into a store keyed by
// "namespace/name" of the CronJob.
type cronJobMetrics struct{ store *metricstore.Store }

// Update renders a CronJob's summary and replaces its series.
func (m cronJobMetrics) Update(key string, s *cronjob.Summary) {
	w := m.store.NewWriter("namespace", s.Namespace, "cronjob", s.Name)
	sample := w.Sample // one closure for every family
	for i, g := range cronJobGenerators {
		w.Family(i)
		g.generate(s, sample)
	}
	m.store.Set(key, w.Rendered())
}

// Delete drops a CronJob's series.
func (m cronJobMetrics) Delete(key string) { m.store.Delete(key) }

// cronJobGenerators lists every per-CronJob family in exposition order.
// The families read from the CronJob object have no series without it.
// The timestamps rendered do not depend on the time of the summary: only
// Overdue does, which is not a metric.
var cronJobGenerators = []cronJobGenerator{
	gauge("kubejob_cronjob_info",
		"The CronJob's schedule (at most 128 bytes), time zone (empty: the controller's) and concurrency policy. Always 1; needs the CronJob objects.",
		func(s *cronjob.Summary, e emit) {
			if r := s.Record; r != nil {
				e(1, "schedule", r.Schedule, "timezone", r.TimeZone, "concurrency_policy", r.ConcurrencyPolicy)
			}
		}),
	gauge("kubejob_cronjob_created_timestamp_seconds",
		"When the CronJob was created, in Unix seconds; needs the CronJob objects.",
		func(s *cronjob.Summary, e emit) {
			if r := s.Record; r != nil {
				timestamp(r.Created, e)
			}
		}),
	gauge("kubejob_cronjob_suspended",
		"1 while the CronJob is suspended (spec.suspend): it starts no runs; absent otherwise.",
		func(s *cronjob.Summary, e emit) {
			if r := s.Record; r != nil && r.Suspend {
				e(1)
			}
		}),
	gauge("kubejob_cronjob_last_schedule_timestamp_seconds",
		"The scheduled time of the newest run the CronJob controller started (status.lastScheduleTime), in Unix seconds.",
		func(s *cronjob.Summary, e emit) {
			if r := s.Record; r != nil {
				timestamp(r.LastScheduleTime, e)
			}
		}),
	gauge("kubejob_cronjob_next_schedule_timestamp_seconds",
		"When the next run is due: the first scheduled time after the newest run the controller started (or after the creation), in the schedule's time zone, in Unix seconds. In the past, a run is overdue: held back by an active run (concurrencyPolicy Forbid), missed past startingDeadlineSeconds, or not started by the controller.",
		func(s *cronjob.Summary, e emit) { timestamp(s.Next, e) }),
	gauge("kubejob_cronjob_schedule_interval_seconds",
		"Seconds between the run due next and the one after it.",
		func(s *cronjob.Summary, e emit) { seconds(s.Interval, e) }),
	gauge("kubejob_cronjob_active_runs",
		"Runs of the CronJob running now: the controller's status.active, or, without the CronJob objects, its unfinished Jobs present.",
		func(s *cronjob.Summary, e emit) { e(float64(len(s.Active))) }),
	gauge("kubejob_cronjob_last_success_timestamp_seconds",
		"When the newest successful run of the CronJob completed, in Unix seconds: of its runs seen since the exporter started, or the controller's status.lastSuccessfulTime if newer.",
		func(s *cronjob.Summary, e emit) { timestamp(s.LastSuccess, e) }),
	gauge("kubejob_cronjob_last_success_duration_seconds",
		"How long the newest successful run of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs.",
		func(s *cronjob.Summary, e emit) { seconds(s.SuccessDuration, e) }),
	gauge("kubejob_cronjob_last_failure_timestamp_seconds",
		"When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started.",
		func(s *cronjob.Summary, e emit) {
			if v, ok := unix(s.LastFailure); ok {
				e(v, "reason", s.FailureReason)
			}
		}),
	gauge("kubejob_cronjob_last_run_duration_seconds",
		"How long the newest finished run present ran, in seconds, with its result (succeeded or failed) and, when it failed, its terminal reason.",
		func(s *cronjob.Summary, e emit) {
			if r := s.LastRun; r != nil {
				result, reason := "succeeded", ""
				if r.Failed {
					result, reason = "failed", r.Reason
				}
				e(r.Duration().Seconds(), "result", result, "reason", reason)
			}
		}),
	gauge("kubejob_cronjob_consecutive_failed_runs",
		"How many of the newest finished runs present failed in a row, back to a success (0 when the newest succeeded).",
		func(s *cronjob.Summary, e emit) { e(float64(s.ConsecutiveFailures)) }),
}
