package job

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// PodRecord is what the pod cache keeps per pod: the stripped pod of
// StripPod in a compact form. A corev1.Pod struct alone is over 1 KiB before
// any field is set; a PodRecord of a typical Job pod is a few hundred bytes,
// which is what lets the exporter hold 100k pods in ~100 MiB. Pod()
// rebuilds the stripped pod exactly (TestPodRecordRoundTrip), so Summarize
// reads the same facts either way.
type PodRecord struct {
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	Owner           ownerRecord
	Created         int64 // Unix nanoseconds, 0 when unset
	Deleted         int64 // 0 when not being deleted
	DeletionGrace   *int64
	NodeName        string
	Phase           corev1.PodPhase
	Reason          string
	// Index annotations, parsed; -1 when absent.
	Index, FailureCount, IgnoredCount int32
	Conditions                        []conditionRecord
	InitContainers, Containers        []containerRecord
	InitStatuses, Statuses            []statusRecord
}

type ownerRecord struct {
	APIVersion, Kind, Name string
	UID                    types.UID
}

type conditionRecord struct {
	Type   corev1.PodConditionType
	Status corev1.ConditionStatus
	Reason string
	At     int64
}

type containerRecord struct {
	Name, Image   string
	RestartPolicy *corev1.ContainerRestartPolicy
}

type statusRecord struct {
	Name         string
	RestartCount int32
	Ready        bool
	State, Last  stateRecord
}

// stateRecord is a ContainerState: at most one of waiting, running,
// terminated is set, as the API allows.
type stateRecord struct {
	Kind                stateKind
	Reason              string // waiting or terminated
	ExitCode, Signal    int32
	StartedAt, Finished int64
}

type stateKind uint8

const (
	stateNone stateKind = iota
	stateWaiting
	stateRunning
	stateTerminated
)

// GetObjectMeta lets the informer's key functions read the record
// (meta.Accessor accepts a metav1.ObjectMetaAccessor).
func (r *PodRecord) GetObjectMeta() metav1.Object {
	m := &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
	if r.Deleted != 0 {
		m.DeletionTimestamp = unixTime(r.Deleted)
	}
	return m
}

// ControllerJobKey returns "namespace/name" of the Job controlling the pod.
func (r *PodRecord) ControllerJobKey() (string, bool) {
	if r.Owner.Kind != "Job" || r.Owner.Name == "" {
		return "", false
	}
	return r.Namespace + "/" + r.Owner.Name, true
}

// RecordPod is the pod informer's transform: StripPod, then the compact
// record. Other objects (tombstones) pass through.
func RecordPod(obj any) (any, error) {
	stripped, err := StripPod(obj)
	if err != nil {
		return nil, err
	}
	p, ok := stripped.(*corev1.Pod)
	if !ok {
		return stripped, nil
	}
	return NewPodRecord(p), nil
}

// NewPodRecord encodes a stripped pod (see StripPod).
func NewPodRecord(p *corev1.Pod) *PodRecord {
	r := &PodRecord{
		Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
		Created:       unixOrZero(p.CreationTimestamp),
		DeletionGrace: p.DeletionGracePeriodSeconds,
		NodeName:      p.Spec.NodeName,
		Phase:         corev1.PodPhase(intern(string(p.Status.Phase))),
		Reason:        intern(p.Status.Reason),
		Index:         annotation(p, batchv1.JobCompletionIndexAnnotation),
		FailureCount:  annotation(p, batchv1.JobIndexFailureCountAnnotation),
		IgnoredCount:  annotation(p, batchv1.JobIndexIgnoredFailureCountAnnotation),
	}
	if p.DeletionTimestamp != nil {
		r.Deleted = unixOrZero(*p.DeletionTimestamp)
	}
	if len(p.OwnerReferences) > 0 {
		o := p.OwnerReferences[0] // StripPod keeps the controller only
		r.Owner = ownerRecord{APIVersion: intern(o.APIVersion), Kind: intern(o.Kind), Name: o.Name, UID: o.UID}
	}
	if n := len(p.Status.Conditions); n > 0 {
		r.Conditions = make([]conditionRecord, n)
		for i, c := range p.Status.Conditions {
			r.Conditions[i] = conditionRecord{
				Type:   corev1.PodConditionType(intern(string(c.Type))),
				Status: corev1.ConditionStatus(intern(string(c.Status))),
				Reason: intern(c.Reason),
				At:     unixOrZero(c.LastTransitionTime),
			}
		}
	}
	r.InitContainers = containerRecords(p.Spec.InitContainers)
	r.Containers = containerRecords(p.Spec.Containers)
	r.InitStatuses = statusRecords(p.Status.InitContainerStatuses)
	r.Statuses = statusRecords(p.Status.ContainerStatuses)
	return r
}

