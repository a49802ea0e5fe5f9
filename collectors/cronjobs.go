package collectors

import (
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// CronJobs remembers, per CronJob, the newest successful and failed run the
// exporter has seen. A CronJob's Jobs come and go (history limits, TTL), so
// this state outlives each of them; it lives as long as one Job of the
// CronJob does, and goes with the last: its size is bounded by the Jobs
// present, however many CronJob names owner references claim. After an
// exporter restart it is rebuilt from the Jobs still present.
type CronJobs struct {
	Store *metricstore.Store

	mu    sync.Mutex
	state map[string]*cronState
	// runs maps each Job a CronJob owns ("namespace/name") to the
	// CronJob's key.
	runs map[string]string
}

type cronState struct {
	namespace, name string
	runs            int // Jobs of the CronJob present
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
				Help: "When the newest successful Job of the CronJob completed, in Unix seconds, over its Jobs seen since the exporter started; gone with the CronJob's last Job."},
			cronFamilySuccessDuration: {Name: "kubejob_cronjob_last_success_duration_seconds", Type: "gauge",
				Help: "How long the newest successful Job of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs."},
			cronFamilyFailure: {Name: "kubejob_cronjob_last_failure_timestamp_seconds", Type: "gauge",
				Help: "When the newest failed Job of the CronJob failed, in Unix seconds, with that Job's terminal reason, over its Jobs seen since the exporter started; gone with the CronJob's last Job."},
		}),
		state: map[string]*cronState{},
		runs:  map[string]string{},
	}
}

// Observe records a Job of a CronJob, and its outcome once it finished.
func (c *CronJobs) Observe(s *job.Summary) {
	jobKey := s.Namespace + "/" + s.Name
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.OwnerKind != "CronJob" || s.OwnerName == "" {
		c.forget(jobKey) // its owner reference may have been removed
		return
	}
	key := s.Namespace + "/" + s.OwnerName
	st := c.state[key]
	if st == nil {
		st = &cronState{namespace: s.Namespace, name: s.OwnerName}
		c.state[key] = st
	}
	if c.runs[jobKey] != key {
		c.forget(jobKey)
		c.runs[jobKey] = key
		st.runs++
	}
	if !s.Complete && !s.Failed {
		return
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

// Forget drops a deleted Job; the CronJob's state goes with its last Job.
func (c *CronJobs) Forget(jobKey string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(jobKey)
}

func (c *CronJobs) forget(jobKey string) {
	key, ok := c.runs[jobKey]
	if !ok {
		return
	}
	delete(c.runs, jobKey)
	if st := c.state[key]; st != nil {
		if st.runs--; st.runs <= 0 {
			delete(c.state, key)
			c.Store.Delete(key)
		}
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

// Len is the number of CronJobs with an outcome to report.
func (c *CronJobs) Len() int { return c.Store.Len() }
