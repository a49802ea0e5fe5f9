package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// JobRecord is what the Job cache keeps per Job: the facts of the Job that
// Summarize and the diagnosis read, read once by NewJobRecord, compactly.
// A batchv1.Job struct is over 1 KiB before any field is set. The Summary
// is computed from the record (SummarizeAggregate), also for a Job read
// from the API (Summarize records it first), so both read the same facts.
// It never holds a container's environment, arguments or most of its
// command, so a secret placed there can never reach the exporter's memory
// or its output.
type JobRecord struct { //nolint:revive // job.JobRecord beside job.PodRecord and job.EventRecord: the name says which record
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	// CronJob controlling the Job (CronJobOwner), "" if none.
	CronJob    string
	CronJobUID types.UID
	// Owner is what the Job's outcomes count under (OwnerOf).
	Owner   Owner
	Created int64
	// Deleting is the Job's deletionTimestamp (Unix nanoseconds, 0 when
	// unset): a foreground deletion (the TTL controller's) sets it while
	// the garbage collector removes the pods first.
	Deleting int64
	// TTLSecondsAfterFinished is spec.ttlSecondsAfterFinished.
	TTLSecondsAfterFinished *int32
	// QueueName is the LocalQueue named by the Job's label
	// kueue.x-k8s.io/queue-name (QueueLabel), "" when absent or not a
	// valid label value (Kueue would not admit it either).
	QueueName string
	// Unselected is set by the exporter's watcher on a Job whose labels
	// no longer match its --watch.job-selector: the API server sends it as a
	// deletion.
	Unselected bool

	BackoffLimit, BackoffLimitPerIndex, MaxFailedIndexes *int32
	Completions, Parallelism                             *int32
	Indexed                                              bool
	ActiveDeadlineSeconds                                *int64
	Suspend                                              bool
	PodFailurePolicy                                     *batchv1.PodFailurePolicy
	PodReplacementPolicy                                 *batchv1.PodReplacementPolicy
	RestartPolicy                                        corev1.RestartPolicy
	// Containers of the pod template, init containers first.
	Containers []ContainerSpec

	Active, Succeeded, Failed           int32
	Ready, Terminating                  *int32
	UncountedFailed, UncountedSucceeded int32
	StartTime, CompletionTime           int64
	CompletedIndexes                    string
	FailedIndexes                       *string
	Conditions                          []jobConditionRecord
}

type jobConditionRecord struct {
	Type   batchv1.JobConditionType
	Status corev1.ConditionStatus
	Reason string
	At     int64
}

// GetObjectMeta lets the informer's key functions read the record.
func (r *JobRecord) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}

// RecordJob is the Job informer's transform: the Job's record, its owner
// grouped by the label ownerLabel (see OwnerOf; "" for none), at most
// DefaultMaxContainers containers kept. Other objects (tombstones) pass
// through.
func RecordJob(ownerLabel string) func(obj any) (any, error) {
	return RecordJobWith(ownerLabel, Options{})
}

// RecordJobWith is RecordJob keeping at most o.MaxContainers containers.
func RecordJobWith(ownerLabel string, o Options) func(obj any) (any, error) {
	return func(obj any) (any, error) {
		if j, ok := obj.(*batchv1.Job); ok {
			return newJobRecord(j, ownerLabel, o.maxContainers()), nil
		}
		return obj, nil
	}
}

// NewJobRecord reads a Job's facts, its owner grouped without a label.
func NewJobRecord(j *batchv1.Job) *JobRecord { return NewJobRecordOwned(j, "") }

// NewJobRecordOwned reads a Job's facts, keeping at most
// DefaultMaxContainers containers. ownerLabel groups its outcomes
// (OwnerOf).
func NewJobRecordOwned(j *batchv1.Job, ownerLabel string) *JobRecord {
	return newJobRecord(j, ownerLabel, DefaultMaxContainers)
}

