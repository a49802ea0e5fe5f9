package collectors

import (
	"strconv"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var indexGenerators = []jobGenerator{
	gauge("kubejob_backoff_limit_per_index",
		"Failures tolerated per index of an Indexed Job (spec.backoffLimitPerIndex); absent when not set.",
		func(s *job.Summary, _ Options, e emit) {
			if s.BackoffLimitPerIndex != nil {
				e(float64(*s.BackoffLimitPerIndex))
			}
		}),
	gauge("kubejob_max_failed_indexes",
		"Failed indexes tolerated before the Job fails with MaxFailedIndexesExceeded (spec.maxFailedIndexes); absent when not set.",
		func(s *job.Summary, _ Options, e emit) {
			if s.MaxFailedIndexes != nil {
				e(float64(*s.MaxFailedIndexes))
			}
		}),
	gauge("kubejob_failed_indexes",
		"Indexes of an Indexed Job with backoffLimitPerIndex that failed for good (counted from status.failedIndexes).",
		func(s *job.Summary, _ Options, e emit) {
			if s.Indexed && s.BackoffLimitPerIndex != nil {
				e(float64(s.FailedIndexes))
			}
		}),
	gauge("kubejob_completed_indexes",
		"Indexes of an Indexed Job that succeeded (counted from status.completedIndexes).",
		func(s *job.Summary, _ Options, e emit) {
			if s.Indexed {
				e(float64(s.CompletedIndexes))
			}
		}),
	gauge("kubejob_index_failures",
		"Failures of one index of an Indexed Job (from the pods' job-index-failure-count annotation); only indexes with failures, at most --job.max-index-series series per Job, worst first.",
		func(s *job.Summary, o Options, e emit) {
			for i, f := range s.IndexFailures {
				if o.MaxIndexSeries > 0 && i >= o.MaxIndexSeries {
					break
				}
				e(float64(f.Failures), "index", strconv.Itoa(int(f.Index)))
			}
		}),
}
