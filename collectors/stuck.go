package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Jobs that neither fail nor finish: pods the API server refuses to create,
// or a Job left without any pod. Pods that do not start are in
// kubejob_pods_waiting (pod_failures.go).
var stuckGenerators = []jobGenerator{
	gauge("kubejob_pod_create_failure_timestamp_seconds",
		"When the Job controller last failed to create a pod of the Job, in Unix seconds, by cause (Quota, LimitRange, PodSecurity, AdmissionPolicy, AdmissionWebhook, ServiceAccount, Invalid, Other), from its FailedCreate Warning events; present while the Job runs and no pod was created since. The events expire (kube-apiserver --event-ttl, 1h by default) once the controller stops retrying: kubejob_without_pods then still shows a Job left with no pod.",
		func(s *job.Summary, _ Options, e emit) {
			for _, f := range s.CreateFailures {
				if v, ok := unix(f.Last); ok {
					e(v, "cause", f.Cause)
				}
			}
		}),
	gauge("kubejob_without_pods",
		"1 while the Job is started and running (not finished, not suspended, parallelism not 0) but has no pod at all: none active, finished or terminating; absent otherwise. Pods that cannot be created leave a Job so.",
		func(s *job.Summary, _ Options, e emit) {
			if s.WithoutPods {
				e(1)
			}
		}),
}
