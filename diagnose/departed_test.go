package diagnose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// departedSummary is the Summary the exporter's watch has of Job j whose
// pods are all gone: the Job's own, with the last state of the pods it saw
// before they were deleted.
func departedSummary(j *batchv1.Job, gone ...*corev1.Pod) job.Summary {
	s := job.Summarize(j, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	var records []*job.PodRecord
	for _, p := range gone {
		records = append(records, job.NewPodRecord(p))
	}
	s.Departed = job.DepartedOf(job.NewJobRecord(j), records)
	return s
}

func reportText(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mentions(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not mention %q:\n%s", what, w, text)
		}
	}
}

// TestDepartedRestartsExplainBackoffLimit: restartPolicy OnFailure, the
// container exited 1 over and over, and the Job controller deleted the pod
// when the Job failed. The exporter's last view of the pod explains the
// BackoffLimitExceeded, and says where it comes from.
func TestDepartedRestartsExplainBackoffLimit(t *testing.T) {
	j := fixture.Job("batch", "crashy").OnFailure().BackoffLimit(6).Started(0).Status(0, 0, 0, 0).Failed("BackoffLimitExceeded", 120)
	pod := fixture.Pod(j.J, "x7k2p", 0).Running(1).Restarted("app", 6, "Error", 1, 110).P
	s := departedSummary(j.J, pod)
	r := FromSummary(s, fixture.At(130).Time, DefaultLimits)
	text := reportText(t, r)
	if r.Health != Failed || r.Verdict.Kind != VerdictTransient {
		t.Errorf("health %s verdict %s, want failed, transient (an exit 1 is not deterministic)\n%s", r.Health, r.Verdict.Kind, text)
	}
	mentions(t, "verdict", r.Verdict.Text,
		"from the exporter's last view of pods that were deleted, its container app exited 1 (Error), 6 restarts, before the Job controller deleted the pod: ")
	mentions(t, "report", text, `Pods that are gone (from the exporter's last view of pods that were deleted; 1 seen):`, "container app exit 1 Error ×6", "exited with code 1")
	if strings.Contains(text, "without failed pods left to explain it") || strings.Contains(text, "--previous") {
		t.Errorf("report still reads as if nothing explained the Job, or points at logs of a pod that is gone:\n%s", text)
	}
	if d := r.Departed; d == nil || d.Pods != 1 || len(d.Failures) != 1 || d.Failures[0].Count != 6 || d.Failures[0].ExitCode != "1" {
		t.Errorf("departed %+v", r.Departed)
	}

	// Pods present explain the Job themselves: the departed view is left
	// out.
	present := fixture.Pod(j.J, "q2w9z", 0).FailedWith("app", 137, "OOMKilled", 100).P
	s2 := job.Summarize(j.J, []*corev1.Pod{present}, nil, job.Options{Backoff: job.DefaultBackoff})
	s2.Departed = s.Departed
	if r := FromSummary(s2, fixture.At(130).Time, DefaultLimits); r.Departed != nil || strings.Contains(r.Verdict.Text, FromDeparted) {
		t.Errorf("pods present explain the Job, yet the report reads the departed ones: %+v", r)
	}
}

// TestDeadlineWhilePullingImage: the Job's pods waited in ImagePullBackOff
// until activeDeadlineSeconds, and the Job controller deleted them. The
// verdict names the image pull, not "make the work faster".
func TestDeadlineWhilePullingImage(t *testing.T) {
	j := fixture.Job("web", "pull-dl").Deadline(60).Started(0).Status(0, 0, 0, 0).Failed("DeadlineExceeded", 60)
	s := departedSummary(j.J, fixture.Pod(j.J, "x7k2p", 0).Waiting("ImagePullBackOff").P)
	r := FromSummary(s, fixture.At(90).Time, DefaultLimits)
	text := reportText(t, r)
	if r.Health != Failed || r.Verdict.Kind != VerdictDeadline {
		t.Errorf("health %s verdict %s, want failed, deadline", r.Health, r.Verdict.Kind)
	}
	mentions(t, "verdict", r.Verdict.Text,
		"the Job hit its deadline (activeDeadlineSeconds 1m0s) while its pods could not pull the image registry.example/app:v1 (ImagePullBackOff ×1, from the exporter's last view of pods that were deleted)",
		"wrong name or tag, missing registry credentials")
	if strings.Contains(r.Verdict.Text, "make the work faster") {
		t.Errorf("verdict: %s", r.Verdict.Text)
	}
	mentions(t, "report", text, "Waiting: 1 pod(s) ImagePullBackOff", "kubectl get job pull-dl -n web -o jsonpath=", "grep pod/pull-dl-")
}

