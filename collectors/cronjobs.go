package collectors

import (
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// CronJobs renders one set of series per CronJob from the CronJob object
// (its schedule and the controller's status) and from its runs: the Jobs
// whose controller is that CronJob, matched by UID, and the outcomes of
// runs seen since that are gone (history limits, TTL).
//
// While the exporter watches CronJob objects (WatchObjects(true)) a
// CronJob is reported only while its object exists: its series go with
// it, and an owner reference to a CronJob that does not exist reports
// nothing. Without them (no permission to read CronJobs) the exporter
// falls back to what the runs say: a CronJob is reported while one of its
// Jobs is present, without schedule.
type CronJobs struct {
	Store *metricstore.Store

	mu      sync.Mutex
	objects bool
	state   map[string]*cronState // by "namespace/name" of the CronJob
	// runs maps each Job a CronJob owns ("namespace/name") to the
	// CronJob's key.
	runs map[string]string
}

type cronState struct {
	namespace, name string
	record          *cronjob.Record // nil until (or unless) the object is known
	runs            map[string]cronjob.Run
	// memory of the runs seen, per CronJob UID: a CronJob deleted and
	// created again under the same name starts afresh. The UID is the one
	// a run's owner reference names, which whoever created the Job wrote:
	// a UID's memory outlives its runs only while the CronJob object
	// vouches for it (it is the object's UID), else it is forgotten with
	// its last run (forget), so Jobs claiming made-up UIDs leave nothing
	// behind.
	memory map[types.UID]*cronjob.Memory
}

const (
	cronFamilyInfo = iota
	cronFamilyCreated
	cronFamilySuspended
	cronFamilyLastSchedule
	cronFamilyNextSchedule
	cronFamilyInterval
	cronFamilyActive
	cronFamilySuccess
	cronFamilySuccessDuration
	cronFamilyFailure
	cronFamilyLastRunDuration
	cronFamilyConsecutiveFailures
)

// NewCronJobs returns the per-CronJob metrics.
func NewCronJobs() *CronJobs {
	g := func(name, help string) metricstore.Family {
		return metricstore.Family{Name: name, Help: help, Type: "gauge"}
	}
	return &CronJobs{
		Store: metricstore.New([]metricstore.Family{
			cronFamilyInfo: g("kubejob_cronjob_info",
				"The CronJob's schedule (at most 128 bytes), time zone (empty: the controller's) and concurrency policy. Always 1; needs the CronJob objects."),
			cronFamilyCreated: g("kubejob_cronjob_created_timestamp_seconds",
				"When the CronJob was created, in Unix seconds; needs the CronJob objects."),
			cronFamilySuspended: g("kubejob_cronjob_suspended",
				"1 while the CronJob is suspended (spec.suspend): it starts no runs; absent otherwise."),
			cronFamilyLastSchedule: g("kubejob_cronjob_last_schedule_timestamp_seconds",
				"The scheduled time of the newest run the CronJob controller started (status.lastScheduleTime), in Unix seconds."),
			cronFamilyNextSchedule: g("kubejob_cronjob_next_schedule_timestamp_seconds",
				"When the next run is due: the first scheduled time after the newest run the controller started (or after the creation), in the schedule's time zone, in Unix seconds. In the past, a run is overdue: held back by an active run (concurrencyPolicy Forbid), missed past startingDeadlineSeconds, or not started by the controller."),
			cronFamilyInterval: g("kubejob_cronjob_schedule_interval_seconds",
				"Seconds between the run due next and the one after it."),
			cronFamilyActive: g("kubejob_cronjob_active_runs",
				"Runs of the CronJob running now: the controller's status.active, or, without the CronJob objects, its unfinished Jobs present."),
			cronFamilySuccess: g("kubejob_cronjob_last_success_timestamp_seconds",
				"When the newest successful run of the CronJob completed, in Unix seconds: of its runs seen since the exporter started, or the controller's status.lastSuccessfulTime if newer."),
			cronFamilySuccessDuration: g("kubejob_cronjob_last_success_duration_seconds",
				"How long the newest successful run of the CronJob ran, from status.startTime to completion, in seconds: what a run normally takes, to tell a run that hangs."),
			cronFamilyFailure: g("kubejob_cronjob_last_failure_timestamp_seconds",
				"When the newest failed run of the CronJob failed, in Unix seconds, with that run's terminal reason, of its runs seen since the exporter started."),
			cronFamilyLastRunDuration: g("kubejob_cronjob_last_run_duration_seconds",
				"How long the newest finished run present ran, in seconds, with its result (succeeded or failed) and, when it failed, its terminal reason."),
			cronFamilyConsecutiveFailures: g("kubejob_cronjob_consecutive_failed_runs",
				"How many of the newest finished runs present failed in a row, back to a success (0 when the newest succeeded)."),
		}),
		state: map[string]*cronState{},
		runs:  map[string]string{},
	}
}

// WatchObjects says whether the CronJob objects are watched (their
// informer synced and working): with them a CronJob is reported while its
// object exists, without them while one of its Jobs does.
func (c *CronJobs) WatchObjects(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.objects == on {
		return
	}
	c.objects = on
	for key, st := range c.state {
		c.render(key, st)
	}
}

// Objects tells whether the CronJob objects are watched (WatchObjects).
func (c *CronJobs) Objects() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.objects
}

