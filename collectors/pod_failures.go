package collectors

import (
	"cmp"
	"slices"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// DefaultMaxContainerSeries is the default Options.MaxContainerSeries: a
// Job's pod template has a few containers, and a Job's series stay within
// a hundred even with thousands of containers (the other families take
// about 20, kubejob_index_failures is bounded on its own).
const DefaultMaxContainerSeries = 30

// maxContainerSeries is o.MaxContainerSeries, its default for 0.
func (o Options) maxContainerSeries() int {
	if o.MaxContainerSeries > 0 {
		return o.MaxContainerSeries
	}
	return DefaultMaxContainerSeries
}

var podFailureGenerators = []jobGenerator{
	gauge("kubejob_pod_failures",
		"Failed pods of the Job still present, by the failing container, its terminated reason and exit code (pod-level failures such as Evicted have container and exit_code empty); for restartPolicy OnFailure also container restarts by their last terminated reason.",
		func(s *job.Summary, o Options, e emit) {
			for _, f := range mostFailures(s.PodFailures, o.maxContainerSeries()) {
				e(float64(f.Count), "container", f.Container, "reason", f.Reason, "exit_code", f.ExitCode)
			}
		}),
	gauge("kubejob_pods_waiting",
		"Pods of the Job stuck before running their work, by reason: image pull and config errors, crash loops and unschedulable pods at once; pods pending in a normal start (ContainerCreating, PodInitializing, SchedulingGated, NotScheduled) once pending longer than --job.pod-start-timeout. Only crash loops of restartPolicy OnFailure count toward backoffLimit.",
		func(s *job.Summary, _ Options, e emit) {
			for _, w := range s.Waiting {
				e(float64(w.Count), "reason", w.Reason)
			}
		}),
	gauge("kubejob_container_memory_limit_bytes",
		"Memory limit of each container of the Job's pod template, in bytes (containers without a limit are absent).",
		func(s *job.Summary, o Options, e emit) {
			n, limit := 0, o.maxContainerSeries()
			for _, c := range s.Containers {
				if c.MemoryLimit < 0 {
					continue
				}
				if n == limit {
					job.CountCut(job.CutSeries, 1)
					continue
				}
				e(float64(c.MemoryLimit), "container", c.Name)
				n++
			}
		}),
}

// mostFailures is failures (sorted, as the Summary has them) bounded to
// limit entries: the ones with the most failures, in their order. The
// rest is counted as cut. A Job's failures are keyed by container, reason
// and exit code, so a Job of many containers, or pods/status written by
// hand, could otherwise bring thousands of series.
func mostFailures(failures []job.PodFailure, limit int) []job.PodFailure {
	if len(failures) <= limit {
		return failures
	}
	job.CountCut(job.CutSeries, len(failures)-limit)
	order := make([]int, len(failures))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(failures[b].Count, failures[a].Count) })
	order = order[:limit]
	slices.Sort(order)
	out := make([]job.PodFailure, limit)
	for i, k := range order {
		out[i] = failures[k]
	}
	return out
}
