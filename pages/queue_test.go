package pages

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// queueRunbooks are runbooks of the queue's alerts, so that /failing
// links its rows to their live reports.
var queueRunbooks = fstest.MapFS{
	diagnose.AlertWaitingForAdmission + ".md": {Data: []byte("# " + diagnose.AlertWaitingForAdmission + "\n")},
	diagnose.AlertAdmittedNotStarted + ".md":  {Data: []byte("# " + diagnose.AlertAdmittedNotStarted + "\n")},
}

// TestQueueOnPages: a Job waiting for admission shows, on its live report,
// its queue, ClusterQueue, state, wait, cause in words, Kueue's message,
// evictions and the commands; on /failing, once it has waited the limit,
// a stuck row saying the same, linked to its live report.
func TestQueueOnPages(t *testing.T) {
	// The live report is judged at the page's time: the Job began waiting
	// 2h 3m (and a few seconds) before.
	now := time.Now().Truncate(time.Second)
	since := now.Add(-(2*time.Hour + 3*time.Minute + 10*time.Second))
	q := summaries.WaitingForQuota("team-a", "gpu-cq", 0)
	q.Since, q.Workload = since, "job-train-a1"
	q.Evictions, q.LastEviction = 2, job.QueueEviction{Reason: "InClusterQueue", Message: "Preempted to accommodate a higher priority workload", At: since.Add(-time.Minute)}
	s := summaries.InQueue(fixture.Job("ml", "train").Suspend(), nil, q)

	rb := newTestRunbooks(t, Config{Runbooks: queueRunbooks, Jobs: &fakeJobs{jobs: map[string]job.Summary{"ml/train": *s}}}, now, nil)
	page := serveRunbook(t, rb, "/runbooks/KubeJobWaitingForAdmission?namespace=ml&job_name=train")
	evicted := "evicted 2 times, the last at " + since.Add(-time.Minute).UTC().Format(time.RFC3339) + ": InClusterQueue — Preempted to accommodate a higher priority workload"
	for _, want := range []string{
		"Job ml/train: QUEUED</h3>",
		"<strong>Verdict (queued):</strong> Waiting 2h 3m for admission in LocalQueue team-a (ClusterQueue gpu-cq): InsufficientQuota — couldn&#39;t assign flavors",
		"<dt>Queue</dt><dd>LocalQueue team-a (ClusterQueue gpu-cq), Waiting for 2h 3m (since " + since.UTC().Format(time.RFC3339) + "); Workload <code>job-train-a1</code></dd>",
		"<dt>Cause</dt><dd><code>InsufficientQuota</code><span class=\"meaning\">the ClusterQueue (with what its cohort lends) has not enough unused quota",
		"<dt>Kueue says</dt><dd>couldn&#39;t assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed</dd>",
		"<dt>Evictions</dt><dd>" + evicted + "</dd>",
		"<dt>Alert</dt><dd>KubeJobWaitingForAdmission</dd>",
		"kubectl get workloads -n ml -l kueue.x-k8s.io/job-uid=uid-ml-train",
		"kubectl describe workload job-train-a1 -n ml",
		"kubectl describe clusterqueue gpu-cq",
		"kubectl get localqueue -n ml\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("live report lacks %q:\n%s", want, page)
		}
	}

	board := failing.NewBoard(0, 0)
	board.JobChanged("ml/train", s, since.Add(time.Minute))
	h := failingPageOf(t, Config{Board: board, Runbooks: queueRunbooks})
	if p := h.page(since.Add(30*time.Minute), ""); len(p.Rows) != 0 {
		t.Errorf("listed after 30m of waiting: %+v", p.Rows)
	}
	h.cfg.Now = func() time.Time { return since.Add(61 * time.Minute) }
	body := serveFailing(t, h, "")
	for _, want := range []string{
		"<td class=\"when\">" + since.UTC().Format(pageTimeFormat) + "<br><span class=\"kind\">1h01m ago</span></td>",
		"<strong>stuck: waiting for admission</strong><span class=\"kind\">" + evicted + "</span>",
		"href=\"runbooks/KubeJobWaitingForAdmission?job_name=train&amp;namespace=ml\"",
		"<td class=\"cause\">in LocalQueue team-a (ClusterQueue gpu-cq): InsufficientQuota — couldn&#39;t assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed</td>",
		"<span>1 stuck</span>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/failing lacks %q:\n%s", want, body)
		}
	}
}