// TestDeletedByTTL: the last report of a deleted Job says when it was
// deleted and whether its TTL did it, in the text and the JSON.
func TestDeletedByTTL(t *testing.T) {
	j := fixture.Job("batch", "ttl").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 60)
	j.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](30)
	for _, tt := range []struct {
		deleted    int
		byTTL      bool
		text, json string
	}{
		{95, true, "Deleted:   2026-11-01T12:01:35Z, by its TTL (ttlSecondsAfterFinished 30s after it finished)", `"deletedByTTL": true`},
		{70, false, "Deleted:   2026-11-01T12:01:10Z, not by its TTL (ttlSecondsAfterFinished 30s had not passed since it finished)", `"deletedByTTL": false`},
	} {
		s := departedSummary(j.J)
		s.Deleted = fixture.At(tt.deleted).Time
		r := FromSummary(s, fixture.At(100).Time, DefaultLimits)
		if r.Deleted == nil || !r.Deleted.Equal(s.Deleted) || r.DeletedByTTL == nil || *r.DeletedByTTL != tt.byTTL {
			t.Errorf("deleted at %d: report deleted %v by TTL %v", tt.deleted, r.Deleted, r.DeletedByTTL)
		}
		text := reportText(t, r)
		mentions(t, "report", text, tt.text, "involvedObject.kind=Job,involvedObject.name=ttl")
		if strings.Contains(text, "kubectl describe job") {
			t.Errorf("commands for a Job that is gone:\n%s", text)
		}
		var js bytes.Buffer
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		mentions(t, "JSON", js.String(), fmt.Sprintf(`"deleted": "2026-11-01T12:01:%02dZ"`, tt.deleted-60), tt.json, `"ttlSecondsAfterFinished": 30`)
	}
	// A Job that exists has neither.
	var js bytes.Buffer
	if err := FromSummary(departedSummary(j.J), fixture.At(100).Time, DefaultLimits).WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), `"deleted`) {
		t.Errorf("JSON of a Job that exists: %s", js.String())
	}
	// Deleted before it finished: not by a TTL, whatever it is.
	run := fixture.Job("batch", "run").OwnedByCronJob("nightly").Started(0).Status(1, 1, 0, 0)
	run.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	s := departedSummary(run.J)
	s.Deleted = fixture.At(50).Time
	mentions(t, "report", reportText(t, FromSummary(s, fixture.At(60).Time, DefaultLimits)), "before it finished, so not by a TTL: by its CronJob's concurrencyPolicy Replace")
}

// podEvent is an event about pod name of the namespace, created (by the
// API server) at t.
func podEvent(ns, name, typ, reason, message string, t int) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%s.%d", name, strings.ToLower(reason), t), CreationTimestamp: fixture.At(t)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: name, UID: types.UID("uid-pod-" + name)},
		Type:           typ, Reason: reason, Message: message, Count: 1,
		FirstTimestamp: fixture.At(t), LastTimestamp: fixture.At(t + 5),
	}
}

