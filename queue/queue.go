// Package queue reads Kueue's view of a Job: its Workload and LocalQueue,
// reduced to compact records by the informers' transforms, and the Job's
// place in its queue (job.Queue) and the evictions of its Workload as
// Kueue writes them (sigs.k8s.io/kueue: pkg/workload, pkg/scheduler,
// pkg/controller/core). It holds no client and no state.
package queue

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// WorkloadRecord is what the Workload cache keeps of a kube.Workload.
type WorkloadRecord struct {
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	Created         time.Time
	// JobName and JobUID are the Job controlling the Workload (its
	// controller owner reference of kind Job in batch/v1, validated), ""
	// if none.
	JobName string
	JobUID  types.UID
	// QueueName is spec.queueName, ClusterQueue status.admission's
	// (validated: "" for a value that cannot name a queue).
	QueueName, ClusterQueue string
	// Active is spec.active (unset: true).
	Active bool
	// The conditions Kueue sets (Reason bounded, job.MaxReasonLength).
	// Only QuotaReserved and Evicted keep their Message (bounded,
	// job.MaxQueueMessage): the others' say nothing their reason does
	// not, and a message is the largest part of a record.
	QuotaReserved, Admitted, Evicted, Preempted, Finished Condition
	// QuotaCause is why Kueue reserves no quota (one of job.QueueCauses)
	// while QuotaReserved is False, "" otherwise: read from the whole
	// message when the record is made, since the kept Message may be cut
	// before the words that tell.
	QuotaCause string
	// Evictions is how many times the Workload was evicted: the sum of
	// status.schedulingStats.evictions' counts, else (a Kueue that does
	// not write them) status.requeueState.count.
	Evictions int32
}

// Condition is a Workload condition: absent (zero), or its status,
// reason, message and last transition.
type Condition struct {
	Present, True   bool
	Reason, Message string
	At              time.Time
}

// GetObjectMeta lets the informer's key functions read the record.
func (r *WorkloadRecord) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}

// LocalQueueRecord is what the LocalQueue cache keeps of a kube.LocalQueue.
type LocalQueueRecord struct {
	Namespace, Name, ResourceVersion string
	ClusterQueue                     string
	// Terminating: metadata.deletionTimestamp is set.
	Terminating bool
}

// GetObjectMeta lets the informer's key functions read the record.
func (r *LocalQueueRecord) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, ResourceVersion: r.ResourceVersion}
}

// RecordWorkload is the Workload informer's transform: a *kube.Workload
// becomes its *WorkloadRecord; other objects (tombstones) pass through.
func RecordWorkload(obj any) (any, error) {
	if w, ok := obj.(*kube.Workload); ok {
		return newWorkloadRecord(w), nil
	}
	return obj, nil
}

// RecordLocalQueue is the LocalQueue informer's transform (see
// RecordWorkload).
func RecordLocalQueue(obj any) (any, error) {
	if q, ok := obj.(*kube.LocalQueue); ok {
		return newLocalQueueRecord(q), nil
	}
	return obj, nil
}

// WorkloadJobKeys is an informer index function: the "namespace/name" of
// a Workload record's Job, none without one.
func WorkloadJobKeys(obj any) ([]string, error) {
	r, ok := obj.(*WorkloadRecord)
	if !ok || r.JobName == "" {
		return nil, nil
	}
	return []string{r.Namespace + "/" + r.JobName}, nil
}
