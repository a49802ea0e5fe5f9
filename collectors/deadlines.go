package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var deadlineGenerators = []jobGenerator{
	gauge("kubejob_active_deadline_seconds",
		"Time the Job may run before it fails with DeadlineExceeded (spec.activeDeadlineSeconds); absent when not set.",
		func(s *job.Summary, _ Options, e emit) {
			if s.ActiveDeadlineSeconds != nil {
				e(float64(*s.ActiveDeadlineSeconds))
			}
		}),
	gauge("kubejob_deadline_timestamp_seconds",
		"When the Job will fail with DeadlineExceeded (status.startTime + activeDeadlineSeconds), in Unix seconds; present while the Job runs unsuspended.",
		func(s *job.Summary, _ Options, e emit) { timestamp(s.Deadline, e) }),
}
