package diagnose

import (
	"bytes"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// gpuTrain is a retrying Job whose pods request 2 cores, 4 GiB and a GPU,
// and pods of it that ran 30 minutes each and exited with code, the
// first started at the Job's start.
func gpuTrain(code int32, pods int) (*batchv1.Job, []*corev1.Pod) {
	b := fixture.Job("ml", "train").Started(0).Status(1, 0, 0, int32(pods))
	b.J.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), "nvidia.com/gpu": resource.MustParse("1"),
	}
	var out []*corev1.Pod
	for i := range pods {
		start := i * 2000
		p := fixture.Pod(b.J, string(rune('a'+i)), start).Running(start).FailedWith("app", code, "Error", start+1800).P
		at := fixture.At(start)
		p.Status.StartTime = &at
		out = append(out, p)
	}
	return b.J, out
}

func costReport(j *batchv1.Job, pods []*corev1.Pod) Report {
	at := fixture.At(8000).Time
	return FromSummary(job.Summarize(j, pods, nil, job.Options{Backoff: job.DefaultBackoff, Now: at}), at, DefaultLimits)
}

// TestCost: 3 failed attempts of a pod holding a GPU, 2 cores and 4 GiB
// for 30 minutes each held 1.5 GPU-hours, 3 core-hours and 6 GiB-hours;
// the report says so in its text, its JSON (in resource-seconds) and, as
// the failure is deterministic (command not found), what each retry holds
// again. The golden files show where the line goes.
func TestCost(t *testing.T) {
	r := costReport(gpuTrain(127, 3))
	if r.Verdict.Kind != VerdictDeterministic || r.Cost == nil {
		t.Fatalf("verdict %s, cost %+v", r.Verdict.Kind, r.Cost)
	}
	want := "3 failed attempts held 1.5 GPU-hours, 3 core-hours and 6 GiB-hours; each retry holds about 0.5 GPU-hours, 1 core-hour and 2 GiB-hours more"
	if got := r.Cost.Sentence(); got != want {
		t.Errorf("cost %q\nwant %q", got, want)
	}
	seconds := map[string]float64{"cpu": 3 * 2 * 1800, "memory": 3 * 4 << 30 * 1800, "nvidia.com/gpu": 3 * 1800}
	for k, v := range seconds {
		if r.Cost.ResourceSeconds[k] != v || len(r.Cost.ResourceSeconds) != len(seconds) {
			t.Errorf("ResourceSeconds %v, want %v", r.Cost.ResourceSeconds, seconds)
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "\nCost:      "+want+"\n") {
		t.Errorf("text report without its cost:\n%s", text.String())
	}
	checkGoldenReport(t, "cost_gpu-train", r)
}

// TestCostOnlyWhatIsKnown: no line when no failed pod started (the fixture
// pods, without status.startTime), no retry cost when failures vary, and
// an OnFailure Job counts its failed container runs.
func TestCostOnlyWhatIsKnown(t *testing.T) {
	j, pods := gpuTrain(127, 3)
	for _, p := range pods {
		p.Status.StartTime = nil
	}
	if r := costReport(j, pods); r.Cost != nil {
		t.Errorf("pods never started, cost %+v", r.Cost)
	}
	for name, r := range fixtureReports(t) {
		if r.Cost != nil {
			t.Errorf("%s: fixture pods never started, cost %+v", name, r.Cost)
		}
	}

	j, pods = gpuTrain(1, 2)
	pods = append(pods, fixture.Pod(j, "z", 0).Evicted(100).P)
	r := costReport(j, pods)
	if r.Verdict.Kind != VerdictTransient || r.Cost == nil || r.Cost.EachRetry != "" ||
		r.Cost.Text != "3 failed attempts held 1 GPU-hour, 2 core-hours and 4 GiB-hours" {
		t.Errorf("verdict %s, cost %+v", r.Verdict.Kind, r.Cost)
	}

	of := fixture.Job("ml", "loop").OnFailure().Started(0).Status(1, 0, 0, 0)
	of.J.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	p := fixture.Pod(of.J, "a", 0).Running(0).Restarted("app", 4, "Error", 1, 600).P
	p.Status.ContainerStatuses[0].State.Running.StartedAt = fixture.At(600)
	start := fixture.At(0)
	p.Status.StartTime = &start
	r = costReport(of.J, []*corev1.Pod{p})
	if r.Cost == nil || r.Cost.Text != "4 failed container runs held 5 core-minutes" {
		t.Errorf("OnFailure: cost %+v", r.Cost)
	}
}

func TestHeldWords(t *testing.T) {
	for _, tc := range []struct {
		held []job.ResourceTime
		want string
	}{
		{[]job.ResourceTime{{Resource: "cpu", Value: 20}}, "20 core-seconds"},
		{[]job.ResourceTime{{Resource: "cpu", Value: 0.0000001}}, ""},
		{[]job.ResourceTime{{Resource: "cpu", Value: 0.5}, {Resource: "memory", Value: 1 << 30 * 90}}, "0.0083 core-minutes and 1.5 GiB-minutes"},
		{[]job.ResourceTime{{Resource: "memory", Value: 1 << 30 * 3600}}, "1 GiB-hour"},
		{[]job.ResourceTime{{Resource: "cpu", Value: 123456 * 3600}, {Resource: "amd.com/gpu", Value: 90}, {Resource: "nvidia.com/gpu", Value: 12.34 * 3600}},
			"0.025 GPU-hours of amd.com/gpu, 12.3 GPU-hours of nvidia.com/gpu and 123456 core-hours"},
		{[]job.ResourceTime{{Resource: "example.com/fpga", Value: 7200}}, "2 device-hours of example.com/fpga"},
	} {
		if got := heldWords(tc.held, 1); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.held, got, tc.want)
		}
	}
}

// TestCostOfDepartedPods: when the report reads the pods that are gone,
// the cost is theirs, and says so; the pods present are not added to it
// (a pod going is both, until it is gone).
func TestCostOfDepartedPods(t *testing.T) {
	s := job.Summary{Namespace: "ml", Name: "gone", RestartPolicy: "Never", Retries: 1,
		FailedHeld: []job.ResourceTime{{Outcome: job.OutcomeFailed, Resource: job.ResourceCPU, Value: 1}},
		Departed: job.Departed{Pods: 1, PodFailures: []job.PodFailure{{Container: "app", Reason: "Error", ExitCode: "127", Count: 1}},
			FailedHeld: []job.ResourceTime{{Outcome: job.OutcomeFailed, Resource: job.ResourceCPU, Value: 7200}}}}
	r := FromSummary(s, fixture.At(100).Time, DefaultLimits)
	want := "1 failed attempt held 2 core-hours (" + FromDeparted + "); each retry holds about 2 core-hours more"
	if r.Departed == nil || r.Cost == nil || r.Cost.Sentence() != want {
		t.Errorf("departed %+v, cost %+v\nwant %q", r.Departed, r.Cost, want)
	}
}
