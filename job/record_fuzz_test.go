package job

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"time"
	"unique"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// podSource builds pod fields from fuzzed bytes. Each string field takes
// either one of the fuzzed strings (the pool) or a fresh length-prefixed
// string from the bytes; when the bytes run out, fields are empty or zero.
type podSource struct {
	b    []byte
	pool []string
}

func (s *podSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *podSource) flag() bool { return s.byte()&1 == 1 }

func (s *podSource) str() string {
	k := s.byte()
	if k < 0x80 {
		return s.pool[int(k)%len(s.pool)]
	}
	n := min(int(k&0x7f), len(s.b))
	v := string(s.b[:n])
	s.b = s.b[n:]
	return v
}

func (s *podSource) int64() int64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

func (s *podSource) int32() int32 { return int32(s.int64()) }

// API times are what JSON (RFC 3339, years 0000 to 9999) or protobuf
// (seconds and nanoseconds) can carry.
const (
	minAPISeconds = -62167219200 // 0000-01-01T00:00:00Z
	maxAPISeconds = 253402300799 // 9999-12-31T23:59:59Z
)

// time is unset, the Unix epoch, a time of today's range, or any time the
// API can carry, in UTC as the record rebuilds them.
func (s *podSource) time() metav1.Time {
	switch s.byte() % 4 {
	case 0:
		return metav1.Time{}
	case 1:
		return metav1.NewTime(time.Unix(0, 0).UTC())
	case 2:
		return metav1.NewTime(time.Unix(1793534440+int64(s.int32()), int64(uint32(s.int32())%1e9)).UTC())
	}
	sec := minAPISeconds + int64(uint64(s.int64())%uint64(maxAPISeconds-minAPISeconds+1))
	return metav1.NewTime(time.Unix(sec, int64(uint32(s.int32())%1e9)).UTC())
}

// state is at most one of waiting, running, terminated: the API allows one
// (ContainerState: "Only one of its members may be specified"), and the
// record keeps one.
func (s *podSource) state() corev1.ContainerState {
	switch s.byte() % 4 {
	case 1:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: s.str(), Message: s.str()}}
	case 2:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: s.time()}}
	case 3:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: s.str(), Message: s.str(), ExitCode: s.int32(), Signal: s.int32(),
			StartedAt: s.time(), FinishedAt: s.time(), ContainerID: s.str(),
		}}
	}
	return corev1.ContainerState{}
}

// fuzzPod builds a pod where every field the record keeps (and some it
// drops) comes from the fuzzed input.
func fuzzPod(name, ns, owner, reason, image, ann string, data []byte) *corev1.Pod {
	s := &podSource{b: data, pool: []string{name, ns, owner, reason, image, ann, "", "Job", "Ready", "Failed", "Pending", "Running", "Succeeded", "True", "False"}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns, ResourceVersion: s.str(), UID: types.UID(s.str()),
		CreationTimestamp: s.time(),
		Labels:            map[string]string{s.str(): s.str()},
	}}
	if s.flag() {
		// Never the zero time: only the apiserver sets it, to a real
		// time, and the record reads zero as "not being deleted".
		if at := s.time(); !at.IsZero() {
			p.DeletionTimestamp = &at
		}
	}
	if s.flag() {
		p.DeletionGracePeriodSeconds = ptr.To(s.int64())
	}
	for range s.byte() % 4 {
		ref := metav1.OwnerReference{APIVersion: s.str(), Kind: s.str(), Name: owner, UID: types.UID(s.str())}
		if s.flag() {
			ref.Kind = "Job"
		}
		if s.flag() {
			ref.Name = s.str()
		}
		if c := s.byte() % 3; c > 0 {
			ref.Controller = ptr.To(c == 1)
		}
		p.OwnerReferences = append(p.OwnerReferences, ref)
	}
	keys := []string{batchv1.JobCompletionIndexAnnotation, batchv1.JobIndexFailureCountAnnotation, batchv1.JobIndexIgnoredFailureCountAnnotation, "other"}
	p.Annotations = map[string]string{}
	for _, k := range keys {
		if s.flag() {
			p.Annotations[k] = ann
		} else if s.flag() {
			p.Annotations[k] = s.str()
		}
	}
	p.Status.Phase = corev1.PodPhase(s.str())
	p.Status.Reason = reason
	p.Status.Message = s.str()
	condTypes := []corev1.PodConditionType{corev1.PodReady, corev1.PodScheduled, corev1.DisruptionTarget}
	for range s.byte() % 4 {
		c := corev1.PodCondition{Type: corev1.PodConditionType(s.str()), Status: corev1.ConditionStatus(s.str()),
			Reason: s.str(), Message: s.str(), LastTransitionTime: s.time()}
		if k := s.byte(); k < 3 {
			c.Type = condTypes[k] // conditions whose reason is kept
		}
		p.Status.Conditions = append(p.Status.Conditions, c)
	}
	for _, cs := range []*[]corev1.Container{&p.Spec.InitContainers, &p.Spec.Containers} {
		for range s.byte() % 4 {
			c := corev1.Container{Name: s.str(), Image: image, Command: []string{s.str()}, Args: []string{s.str()},
				Env: []corev1.EnvVar{{Name: s.str(), Value: s.str()}}}
			if s.flag() {
				c.Image = s.str()
			}
			if s.flag() {
				c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicy(s.str()))
			}
			*cs = append(*cs, c)
		}
	}
	for _, ss := range []*[]corev1.ContainerStatus{&p.Status.InitContainerStatuses, &p.Status.ContainerStatuses} {
		for range s.byte() % 4 {
			*ss = append(*ss, corev1.ContainerStatus{Name: s.str(), RestartCount: s.int32(), Ready: s.flag(),
				Image: s.str(), State: s.state(), LastTerminationState: s.state()})
		}
	}
	// What the pod held (read last: the seeds above keep their meaning).
	if s.flag() {
		at := s.time()
		p.Status.StartTime = &at
	}
	if s.flag() {
		p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			if s.flag() {
				cs[i].Resources.Requests = corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(s.int64(), resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(s.int64(), resource.BinarySI),
					"nvidia.com/gpu":      *resource.NewQuantity(int64(s.byte()), resource.DecimalSI),
					"example.com/other":   *resource.NewQuantity(1, resource.DecimalSI),
				}
			}
		}
	}
	return p
}

