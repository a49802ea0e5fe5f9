package kube

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// KueueGroup is Kueue's API group.
const KueueGroup = "kueue.x-k8s.io"

// KueueVersions are the versions of KueueGroup the exporter reads,
// preferred first. Both serve the fields below alike.
var KueueVersions = []string{"v1beta2", "v1beta1"}

// Workload is the part of a Kueue Workload the exporter reads, decoded
// from the API server's JSON; every other field (the pod templates of its
// pod sets, above all) is skipped by the decoder. The Kueue Go types are
// not a dependency: they bring controller-runtime and every framework
// Kueue integrates with.
type Workload struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              WorkloadSpec   `json:"spec,omitempty"`
	Status            WorkloadStatus `json:"status,omitempty"`
}

// WorkloadSpec is the part of a Workload's spec the exporter reads.
type WorkloadSpec struct {
	// QueueName is the LocalQueue the Workload is queued in.
	QueueName string `json:"queueName,omitempty"`
	// Active false: deactivated (by a person or by Kueue).
	Active *bool `json:"active,omitempty"`
}

// WorkloadStatus is the part of a Workload's status the exporter reads.
type WorkloadStatus struct {
	Conditions   []metav1.Condition `json:"conditions,omitempty"`
	Admission    *WorkloadAdmission `json:"admission,omitempty"`
	RequeueState *RequeueState      `json:"requeueState,omitempty"`
	// SchedulingStats counts the Workload's evictions by reason; absent
	// before Kueue wrote it (older versions).
	SchedulingStats *SchedulingStats `json:"schedulingStats,omitempty"`
}

// SchedulingStats is the part of status.schedulingStats the exporter
// reads (the same in v1beta1 and v1beta2).
type SchedulingStats struct {
	Evictions []SchedulingStatsEviction `json:"evictions,omitempty"`
}

// SchedulingStatsEviction counts the evictions of one reason and
// underlying cause: Kueue adds one on every eviction
// (workload.Evict, workloadEvictionStateInc).
type SchedulingStatsEviction struct {
	Reason          string `json:"reason"`
	UnderlyingCause string `json:"underlyingCause"`
	Count           int32  `json:"count"`
}

// WorkloadAdmission names the ClusterQueue that reserved the quota.
type WorkloadAdmission struct {
	ClusterQueue string `json:"clusterQueue"`
}

// RequeueState counts the Workload's requeues after a PodsReady timeout
// (Kueue v0.17 bumps it nowhere else; deactivation resets it).
type RequeueState struct {
	Count *int32 `json:"count,omitempty"`
}

// WorkloadList is a list of Workloads.
type WorkloadList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Workload `json:"items"`
}

// LocalQueue is the part of a Kueue LocalQueue the exporter reads.
type LocalQueue struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              LocalQueueSpec `json:"spec,omitempty"`
}

// LocalQueueSpec names the LocalQueue's ClusterQueue.
type LocalQueueSpec struct {
	ClusterQueue string `json:"clusterQueue,omitempty"`
}

// LocalQueueList is a list of LocalQueues.
type LocalQueueList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LocalQueue `json:"items"`
}

// DeepCopyObject copies the Workload (runtime.Object).
func (w *Workload) DeepCopyObject() runtime.Object {
	if w == nil {
		return nil
	}
	out := *w
	w.DeepCopyInto(&out.ObjectMeta)
	if w.Spec.Active != nil {
		a := *w.Spec.Active
		out.Spec.Active = &a
	}
	if w.Status.Conditions != nil {
		out.Status.Conditions = make([]metav1.Condition, len(w.Status.Conditions))
		for i := range w.Status.Conditions {
			w.Status.Conditions[i].DeepCopyInto(&out.Status.Conditions[i])
		}
	}
	if w.Status.Admission != nil {
		a := *w.Status.Admission
		out.Status.Admission = &a
	}
	if r := w.Status.RequeueState; r != nil {
		out.Status.RequeueState = &RequeueState{}
		if r.Count != nil {
			c := *r.Count
			out.Status.RequeueState.Count = &c
		}
	}
	if st := w.Status.SchedulingStats; st != nil {
		out.Status.SchedulingStats = &SchedulingStats{Evictions: slices.Clone(st.Evictions)}
	}
	return &out
}

// DeepCopyObject copies the list (runtime.Object).
func (l *WorkloadList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]Workload, len(l.Items))
		for i := range l.Items {
			out.Items[i] = *l.Items[i].DeepCopyObject().(*Workload)
		}
	}
	return &out
}

// DeepCopyObject copies the LocalQueue (runtime.Object).
func (q *LocalQueue) DeepCopyObject() runtime.Object {
	if q == nil {
		return nil
	}
	out := *q
	q.DeepCopyInto(&out.ObjectMeta)
	return &out
}

// DeepCopyObject copies the list (runtime.Object).
func (l *LocalQueueList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]LocalQueue, len(l.Items))
		for i := range l.Items {
			out.Items[i] = *l.Items[i].DeepCopyObject().(*LocalQueue)
		}
	}
	return &out
}
