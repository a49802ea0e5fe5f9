package collectors

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// Outcomes are the counters that outlive Jobs: Jobs finished, pods
// failed, the resource-time finished pods held and the evictions of the
// Jobs' Kueue Workloads, per owner (job.OwnerOf: a CronJob, or a
// standalone Job's group), counted when the watcher reports the
// transition (watcher.Sink's JobFinished, PodFailed, PodFinished and
// QueueEvicted), and the time of each owner's newest failure by reason. An
// owner's series stay while one of its Jobs is reported and for the
// retention window after its last Job went or its last outcome (whichever
// is later); then they are dropped, so runs named uniquely cannot grow the
// series for ever. MaxOwners bounds them in between: a new owner takes the
// place of the one idle the longest without a Job; when every owner has a
// Job, its outcomes are not rendered, and counted in Dropped.
//
// The counters start when the exporter does: an exporter restart begins
// them at zero (a counter reset, which rate() and increase() handle), and
// Jobs that finished while it was down are not counted.
type Outcomes struct {
	Store *metricstore.Store

	retention time.Duration
	maxOwners int
	now       func() time.Time // time.Now; tests set it

	mu      sync.Mutex
	owners  map[ownerKey]*ownerOutcomes
	jobs    map[string]ownerKey // the owner of each reported Job, by Job key
	dropped int64
	swept   time.Time
}

// DefaultOutcomeRetention is how long an owner's series stay after its
// last Job went: a day covers daily CronJobs and nightly pipelines, so
// their counters run on between runs.
const DefaultOutcomeRetention = 24 * time.Hour

// DefaultMaxOwners bounds the owners with outcome series.
const DefaultMaxOwners = 10000

type ownerKey struct {
	namespace string
	owner     job.Owner
}

// ownerOutcomes are one owner's counts: only owners that counted an
// outcome have them (an owner whose Jobs have not finished has no series).
type ownerOutcomes struct {
	jobs        map[outcomeLabels]int64
	lastFailure map[string]time.Time // by reason
	podFailures map[podFailureLabels]int64
	held        map[heldLabels]float64 // resource-time of finished pods
	evictions   map[string]int64       // of its Workloads, by reason
	active      time.Time              // its last outcome, or when its last Job went
}

type outcomeLabels struct{ outcome, reason string }
type podFailureLabels struct{ reason, exitCode string }
type heldLabels struct{ outcome, resource string }

const (
	famJobsFinished = iota
	famLastFailure
	famPodFailures
	famResourceSeconds
	famQueueEvictions
)

var outcomeFamilies = []metricstore.Family{
	{Name: "kubejob_owner_jobs_finished_total", Type: "counter",
		Help: "Jobs finished, per owner (a CronJob, or a standalone Job's group: the --outcomes.owner-label value, its generateName or its name), by outcome (succeeded, failed) and terminal reason; counted when the exporter sees the Job finish, so Jobs deleted at once (ttlSecondsAfterFinished 0, a history limit of 0, by hand) count too."},
	{Name: "kubejob_owner_last_failure_timestamp_seconds", Type: "gauge",
		Help: "When the owner's newest failed Job failed, by terminal reason, in Unix seconds, as seen since the exporter started. A new series shows the first failure too, which increase() of a counter that appears at 1 cannot."},
	{Name: "kubejob_owner_pod_failures_total", Type: "counter",
		Help: "Pod failures of the owner's Jobs by the failing container's terminated reason and exit code (as kubejob_pod_failures labels them; restartPolicy OnFailure: container restarts), counted when the exporter sees them, whether or not the pods or Jobs are still there."},
	{Name: "kubejob_attempt_resource_seconds_total", Type: "counter",
		Help: "Resource-time held by the owner's finished pods: each pod's running time (status.startTime to its last container's end; a pod deleted while its Job runs: to its deletion) times its effective request as the scheduler reserves it, by the pod's outcome (failed, succeeded; restartPolicy OnFailure: the time before the last container run counts as failed) and resource (cpu in core-seconds, memory in byte-seconds, each --outcomes.extended-resources in device-seconds); counted once per pod when the exporter sees it finish."},
	{Name: "kubejob_owner_queue_evictions_total", Type: "counter",
		Help: "Evictions of the Kueue Workloads of the owner's Jobs (an admitted Workload whose admission Kueue took back, suspending the Job again), by reason: who preempted (InClusterQueue, InCohortReclamation, InCohortFairSharing, InCohortReclaimWhileBorrowing, Preempted), else the Evicted condition's reason (PodsReadyTimeout, AdmissionCheck, ClusterQueueStopped, LocalQueueStopped, Deactivated, NodeFailures, MaximumExecutionTimeExceeded), else Other; counted once, when the exporter sees the Workload's Evicted condition turn true."},
}

