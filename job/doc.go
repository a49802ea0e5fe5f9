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
package job