// Pod rebuilds the stripped pod.
func (r *PodRecord) Pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion,
			DeletionGracePeriodSeconds: r.DeletionGrace,
		},
		Spec: corev1.PodSpec{
			NodeName:       r.NodeName,
			InitContainers: containers(r.InitContainers),
			Containers:     containers(r.Containers),
		},
		Status: corev1.PodStatus{
			Phase:                 r.Phase,
			Reason:                r.Reason,
			InitContainerStatuses: statuses(r.InitStatuses),
			ContainerStatuses:     statuses(r.Statuses),
		},
	}
	if r.Created != 0 {
		p.CreationTimestamp = *unixTime(r.Created)
	}
	if r.Deleted != 0 {
		p.DeletionTimestamp = unixTime(r.Deleted)
	}
	if r.Owner.Kind != "" || r.Owner.Name != "" {
		p.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: r.Owner.APIVersion, Kind: r.Owner.Kind, Name: r.Owner.Name, UID: r.Owner.UID, Controller: ptr.To(true),
		}}
	}
	for _, a := range []struct {
		key string
		v   int32
	}{
		{batchv1.JobCompletionIndexAnnotation, r.Index},
		{batchv1.JobIndexFailureCountAnnotation, r.FailureCount},
		{batchv1.JobIndexIgnoredFailureCountAnnotation, r.IgnoredCount},
	} {
		if a.v < 0 {
			continue
		}
		if p.Annotations == nil {
			p.Annotations = make(map[string]string, 3)
		}
		p.Annotations[a.key] = strconv.FormatInt(int64(a.v), 10)
	}
	if len(r.Conditions) > 0 {
		p.Status.Conditions = make([]corev1.PodCondition, len(r.Conditions))
		for i, c := range r.Conditions {
			p.Status.Conditions[i] = corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason}
			if c.At != 0 {
				p.Status.Conditions[i].LastTransitionTime = *unixTime(c.At)
			}
		}
	}
	return p
}

func annotation(p *corev1.Pod, key string) int32 {
	v, ok := p.Annotations[key]
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return -1
	}
	return int32(n)
}

func containerRecords(cs []corev1.Container) []containerRecord {
	if len(cs) == 0 {
		return nil
	}
	out := make([]containerRecord, len(cs))
	for i, c := range cs {
		out[i] = containerRecord{Name: c.Name, Image: c.Image, RestartPolicy: c.RestartPolicy}
	}
	return out
}

func containers(rs []containerRecord) []corev1.Container {
	if len(rs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(rs))
	for i, r := range rs {
		out[i] = corev1.Container{Name: r.Name, Image: r.Image, RestartPolicy: r.RestartPolicy}
	}
	return out
}

func statusRecords(ss []corev1.ContainerStatus) []statusRecord {
	if len(ss) == 0 {
		return nil
	}
	out := make([]statusRecord, len(ss))
	for i, s := range ss {
		out[i] = statusRecord{Name: s.Name, RestartCount: s.RestartCount, Ready: s.Ready,
			State: newStateRecord(s.State), Last: newStateRecord(s.LastTerminationState)}
	}
	return out
}

func statuses(rs []statusRecord) []corev1.ContainerStatus {
	if len(rs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(rs))
	for i, r := range rs {
		out[i] = corev1.ContainerStatus{Name: r.Name, RestartCount: r.RestartCount, Ready: r.Ready,
			State: r.State.state(), LastTerminationState: r.Last.state()}
	}
	return out
}

func newStateRecord(s corev1.ContainerState) stateRecord {
	switch {
	case s.Terminated != nil:
		t := s.Terminated
		return stateRecord{Kind: stateTerminated, Reason: intern(t.Reason), ExitCode: t.ExitCode, Signal: t.Signal,
			StartedAt: unixOrZero(t.StartedAt), Finished: unixOrZero(t.FinishedAt)}
	case s.Running != nil:
		return stateRecord{Kind: stateRunning, StartedAt: unixOrZero(s.Running.StartedAt)}
	case s.Waiting != nil:
		return stateRecord{Kind: stateWaiting, Reason: intern(s.Waiting.Reason)}
	}
	return stateRecord{}
}