// NewOutcomes returns the outcome counters; retention and maxOwners of 0
// mean the defaults.
func NewOutcomes(retention time.Duration, maxOwners int) *Outcomes {
	if retention <= 0 {
		retention = DefaultOutcomeRetention
	}
	if maxOwners <= 0 {
		maxOwners = DefaultMaxOwners
	}
	return &Outcomes{Store: metricstore.New(outcomeFamilies), retention: retention, maxOwners: maxOwners, now: time.Now,
		owners: map[ownerKey]*ownerOutcomes{}, jobs: map[string]ownerKey{}}
}

// ownerLocked is the owner's counts, made if there is room; nil if not.
// An outcome without room counts in Dropped (counted says it is one).
func (o *Outcomes) ownerLocked(k ownerKey, now time.Time, counted bool) *ownerOutcomes {
	if c := o.owners[k]; c != nil {
		return c
	}
	if k.owner.Name == "" || len(o.owners) >= o.maxOwners && !o.evictLocked() {
		if counted {
			o.dropped++
		}
		return nil
	}
	c := &ownerOutcomes{active: now}
	o.owners[k] = c
	return c
}

// JobSeen notes which owner a reported Job has: an owner's series stay
// while one of its Jobs is reported (see sweepLocked).
func (o *Outcomes) JobSeen(key string, s *job.Summary) {
	k := ownerKey{s.Namespace, s.Owner}
	o.mu.Lock()
	defer o.mu.Unlock()
	if prev, ok := o.jobs[key]; ok && prev != k {
		o.releaseLocked(key, o.now())
	}
	o.jobs[key] = k
}

// JobGone notes that a Job is no longer reported; its owner's series stay
// for the retention window.
func (o *Outcomes) JobGone(key string) {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.releaseLocked(key, now)
	o.sweepLocked(now)
}

func (o *Outcomes) releaseLocked(key string, now time.Time) {
	k, ok := o.jobs[key]
	if !ok {
		return
	}
	delete(o.jobs, key)
	if c := o.owners[k]; c != nil {
		c.active = now
	}
}

// JobFinished counts a Job's outcome.
func (o *Outcomes) JobFinished(f job.Finish) {
	o.count(ownerKey{f.Namespace, f.Owner}, func(c *ownerOutcomes) {
		if c.jobs == nil {
			c.jobs = map[outcomeLabels]int64{}
		}
		c.jobs[outcomeLabels{f.Outcome, f.Reason}]++
		if f.Outcome == job.OutcomeFailed && f.At.After(c.lastFailure[f.Reason]) {
			if c.lastFailure == nil {
				c.lastFailure = map[string]time.Time{}
			}
			c.lastFailure[f.Reason] = f.At
		}
	})
}

// PodFailed counts a pod's new failures.
func (o *Outcomes) PodFailed(f job.PodFailed) {
	o.count(ownerKey{f.Namespace, f.Owner}, func(c *ownerOutcomes) {
		if c.podFailures == nil {
			c.podFailures = map[podFailureLabels]int64{}
		}
		for _, pf := range f.Failures {
			c.podFailures[podFailureLabels{pf.Reason, pf.ExitCode}] += pf.Count
		}
	})
}

// PodFinished adds the resource-time a finished pod held.
func (o *Outcomes) PodFinished(f job.PodFinished) {
	o.count(ownerKey{f.Namespace, f.Owner}, func(c *ownerOutcomes) {
		if c.held == nil {
			c.held = map[heldLabels]float64{}
		}
		for _, h := range f.Held {
			c.held[heldLabels{h.Outcome, h.Resource}] += h.Value
		}
	})
}

// QueueEvicted counts an eviction of a Job's Workload, under a reason of
// job.QueueEvictionReasons (any other is Other).
func (o *Outcomes) QueueEvicted(e job.QueueEvicted) {
	reason := oneOf(e.Eviction.Reason, job.QueueEvictionReasons, job.Other)
	o.count(ownerKey{e.Namespace, e.Owner}, func(c *ownerOutcomes) {
		if c.evictions == nil {
			c.evictions = map[string]int64{}
		}
		c.evictions[reason]++
	})
}

