package collectors

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// render summarizes one Job with its pods and returns a Gatherer over the
// rendered store, so tests compare exposition text as node_exporter's do.
func render(t *testing.T, opts Options, jb *fixture.JobBuilder, pods ...*fixture.PodBuilder) prometheus.Gatherer {
	t.Helper()
	var ps []*corev1.Pod
	for _, p := range pods {
		ps = append(ps, p.P)
	}
	s := job.Summarize(jb.J, ps, nil, job.Options{Backoff: job.DefaultBackoff})
	m := NewJobs(opts)
	m.Update(jb.J.Namespace+"/"+jb.J.Name, &s)
	return prometheus.GathererFunc(m.Store.Gather)
}

func TestJobCollectors(t *testing.T) {
	oom := fixture.Job("ns", "oom").BackoffLimit(2).MemoryLimit("app", "512Mi").Started(0).Status(0, 0, 0, 3).Failed("BackoffLimitExceeded", 75)
	running := fixture.Job("ns", "run").BackoffLimit(4).Deadline(3600).Started(0).Status(1, 1, 0, 2)
	flaky := fixture.Job("ns", "flaky").Started(0).Status(0, 0, 1, 1).Complete(60)
	idx := fixture.Job("ns", "idx").Indexed(10, 4).PerIndex(2, 3).Started(0).Status(2, 2, 3, 5).Indexes("0,2-3", "4")
	onf := fixture.Job("ns", "onf").OnFailure().BackoffLimit(4).Started(0).Status(1, 1, 0, 0)
	pull := fixture.Job("ns", "pull").Started(0).Status(2, 0, 0, 0)
	odd := fixture.Job("ns", "odd").Started(0).Status(0, 0, 0, 1).Failed("SomethingNew", 5)
	suspended := fixture.Job("ns", "susp").Suspend().Deadline(60)

	tests := []struct {
		name    string
		opts    Options
		gather  prometheus.Gatherer
		metrics []string
		want    string
	}{
		{
			name: "OOMKilled every attempt, backoff limit spent",
			gather: render(t, Options{}, oom,
				fixture.Pod(oom.J, "a", 0).FailedWith("app", 137, "OOMKilled", 20),
				fixture.Pod(oom.J, "b", 30).FailedWith("app", 137, "OOMKilled", 45),
				fixture.Pod(oom.J, "c", 65).FailedWith("app", 137, "OOMKilled", 75)),
			metrics: []string{"kubejob_failed", "kubejob_pod_failures", "kubejob_retries", "kubejob_backoff_limit", "kubejob_container_memory_limit_bytes", "kubejob_backoff_next_retry_timestamp_seconds"},
			want: `
# HELP kubejob_backoff_limit Pod failures the Job tolerates before it fails with BackoffLimitExceeded (spec.backoffLimit).
# TYPE kubejob_backoff_limit gauge
kubejob_backoff_limit{job_name="oom",namespace="ns"} 2
# HELP kubejob_container_memory_limit_bytes Memory limit of each container of the Job's pod template, in bytes (containers without a limit are absent).
# TYPE kubejob_container_memory_limit_bytes gauge
kubejob_container_memory_limit_bytes{container="app",job_name="oom",namespace="ns"} 536870912
# HELP kubejob_failed 1 once the Job has failed for good (Failed condition, or the FailureTarget the controller sets first), with the terminal reason; absent while the Job has not failed.
# TYPE kubejob_failed gauge
kubejob_failed{job_name="oom",namespace="ns",reason="BackoffLimitExceeded"} 1
# HELP kubejob_pod_failures Failed pods of the Job still present, by the failing container, its terminated reason and exit code (pod-level failures such as Evicted have container and exit_code empty); for restartPolicy OnFailure also container restarts by their last terminated reason.
# TYPE kubejob_pod_failures gauge
kubejob_pod_failures{container="app",exit_code="137",job_name="oom",namespace="ns",reason="OOMKilled"} 3
# HELP kubejob_retries Failures counted against backoffLimit now, as the Job controller counts them: failed pods (status.failed plus failed pods not yet counted; failures an Ignore rule of the podFailurePolicy matched are left out), plus for restartPolicy OnFailure the container restarts of pending and running pods.
# TYPE kubejob_retries gauge
kubejob_retries{job_name="oom",namespace="ns"} 3
`,
		},
		{
			name: "running after two failures: backoff, next retry, deadline",
			gather: render(t, Options{}, running,
				fixture.Pod(running.J, "a", 0).FailedWith("app", 127, "Error", 5),
				fixture.Pod(running.J, "b", 15).FailedWith("app", 127, "Error", 20),
				fixture.Pod(running.J, "c", 40).Running(41)),
			metrics: []string{"kubejob_backoff_delay_seconds", "kubejob_backoff_next_retry_timestamp_seconds", "kubejob_last_failure_timestamp_seconds", "kubejob_deadline_timestamp_seconds", "kubejob_active_deadline_seconds", "kubejob_failed", "kubejob_complete"},
			want: `
# HELP kubejob_active_deadline_seconds Time the Job may run before it fails with DeadlineExceeded (spec.activeDeadlineSeconds); absent when not set.
# TYPE kubejob_active_deadline_seconds gauge
kubejob_active_deadline_seconds{job_name="run",namespace="ns"} 3600
# HELP kubejob_backoff_delay_seconds Delay the Job controller applies before it creates the next pod: initial·2^(n-1) capped at the maximum, n being the failures since the last success (per index for backoffLimitPerIndex); 0 when there are none. Absent once the Job has finished: no next pod comes.
# TYPE kubejob_backoff_delay_seconds gauge
kubejob_backoff_delay_seconds{job_name="run",namespace="ns"} 20
# HELP kubejob_backoff_next_retry_timestamp_seconds When the controller may create the next pod: last failure time plus the backoff delay, in Unix seconds. Present while the Job is unfinished and has failures since its last success; compare with time().
# TYPE kubejob_backoff_next_retry_timestamp_seconds gauge
kubejob_backoff_next_retry_timestamp_seconds{job_name="run",namespace="ns"} ` + ts(40) + `
# HELP kubejob_complete 1 once the Job has completed (Complete or SuccessCriteriaMet condition), else 0.
# TYPE kubejob_complete gauge
kubejob_complete{job_name="run",namespace="ns"} 0
# HELP kubejob_deadline_timestamp_seconds When the Job will fail with DeadlineExceeded (status.startTime + activeDeadlineSeconds), in Unix seconds; present while the Job runs unsuspended.
# TYPE kubejob_deadline_timestamp_seconds gauge
kubejob_deadline_timestamp_seconds{job_name="run",namespace="ns"} ` + ts(3600) + `
# HELP kubejob_last_failure_timestamp_seconds When the newest failed pod of the Job still present finished, in Unix seconds.
# TYPE kubejob_last_failure_timestamp_seconds gauge
kubejob_last_failure_timestamp_seconds{job_name="run",namespace="ns"} ` + ts(20) + `
`,
		},
		{
			name: "retry then success: complete, no backoff, never failed",
			gather: render(t, Options{}, flaky,
				fixture.Pod(flaky.J, "a", 0).FailedWith("app", 1, "Error", 10),
				fixture.Pod(flaky.J, "b", 25).Succeeded(60)),
			// Finished, not suspended: no backoff delay, no suspended
			// series, and kubejob_pods only for the states with pods.
			metrics: []string{"kubejob_failed", "kubejob_complete", "kubejob_backoff_delay_seconds", "kubejob_backoff_next_retry_timestamp_seconds", "kubejob_retries", "kubejob_suspended", "kubejob_pods"},
			want: `
# HELP kubejob_complete 1 once the Job has completed (Complete or SuccessCriteriaMet condition), else 0.
# TYPE kubejob_complete gauge
kubejob_complete{job_name="flaky",namespace="ns"} 1
# HELP kubejob_pods Pods of the Job by state, from the Job status: active, ready, succeeded, failed, terminating. Only states with at least one pod have a series.
# TYPE kubejob_pods gauge
kubejob_pods{job_name="flaky",namespace="ns",state="failed"} 1
kubejob_pods{job_name="flaky",namespace="ns",state="succeeded"} 1
# HELP kubejob_retries Failures counted against backoffLimit now, as the Job controller counts them: failed pods (status.failed plus failed pods not yet counted; failures an Ignore rule of the podFailurePolicy matched are left out), plus for restartPolicy OnFailure the container restarts of pending and running pods.
# TYPE kubejob_retries gauge
kubejob_retries{job_name="flaky",namespace="ns"} 1
`,
		},
		{
			name: "Indexed with per-index backoff, index series capped worst first",
			opts: Options{MaxIndexSeries: 2},
			gather: render(t, Options{MaxIndexSeries: 2}, idx,
				fixture.Pod(idx.J, "1a", 0).Index(1, 0).FailedWith("app", 1, "Error", 10),
				fixture.Pod(idx.J, "4a", 0).Index(4, 0).FailedWith("app", 1, "Error", 10),
				fixture.Pod(idx.J, "4b", 12).Index(4, 1).FailedWith("app", 1, "Error", 20),
				fixture.Pod(idx.J, "4c", 30).Index(4, 2).FailedWith("app", 1, "Error", 40),
				fixture.Pod(idx.J, "5a", 0).Index(5, 0).FailedWith("app", 1, "Error", 10),
				fixture.Pod(idx.J, "5b", 12).Index(5, 1).Running(13),
				fixture.Pod(idx.J, "6a", 0).Index(6, 0).Running(1)),
			metrics: []string{"kubejob_index_failures", "kubejob_failed_indexes", "kubejob_completed_indexes", "kubejob_backoff_limit_per_index", "kubejob_max_failed_indexes", "kubejob_info"},
			want: `
# HELP kubejob_backoff_limit_per_index Failures tolerated per index of an Indexed Job (spec.backoffLimitPerIndex); absent when not set.
# TYPE kubejob_backoff_limit_per_index gauge
kubejob_backoff_limit_per_index{job_name="idx",namespace="ns"} 2
# HELP kubejob_completed_indexes Indexes of an Indexed Job that succeeded (counted from status.completedIndexes).
# TYPE kubejob_completed_indexes gauge
kubejob_completed_indexes{job_name="idx",namespace="ns"} 3
# HELP kubejob_failed_indexes Indexes of an Indexed Job with backoffLimitPerIndex that failed for good (counted from status.failedIndexes).
# TYPE kubejob_failed_indexes gauge
kubejob_failed_indexes{job_name="idx",namespace="ns"} 1
# HELP kubejob_index_failures Failures of one index of an Indexed Job (from the pods' job-index-failure-count annotation); only indexes with failures, at most --job.max-index-series series per Job, worst first.
# TYPE kubejob_index_failures gauge
kubejob_index_failures{index="4",job_name="idx",namespace="ns"} 3
kubejob_index_failures{index="1",job_name="idx",namespace="ns"} 1
# HELP kubejob_info Information about the Job: its owner, as kubejob_owner_* counts its outcomes (owner_kind CronJob: the CronJob that controls it; owner_kind Job: a standalone Job's group, the --outcomes.owner-label value, its generateName or its name), completion mode and pod restart policy. Always 1.
# TYPE kubejob_info gauge
kubejob_info{completion_mode="Indexed",job_name="idx",namespace="ns",owner_kind="Job",owner_name="idx",restart_policy="Never"} 1
# HELP kubejob_max_failed_indexes Failed indexes tolerated before the Job fails with MaxFailedIndexesExceeded (spec.maxFailedIndexes); absent when not set.
# TYPE kubejob_max_failed_indexes gauge
kubejob_max_failed_indexes{job_name="idx",namespace="ns"} 3
`,
		},
		{
			name: "OnFailure: restarts count as retries, by last terminated reason",
			gather: render(t, Options{}, onf,
				fixture.Pod(onf.J, "a", 0).Running(1).Restarted("app", 3, "OOMKilled", 137, 50)),
			metrics: []string{"kubejob_retries", "kubejob_pod_failures", "kubejob_info"},
			want: `
# HELP kubejob_info Information about the Job: its owner, as kubejob_owner_* counts its outcomes (owner_kind CronJob: the CronJob that controls it; owner_kind Job: a standalone Job's group, the --outcomes.owner-label value, its generateName or its name), completion mode and pod restart policy. Always 1.
# TYPE kubejob_info gauge
kubejob_info{completion_mode="NonIndexed",job_name="onf",namespace="ns",owner_kind="Job",owner_name="onf",restart_policy="OnFailure"} 1
# HELP kubejob_pod_failures Failed pods of the Job still present, by the failing container, its terminated reason and exit code (pod-level failures such as Evicted have container and exit_code empty); for restartPolicy OnFailure also container restarts by their last terminated reason.
# TYPE kubejob_pod_failures gauge
kubejob_pod_failures{container="app",exit_code="137",job_name="onf",namespace="ns",reason="OOMKilled"} 3
# HELP kubejob_retries Failures counted against backoffLimit now, as the Job controller counts them: failed pods (status.failed plus failed pods not yet counted; failures an Ignore rule of the podFailurePolicy matched are left out), plus for restartPolicy OnFailure the container restarts of pending and running pods.
# TYPE kubejob_retries gauge
kubejob_retries{job_name="onf",namespace="ns"} 3
`,
		},
		{
			name: "stuck before running: waiting reasons, no retries",
			gather: render(t, Options{}, pull,
				fixture.Pod(pull.J, "a", 0).Waiting("ImagePullBackOff"),
				fixture.Pod(pull.J, "b", 0).Waiting("ErrImageNeverPull"),
				fixture.Pod(pull.J, "c", 0).Waiting("ContainerCreating")),
			metrics: []string{"kubejob_pods_waiting", "kubejob_retries"},
			want: `
# HELP kubejob_pods_waiting Pods of the Job stuck before running their work, by reason: image pull and config errors, crash loops and unschedulable pods at once; pods pending in a normal start (ContainerCreating, PodInitializing, SchedulingGated, NotScheduled) once pending longer than --job.pod-start-timeout. Only crash loops of restartPolicy OnFailure count toward backoffLimit.
# TYPE kubejob_pods_waiting gauge
kubejob_pods_waiting{job_name="pull",namespace="ns",reason="ImagePullBackOff"} 1
kubejob_pods_waiting{job_name="pull",namespace="ns",reason="Other"} 1
# HELP kubejob_retries Failures counted against backoffLimit now, as the Job controller counts them: failed pods (status.failed plus failed pods not yet counted; failures an Ignore rule of the podFailurePolicy matched are left out), plus for restartPolicy OnFailure the container restarts of pending and running pods.
# TYPE kubejob_retries gauge
kubejob_retries{job_name="pull",namespace="ns"} 0
`,
		},
		{
			name: "unknown reasons and exit codes fold into Other",
			gather: render(t, Options{}, odd,
				fixture.Pod(odd.J, "a", 0).FailedWith("app", 300, "WeirdRuntimeReason", 5)),
			metrics: []string{"kubejob_failed", "kubejob_pod_failures"},
			want: `
# HELP kubejob_failed 1 once the Job has failed for good (Failed condition, or the FailureTarget the controller sets first), with the terminal reason; absent while the Job has not failed.
# TYPE kubejob_failed gauge
kubejob_failed{job_name="odd",namespace="ns",reason="Other"} 1
# HELP kubejob_pod_failures Failed pods of the Job still present, by the failing container, its terminated reason and exit code (pod-level failures such as Evicted have container and exit_code empty); for restartPolicy OnFailure also container restarts by their last terminated reason.
# TYPE kubejob_pod_failures gauge
kubejob_pod_failures{container="app",exit_code="Other",job_name="odd",namespace="ns",reason="Other"} 1
`,
		},
		{
			name:    "suspended: no deadline countdown, no start time",
			gather:  render(t, Options{}, suspended),
			metrics: []string{"kubejob_suspended", "kubejob_deadline_timestamp_seconds", "kubejob_start_timestamp_seconds", "kubejob_active_deadline_seconds"},
			want: `
# HELP kubejob_active_deadline_seconds Time the Job may run before it fails with DeadlineExceeded (spec.activeDeadlineSeconds); absent when not set.
# TYPE kubejob_active_deadline_seconds gauge
kubejob_active_deadline_seconds{job_name="susp",namespace="ns"} 60
# HELP kubejob_suspended 1 while the Job is suspended (spec.suspend); absent otherwise.
# TYPE kubejob_suspended gauge
kubejob_suspended{job_name="susp",namespace="ns"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.GatherAndCompare(tt.gather, strings.NewReader(tt.want), tt.metrics...); err != nil {
				t.Error(err)
			}
		})
	}
}

// ts renders fixture time T0+s as the exposition shows it.
func ts(s int) string {
	v, _ := unix(fixture.At(s).Time)
	return strings.TrimSpace(formatFloat(v))
}
