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