func (r stateRecord) state() corev1.ContainerState {
	switch r.Kind {
	case stateTerminated:
		t := &corev1.ContainerStateTerminated{ExitCode: r.ExitCode, Signal: r.Signal, Reason: r.Reason}
		if r.StartedAt != 0 {
			t.StartedAt = *unixTime(r.StartedAt)
		}
		if r.Finished != 0 {
			t.FinishedAt = *unixTime(r.Finished)
		}
		return corev1.ContainerState{Terminated: t}
	case stateRunning:
		run := &corev1.ContainerStateRunning{}
		if r.StartedAt != 0 {
			run.StartedAt = *unixTime(r.StartedAt)
		}
		return corev1.ContainerState{Running: run}
	case stateWaiting:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r.Reason}}
	}
	return corev1.ContainerState{}
}

// Times are kept as Unix nanoseconds (8 bytes instead of a 24-byte
// time.Time), 0 for unset, and rebuilt in UTC.
func unixOrZero(t metav1.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func unixTime(ns int64) *metav1.Time {
	t := metav1.NewTime(time.Unix(0, ns).UTC())
	return &t
}

// interned holds the strings every pod repeats (phases, condition types
// and statuses, reasons, API versions): one copy serves all pods instead of
// one decoded copy each.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"", "Pending", "Running", "Succeeded", "Failed", "Unknown",
		"True", "False",
		"Ready", "ContainersReady", "Initialized", "PodScheduled", "PodReadyToStartContainers", "DisruptionTarget",
		"PodCompleted", "Unschedulable", "ContainersNotReady", "PodFailed",
		"Job", "batch/v1", "v1",
		"OOMKilled", "Error", "Completed", "ContainerCannotRun", "StartError", "DeadlineExceeded", "Evicted",
		"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CrashLoopBackOff",
		"ContainerCreating", "PodInitializing",
		"PreemptionByScheduler", "DeletionByTaintManager", "EvictionByEvictionAPI", "DeletionByPodGC", "TerminationByKubelet",
	} {
		m[s] = s
	}
	return m
}()

func intern(s string) string {
	if v, ok := interned[s]; ok {
		return v
	}
	return s
}

// JobRecord is what the Job cache keeps per Job: the fields of the stripped
// Job (see StripJob) that Summarize and the diagnosis read, compactly. A
// batchv1.Job struct is over 1 KiB before any field is set. Job() rebuilds a
// Job that summarizes the same (TestJobRecordRoundTrip).
type JobRecord struct {
	Namespace, Name string
	UID             types.UID
	ResourceVersion string
	Owner           ownerRecord
	Created         int64

	BackoffLimit, BackoffLimitPerIndex, MaxFailedIndexes *int32
	Completions, Parallelism                             *int32
	CompletionMode                                       *batchv1.CompletionMode
	ActiveDeadlineSeconds                                *int64
	Suspend                                              *bool
	PodFailurePolicy                                     *batchv1.PodFailurePolicy
	PodReplacementPolicy                                 *batchv1.PodReplacementPolicy
	RestartPolicy                                        corev1.RestartPolicy
	InitContainers, Containers                           []templateContainer

	Active, Succeeded, Failed int32
	Ready, Terminating        *int32
	UncountedFailed           int32
	StartTime, CompletionTime int64
	CompletedIndexes          string
	FailedIndexes             *string
	Conditions                []jobConditionRecord
}

type templateContainer struct {
	Name, Image, Executable string
	MemoryLimit             int64 // -1 when unset
	MemoryRequest           int64
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

// RecordJob is the Job informer's transform: StripJob, then the compact
// record. Other objects (tombstones) pass through.
func RecordJob(obj any) (any, error) {
	stripped, err := StripJob(obj)
	if err != nil {
		return nil, err
	}
	j, ok := stripped.(*batchv1.Job)
	if !ok {
		return stripped, nil
	}
	return NewJobRecord(j), nil
}

// NewJobRecord encodes a stripped Job.
func NewJobRecord(j *batchv1.Job) *JobRecord {
	s, st := &j.Spec, &j.Status
	r := &JobRecord{
		Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
		Created:      unixOrZero(j.CreationTimestamp),
		BackoffLimit: s.BackoffLimit, BackoffLimitPerIndex: s.BackoffLimitPerIndex, MaxFailedIndexes: s.MaxFailedIndexes,
		Completions: s.Completions, Parallelism: s.Parallelism, CompletionMode: s.CompletionMode,
		ActiveDeadlineSeconds: s.ActiveDeadlineSeconds, Suspend: s.Suspend,
		PodFailurePolicy: s.PodFailurePolicy, PodReplacementPolicy: s.PodReplacementPolicy,
		RestartPolicy:  corev1.RestartPolicy(intern(string(s.Template.Spec.RestartPolicy))),
		InitContainers: templateContainers(s.Template.Spec.InitContainers),
		Containers:     templateContainers(s.Template.Spec.Containers),
		Active:         st.Active, Succeeded: st.Succeeded, Failed: st.Failed,
		Ready: st.Ready, Terminating: st.Terminating,
		CompletedIndexes: st.CompletedIndexes, FailedIndexes: st.FailedIndexes,
	}
	if len(j.OwnerReferences) > 0 {
		o := j.OwnerReferences[0] // StripJob keeps the controller only
		r.Owner = ownerRecord{APIVersion: intern(o.APIVersion), Kind: intern(o.Kind), Name: o.Name, UID: o.UID}
	}
	if u := st.UncountedTerminatedPods; u != nil {
		r.UncountedFailed = int32(len(u.Failed))
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
				Reason: intern(c.Reason),
				At:     unixOrZero(c.LastTransitionTime),
			}
		}
	}
	return r
}

