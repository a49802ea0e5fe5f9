package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var statusGenerators = []jobGenerator{
	gauge("kubejob_info",
		"Information about the Job: its owner, as kubejob_owner_* counts its outcomes (owner_kind CronJob: the CronJob that controls it; owner_kind Job: a standalone Job's group, the --outcomes.owner-label value, its generateName or its name), completion mode and pod restart policy. Always 1.",
		func(s *job.Summary, _ Options, e emit) {
			e(1, "owner_kind", s.Owner.Kind, "owner_name", s.Owner.Name,
				"completion_mode", s.CompletionMode, "restart_policy", s.RestartPolicy)
		}),
	gauge("kubejob_failed",
		"1 once the Job has failed for good (Failed condition, or the FailureTarget the controller sets first), with the terminal reason; absent while the Job has not failed.",
		func(s *job.Summary, _ Options, e emit) {
			if s.Failed {
				e(1, "reason", s.FailedReason)
			}
		}),
	gauge("kubejob_complete",
		"1 once the Job has completed (Complete or SuccessCriteriaMet condition), else 0.",
		func(s *job.Summary, _ Options, e emit) { e(boolValue(s.Complete)) }),
	// The series below leave out what is false or zero: at 10k Jobs every
	// always-present zero is 10k series Prometheus stores for nothing
	// (issue #7: a tenth of kube-state-metrics' series). A state with no
	// pods has no series; queries use "or vector(0)" or "unless".
	gauge("kubejob_suspended",
		"1 while the Job is suspended (spec.suspend); absent otherwise.",
		func(s *job.Summary, _ Options, e emit) {
			if s.Suspended {
				e(1)
			}
		}),
	gauge("kubejob_pods",
		"Pods of the Job by state, from the Job status: active, ready, succeeded, failed, terminating. Only states with at least one pod have a series.",
		func(s *job.Summary, _ Options, e emit) {
			for _, st := range []struct {
				n     int32
				state string
			}{
				{s.Pods.Active, "active"}, {s.Pods.Ready, "ready"}, {s.Pods.Succeeded, "succeeded"},
				{s.Pods.Failed, "failed"}, {s.Pods.Terminating, "terminating"},
			} {
				if st.n != 0 {
					e(float64(st.n), "state", st.state)
				}
			}
		}),
	gauge("kubejob_start_timestamp_seconds",
		"When the Job controller started the Job (status.startTime), in Unix seconds.",
		func(s *job.Summary, _ Options, e emit) { timestamp(s.StartTime, e) }),
	gauge("kubejob_completion_timestamp_seconds",
		"When the Job completed (status.completionTime), in Unix seconds; absent until it completes.",
		func(s *job.Summary, _ Options, e emit) { timestamp(s.CompletionTime, e) }),
}
