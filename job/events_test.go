package job

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
)

// quotaRefusal is the API server's refusal of one pod of quota/blocked, as
// the Job controller words its event (each refused pod has its own
// generated name, so no two messages are the same).
func quotaRefusal(i int) string {
	return fmt.Sprintf(`Error creating: pods "blocked-%05d" is forbidden: exceeded quota: pods-zero, requested: pods=1, used: pods=0, limited: pods=0`, i)
}

// TestCombinedEventsKeepCause drives client-go's own event correlator, as
// the Job controller's recorder does, with a FailedCreate event per refused
// pod, 20 seconds apart: from the 10th within 10 minutes on, the correlator
// emits one event, "(combined from similar events): Error creating: ...",
// which it then updates in place. Every message it emits must still read
// as Quota, and the events a server would hold must add up to every
// refusal.
func TestCombinedEventsKeepCause(t *testing.T) {
	j := fixture.Job("quota", "blocked").Started(0)
	clock := clocktesting.NewFakeClock(fixture.T0)
	correlator := record.NewEventCorrelator(clock)
	ref := corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.J.Namespace, Name: j.J.Name, UID: j.J.UID}
	server := map[string]*corev1.Event{} // by name, as the API server keeps them
	const refusals = 14
	combined := 0
	for i := range refusals {
		clock.Step(20 * time.Second)
		now := metav1.NewTime(clock.Now())
		// As the recorder's generateEvent makes it.
		e := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%v.%x", ref.Name, now.UnixNano()), Namespace: ref.Namespace},
			InvolvedObject: ref, Reason: FailedCreateReason, Message: quotaRefusal(i),
			FirstTimestamp: now, LastTimestamp: now, Count: 1, Type: corev1.EventTypeWarning,
			Source: corev1.EventSource{Component: "job-controller"},
		}
		res, err := correlator.EventCorrelate(e)
		if err != nil {
			t.Fatal(err)
		}
		if res.Skip {
			t.Fatalf("refusal %d: the correlator's spam filter dropped it", i)
		}
		out := res.Event
		if got := CreateFailureCause(out.Message); got != CreateCauseQuota {
			t.Errorf("refusal %d: CreateFailureCause(%q) = %q, want Quota", i, out.Message, got)
		}
		if strings.HasPrefix(out.Message, CombinedEventPrefix) {
			combined++
			if !strings.HasPrefix(out.Message, CombinedEventPrefix+"Error creating: ") {
				t.Errorf("refusal %d: the recorder's prefix order changed: %q", i, out.Message)
			}
		}
		if r := NewEventRecord(out); r.Cause != CreateCauseQuota || r.Count != EventCount(out) || r.Last != now.UnixNano() {
			t.Errorf("refusal %d: record %+v of %+v", i, r, out)
		}
		stored := out.DeepCopy()
		stored.ResourceVersion = fmt.Sprint(i + 1)
		server[stored.Name] = stored
		correlator.UpdateState(stored)
	}
	if combined != refusals-9 {
		t.Fatalf("%d combined events, want %d: the correlator no longer combines the 10th similar event", combined, refusals-9)
	}
	var records []*EventRecord
	for _, e := range server {
		records = append(records, NewEventRecord(e))
	}
	if len(server) != 10 {
		t.Errorf("%d events stored, want 9 single ones and the combined one", len(server))
	}
	s := Summarize(j.J, nil, records, Options{Backoff: DefaultBackoff})
	if f := s.CreateFailures; len(f) != 1 || f[0].Cause != CreateCauseQuota || f[0].Count != refusals {
		t.Errorf("creation failures %+v, want Quota ×%d", f, refusals)
	}
}

// TestUpdatedEventKeepsCauseAndCount: an event updated in place by a core/v1
// recorder (count and lastTimestamp) or an events.k8s.io one (series, its
// deprecated count left 0) keeps its cause, its count and its newest time.
func TestUpdatedEventKeepsCauseAndCount(t *testing.T) {
	j := fixture.Job("quota", "blocked").Started(0)
	core := fixture.FailedCreate(j.J, "a", "", 14, 900)
	core.Message = CombinedEventPrefix + quotaRefusal(13)
	core.FirstTimestamp = fixture.At(100)

	series := core.DeepCopy()
	series.Message = quotaRefusal(0)
	series.Count, series.FirstTimestamp, series.LastTimestamp = 0, metav1.Time{}, metav1.Time{}
	series.EventTime = metav1.NewMicroTime(fixture.At(100).Time)
	series.Series = &corev1.EventSeries{Count: 14, LastObservedTime: metav1.NewMicroTime(fixture.At(900).Time)}

	for name, e := range map[string]*corev1.Event{"core/v1": core, "events.k8s.io series": series} {
		if n := EventCount(e); n != 14 {
			t.Errorf("%s: EventCount %d, want 14", name, n)
		}
		if last := EventLastSeen(e); !last.Equal(fixture.At(900).Time) {
			t.Errorf("%s: EventLastSeen %v, want %v", name, last, fixture.At(900).Time)
		}
		r := NewEventRecord(e)
		if r.Cause != CreateCauseQuota || r.Count != 14 || r.Last != fixture.At(900).UnixNano() || r.JobKey() != "quota/blocked" {
			t.Errorf("%s: record %+v", name, r)
		}
	}
}