// TestGonePodEvents: a Job whose pods are all gone gets the Warning events
// (and the scheduler's Preempted events) about pods with its pods' names,
// not those of Jobs whose names start alike nor of an earlier Job of the
// same name; the verdict then names the causes they give.
func TestGonePodEvents(t *testing.T) {
	j := fixture.Job("batch", "a").BackoffLimit(1).Started(0).Status(0, 0, 0, 2).Failed("BackoffLimitExceeded", 90)
	pull := `Failed to pull image "registry.example/app:v1": rpc error: code = NotFound desc = not found`
	objs := []runtime.Object{j.J,
		podEvent("batch", "a-x7k2p", corev1.EventTypeWarning, "Failed", job.CombinedEventPrefix+pull, 10),
		podEvent("batch", "a-x7k2p", corev1.EventTypeNormal, "Pulling", `Pulling image "registry.example/app:v1"`, 10),
		podEvent("batch", "a-b2c4d", corev1.EventTypeNormal, "Preempted", "Preempted by pod 1234 on node n1", 40),
		podEvent("batch", "ab-x7k2p", corev1.EventTypeWarning, "Evicted", "The node was low on resource: memory.", 20),  // Job "ab"
		podEvent("batch", "a-b-x7k2p", corev1.EventTypeWarning, "Evicted", "The node was low on resource: memory.", 20), // Job "a-b"
		podEvent("batch", "a-q2w9z", corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed", -60),           // an earlier Job "a"
		podEvent("other", "a-x7k2p", corev1.EventTypeWarning, "Evicted", "another namespace", 20),
	}
	client := kubefake.New(objs...)
	var lists []metav1.ListOptions
	client.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		lists = append(lists, a.(k8stesting.ListActionImpl).ListOptions)
		return false, nil, nil
	})
	s := job.Summarize(j.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	if !PodsGone(s) {
		t.Fatal("PodsGone of a failed Job without pods is false")
	}
	events, err := FetchJobEvents(context.Background(), client, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s %s gone=%v", e.Object, e.Reason, e.Cause, e.PodGone))
	}
	slices.Sort(got)
	want := []string{"pod/a-b2c4d Preempted Disrupted gone=true", "pod/a-x7k2p Failed ImagePull gone=true"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	var selectors []string
	for _, o := range lists {
		if o.Limit != eventsPerPage {
			t.Errorf("list %+v without the page's limit", o)
		}
		selectors = append(selectors, o.FieldSelector)
	}
	mentions(t, "selectors", strings.Join(selectors, " "), gonePodWarnings, gonePodPreempted, "involvedObject.kind=Job,involvedObject.name=a")

	r := FromSummary(s, fixture.At(120).Time, DefaultLimits)
	if r.Verdict.Kind != VerdictUnknown {
		t.Fatalf("verdict %+v before the events", r.Verdict)
	}
	r.AddEvents(s, events)
	if r.Verdict.Kind != VerdictUnknown || r.Health != Failed {
		t.Errorf("the events changed the verdict's kind or health: %s %s", r.Verdict.Kind, r.Health)
	}
	text := reportText(t, r)
	mentions(t, "report", r.Verdict.Text, "the Warning events about its pods that are gone, found by their names, say: Disrupted ×1, ImagePull ×1 (the pod was stopped from outside (Preempted), not by its own failure; the image cannot be pulled (ErrImagePull)", "the Job failed (BackoffLimitExceeded) and its pods are gone; ")
	mentions(t, "report", text, "pod/a-x7k2p (gone)  Failed", pull, "grep pod/a-")
	if strings.Contains(text, job.CombinedEventPrefix) {
		t.Errorf("the combined prefix is shown:\n%s", text)
	}

	// diagnose against the API reads them too.
	ev, err := Fetch(context.Background(), client, "batch", "a", job.Options{Backoff: job.DefaultBackoff})
	if err != nil || ev.EventsErr != nil || len(ev.Events) != 2 {
		t.Errorf("Fetch: %v, %v, events %+v", err, ev.EventsErr, ev.Events)
	}
	// A Job with a pod to name reads that pod's events, not the namespace's.
	present := fixture.Pod(j.J, "x7k2p", 0).FailedWith("app", 1, "Error", 30).P
	if s := job.Summarize(j.J, []*corev1.Pod{present}, nil, job.Options{}); PodsGone(s) {
		t.Error("PodsGone with a failed pod present")
	}
}

// TestDeadlineEventsNameImagePull: a DeadlineExceeded Job that the exporter
// did not see (diagnose against the API, or events read after a restart):
// the events about its gone pods name the image pull.
func TestDeadlineEventsNameImagePull(t *testing.T) {
	j := fixture.Job("web", "dl").Deadline(60).Started(0).Status(0, 0, 0, 0).Failed("DeadlineExceeded", 60)
	client := kubefake.New(j.J,
		podEvent("web", "dl-x7k2p", corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff", 20),
		podEvent("web", "dl-x7k2p", corev1.EventTypeWarning, "Failed", `Failed to pull image "registry.example/app:v1": denied`, 15))
	ev, err := Fetch(context.Background(), client, "web", "dl", job.Options{Backoff: job.DefaultBackoff})
	if err != nil || ev.EventsErr != nil {
		t.Fatal(err, ev.EventsErr)
	}
	r := FromSummary(ev.Summary, fixture.At(90).Time, DefaultLimits)
	r.AddEvents(ev.Summary, ev.Events)
	if r.Verdict.Kind != VerdictDeadline {
		t.Errorf("verdict kind %s", r.Verdict.Kind)
	}
	mentions(t, "verdict", r.Verdict.Text, "while its pods could not pull the image registry.example/app:v1 (ImagePull ×2, by the Warning events about its pods that are gone, found by their names)")
}

// TestJobPodName: the names the Job controller's pods get, and the
// ambiguity left.
func TestJobPodName(t *testing.T) {
	long := strings.Repeat("j", 60) // Job names go up to 63
	tests := []struct {
		job     string
		indexed bool
		pod     string
		want    bool
	}{
		{"a", false, "a-x7k2p", true},
		{"a", false, "ab-x7k2p", false},  // Job "ab"
		{"a", false, "a-b-x7k2p", false}, // Job "a-b"
		{"a-b", false, "a-b-x7k2p", true},
		{"a", false, "a-x7k2", false},    // not a generated suffix
		{"a", false, "a-X7K2P", false},   // nor this
		{"a", false, "a-3-x7k2p", false}, // an Indexed Job's
		{"a", true, "a-3-x7k2p", true},
		{"a", true, "a-12-x7k2p", true},
		{"a", true, "a-x7k2p", false},
		{"a", true, "a-03-x7k2p", false},
		{"a", true, "a-b-x7k2p", false},
		{"a", true, "ab-3-x7k2p", false},
		// Ambiguous: Job "a-1"'s pods have the names an Indexed Job "a"
		// gives index 1 (the Job's creation time tells them apart when
		// "a-1" is older).
		{"a", true, "a-1-x7k2p", true},
		// Past 58 bytes the API server cuts generateName; an Indexed Job's
		// name is cut to keep the index.
		{long, false, long[:58] + "x7k2p", true},
		{long, false, long + "-x7k2p", false},
		{long[:56], true, long[:54] + "-12-x7k2p", true},
		{long[:54], true, long[:54] + "-1-x7k2p", true},
	}
	for _, tt := range tests {
		if got := jobPodName(tt.job, tt.indexed, tt.pod); got != tt.want {
			t.Errorf("jobPodName(%q, indexed %v, %q) = %v, want %v", tt.job, tt.indexed, tt.pod, got, tt.want)
		}
	}
}

// TestGonePodEventsBounds: however many events the namespace has, one
// report reads at most maxEventsPerList per list, shows at most MaxEvents,
// says that it searched only part, and shows messages short and printable.
func TestGonePodEventsBounds(t *testing.T) {
	j := fixture.Job("batch", "a").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 90)
	objs := []runtime.Object{j.J}
	for i := range 3 * maxEventsPerList {
		objs = append(objs, podEvent("batch", fmt.Sprintf("a-%05d", i), corev1.EventTypeWarning, "Evicted", "The node was low on resource: memory.", 10+i%50))
	}
	evil := podEvent("batch", "a-zzzzz", corev1.EventTypeWarning, "Evicted", "\x1b[2J\x1b]0;pwned\x07"+strings.Repeat("m", 5000), 100)
	client := kubefake.New(append(objs, evil)...)
	s := job.Summarize(j.J, nil, nil, job.Options{})
	events, err := FetchJobEvents(context.Background(), client, s)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d events about pods", maxEventsPerList)) {
		t.Errorf("error %v, want one saying only part was searched", err)
	}
	if len(events) != MaxEvents {
		t.Errorf("%d events, want %d", len(events), MaxEvents)
	}
	// The fake lists in no set order: read the evil one on its own.
	client = kubefake.New(j.J, evil)
	events, err = FetchJobEvents(context.Background(), client, s)
	if err != nil || len(events) != 1 {
		t.Fatalf("%v %+v", err, events)
	}
	if m := events[0].Message; len(m) > maxMessage+len("…") || strings.ContainsAny(m, "\x1b\x07") {
		t.Errorf("message of %d bytes, %q…", len(m), m[:min(len(m), 40)])
	}
}

