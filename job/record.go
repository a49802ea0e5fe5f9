package job

import (
	"encoding/binary"
	"slices"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodRecord is what the pod cache keeps per pod: the pod's facts (see
// podFacts), encoded into one byte slice. A corev1.Pod struct alone is over
// 1 KiB before any field is set; a struct of the facts' typed fields still
// costs one allocation per string and slice. Encoded, they take a 32-byte
// struct and one slice of about 100 B for a running pod (name, resource
// version, owner, times): that is what keeps 100k pods within the memory
// budget of docs/scale.md. The Aggregate decodes them once per change of
// the pod (facts), never back into a pod.
//
// The struct holds the namespace (a handle to its one canonical copy,
// half the size of a string) and the encoding, whose head is what the
// informer's key and index functions read (name, resource version,
// deletion time, the controlling Job's name), decoded on each call.
type PodRecord struct {
	ns   unique.Handle[string]
	data []byte // see encodeFacts
}

// Namespace is the pod's namespace.
func (r *PodRecord) Namespace() string { return r.ns.Value() }

// head decodes the head of the facts, and returns the decoder of the rest.
func (r *PodRecord) head() (podFacts, decoder) {
	d := decoder{b: r.data}
	var f podFacts
	f.name, f.resourceVersion = d.rawStr(), d.rawStr()
	f.deleted = d.time()
	f.jobName = d.rawStr()
	return f, d
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

// Name is the pod's name.
func (r *PodRecord) Name() string { return string(r.nameBytes()) }

// Deleting tells whether the pod is being deleted (deletionTimestamp).
func (r *PodRecord) Deleting() bool {
	h, _ := r.head()
	return !h.deleted.IsZero()
}

// RecordPod is the pod informer's transform: the pod's facts, as a
// record. Other objects (tombstones) pass through.
func RecordPod(obj any) (any, error) { return RecordPodWith(Options{})(obj) }

// RecordPodWith is RecordPod keeping the requests of o.ExtendedResources.
func RecordPodWith(o Options) func(obj any) (any, error) {
	return func(obj any) (any, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			return newPodRecord(p, o.ExtendedResources), nil
		}
		return obj, nil
	}
}

// NewPodRecord reads and encodes a pod's facts, keeping the requests of
// DefaultExtendedResources.
func NewPodRecord(p *corev1.Pod) *PodRecord { return newPodRecord(p, nil) }

func newPodRecord(p *corev1.Pod, extended []corev1.ResourceName) *PodRecord {
	f := factsOf(p, extended)
	return &PodRecord{ns: unique.Make(p.Namespace), data: encodeFacts(&f)}
}

// Skeleton keeps only the pod's identity and controlling Job: what an
// informer needs to track an object this exporter replica does not report
// (another shard's), at a fraction of the memory.
func (r *PodRecord) Skeleton() *PodRecord {
	f := r.facts()
	sk := podFacts{name: f.name, resourceVersion: f.resourceVersion, jobName: f.jobName, jobUID: f.jobUID, index: -1, indexFailures: -1, indexIgnored: -1}
	return &PodRecord{ns: r.ns, data: encodeFacts(&sk)}
}

// The encoding: fields in a fixed order, integers as varints, strings
// length-prefixed, optional values behind a presence byte, lists behind
// their length. It never leaves this file, so it has no version: a record
// is decoded by the same binary that encoded it.

func encodeFacts(f *podFacts) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	// The head (see head).
	e.str(f.name)
	e.str(f.resourceVersion)
	e.time(f.deleted) // never the zero time when set: the apiserver sets it
	e.str(f.jobName)
	// The rest.
	e.str(string(f.jobUID))
	e.time(metav1.NewTime(f.created))
	e.str(string(f.phase))
	e.time(metav1.NewTime(f.finished))
	e.int(int64(f.index))
	e.int(int64(f.indexFailures))
	e.int(int64(f.indexIgnored))
	e.bool(f.failure != nil)
	if ff := f.failure; ff != nil {
		e.str(ff.container)
		e.bool(ff.init)
		e.str(ff.reason)
		e.int(int64(ff.exitCode))
		e.bool(ff.hasExit)
		e.int(int64(len(ff.policy.exits)))
		for _, x := range ff.policy.exits {
			e.str(x.name)
			e.int(int64(x.code))
		}
		e.int(int64(len(ff.policy.conditions)))
		for _, c := range ff.policy.conditions {
			e.str(string(c.typ))
			e.str(string(c.status))
		}
	}
	e.int(int64(len(f.restarts)))
	for _, k := range f.restarts {
		e.str(k.Container)
		e.str(k.Reason)
		e.str(k.ExitCode)
		e.int(k.Count)
	}
	e.str(f.waiting)
	e.str(f.pending)
	e.held(f)
	return slices.Clip(append([]byte(nil), e.b...)) // exactly sized: the cache keeps it
}

// held encodes what the pod held (PodFinish reads it): its start, its
// last run's start, and its requests.
func (e *encoder) held(f *podFacts) {
	e.time(metav1.NewTime(f.started))
	e.time(metav1.NewTime(f.lastRun))
	e.int(f.requests.cpuMilli)
	e.int(f.requests.memory)
	e.int(int64(len(f.requests.extended)))
	for _, x := range f.requests.extended {
		e.str(x.name)
		e.int(x.count)
	}
}

// facts decodes the record.
func (r *PodRecord) facts() podFacts {
	f, d := r.head()
	f.jobUID = types.UID(d.rawStr())
	f.created = d.time().Time
	f.phase = corev1.PodPhase(d.str())
	f.finished = d.time().Time
	f.index, f.indexFailures, f.indexIgnored = int32(d.int()), int32(d.int()), int32(d.int())
	if d.bool() {
		ff := &failureFacts{container: d.str(), init: d.bool(), reason: d.str(), exitCode: int32(d.int()), hasExit: d.bool()}
		if n := d.len(); n > 0 {
			ff.policy.exits = make([]containerExit, n)
			for i := range ff.policy.exits {
				ff.policy.exits[i] = containerExit{d.str(), int32(d.int())}
			}
		}
		if n := d.len(); n > 0 {
			ff.policy.conditions = make([]conditionStatus, n)
			for i := range ff.policy.conditions {
				ff.policy.conditions[i] = conditionStatus{corev1.PodConditionType(d.str()), corev1.ConditionStatus(d.str())}
			}
		}
		f.failure = ff
	}
	if n := d.len(); n > 0 {
		f.restarts = make([]PodFailure, n)
		for i := range f.restarts {
			f.restarts[i] = PodFailure{Container: d.str(), Reason: d.str(), ExitCode: d.str(), Count: d.int()}
		}
	}
	f.waiting, f.pending = d.str(), d.str()
	f.started, f.lastRun = d.time().Time, d.time().Time
	f.requests.cpuMilli, f.requests.memory = d.int(), d.int()
	if n := d.len(); n > 0 {
		f.requests.extended = make([]extendedRequest, n)
		for i := range f.requests.extended {
			f.requests.extended[i] = extendedRequest{d.str(), d.int()}
		}
	}
	return f
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
