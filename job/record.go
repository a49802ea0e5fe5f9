package job

import (
	"encoding/binary"
	"slices"
	"strconv"
	"time"
	"unique"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// PodRecord is what the pod cache keeps per pod: the stripped pod of
// StripPod, encoded into one byte slice. A corev1.Pod struct alone is over
// 1 KiB before any field is set; a struct of typed fields (strings, slices
// of condition and status records) still cost one allocation per string
// and slice, about 900 B for a typical Job pod once decoded from the API.
// Encoded, the same facts take a 32-byte struct and one slice of about
// 200 B; that is what keeps 100k pods within the memory budget of
// docs/scale.md. Pod() decodes it back to exactly the stripped pod
// (TestPodRecordRoundTrip), so Summarize reads the same facts either way;
// it runs once per Job event, not per scrape.
//
// The struct holds the namespace (a handle to its one canonical copy,
// half the size of a string) and the encoding, whose head is what the
// informer's key and index functions read (name, resource version,
// deletion time, the controlling Job's name), decoded on each call.
type PodRecord struct {
	ns   unique.Handle[string]
	data []byte // see encodePod
}

// Namespace is the pod's namespace.
func (r *PodRecord) Namespace() string { return r.ns.Value() }

// head is the start of the encoding.
type podHead struct {
	name, resourceVersion, jobName string
	deleted                        metav1.Time // zero when not being deleted
}

func (r *PodRecord) head() (podHead, decoder) {
	d := decoder{b: r.data}
	var h podHead
	h.name, h.resourceVersion = d.rawStr(), d.rawStr()
	h.deleted = d.time()
	h.jobName = d.rawStr()
	return h, d
}

// GetObjectMeta lets the informer's key functions read the record
// (meta.Accessor accepts a metav1.ObjectMetaAccessor).
func (r *PodRecord) GetObjectMeta() metav1.Object {
	h, _ := r.head()
	m := &metav1.ObjectMeta{Namespace: r.Namespace(), Name: h.name, ResourceVersion: h.resourceVersion}
	if !h.deleted.IsZero() {
		m.DeletionTimestamp = &h.deleted
	}
	return m
}

// AppendResourceVersion appends the pod's resource version to dst, read
// in place: a fingerprint of many pods costs no allocation per pod.
func (r *PodRecord) AppendResourceVersion(dst []byte) []byte {
	d := decoder{b: r.data}
	d.bytes() // name
	return append(dst, d.bytes()...)
}

// nameBytes is the pod's name, read in place.
func (r *PodRecord) nameBytes() []byte {
	d := decoder{b: r.data}
	return d.bytes()
}

// ControllerJobKey returns "namespace/name" of the Job controlling the pod.
func (r *PodRecord) ControllerJobKey() (string, bool) {
	h, _ := r.head()
	if h.jobName == "" {
		return "", false
	}
	return r.Namespace() + "/" + h.jobName, true
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
	return &PodRecord{ns: unique.Make(p.Namespace), data: encodePod(p)}
}

// Skeleton keeps only the pod's identity and owner: what an informer needs
// to track an object this exporter replica does not report (another
// shard's), at a fraction of the memory.
func (r *PodRecord) Skeleton() *PodRecord {
	p := r.Pod()
	return NewPodRecord(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: p.Namespace, Name: p.Name, ResourceVersion: p.ResourceVersion, OwnerReferences: p.OwnerReferences,
	}})
}

// The encoding: fields in a fixed order, integers as varints, strings
// length-prefixed, optional values behind a presence byte, lists behind
// their length. It never leaves this file, so it has no version: a record
// is decoded by the same binary that encoded it.