// TestFoldCombinedFailedCreate: the Job controller's refusals of
// different pods, some combined by the event recorder, fold into one line
// without the recorder's prefix, counting every refusal.
func TestFoldCombinedFailedCreate(t *testing.T) {
	j := fixture.Job("quota", "blocked").Started(0)
	var events []corev1.Event
	for i := range 9 {
		events = append(events, *fixture.FailedCreate(j.J, fmt.Sprint(i), fmt.Sprintf(`pods "blocked-%05d" is forbidden: exceeded quota: pods-zero`, i), 1, 10+i))
	}
	combined := fixture.FailedCreate(j.J, "c", `pods "blocked-99999" is forbidden: exceeded quota: pods-zero`, 5, 60)
	combined.Message = job.CombinedEventPrefix + combined.Message // as the recorder words it
	events = append(events, *combined)
	got := foldEvents("blocked", events, nil)
	if len(got) != 1 || got[0].Count != 14 || got[0].Message != `Error creating: pods "blocked-*" is forbidden: exceeded quota: pods-zero` || got[0].PodGone {
		t.Errorf("folded %+v", got)
	}
	if job.CreateFailureCause(combined.Message) != job.CreateCauseQuota {
		t.Errorf("cause of %q", combined.Message)
	}
}

// TestPodEventCause: the kubelet's and the scheduler's words.
func TestPodEventCause(t *testing.T) {
	tests := []struct{ reason, message, kind string }{
		{"Failed", `Failed to pull image "x": not found`, "ImagePull"},
		{"Failed", "Error: ErrImagePull", "ImagePull"},
		{"Failed", "Error: ImagePullBackOff", "ImagePull"},
		{"Failed", job.CombinedEventPrefix + "Error: ImagePullBackOff", "ImagePull"},
		{"BackOff", `Back-off pulling image "x"`, "ImagePull"},
		{"InspectFailed", `Failed to apply default image tag "X": couldn't parse image name`, "ImagePull"},
		{"BackOff", "Back-off restarting failed container app in pod a-x7k2p_batch(uid)", "Error"},
		{"Evicted", "The node was low on resource: memory.", "Evicted"},
		{"Preempted", "Preempted by pod 1 on node n", "Disrupted"},
		{"Preempting", "Preempted in order to admit critical pod", "Disrupted"},
		{"FailedMount", `MountVolume.SetUp failed for volume "x" : secret "x" not found`, "NotStarting"},
		{"FailedScheduling", "0/3 nodes are available", "Unschedulable"},
		{"Failed", "Error: failed to create containerd task", ""},
		{"Unhealthy", "Liveness probe failed", ""},
	}
	for _, tt := range tests {
		c, ok := podEventCause(tt.reason, tt.message)
		if ok != (tt.kind != "") || c.Kind != tt.kind {
			t.Errorf("podEventCause(%q, %q) = %q %v, want %q", tt.reason, tt.message, c.Kind, ok, tt.kind)
		}
	}
}