// Job rebuilds the Job for Summarize.
func (r *JobRecord) Job() *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion},
		Spec: batchv1.JobSpec{
			BackoffLimit: r.BackoffLimit, BackoffLimitPerIndex: r.BackoffLimitPerIndex, MaxFailedIndexes: r.MaxFailedIndexes,
			Completions: r.Completions, Parallelism: r.Parallelism, CompletionMode: r.CompletionMode,
			ActiveDeadlineSeconds: r.ActiveDeadlineSeconds, Suspend: r.Suspend,
			PodFailurePolicy: r.PodFailurePolicy, PodReplacementPolicy: r.PodReplacementPolicy,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy:  r.RestartPolicy,
				InitContainers: r.templateSpec(r.InitContainers),
				Containers:     r.templateSpec(r.Containers),
			}},
		},
		Status: batchv1.JobStatus{
			Active: r.Active, Succeeded: r.Succeeded, Failed: r.Failed, Ready: r.Ready, Terminating: r.Terminating,
			CompletedIndexes: r.CompletedIndexes, FailedIndexes: r.FailedIndexes,
		},
	}
	if r.Created != 0 {
		j.CreationTimestamp = *unixTime(r.Created)
	}
	if r.Owner.Kind != "" || r.Owner.Name != "" {
		j.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: r.Owner.APIVersion, Kind: r.Owner.Kind, Name: r.Owner.Name, UID: r.Owner.UID, Controller: ptr.To(true),
		}}
	}
	if r.UncountedFailed > 0 {
		j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: make([]types.UID, r.UncountedFailed)}
	}
	if r.StartTime != 0 {
		j.Status.StartTime = unixTime(r.StartTime)
	}
	if r.CompletionTime != 0 {
		j.Status.CompletionTime = unixTime(r.CompletionTime)
	}
	if len(r.Conditions) > 0 {
		j.Status.Conditions = make([]batchv1.JobCondition, len(r.Conditions))
		for i, c := range r.Conditions {
			j.Status.Conditions[i] = batchv1.JobCondition{Type: c.Type, Status: c.Status, Reason: c.Reason}
			if c.At != 0 {
				j.Status.Conditions[i].LastTransitionTime = *unixTime(c.At)
			}
		}
	}
	return j
}

func templateContainers(cs []corev1.Container) []templateContainer {
	if len(cs) == 0 {
		return nil
	}
	out := make([]templateContainer, len(cs))
	for i, c := range cs {
		out[i] = templateContainer{Name: c.Name, Image: c.Image, MemoryLimit: -1, MemoryRequest: -1}
		if len(c.Command) > 0 {
			out[i].Executable = c.Command[0]
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			out[i].MemoryLimit = q.Value()
		}
		if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
			out[i].MemoryRequest = q.Value()
		}
	}
	return out
}

func (r *JobRecord) templateSpec(tcs []templateContainer) []corev1.Container {
	if len(tcs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(tcs))
	for i, t := range tcs {
		out[i] = corev1.Container{Name: t.Name, Image: t.Image}
		if t.Executable != "" {
			out[i].Command = []string{t.Executable}
		}
		if t.MemoryLimit >= 0 {
			out[i].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(t.MemoryLimit, resource.BinarySI)}
		}
		if t.MemoryRequest >= 0 {
			out[i].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(t.MemoryRequest, resource.BinarySI)}
		}
	}
	return out
}

// Skeleton keeps only the pod's identity and owner: what an informer needs
// to track an object this exporter replica does not report (another
// shard's), at a fraction of the memory.
func (r *PodRecord) Skeleton() *PodRecord {
	return &PodRecord{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion, Owner: r.Owner,
		Index: -1, FailureCount: -1, IgnoredCount: -1}
}

// Skeleton keeps only the Job's identity (see PodRecord.Skeleton).
func (r *JobRecord) Skeleton() *JobRecord {
	return &JobRecord{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}
