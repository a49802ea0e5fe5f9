package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var backoffGenerators = []jobGenerator{
	gauge("kubejob_backoff_limit",
		"Pod failures the Job tolerates before it fails with BackoffLimitExceeded (spec.backoffLimit).",
		func(s *job.Summary, _ Options, e emit) {
			if s.BackoffLimit != nil {
				e(float64(*s.BackoffLimit))
			}
		}),
	gauge("kubejob_retries",
		"Failures counted against backoffLimit now, as the Job controller counts them: failed pods (status.failed plus failed pods not yet counted; failures an Ignore rule of the podFailurePolicy matched are left out), plus for restartPolicy OnFailure the container restarts of pending and running pods.",
		func(s *job.Summary, _ Options, e emit) { e(float64(s.Retries)) }),
	gauge("kubejob_backoff_delay_seconds",
		"Delay the Job controller applies before it creates the next pod: initial·2^(n-1) capped at the maximum, n being the failures since the last success (per index for backoffLimitPerIndex); 0 when there are none. Absent once the Job has finished: no next pod comes.",
		func(s *job.Summary, _ Options, e emit) {
			if !s.Finished {
				e(s.BackoffDelay.Seconds())
			}
		}),
	gauge("kubejob_backoff_next_retry_timestamp_seconds",
		"When the controller may create the next pod: last failure time plus the backoff delay, in Unix seconds. Present while the Job is unfinished and has failures since its last success; compare with time().",
		func(s *job.Summary, _ Options, e emit) { timestamp(s.NextRetry, e) }),
	gauge("kubejob_last_failure_timestamp_seconds",
		"When the newest failed pod of the Job still present finished, in Unix seconds.",
		func(s *job.Summary, _ Options, e emit) { timestamp(s.LastFailure, e) }),
}