func encodePod(p *corev1.Pod) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	// The head (see podHead).
	e.str(p.Name)
	e.str(p.ResourceVersion)
	if p.DeletionTimestamp != nil {
		e.time(*p.DeletionTimestamp) // never the zero time: the apiserver sets it
	} else {
		e.time(metav1.Time{})
	}
	if len(p.OwnerReferences) > 0 && p.OwnerReferences[0].Kind == "Job" {
		e.str(p.OwnerReferences[0].Name) // StripPod keeps the controller only
	} else {
		e.str("")
	}
	// The rest.
	e.time(p.CreationTimestamp)
	e.optInt(p.DeletionGracePeriodSeconds)
	if len(p.OwnerReferences) > 0 {
		o := p.OwnerReferences[0]
		e.bool(true)
		e.str(o.APIVersion)
		e.str(o.Kind)
		if o.Kind != "Job" { // a Job's name is in the head already
			e.str(o.Name)
		}
		e.str(string(o.UID))
	} else {
		e.bool(false)
	}
	e.str(string(p.Status.Phase))
	e.str(p.Status.Reason)
	for _, key := range keptPodAnnotations {
		e.int(int64(annotation(p, key)))
	}
	e.int(int64(len(p.Status.Conditions)))
	for _, c := range p.Status.Conditions {
		e.str(string(c.Type))
		e.str(string(c.Status))
		e.str(c.Reason)
		e.time(c.LastTransitionTime)
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		e.int(int64(len(cs)))
		for _, c := range cs {
			e.str(c.Name)
			e.str(c.Image)
			if c.RestartPolicy != nil {
				e.bool(true)
				e.str(string(*c.RestartPolicy))
			} else {
				e.bool(false)
			}
		}
	}
	for _, ss := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		e.int(int64(len(ss)))
		for _, s := range ss {
			e.str(s.Name)
			e.int(int64(s.RestartCount))
			e.bool(s.Ready)
			e.state(s.State)
			e.state(s.LastTerminationState)
		}
	}
	return slices.Clip(append([]byte(nil), e.b...)) // exactly sized: the cache keeps it
}

// Pod decodes the stripped pod.
func (r *PodRecord) Pod() *corev1.Pod {
	h, d := r.head()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace(), Name: h.name, ResourceVersion: h.resourceVersion}}
	p.CreationTimestamp = d.time()
	if !h.deleted.IsZero() {
		p.DeletionTimestamp = &h.deleted
	}
	p.DeletionGracePeriodSeconds = d.optInt()
	if d.bool() {
		o := metav1.OwnerReference{APIVersion: d.str(), Kind: d.str(), Controller: ptr.To(true)}
		if o.Kind == "Job" {
			o.Name = h.jobName
		} else {
			o.Name = d.rawStr()
		}
		o.UID = types.UID(d.rawStr())
		p.OwnerReferences = []metav1.OwnerReference{o}
	}
	p.Status.Phase = corev1.PodPhase(d.str())
	p.Status.Reason = d.str()
	for _, key := range keptPodAnnotations {
		if v := d.int(); v >= 0 {
			if p.Annotations == nil {
				p.Annotations = make(map[string]string, 3)
			}
			p.Annotations[key] = strconv.FormatInt(v, 10)
		}
	}
	if n := d.len(); n > 0 {
		p.Status.Conditions = make([]corev1.PodCondition, n)
		for i := range p.Status.Conditions {
			c := &p.Status.Conditions[i]
			c.Type, c.Status, c.Reason = corev1.PodConditionType(d.str()), corev1.ConditionStatus(d.str()), d.str()
			c.LastTransitionTime = d.time()
		}
	}
	for _, cs := range []*[]corev1.Container{&p.Spec.InitContainers, &p.Spec.Containers} {
		if n := d.len(); n > 0 {
			*cs = make([]corev1.Container, n)
			for i := range *cs {
				c := &(*cs)[i]
				c.Name, c.Image = d.str(), d.str()
				if d.bool() {
					c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicy(d.str()))
				}
			}
		}
	}
	for _, ss := range []*[]corev1.ContainerStatus{&p.Status.InitContainerStatuses, &p.Status.ContainerStatuses} {
		if n := d.len(); n > 0 {
			*ss = make([]corev1.ContainerStatus, n)
			for i := range *ss {
				s := &(*ss)[i]
				s.Name, s.RestartCount, s.Ready = d.str(), int32(d.int()), d.bool()
				s.State, s.LastTerminationState = d.state(), d.state()
			}
		}
	}
	return p
}

// ContainerState: at most one of waiting, running, terminated is set, as
// the API allows; a kind byte says which.
const (
	stateNone byte = iota
	stateWaiting
	stateRunning
	stateTerminated
)

func (e *encoder) state(s corev1.ContainerState) {
	switch {
	case s.Terminated != nil:
		t := s.Terminated
		e.b = append(e.b, stateTerminated)
		e.str(t.Reason)
		e.int(int64(t.ExitCode))
		e.int(int64(t.Signal))
		e.time(t.StartedAt)
		e.time(t.FinishedAt)
	case s.Running != nil:
		e.b = append(e.b, stateRunning)
		e.time(s.Running.StartedAt)
	case s.Waiting != nil:
		e.b = append(e.b, stateWaiting)
		e.str(s.Waiting.Reason)
	default:
		e.b = append(e.b, stateNone)
	}
}

