package collectors

import (
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var podFailureGenerators = []generator{
	gauge("kubejob_pod_failures",
		"Failed pods of the Job still present, by the failing container, its terminated reason and exit code (pod-level failures such as Evicted have container and exit_code empty); for restartPolicy OnFailure also container restarts by their last terminated reason.",
		func(s *job.Summary, _ Options, e emit) {
			for _, f := range s.PodFailures {
				e(float64(f.Count), "container", f.Container, "reason", f.Reason, "exit_code", f.ExitCode)
			}
		}),
	gauge("kubejob_pods_waiting",
		"Pods of the Job stuck before running their work, by reason: image pull and config errors, crash loops and unschedulable pods at once; pods pending in a normal start (ContainerCreating, PodInitializing, SchedulingGated, NotScheduled) once pending longer than --pods.start-timeout. Only crash loops of restartPolicy OnFailure count toward backoffLimit.",
		func(s *job.Summary, _ Options, e emit) {
			for _, w := range s.Waiting {
				e(float64(w.Count), "reason", w.Reason)
			}
		}),
	gauge("kubejob_container_memory_limit_bytes",
		"Memory limit of each container of the Job's pod template, in bytes (containers without a limit are absent).",
		func(s *job.Summary, _ Options, e emit) {
			for _, c := range s.Containers {
				if c.MemoryLimit >= 0 {
					e(float64(c.MemoryLimit), "container", c.Name)
				}
			}
		}),
}