// FuzzPodRecord: for pods whose every string (names, owner, phase,
// reasons, messages, images, container names, restart policies,
// annotation values) and time is fuzzed, the pod cache's record decodes
// to exactly the facts read from the pod, its head (key, deletion,
// controlling Job) reads the same, its skeleton keeps the identity, and
// decoding any bytes (truncated records, garbage) never panics.
func FuzzPodRecord(f *testing.F) {
	f.Add("pod-a", "ns", "job-1", "OOMKilled", "busybox:1.36", "3", []byte{})
	f.Add(`q"uote`, `back\slash`, "new\nline", "bad\xffutf8", "\xc3\x28", "007", []byte("\x01\x01\x03\x07\x00\x00\x01\x00\x02\x01\x02\x03\x03\x03\x03\x03"))
	f.Add("", "", "", "", "", "-1", bytes.Repeat([]byte{0xff, 0x03, 0x01}, 40))
	f.Add("Job", "Ready", "Job", "DisruptionTarget", "\x00", "2147483648", bytes.Repeat([]byte{0x85, 'a', 'b', 0x01, 'c', 0x02}, 30))
	f.Add(strings.Repeat("x", 500), strings.Repeat("\xff", 100), strings.Repeat(`\"`, 100), strings.Repeat("\n", 100), "Ünïcode ☃", "+1", []byte("\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c"))
	f.Add("p", "ns", "j", "Error", "img", "2", []byte("\x00\x00\x00\x00\x00\x01\x01\x07\x01\x00\x09\x03\x01\x01\x03\x00\x03\x02\x01\x03\x03\x03\x03\x03"))
	f.Fuzz(podRecordRoundTrip)
}

// TestPodRecordLongStrings: strings whose lengths take 3-byte varints, and
// one past 64 KiB. Kept out of the fuzz corpus: the fuzzer minimizes every
// input that finds new coverage, byte by byte, and inputs this long would
// take a short run's whole time.
func TestPodRecordLongStrings(t *testing.T) {
	name, ns, owner, reason, image := strings.Repeat("x", 70000), strings.Repeat("\xff", 16384), strings.Repeat(`\"`, 20000), strings.Repeat("\n", 16383), strings.Repeat("i", 100000)
	data := bytes.Repeat([]byte{0x01, 0x03, 0x03, 0x01, 0x01, 0x02, 0x03}, 20)
	podRecordRoundTrip(t, name, ns, owner, reason, image, "1", data)
	if n := len(NewPodRecord(fuzzPod(name, ns, owner, reason, image, "1", data)).data); n < len(name) {
		t.Fatalf("record of %d bytes: the pod's name alone is %d", n, len(name))
	}
}