func (d *decoder) state() corev1.ContainerState {
	switch d.byte() {
	case stateTerminated:
		t := &corev1.ContainerStateTerminated{Reason: d.str(), ExitCode: int32(d.int()), Signal: int32(d.int())}
		t.StartedAt, t.FinishedAt = d.time(), d.time()
		return corev1.ContainerState{Terminated: t}
	case stateRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: d.time()}}
	case stateWaiting:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: d.str()}}
	}
	return corev1.ContainerState{}
}

type encoder struct{ b []byte }

func (e *encoder) int(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// A pod's times are seconds since the zero time.Time (0001-01-01), doubled,
// plus one when a nanoseconds varint follows: 0 is the zero time (unset),
// and every time the API can carry (years 0 to 9999) is kept exactly,
// including the Unix epoch and years past 2262, where Unix nanoseconds
// overflow. API times are almost always whole seconds (metav1.Time's
// protobuf form drops nanoseconds), so a time of this decade takes 6 bytes
// instead of 9.
func (e *encoder) time(t metav1.Time) {
	if t.IsZero() {
		e.int(0)
		return
	}
	v := (t.Unix() - zeroUnix) * 2
	if ns := t.Nanosecond(); ns != 0 {
		e.int(v + 1)
		e.int(int64(ns))
		return
	}
	e.int(v)
}

var zeroUnix = time.Time{}.Unix()

func (d *decoder) time() metav1.Time {
	v := d.int()
	if v == 0 {
		return metav1.Time{}
	}
	var ns int64
	if v&1 != 0 {
		ns = d.int()
	}
	return metav1.NewTime(time.Unix(v>>1+zeroUnix, ns).UTC())
}

func (e *encoder) optInt(v *int64) {
	e.bool(v != nil)
	if v != nil {
		e.int(*v)
	}
}

// decoder reads what encoder wrote. The bytes come from this process, so a
// short read is a bug; it then reads zeros rather than panic.
type decoder struct{ b []byte }

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// len reads a list length, bounded by the bytes left (each element takes
// at least one).
func (d *decoder) len() int {
	n := d.int()
	if n < 0 || n > int64(len(d.b)) {
		d.b = nil
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool() bool { return d.byte() == 1 }

// str returns the interned copy of strings every pod repeats (phases,
// reasons, condition types), so decoding them allocates nothing.
func (d *decoder) str() string {
	raw := d.bytes()
	if s, ok := interned[string(raw)]; ok {
		return s
	}
	return string(raw)
}

// rawStr is str for strings no two pods share (names).
func (d *decoder) rawStr() string { return string(d.bytes()) }

func (d *decoder) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.b = nil
		return nil
	}
	raw := d.b[k : k+int(n)]
	d.b = d.b[k+int(n):]
	return raw
}

func (d *decoder) optInt() *int64 {
	if !d.bool() {
		return nil
	}
	v := d.int()
	return &v
}

// annotation is annotationInt, -1 when missing or invalid: how the
// record encodes it.
func annotation(p *corev1.Pod, key string) int32 {
	if n, ok := annotationInt(p, key); ok {
		return n
	}
	return -1
}

// A Job record's times are kept as Unix nanoseconds (8 bytes instead of a
// 24-byte time.Time), 0 for unset, and rebuilt in UTC. (The pod record
// encodes times differently, exactly: see encoder.time.)
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

// internNamespace is the canonical copy of a namespace name, one for all
// the records of that namespace (tens to thousands of namespaces, against
// up to 100k pods): the one the pod records' handles keep, dropped by the
// runtime once no record of the namespace is left.
func internNamespace(ns string) string { return unique.Make(ns).Value() }

// JobRecord is what the Job cache keeps per Job: the fields of the stripped
// Job (see StripJob) that Summarize and the diagnosis read, compactly. A
// batchv1.Job struct is over 1 KiB before any field is set. Job() rebuilds a
// Job that summarizes the same (the exporter's golden /metrics is computed
// through it).
type JobRecord struct { //nolint:revive // job.JobRecord beside job.PodRecord and job.EventRecord: the name says which record
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

type ownerRecord struct {
	APIVersion, Kind, Name string
	UID                    types.UID
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
		Namespace: internNamespace(j.Namespace), Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
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
		out[i].Executable = Executable(c.Command)
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

// Skeleton keeps only the Job's identity (see PodRecord.Skeleton).
func (r *JobRecord) Skeleton() *JobRecord {
	return &JobRecord{Namespace: r.Namespace, Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion}
}