// TestCreateFailureCausePrefixes: the combined prefix is read off before
// and after the Job controller's own, and only at the start.
func TestCreateFailureCausePrefixes(t *testing.T) {
	refusal := `pods "j-abcde" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`
	for _, m := range []string{
		"Error creating: " + refusal,
		CombinedEventPrefix + "Error creating: " + refusal, // the recorder's order
		"Error creating: " + CombinedEventPrefix + refusal,
		CombinedEventPrefix + refusal,
	} {
		if got := CreateFailureCause(m); got != CreateCauseQuota {
			t.Errorf("CreateFailureCause(%q) = %q, want Quota", m, got)
		}
	}
	if got := CreateFailureCause("Error creating: admission webhook \"w\" denied the request: " + CombinedEventPrefix + refusal); got != CreateCauseWebhook {
		t.Errorf("a webhook quoting the prefix: %q, want AdmissionWebhook", got)
	}
	if got := EventMessage(CombinedEventPrefix + "Failed to pull image"); got != "Failed to pull image" {
		t.Errorf("EventMessage: %q", got)
	}
}

// The messages as the API server words them (the Job controller prefixes
// "Error creating: ").
func TestCreateFailureCause(t *testing.T) {
	tests := []struct{ message, want string }{
		{`pods "j-4f9zl" is forbidden: exceeded quota: default, requested: pods=1, used: pods=9, limited: pods=9`, CreateCauseQuota},
		{`pods "j-abcde" is forbidden: status unknown for quota: q, resources: pods`, CreateCauseQuota},
		{`pods "j-abcde" is forbidden: failed quota: q: must specify cpu,memory`, CreateCauseQuota},
		{`pods "j-abcde" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)`, CreateCausePodSecurity},
		{`pods "j-abcde" is forbidden: ValidatingAdmissionPolicy 'deny-jobs' with binding 'deny-jobs' denied request: no pods here`, CreateCauseAdmissionPolicy},
		{`pods "j-abcde" is forbidden: ValidatingAdmissionPolicy 'p' denied request: x`, CreateCauseAdmissionPolicy},
		{`admission webhook "policy.example.com" denied the request: images must come from registry.example`, CreateCauseWebhook},
		{`pods "j-" is forbidden: error looking up service account batch/runner: serviceaccount "runner" not found`, CreateCauseServiceAccount},
		{`pods "j-abcde" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi`, CreateCauseLimitRange},
		{`pods "j-abcde" is forbidden: [minimum cpu usage per Pod is 100m, but request is 50m, cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]`, CreateCauseLimitRange},
		{`Pod "j-abcde" is invalid: spec.containers[0].image: Required value`, CreateCauseInvalid},
		{`unable to create new content in namespace batch because it is being terminated`, Other},
		{``, Other},
		{`Internal error occurred: failed calling webhook "policy.example.com": failed to call webhook: Post "https://policy.svc:443/validate": dial tcp: connect: connection refused`, CreateCauseWebhook},
		{`(combined from similar events): pods "j-abcde" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`, CreateCauseQuota},
		// What a webhook or policy writes comes after the API server's own
		// words and is not read: a policy engine quoting Pod Security is
		// still the webhook, a webhook quoting a quota too.
		{`admission webhook "validate.kyverno.svc-fail" denied the request: resource Pod/batch/j-x was blocked: violates PodSecurity "restricted:latest"`, CreateCauseWebhook},
		{`admission webhook "x" denied the request: it said exceeded quota: but it is a webhook`, CreateCauseWebhook},
		{`pods "j-abcde" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: exceeded quota: no`, CreateCauseAdmissionPolicy},
		{`pods "j-abcde" is forbidden: something else entirely mentions maximum memory usage per Container is`, Other},
	}
	for _, tt := range tests {
		if got := CreateFailureCause("Error creating: " + tt.message); got != tt.want {
			t.Errorf("CreateFailureCause(%q) = %q, want %q", tt.message, got, tt.want)
		}
	}
}

func TestNewEventRecord(t *testing.T) {
	j := fixture.Job("quota", "blocked").Started(0)
	e := fixture.FailedCreate(j.J, "a", `pods "blocked-x" is forbidden: exceeded quota: q`, 4, 90)
	r := NewEventRecord(e)
	if r.JobKey() != "quota/blocked" || r.JobUID != j.J.UID || r.Cause != CreateCauseQuota || r.Count != 4 || r.Last != at(90).UnixNano() {
		t.Errorf("record %+v", r)
	}
	// events.k8s.io recorders write the newest occurrence in the series.
	e.LastTimestamp = metav1.Time{}
	e.Count = 0
	e.Series = &corev1.EventSeries{Count: 9, LastObservedTime: metav1.NewMicroTime(at(120))}
	if r := NewEventRecord(e); r.Count != 9 || r.Last != at(120).UnixNano() {
		t.Errorf("series event: %+v", r)
	}
	// Anything else that got past the field selector is kept without a
	// cause and belongs to no Job.
	for _, mutate := range []func(*corev1.Event){
		func(e *corev1.Event) { e.Type = corev1.EventTypeNormal },
		func(e *corev1.Event) { e.Reason = "SuccessfulCreate" },
		func(e *corev1.Event) { e.InvolvedObject.Kind = "Pod" },
		func(e *corev1.Event) { e.InvolvedObject.Namespace = "elsewhere" },
	} {
		e := fixture.FailedCreate(j.J, "a", "exceeded quota: q", 1, 90)
		mutate(e)
		if r := NewEventRecord(e); r.Cause != "" || r.JobKey() != "" {
			t.Errorf("unrelated event recorded as %+v", r)
		}
	}
	if out, _ := RecordEvent("tombstone"); out != "tombstone" {
		t.Errorf("non-events must pass through, got %v", out)
	}
}
