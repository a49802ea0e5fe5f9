package job

import (
	"strings"
	"testing"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// checkBounded fails unless v is valid UTF-8 within limit bytes.
func checkBounded(t *testing.T, what, v string, limit int) {
	t.Helper()
	if len(v) > limit || !utf8.ValidString(v) {
		t.Fatalf("%s kept as %d bytes (bound %d), valid UTF-8 %v: %.80q", what, len(v), limit, utf8.ValidString(v), v)
	}
}

// checkRef fails unless a kept reference (name, uid) is valid or absent.
func checkRef(t *testing.T, what, name string, uid types.UID) {
	t.Helper()
	if name == "" && uid == "" {
		return
	}
	if !ValidName(name) || len(name) > MaxNameLength || !ValidUID(uid) || len(uid) > MaxUIDLength {
		t.Fatalf("%s kept with name %.80q, UID %.80q", what, name, uid)
	}
}

// checkPodFactsBounded: what a pod record keeps of strings the pod's
// writer chose is within its bound.
func checkPodFactsBounded(t *testing.T, f podFacts) {
	t.Helper()
	checkRef(t, "pod's controlling Job", f.jobName, f.jobUID)
	if ff := f.failure; ff != nil {
		checkBounded(t, "failed container", ff.container, MaxLabelLength)
	}
	for _, r := range f.restarts {
		checkBounded(t, "restarted container", r.Container, MaxLabelLength)
	}
}

// FuzzRecordBounds: Job records and event records made from arbitrary
// strings (images, owner references, condition reasons, involved
// objects) and any number of containers keep every such string within
// its bound and valid, and a reference only when it could name the
// object it refers to; a value within its bound is kept as is.
// (FuzzPodRecord checks the pod records.)
func FuzzRecordBounds(f *testing.F) {
	f.Add("busybox:1.36", "nightly", "0c4a3b0e-8f4e-4d5b-9a51-5d6c2b7e9f10", "BackoffLimitExceeded", uint16(1), uint8(2))
	f.Add(strings.Repeat("registry.example/", 40), "Nightly", "uid", "r", uint16(30), uint8(0))
	f.Add("\xff\xfe", "a.b-c", strings.Repeat("f", 37), strings.Repeat("é", 600), uint16(0), uint8(1))
	f.Add("é"+strings.Repeat("x", MaxImageLength), "x", "-", "\x00", uint16(DefaultMaxContainers+1), uint8(7))
	f.Fuzz(func(t *testing.T, image, owner, uid, reason string, containers uint16, maxContainers uint8) {
		n := int(containers % 200)
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j", UID: "u",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: owner, UID: types.UID(uid), Controller: ptr.To(true)}}}}
		for i := range n {
			c := corev1.Container{Name: "c", Image: image, Command: []string{image}}
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Mi")}
			if i%2 == 0 {
				j.Spec.Template.Spec.InitContainers = append(j.Spec.Template.Spec.InitContainers, c)
			} else {
				j.Spec.Template.Spec.Containers = append(j.Spec.Template.Spec.Containers, c)
			}
		}
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason}}

		o := Options{MaxContainers: int(maxContainers % 40)}
		got, err := RecordJobWith("", o)(j)
		if err != nil {
			t.Fatal(err)
		}
		r := got.(*JobRecord)
		if want := min(n, o.maxContainers()); len(r.Containers) != want {
			t.Fatalf("%d containers kept of %d, want %d", len(r.Containers), n, want)
		}
		for _, c := range r.Containers {
			checkBounded(t, "image", c.Image, MaxImageLength)
			checkBounded(t, "executable", c.Executable, MaxExecutableLength)
			if len(image) <= MaxImageLength && utf8.ValidString(image) && c.Image != image {
				t.Fatalf("image %q within its bound kept as %q", image, c.Image)
			}
		}
		checkRef(t, "Job's CronJob", r.CronJob, r.CronJobUID)
		if want := len(owner) <= MaxCronJobNameLength && ValidName(owner) && ValidUID(types.UID(uid)); (r.CronJob != "") != want {
			t.Fatalf("CronJob owner %q (UID %q) kept: %v, want %v", owner, uid, r.CronJob != "", want)
		}
		checkBounded(t, "owner", r.Owner.Name, MaxNameLength)
		for _, c := range r.Conditions {
			checkBounded(t, "condition reason", c.Reason, MaxReasonLength)
		}

		e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ev"}, Type: corev1.EventTypeWarning,
			Reason: FailedCreateReason, Message: reason,
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: owner, UID: types.UID(uid)}}
		er := NewEventRecord(e)
		checkRef(t, "event's Job", er.JobName, er.JobUID)
		if kept := er.JobKey() != ""; kept != (ValidName(owner) && ValidUID(types.UID(uid))) {
			t.Fatalf("event about %q (UID %q) kept: %v", owner, uid, kept)
		}
	})
}

// TestBounded: cut at a rune boundary with the marker, invalid UTF-8
// replaced, valid values within the bound returned as they are.
func TestBounded(t *testing.T) {
	for _, tt := range []struct {
		s     string
		limit int
		want  string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "…"},
		{"abcdef", 5, "ab…"},
		{"aé" + "xxx", 5, "a…"},            // é is two bytes: no room for it and the marker
		{"a\xffb", 10, "a\uFFFDb"},         // replaced, within the bound
		{strings.Repeat("x", 10), 2, "xx"}, // no room for the marker: cut bare
		{"", 0, ""},
	} {
		if got := Bounded(tt.s, tt.limit); got != tt.want || len(got) > tt.limit || !utf8.ValidString(got) {
			t.Errorf("Bounded(%q, %d) = %q, want %q", tt.s, tt.limit, got, tt.want)
		}
	}
}

// TestRecordCuts: each kind of cut is counted where the record is made,
// a valid Job counts nothing.
func TestRecordCuts(t *testing.T) {
	delta := func(f func()) [numCuts]int64 {
		before := Cuts()
		f()
		after := Cuts()
		for i := range after {
			after[i] -= before[i]
		}
		return after
	}
	normal := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j"}}
	normal.Spec.Template.Spec.Containers = []corev1.Container{{Name: "main", Image: "busybox:1.36"}}
	if d := delta(func() { NewJobRecord(normal) }); d != [numCuts]int64{} {
		t.Fatalf("a normal Job counts cuts: %v", d)
	}
	big := normal.DeepCopy()
	big.Spec.Template.Spec.Containers = make([]corev1.Container, DefaultMaxContainers+5)
	for i := range big.Spec.Template.Spec.Containers {
		big.Spec.Template.Spec.Containers[i] = corev1.Container{Name: "c", Image: strings.Repeat("i", MaxImageLength+1)}
	}
	big.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "UPPER", UID: "u", Controller: ptr.To(true)}}
	want := [numCuts]int64{CutImage: DefaultMaxContainers, CutContainer: 5, CutOwnerReference: 1}
	if d := delta(func() { NewJobRecord(big) }); d != want {
		t.Fatalf("cuts %v, want %v", d, want)
	}
}