func podRecordRoundTrip(t *testing.T, name, ns, owner, reason, image, ann string, data []byte) {
	// Decoding arbitrary bytes reads zeros past the end, never panics.
	(&PodRecord{ns: unique.Make(ns), data: data}).facts()

	p := fuzzPod(name, ns, owner, reason, image, ann, data)
	want := factsOf(p, nil)
	rec := NewPodRecord(p)
	if got := rec.facts(); !reflect.DeepEqual(utcFacts(got), utcFacts(want)) {
		t.Fatalf("record decodes differently from the pod's facts:\n got %+v\nwant %+v", got, want)
	}
	viaTransform, err := RecordPod(p)
	if err != nil {
		t.Fatal(err)
	}
	if r2 := viaTransform.(*PodRecord); r2.ns != rec.ns || !bytes.Equal(r2.data, rec.data) {
		t.Fatalf("RecordPod and NewPodRecord differ")
	}

	m := rec.GetObjectMeta()
	if m.GetNamespace() != ns || m.GetName() != name || m.GetResourceVersion() != p.ResourceVersion ||
		!reflect.DeepEqual(utcTime(m.GetDeletionTimestamp()), utcTime(p.DeletionTimestamp)) {
		t.Fatalf("GetObjectMeta: %+v, want name %q rv %q deleted %v", m, name, p.ResourceVersion, p.DeletionTimestamp)
	}
	ref := metav1.GetControllerOfNoCopy(p)
	key, ok := rec.ControllerJobKey()
	// Only a controller reference that could name a Job is kept.
	if isJob := ref != nil && ref.Kind == "Job" && ValidName(ref.Name) && ValidUID(ref.UID); ok != isJob || ok && key != ns+"/"+ref.Name {
		t.Fatalf("ControllerJobKey = %q, %v for controller %+v", key, ok, ref)
	}
	checkPodFactsBounded(t, rec.facts())
	sk := rec.Skeleton().facts()
	if sk.name != name || sk.resourceVersion != p.ResourceVersion || sk.jobName != want.jobName || sk.jobUID != want.jobUID ||
		sk.phase != "" || sk.failure != nil || sk.restarts != nil || sk.index != -1 || rec.Skeleton().Namespace() != ns {
		t.Fatalf("skeleton %+v", sk)
	}

	// A truncated record decodes without panicking.
	for _, n := range []int{len(rec.data) / 2, len(rec.data) - 1} {
		if n >= 0 {
			(&PodRecord{ns: unique.Make(ns), data: rec.data[:n]}).facts()
		}
	}
}

// utcFacts puts the facts' times in UTC: records keep instants, not zones.
func utcFacts(f podFacts) podFacts {
	f.created, f.finished = f.created.UTC(), f.finished.UTC()
	f.started, f.lastRun = f.started.UTC(), f.lastRun.UTC()
	if !f.deleted.IsZero() {
		f.deleted = metav1.NewTime(f.deleted.UTC())
	}
	return f
}

func utcTime(t *metav1.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return &metav1.Time{Time: t.UTC()}
}

// TestPodRecordTimes: the record keeps every time the API can carry
// exactly. It kept Unix nanoseconds, which read the Unix epoch as unset
// and overflow outside 1678-2262 (a condition written through pods/status
// at 2300-01-01 came back in 1715), found by FuzzPodRecord.
func TestPodRecordTimes(t *testing.T) {
	for _, at := range []time.Time{
		time.Unix(0, 0),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 999999999),
		time.Unix(1793534440, 0),
		time.Unix(1793534440, 5),
	} {
		mt := metav1.NewTime(at)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: mt, DeletionTimestamp: &mt}}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: mt}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{StartedAt: mt, FinishedAt: mt}}},
			{Name: "b", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt}}},
		}
		got, want := NewPodRecord(p).facts(), factsOf(p, nil)
		if !reflect.DeepEqual(utcFacts(got), utcFacts(want)) {
			t.Errorf("%v: record decodes to %+v, want %+v", at, got, want)
		}
		if !got.finished.Equal(FinishedTime(p)) || !got.created.Equal(at) || !got.deleted.Equal(&mt) {
			t.Errorf("%v: finished %v, created %v, deleted %v", at, got.finished, got.created, got.deleted)
		}
	}
}