// SetCronJob records a CronJob object.
func (c *CronJobs) SetCronJob(r *cronjob.Record) {
	key := r.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stateFor(key, r.Namespace, r.Name)
	if st.record != nil && st.record.UID != r.UID {
		// Deleted and created again under the same name.
		delete(st.memory, st.record.UID)
	}
	st.record = r
	c.render(key, st)
}

// DeleteCronJob drops a deleted CronJob object: its series go (its runs
// go too, with the garbage collector).
func (c *CronJobs) DeleteCronJob(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[key]
	if st == nil {
		return
	}
	if st.record != nil {
		delete(st.memory, st.record.UID)
	}
	st.record = nil
	for uid := range st.memory {
		if !st.vouched(uid) {
			delete(st.memory, uid)
		}
	}
	c.render(key, st)
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
	if old, ok := c.runs[jobKey]; ok && old != key {
		c.forget(jobKey)
	}
	st := c.stateFor(key, s.Namespace, s.OwnerName)
	c.runs[jobKey] = key
	run := cronjob.RunOf(s)
	st.runs[s.Name] = run
	mem := st.memory[run.OwnerUID]
	if mem == nil {
		mem = &cronjob.Memory{}
		st.memory[run.OwnerUID] = mem
	}
	mem.Observe(run)
	c.render(key, st)
}

// Forget drops a deleted Job.
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
		_, name := splitKey(jobKey)
		uid := st.runs[name].OwnerUID
		delete(st.runs, name)
		if !st.vouched(uid) {
			delete(st.memory, uid)
		}
		c.render(key, st)
	}
}

// vouched tells whether the memory of CronJob UID uid is kept: it is the
// object's UID, or a run present names it.
func (st *cronState) vouched(uid types.UID) bool {
	if st.record != nil && st.record.UID == uid {
		return true
	}
	for _, r := range st.runs {
		if r.OwnerUID == uid {
			return true
		}
	}
	return false
}

func (c *CronJobs) stateFor(key, namespace, name string) *cronState {
	st := c.state[key]
	if st == nil {
		st = &cronState{namespace: namespace, name: name, runs: map[string]cronjob.Run{}, memory: map[types.UID]*cronjob.Memory{}}
		c.state[key] = st
	}
	return st
}

// Summary is the CronJob "namespace/name" as reported now.
func (c *CronJobs) Summary(key string, now time.Time) (cronjob.Summary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[key]
	if st == nil || !c.reported(st) {
		return cronjob.Summary{}, false
	}
	return st.summarize(now), true
}

// Summaries are the CronJobs reported now, as of now, in no order: what
// the exporter's failing-now page judges them by.
func (c *CronJobs) Summaries(now time.Time) []cronjob.Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]cronjob.Summary, 0, len(c.state))
	for _, st := range c.state {
		if c.reported(st) {
			out = append(out, st.summarize(now))
		}
	}
	return out
}