// count adds an outcome to the owner's counts (add), if it has room, and
// renders them.
func (o *Outcomes) count(k ownerKey, add func(c *ownerOutcomes)) {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.ownerLocked(k, now, true)
	if c == nil {
		return
	}
	c.active = now
	add(c)
	o.renderLocked(k, c)
	o.sweepLocked(now)
}

// evictLocked makes room for a new owner: it drops the owner idle the
// longest among those without a Job reported (a stream of uniquely named
// Jobs that succeeded must not keep a later failure from being counted).
// False when every owner has a Job.
func (o *Outcomes) evictLocked() bool {
	present := o.presentLocked()
	var victim ownerKey
	var oldest time.Time
	found := false
	for k, c := range o.owners {
		if !present[k] && (!found || c.active.Before(oldest)) {
			victim, oldest, found = k, c.active, true
		}
	}
	if found {
		delete(o.owners, victim)
		o.Store.Delete(victim.storeKey())
	}
	return found
}

// presentLocked is the set of owners with a Job reported.
func (o *Outcomes) presentLocked() map[ownerKey]bool {
	present := map[ownerKey]bool{}
	for _, k := range o.jobs {
		present[k] = true
	}
	return present
}

// sweepLocked drops owners without a reported Job whose last activity is
// older than the retention window, at most once a minute. Which owners
// have a Job is read from the Jobs then (a pass over them a minute costs
// less than keeping a count per owner for every Job's owner).
func (o *Outcomes) sweepLocked(now time.Time) {
	if now.Sub(o.swept) < time.Minute {
		return
	}
	o.swept = now
	var stale []ownerKey
	for k, c := range o.owners {
		if now.Sub(c.active) > o.retention {
			stale = append(stale, k)
		}
	}
	if len(stale) == 0 {
		return
	}
	present := o.presentLocked()
	for _, k := range stale {
		if !present[k] {
			delete(o.owners, k)
			o.Store.Delete(k.storeKey())
		}
	}
}

func (k ownerKey) storeKey() string {
	return k.namespace + "/" + k.owner.Kind + "/" + k.owner.Name
}

// renderLocked renders one owner's series, in a fixed order.
func (o *Outcomes) renderLocked(k ownerKey, c *ownerOutcomes) {
	w := o.Store.NewWriter("namespace", k.namespace, "owner_kind", k.owner.Kind, "owner_name", k.owner.Name)
	w.Family(famJobsFinished)
	for _, l := range sortedKeys(c.jobs, func(a, b outcomeLabels) int {
		return cmp.Or(cmp.Compare(a.outcome, b.outcome), cmp.Compare(a.reason, b.reason))
	}) {
		w.Sample(float64(c.jobs[l]), "outcome", l.outcome, "reason", l.reason)
	}
	w.Family(famLastFailure)
	for _, reason := range sortedKeys(c.lastFailure, cmp.Compare[string]) {
		if v, ok := unix(c.lastFailure[reason]); ok {
			w.Sample(v, "reason", reason)
		}
	}
	w.Family(famPodFailures)
	for _, l := range sortedKeys(c.podFailures, func(a, b podFailureLabels) int {
		return cmp.Or(cmp.Compare(a.reason, b.reason), cmp.Compare(a.exitCode, b.exitCode))
	}) {
		w.Sample(float64(c.podFailures[l]), "reason", l.reason, "exit_code", l.exitCode)
	}
	w.Family(famResourceSeconds)
	for _, l := range sortedKeys(c.held, func(a, b heldLabels) int {
		return cmp.Or(cmp.Compare(a.outcome, b.outcome), cmp.Compare(a.resource, b.resource))
	}) {
		w.Sample(c.held[l], "outcome", l.outcome, "resource", l.resource)
	}
	w.Family(famQueueEvictions)
	for _, reason := range sortedKeys(c.evictions, cmp.Compare[string]) {
		w.Sample(float64(c.evictions[reason]), "reason", reason)
	}
	o.Store.Set(k.storeKey(), w.Rendered())
}

// Owners is the number of owners with outcome series.
func (o *Outcomes) Owners() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.owners)
}

// Dropped is the number of outcomes not counted because MaxOwners owners
// had series already.
func (o *Outcomes) Dropped() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// sortedKeys are a map's keys in cmp's order.
func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	return slices.SortedFunc(maps.Keys(m), cmp)
}
