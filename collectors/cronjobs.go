package collectors

import (
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// CronJobs remembers, per CronJob, the newest successful and failed run the
// exporter has seen. A CronJob's Jobs come and go (history limits, TTL), so
// this state outlives them: the series stay while the exporter runs. After
// an exporter restart it is rebuilt from the Jobs still present.
type CronJobs struct {
	Store *metricstore.Store

	mu    sync.Mutex
	state map[string]*cronState
}

type cronState struct {
	namespace, name string
	lastSuccess     time.Time
	successDuration time.Duration // of the newest successful run, 0 if unknown
	lastFailure     time.Time
	failureReason   string
}

const (
	cronFamilySuccess = iota
	cronFamilySuccessDuration
	cronFamilyFailure
)

// NewCronJobs returns the per-CronJob metrics.
func NewCronJobs() *CronJobs {
	return &CronJobs{
		Store: metricstore.New([]metricstore.Family{
			cronFamilySuccess: {Name: "kubejob_cronjob_last_success_timestamp_seconds", Type: "gauge",
				Help: "When the newest successful Job of the CronJob completed, in Unix seconds, over the Jobs seen since the exporter started."},
			cronFamilySuccessDuration: {Name: "kubejob_cronjob_last_success_duration_seconds", Type: "gauge",
				Help: "How long the newest successful Job of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs."},
			cronFamilyFailure: {Name: "kubejob_cronjob_last_failure_timestamp_seconds", Type: "gauge",
				Help: "When the newest failed Job of the CronJob failed, in Unix seconds, with that Job's terminal reason, over the Jobs seen since the exporter started."},
		}),
		state: map[string]*cronState{},
	}
}

// Observe records a Job's outcome if a CronJob owns it.
func (c *CronJobs) Observe(s *job.Summary) {
	if s.OwnerKind != "CronJob" || s.OwnerName == "" || (!s.Complete && !s.Failed) {
		return
	}
	key := s.Namespace + "/" + s.OwnerName
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[key]
	if st == nil {
		st = &cronState{namespace: s.Namespace, name: s.OwnerName}
		c.state[key] = st
	}
	changed := false
	if s.Complete && s.CompletedAt.After(st.lastSuccess) {
		st.lastSuccess, st.successDuration, changed = s.CompletedAt, 0, true
		if !s.StartTime.IsZero() && s.CompletedAt.After(s.StartTime) {
			st.successDuration = s.CompletedAt.Sub(s.StartTime)
		}
	}
	if s.Failed && s.FailedAt.After(st.lastFailure) {
		st.lastFailure, st.failureReason, changed = s.FailedAt, s.FailedReason, true
	}
	if changed {
		c.render(key, st)
	}
}

func (c *CronJobs) render(key string, st *cronState) {
	w := c.Store.NewWriter("namespace", st.namespace, "cronjob", st.name)
	w.Family(cronFamilySuccess)
	if v, ok := unix(st.lastSuccess); ok {
		w.Sample(v)
	}
	w.Family(cronFamilySuccessDuration)
	if st.successDuration > 0 {
		w.Sample(st.successDuration.Seconds())
	}
	w.Family(cronFamilyFailure)
	if v, ok := unix(st.lastFailure); ok {
		w.Sample(v, "reason", st.failureReason)
	}
	c.Store.Set(key, w.Rendered())
}

// Len is the number of CronJobs tracked.
func (c *CronJobs) Len() int { return c.Store.Len() }