// reported tells whether a CronJob is reported: with the objects watched
// while its object exists, without them while one of its Jobs does.
func (c *CronJobs) reported(st *cronState) bool {
	if c.objects {
		return st.record != nil
	}
	return st.record != nil || len(st.runs) > 0
}

// summarize matches the runs and memory to the object, by UID.
func (st *cronState) summarize(now time.Time) cronjob.Summary {
	var runs []cronjob.Run
	var mem cronjob.Memory
	if st.record != nil {
		for _, r := range st.runs {
			if r.OwnerUID == st.record.UID {
				runs = append(runs, r)
			}
		}
		if m := st.memory[st.record.UID]; m != nil {
			mem = *m
		}
	} else {
		for _, r := range st.runs {
			runs = append(runs, r)
		}
		uids := make([]string, 0, len(st.memory))
		for uid := range st.memory {
			uids = append(uids, string(uid))
		}
		sort.Strings(uids)
		for _, uid := range uids {
			m := st.memory[types.UID(uid)]
			mem.Observe(cronjob.Run{Succeeded: true, Finished: m.LastSuccess})
			mem.Observe(cronjob.Run{Failed: true, Finished: m.LastFailure, Reason: m.FailureReason})
			if mem.LastSuccess.Equal(m.LastSuccess) {
				mem.SuccessDuration = m.SuccessDuration
			}
		}
	}
	return cronjob.Summarize(st.namespace, st.name, st.record, runs, mem, now)
}

// render replaces the CronJob's series, or drops them (and the state,
// once nothing is left of it).
func (c *CronJobs) render(key string, st *cronState) {
	if !c.reported(st) {
		c.Store.Delete(key)
		if st.record == nil && len(st.runs) == 0 {
			delete(c.state, key)
		}
		return
	}
	// The timestamps rendered do not depend on now: only Overdue does,
	// which is not a metric.
	s := st.summarize(time.Time{})
	w := c.Store.NewWriter("namespace", st.namespace, "cronjob", st.name)
	if r := s.Record; r != nil {
		w.Family(cronFamilyInfo)
		w.Sample(1, "schedule", r.Schedule, "timezone", r.TimeZone, "concurrency_policy", r.ConcurrencyPolicy)
		w.Family(cronFamilyCreated)
		timestamp(r.Created, w.Sample)
		w.Family(cronFamilySuspended)
		if r.Suspend {
			w.Sample(1)
		}
		w.Family(cronFamilyLastSchedule)
		timestamp(r.LastScheduleTime, w.Sample)
		w.Family(cronFamilyNextSchedule)
		timestamp(s.Next, w.Sample)
		w.Family(cronFamilyInterval)
		if s.Interval > 0 {
			w.Sample(s.Interval.Seconds())
		}
	}
	w.Family(cronFamilyActive)
	w.Sample(float64(len(s.Active)))
	w.Family(cronFamilySuccess)
	timestamp(s.LastSuccess, w.Sample)
	w.Family(cronFamilySuccessDuration)
	if s.SuccessDuration > 0 {
		w.Sample(s.SuccessDuration.Seconds())
	}
	w.Family(cronFamilyFailure)
	if v, ok := unix(s.LastFailure); ok {
		w.Sample(v, "reason", s.FailureReason)
	}
	w.Family(cronFamilyLastRunDuration)
	if r := s.LastRun; r != nil {
		result, reason := "succeeded", ""
		if r.Failed {
			result, reason = "failed", r.Reason
		}
		w.Sample(r.Duration().Seconds(), "result", result, "reason", reason)
	}
	w.Family(cronFamilyConsecutiveFailures)
	w.Sample(float64(s.ConsecutiveFailures))
	c.Store.Set(key, w.Rendered())
}

// Len is the number of CronJobs reported.
func (c *CronJobs) Len() int { return c.Store.Len() }

func splitKey(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
