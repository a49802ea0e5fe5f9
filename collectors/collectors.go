// Package collectors turns the models' summaries (job.Summary,
// cronjob.Summary) into the kubejob_* metric families. Each file owns one
// concern (job status, backoff, pod failures, stuck Jobs, indexes,
// deadlines, Kueue queues, CronJobs); this file assembles the per-Job ones
// and renders a Job into a metricstore, cronjobs.go a CronJob. The
// identity labels are added in one place each: namespace and job_name here
// for every per-Job series, namespace and cronjob in cronjobs.go for every
// per-CronJob one.
package collectors

import (
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

// Options bound what the collectors emit.
type Options struct {
	// MaxIndexSeries caps kubejob_index_failures series per Job (worst
	// indexes first), so one Job with 100k indexes cannot flood a scrape.
	MaxIndexSeries int
	// MaxContainerSeries caps the series per Job of each per-container
	// family (kubejob_pod_failures, kubejob_container_memory_limit_bytes):
	// a pod may have thousands of containers. 0 means
	// DefaultMaxContainerSeries.
	MaxContainerSeries int
	// MaxContainers bounds the template containers a Job record keeps
	// (job.Options.MaxContainers; the flag is here with the other
	// bounds of what a Job brings). 0 means job.DefaultMaxContainers.
	MaxContainers int
}

// emit appends one sample with extra labels (key, value pairs).
type emit func(value float64, labels ...string)

// generator renders one family for one object: generate is a func of
// that object's summary (jobGenerator, cronJobGenerator).
type generator[G any] struct {
	metricstore.Family
	generate G
}

type (
	// jobGenerator renders one family for one Job.
	jobGenerator = generator[func(s *job.Summary, o Options, e emit)]
	// cronJobGenerator renders one family for one CronJob.
	cronJobGenerator = generator[func(s *cronjob.Summary, e emit)]
)

func gauge[G any](name, help string, gen G) generator[G] {
	return generator[G]{Family: metricstore.Family{Name: name, Help: help, Type: "gauge"}, generate: gen}
}

// families are the generators' families, in their order.
func families[G any](gens []generator[G]) []metricstore.Family {
	fams := make([]metricstore.Family, len(gens))
	for i, g := range gens {
		fams[i] = g.Family
	}
	return fams
}

// jobGenerators lists every per-Job family in exposition order.
func jobGenerators() []jobGenerator {
	var all []jobGenerator
	for _, part := range [][]jobGenerator{statusGenerators, backoffGenerators, podFailureGenerators, stuckGenerators, indexGenerators, deadlineGenerators, queueGenerators} {
		all = append(all, part...)
	}
	return all
}

// Jobs renders Job summaries into a store keyed by "namespace/name".
type Jobs struct {
	Store *metricstore.Store
	gens  []jobGenerator
	opts  Options
}

// NewJobs returns the per-Job metrics.
func NewJobs(opts Options) *Jobs {
	gens := jobGenerators()
	return &Jobs{Store: metricstore.New(families(gens)), gens: gens, opts: opts}
}

// Update renders a Job's summary and replaces its series.
func (m *Jobs) Update(key string, s *job.Summary) {
	w := m.Store.NewWriter("namespace", s.Namespace, "job_name", s.Name)
	sample := w.Sample // one closure for every family
	for i, g := range m.gens {
		w.Family(i)
		g.generate(s, m.opts, sample)
	}
	m.Store.Set(key, w.Rendered())
}

// Delete drops a deleted Job's series.
func (m *Jobs) Delete(key string) { m.Store.Delete(key) }

// Sink renders what the watcher reports (watcher.Sink) into the per-Job
// families and hands the CronJobs' part to their Book, which renders the
// per-CronJob families.
type Sink struct {
	Jobs     *Jobs
	Crons    *CronJobs
	Outcomes *Outcomes
}

// JobChanged renders a Job and what it says about its CronJob, and keeps
// its owner's outcome series.
func (s Sink) JobChanged(key string, sum *job.Summary) {
	s.Jobs.Update(key, sum)
	s.Crons.Observe(sum)
	s.Outcomes.JobSeen(key, sum)
}

// JobGone drops a Job's series and its part of its CronJob's.
func (s Sink) JobGone(key string) {
	s.Jobs.Delete(key)
	s.Crons.Forget(key)
	s.Outcomes.JobGone(key)
}

// JobDeleted gives a deleted run's last state to its CronJob, whose
// memory keeps the run's outcome (a run its history limit deletes the
// moment it fails still fails the CronJob's last run).
func (s Sink) JobDeleted(_ string, sum *job.Summary) {
	if sum.OwnerKind == job.OwnerKindCronJob {
		s.Crons.Observe(sum)
	}
}

// JobFinished counts a Job's outcome under its owner.
func (s Sink) JobFinished(f job.Finish) { s.Outcomes.JobFinished(f) }

// PodFailed counts a pod's failures under its Job's owner.
func (s Sink) PodFailed(f job.PodFailed) { s.Outcomes.PodFailed(f) }

// PodFinished counts the resource-time a pod held under its Job's owner.
func (s Sink) PodFinished(f job.PodFinished) { s.Outcomes.PodFinished(f) }

// QueueEvicted counts an eviction of a Job's Kueue Workload under the
// Job's owner.
func (s Sink) QueueEvicted(e job.QueueEvicted) { s.Outcomes.QueueEvicted(e) }

// CronJobChanged records a CronJob object in the Book.
func (s Sink) CronJobChanged(r *cronjob.Record) { s.Crons.SetCronJob(r) }

// CronJobGone drops a deleted CronJob.
func (s Sink) CronJobGone(key string) { s.Crons.DeleteCronJob(key) }

// CronJobObjects says whether the CronJob objects can be relied on.
func (s Sink) CronJobObjects(trusted bool) { s.Crons.WatchObjects(trusted) }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unix returns a time as Unix seconds; ok is false for the zero time, whose
// series is then left out rather than exposed as 1970.
func unix(t time.Time) (float64, bool) {
	if t.IsZero() {
		return 0, false
	}
	return float64(t.UnixMilli()) / 1000, true
}

func timestamp(t time.Time, e emit) {
	if v, ok := unix(t); ok {
		e(v)
	}
}

// seconds emits d in seconds, nothing when it is not known (0 or less).
func seconds(d time.Duration, e emit) {
	if d > 0 {
		e(d.Seconds())
	}
}
