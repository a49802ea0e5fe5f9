package pages

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// TestPagesSayWhatFailuresCost: the live report of a Job whose 3 failed
// attempts each held a GPU, 2 cores and 4 GiB for 30 minutes says what
// they held and, the failure being deterministic, what each retry holds
// again; its row on /failing says what they held, in the state cell.
func TestPagesSayWhatFailuresCost(t *testing.T) {
	b := fixture.Job("ml", "train").Started(0).Status(0, 0, 0, 3).Failed("BackoffLimitExceeded", 6000)
	b.J.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), "nvidia.com/gpu": resource.MustParse("1"),
	}
	var pods []*corev1.Pod
	for i := range 3 {
		start := i * 2000
		p := fixture.Pod(b.J, string(rune('a'+i)), start).Running(start).FailedWith("app", 127, "Error", start+1800).P
		at := fixture.At(start)
		p.Status.StartTime = &at
		pods = append(pods, p)
	}
	now := fixture.At(6100).Time
	s := job.Summarize(b.J, pods, nil, job.Options{Backoff: job.DefaultBackoff, Now: now})
	held := "3 failed attempts held 1.5 GPU-hours, 3 core-hours and 6 GiB-hours"

	rb := newTestRunbooks(t, Config{Runbooks: runbooks.FS, Jobs: &fakeJobs{jobs: map[string]job.Summary{"ml/train": s}}}, now, nil)
	page := serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=ml&job_name=train")
	if want := "<dt>Cost</dt><dd>" + held + "; each retry holds about 0.5 GPU-hours, 1 core-hour and 2 GiB-hours more</dd>"; !strings.Contains(page, want) {
		t.Errorf("live report lacks %q:\n%s", want, page)
	}

	board := failing.NewBoard(0, 0)
	board.JobChanged("ml/train", &s, now)
	h := failingPageOf(t, Config{Board: board, Runbooks: runbooks.FS})
	if p := h.page(now, ""); len(p.Rows) != 1 || p.Rows[0].Cost != held {
		t.Fatalf("rows %+v, want one costing %q", p.Rows, held)
	}
	if body := serveFailing(t, h, ""); !strings.Contains(body, "<strong>failed: BackoffLimitExceeded</strong><span class=\"kind\">"+held+"</span>") {
		t.Errorf("/failing's row lacks its cost in the state cell:\n%s", body)
	}
}
