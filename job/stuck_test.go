package job

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
)

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

func TestSummarizeCreateFailures(t *testing.T) {
	j := fixture.Job("quota", "blocked").BackoffLimit(2).Started(0)
	quota := NewEventRecord(fixture.FailedCreate(j.J, "a", `pods "blocked-x" is forbidden: exceeded quota: q`, 5, 90))
	quotaOld := NewEventRecord(fixture.FailedCreate(j.J, "b", `pods "blocked-y" is forbidden: exceeded quota: q`, 2, 40))
	psa := NewEventRecord(fixture.FailedCreate(j.J, "c", `violates PodSecurity "baseline:latest": hostPath volumes`, 1, 60))
	earlier := fixture.Job("quota", "blocked")
	earlier.J.UID = "uid-earlier"
	other := NewEventRecord(fixture.FailedCreate(earlier.J, "d", `Pod "blocked-z" is invalid: x`, 1, 100))
	events := []*EventRecord{quota, quotaOld, psa, other, nil}
	opts := Options{Backoff: DefaultBackoff}

	s := Summarize(j.J, nil, events, opts)
	want := []CreateFailure{{Cause: CreateCauseQuota, Last: at(90), Count: 7}, {Cause: CreateCausePodSecurity, Last: at(60), Count: 1}}
	if !reflect.DeepEqual(s.CreateFailures, want) {
		t.Errorf("CreateFailures = %+v\nwant %+v", s.CreateFailures, want)
	}
	if !s.WithoutPods {
		t.Error("a started Job with no pod is not WithoutPods")
	}

	// A pod created after a failure makes that failure history; in the
	// same second it is history too (event times have seconds only).
	for _, tt := range []struct {
		created int
		want    []string
	}{
		{70, []string{CreateCauseQuota}},
		{90, nil},
		{91, nil},
	} {
		p := fixture.Pod(j.J, "p", tt.created).Running(tt.created + 1)
		s := Summarize(j.J, pods(p), events, opts)
		var got []string
		for _, f := range s.CreateFailures {
			got = append(got, f.Cause)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pod created at %d: causes %v, want %v", tt.created, got, tt.want)
		}
		if s.WithoutPods {
			t.Errorf("pod created at %d: WithoutPods with a pod", tt.created)
		}
	}

	// Finished or suspended Jobs are not stuck, whatever events remain.
	for name, jb := range map[string]*fixture.JobBuilder{
		"failed":    fixture.Job("quota", "blocked").Started(0).Failed("DeadlineExceeded", 100),
		"complete":  fixture.Job("quota", "blocked").Started(0).Status(0, 0, 1, 0).Complete(100),
		"suspended": fixture.Job("quota", "blocked").Suspend(),
	} {
		s := Summarize(jb.J, nil, events, opts)
		if len(s.CreateFailures) != 0 || s.WithoutPods {
			t.Errorf("%s Job: CreateFailures %+v WithoutPods %v", name, s.CreateFailures, s.WithoutPods)
		}
	}
}