// TestDepartedReportJSON: the departed evidence is in the JSON too, and
// what tenants wrote stays printable in the text.
func TestDepartedReportJSON(t *testing.T) {
	j := fixture.Job("batch", "gone").BackoffLimit(1).Started(0).Status(0, 0, 0, 2).Failed("BackoffLimitExceeded", 60)
	j.J.Spec.Template.Spec.Containers[0].Image = "registry.example/app:v1\x1b[2J"
	s := departedSummary(j.J,
		fixture.Pod(j.J, "x7k2p", 0).FailedWith("app", 127, "Error", 20).P,
		fixture.Pod(j.J, "q2w9z", 25).FailedWith("app", 127, "Error", 40).P)
	r := FromSummary(s, fixture.At(90).Time, DefaultLimits)
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Departed struct {
			Pods     int
			Attempts []struct{ Pod, Image string }
			Failures []struct {
				Container, Reason, ExitCode string
				Count                       int64
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	d := decoded.Departed
	if d.Pods != 2 || len(d.Attempts) != 2 || d.Attempts[0].Pod != "gone-x7k2p" || len(d.Failures) != 1 || d.Failures[0].Count != 2 || d.Failures[0].ExitCode != "127" {
		t.Errorf("departed in JSON %+v\n%s", d, js.String())
	}
	if r.Verdict.Kind != VerdictDeterministic {
		t.Errorf("verdict %+v", r.Verdict)
	}
	text := reportText(t, r)
	mentions(t, "report", text, "its container app exited 127 (Error) in 2 pods: every failure", "    gone-x7k2p container app exit 127 Error")
	if strings.Contains(text, "\x1b") {
		t.Errorf("control characters in the report:\n%s", text)
	}
}

// departedReports are the reports of Jobs whose pods are gone, for
// testdata/departed_*.
func departedReports(t *testing.T) map[string]Report {
	t.Helper()
	out := map[string]Report{}

	onFailure := fixture.Job("batch", "crashy").OnFailure().BackoffLimit(6).Started(0).Status(0, 0, 0, 0).Failed("BackoffLimitExceeded", 120)
	onFailure.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](60)
	s := departedSummary(onFailure.J, fixture.Pod(onFailure.J, "x7k2p", 0).Running(1).Restarted("app", 6, "Error", 1, 110).P)
	s.Deleted = fixture.At(185).Time
	out["departed_onfailure-ttl"] = FromSummary(s, fixture.At(190).Time, DefaultLimits)

	pull := fixture.Job("web", "pull-dl").Deadline(60).Started(0).Status(0, 0, 0, 0).Failed("DeadlineExceeded", 60)
	s = departedSummary(pull.J, fixture.Pod(pull.J, "x7k2p", 0).Waiting("ImagePullBackOff").P, fixture.Pod(pull.J, "q2w9z", 0).Waiting("ErrImagePull").P)
	out["departed_deadline-pull"] = FromSummary(s, fixture.At(90).Time, DefaultLimits)

	dl := fixture.Job("web", "dl").Deadline(60).Started(0).Status(0, 0, 0, 0).Failed("DeadlineExceeded", 60)
	client := kubefake.New(dl.J,
		podEvent("web", "dl-x7k2p", corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff", 20),
		podEvent("web", "dl-x7k2p", corev1.EventTypeWarning, "Failed", `Failed to pull image "registry.example/app:v1": denied`, 15),
		podEvent("web", "dlx-x7k2p", corev1.EventTypeWarning, "Evicted", "another Job's", 15))
	ev, err := Fetch(context.Background(), client, "web", "dl", job.Options{Backoff: job.DefaultBackoff})
	if err != nil || ev.EventsErr != nil {
		t.Fatal(err, ev.EventsErr)
	}
	r := FromSummary(ev.Summary, fixture.At(90).Time, DefaultLimits)
	r.AddEvents(ev.Summary, ev.Events)
	out["departed_events-deadline"] = r
	return out
}

// TestGoldenDeparted compares the reports of Jobs whose pods are gone with
// testdata/departed_* (regenerate: go test ./diagnose -update).
func TestGoldenDeparted(t *testing.T) {
	for name, r := range departedReports(t) {
		checkGoldenReport(t, name, r)
	}
}
