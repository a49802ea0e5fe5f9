// Package job holds the Kubernetes Job semantics the exporter relies on, as
// pure functions over batch/v1 Jobs and core/v1 Pods: how the Job controller
// counts failures against backoffLimit, how long its exponential backoff
// waits, how it parses index ranges, and how a failed pod's cause is
// classified into a bounded set of reasons and exit codes.
//
// Everything here follows the Job controller of current Kubernetes
// (k8s.io/kubernetes/pkg/controller/job, v1.37); each function cites the rule
// it mirrors. Nothing here talks to an API server, so every rule is table
// tested and fuzzed in isolation, and the collectors, the diagnose command and
// the runbook pages all read the same Summary.
//
// A pod's trip, one file a step, each helper beside the step that uses it:
//
//   - podfacts.go: read a pod's facts from the API object, once (factsOf).
//   - record.go: encode them into the PodRecord the pod cache keeps, and decode them.
//   - contribution.go: decide them for the pod's Job (podContext): failed or not, its index, its Attempt.
//   - aggregate.go: count each pod's contribution into its Job's Aggregate, one pod change at a time.
//   - summary.go: summarize a Job from its JobRecord, the Aggregate and its events (Summary).
//
// Beside the trip:
//
//   - jobrecord.go: read a Job's facts once into the JobRecord the Job cache keeps.
//   - events.go: read FailedCreate events into EventRecords, and fold them into a Job's CreateFailures.
//   - outcome.go: what outlives a Job: its Finish, a pod's new failures, the evidence of its gone pods.
//   - resourcetime.go: what a finished pod held, counted once at its finish (PodFinish, PodGone), and what the failed runs of a Job's pods held so far (Summary.FailedHeld, summed exactly in the Aggregate).
//   - requests.go: a pod's effective request as the scheduler reserves it (PodRequests), and what the record keeps of it.
//   - classify.go: fold reasons and exit codes into bounded label values, and say what they mean (Cause).
//   - podfailurepolicy.go: which podFailurePolicy rule matches a failed pod.
//   - backoff.go: the Job controller's pod-failure backoff.
//   - indexes.go: count the indexes of a Job status index list.
//   - owner.go: a Job's CronJob and a container's executable, read from what tenants write.
//   - bounds.go: the bounds on what tenants write, and the count of values cut to them.
//   - intern.go: one copy of the strings every record repeats.
package job