// newJobRecord reads a Job's facts: the one place a Job is read. The API
// server has validated the Job's own name, namespace and container names;
// what it leaves unbounded (images, owner references, condition reasons,
// the number of containers) is bounded here (see Bounded).
func newJobRecord(j *batchv1.Job, ownerLabel string, maxContainers int) *JobRecord {
	s, st := &j.Spec, &j.Status
	r := &JobRecord{
		Namespace: internNamespace(j.Namespace), Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
		Owner:                   OwnerOf(j, ownerLabel),
		Created:                 unixOrZero(j.CreationTimestamp),
		TTLSecondsAfterFinished: s.TTLSecondsAfterFinished,
		BackoffLimit:            s.BackoffLimit, BackoffLimitPerIndex: s.BackoffLimitPerIndex, MaxFailedIndexes: s.MaxFailedIndexes,
		Completions: s.Completions, Parallelism: s.Parallelism,
		Indexed:               s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion,
		ActiveDeadlineSeconds: s.ActiveDeadlineSeconds, Suspend: s.Suspend != nil && *s.Suspend,
		PodFailurePolicy: s.PodFailurePolicy, PodReplacementPolicy: s.PodReplacementPolicy,
		RestartPolicy: corev1.RestartPolicy(intern(string(s.Template.Spec.RestartPolicy))),
		Containers:    templateContainerSpecs(&s.Template.Spec, maxContainers),
		Active:        st.Active, Succeeded: st.Succeeded, Failed: st.Failed,
		Ready: st.Ready, Terminating: st.Terminating,
		CompletedIndexes: st.CompletedIndexes, FailedIndexes: st.FailedIndexes,
	}
	var ok bool
	if r.CronJob, r.CronJobUID, ok = CronJobOwner(j); !ok {
		if ref := metav1.GetControllerOfNoCopy(j); ref != nil && ref.Kind == "CronJob" {
			countCut(CutOwnerReference, 1)
		}
	}
	if j.DeletionTimestamp != nil {
		r.Deleting = unixOrZero(*j.DeletionTimestamp)
	}
	r.QueueName = QueueNameOf(j.Labels)
	if u := st.UncountedTerminatedPods; u != nil {
		r.UncountedFailed, r.UncountedSucceeded = int32(len(u.Failed)), int32(len(u.Succeeded))
	}
	if st.StartTime != nil {
		r.StartTime = unixOrZero(*st.StartTime)
	}
	if st.CompletionTime != nil {
		r.CompletionTime = unixOrZero(*st.CompletionTime)
	}
	if n := len(st.Conditions); n > 0 {
		r.Conditions = make([]jobConditionRecord, n)
		for i, c := range st.Conditions {
			r.Conditions[i] = jobConditionRecord{
				Type:   batchv1.JobConditionType(intern(string(c.Type))),
				Status: corev1.ConditionStatus(intern(string(c.Status))),
				Reason: intern(BoundedCount(c.Reason, MaxReasonLength, CutReason)),
				At:     unixOrZero(c.LastTransitionTime),
			}
		}
	}
	return r
}

// templateContainerSpecs reads the template's containers, init containers
// first, at most limit of them: name, image (bounded), memory limit and the
// executable (the program of command, which exit code 127 is about:
// Executable); never env, args or the rest of the command.
func templateContainerSpecs(spec *corev1.PodSpec, limit int) []ContainerSpec {
	if n := len(spec.InitContainers) + len(spec.Containers); n > limit {
		countCut(CutContainer, n-limit)
	}
	var out []ContainerSpec
	add := func(cs []corev1.Container, init bool) {
		for i := range cs {
			if len(out) >= limit {
				return
			}
			c := ContainerSpec{Name: cs[i].Name, Init: init, Image: BoundedCount(cs[i].Image, MaxImageLength, CutImage), MemoryLimit: -1}
			c.Executable = Executable(cs[i].Command)
			if q, ok := cs[i].Resources.Limits[corev1.ResourceMemory]; ok {
				c.MemoryLimit = q.Value()
			}
			out = append(out, c)
		}
	}
	add(spec.InitContainers, true)
	add(spec.Containers, false)
	return out
}

// Skeleton keeps only the Job's identity (see PodRecord.Skeleton).
func (r *JobRecord) Skeleton() *JobRecord {
	return &JobRecord{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}

// A Job record's times are kept as Unix nanoseconds (8 bytes instead of a
// 24-byte time.Time), 0 for unset, and read back in UTC (recordTime). (The
// pod record encodes times differently, exactly: see encoder.time.)
func unixOrZero(t metav1.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// recordTime is a time kept by unixOrZero, the zero time for unset.
func recordTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