func TestSummarizeWithoutPods(t *testing.T) {
	opts := Options{Backoff: DefaultBackoff}
	tests := []struct {
		name string
		job  *fixture.JobBuilder
		want bool
	}{
		{"started, no pod", fixture.Job("ns", "a").Started(0), true},
		{"not started yet (controller has not synced it)", fixture.Job("ns", "b"), false},
		{"parallelism 0: no pods by design", fixture.Job("ns", "c").Started(0), false},
		{"pods counted in the status only", fixture.Job("ns", "d").Started(0).Status(0, 0, 1, 0), false},
		{"terminating pods", fixture.Job("ns", "e").Started(0), false},
		{"a failure not yet counted", fixture.Job("ns", "f").Started(0), false},
	}
	tests[2].job.J.Spec.Parallelism = ptr.To[int32](0)
	tests[4].job.J.Status.Terminating = ptr.To[int32](1)
	tests[5].job.J.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Failed: []types.UID{"x"}}
	for _, tt := range tests {
		if got := Summarize(tt.job.J, nil, nil, opts).WithoutPods; got != tt.want {
			t.Errorf("%s: WithoutPods = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSummarizeStartTimeout: pods in a normal start count as waiting only
// once pending for StartTimeout, with the step they are in, and Recheck
// says when the next one gets there.
func TestSummarizeStartTimeout(t *testing.T) {
	j := fixture.Job("web", "slow").InitContainer("wait").Started(0).Status(5, 0, 0, 0)
	gated := fixture.Pod(j.J, "d", 0)
	gated.P.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
	ps := pods(
		fixture.Pod(j.J, "a", 0).Waiting("ContainerCreating"),
		fixture.Pod(j.J, "b", 103).Initializing(104),
		// Every container of a pod with init containers waits in
		// PodInitializing until they finish; none runs: the containers
		// are not created (a volume that does not mount).
		fixture.Pod(j.J, "h", 200).Waiting("PodInitializing"),
		fixture.Pod(j.J, "c", 0), // no status: no scheduler
		gated,
		fixture.Pod(j.J, "e", 0).Running(10),
		fixture.Pod(j.J, "f", 0).Waiting("ContainerCreating").Deleting(50, 30),
	)
	opts := Options{Backoff: DefaultBackoff, StartTimeout: 5 * time.Minute}

	tests := []struct {
		now     int
		waiting []ReasonCount
		pods    []string
		recheck time.Time
	}{
		// Rechecks are rounded up to 10s: a's 300s stays, b's 403s
		// becomes 410s.
		{now: 299, recheck: at(300)},
		{now: 300, waiting: []ReasonCount{{WaitingContainerCreating, 1}, {WaitingNotScheduled, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-c", "slow-d"}, recheck: at(410)},
		{now: 410, waiting: []ReasonCount{{WaitingContainerCreating, 1}, {WaitingNotScheduled, 1}, {WaitingPodInitializing, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-b", "slow-c", "slow-d"}, recheck: at(500)},
		{now: 500, waiting: []ReasonCount{{WaitingContainerCreating, 2}, {WaitingNotScheduled, 1}, {WaitingPodInitializing, 1}, {WaitingSchedulingGated, 1}},
			pods: []string{"slow-a", "slow-b", "slow-c", "slow-d", "slow-h"}},
	}
	for _, tt := range tests {
		opts.Now = at(tt.now)
		s := Summarize(j.J, ps, nil, opts)
		if !reflect.DeepEqual(s.Waiting, tt.waiting) || !reflect.DeepEqual(s.WaitingPods, tt.pods) || !s.Recheck.Equal(tt.recheck) {
			t.Errorf("at %ds: Waiting %+v pods %v recheck %v\nwant %+v %v %v", tt.now, s.Waiting, s.WaitingPods, s.Recheck, tt.waiting, tt.pods, tt.recheck)
		}
	}
	// Without a time (or a timeout) the normal start never counts.
	for _, o := range []Options{{StartTimeout: time.Minute}, {Now: at(1000)}} {
		if s := Summarize(j.J, ps, nil, o); len(s.Waiting) != 0 || !s.Recheck.IsZero() {
			t.Errorf("%+v: Waiting %+v Recheck %v", o, s.Waiting, s.Recheck)
		}
	}
}

func TestWaitingPodsBounded(t *testing.T) {
	j := fixture.Job("web", "many").Started(0).Status(20, 0, 0, 0)
	var bs []*fixture.PodBuilder
	for i := 0; i < 20; i++ {
		bs = append(bs, fixture.Pod(j.J, string(rune('a'+i)), 0).Waiting("ImagePullBackOff"))
	}
	s := summarize(j, bs...)
	if len(s.WaitingPods) != MaxWaitingPods || s.WaitingPods[0] != "many-a" || s.Waiting[0].Count != 20 {
		t.Errorf("WaitingPods %v, Waiting %+v", s.WaitingPods, s.Waiting)
	}
}
