package pages

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

func keyOf(s *job.Summary) string { return s.Namespace + "/" + s.Name }

// rowsOf are the page's rows as "kind ns/name", deleted Jobs marked.
func rowsOf(p failingPage) []string {
	var out []string
	for _, r := range p.Rows {
		n := rowName(r)
		if r.Deleted != "" {
			n = "deleted " + n + " " + string(r.UID)
		}
		out = append(out, n)
	}
	return out
}

// TestDeletedFailedJobKept: a Job deleted after it failed stays on the
// failing-now page as deleted (when, and whether its TTL did it), with the
// cause judged from its last Summary and a link to its kept report; its
// row as a live Job goes. A Job deleted that succeeded, or that was still
// retrying, leaves nothing.
func TestDeletedFailedJobKept(t *testing.T) {
	b := failing.NewBoard(0, 0)
	h := failingPageOf(t, Config{Board: b, Runbooks: runbooks.FS, Now: func() time.Time { return summaries.At(480) }})

	// Deleted by its TTL of 0 the moment it failed, at 100.
	ttl0, ttl0Pods := summaries.FailedJob("batch", "report", 100)
	ttl0.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	live := summaries.Of(ttl0, ttl0Pods)
	b.JobChanged(keyOf(live), live, summaries.At(100))
	b.JobDeleted(keyOf(live), summaries.Last(ttl0, ttl0Pods, summaries.At(100)), summaries.At(100))
	// A worker that summarized the Job before it went reports it once
	// more, before the JobGone that follows: its deleted row stands for
	// it, not a second one.
	b.JobChanged(keyOf(live), live, summaries.At(100))
	// Deleted at 200, 50s after it failed, although its TTL was 600.
	early, earlyPods := summaries.FailedJob("batch", "early", 150)
	early.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](600)
	b.JobDeleted("batch/early", summaries.Last(early, earlyPods, summaries.At(200)), summaries.At(200))
	// Deleted by hand at 300, without a TTL.
	byHand, byHandPods := summaries.FailedJob("web", "by-hand", 250)
	b.JobDeleted("web/by-hand", summaries.Last(byHand, byHandPods, summaries.At(300)), summaries.At(300))
	// Not kept: succeeded after a retry; deleted while retrying.
	flaky := fixture.Job("batch", "flaky").Started(0).Status(0, 0, 1, 1).Complete(60)
	b.JobDeleted("batch/flaky", summaries.Last(flaky, []*fixture.PodBuilder{fixture.Pod(flaky.J, "a", 0).FailedWith("app", 1, "Error", 10), fixture.Pod(flaky.J, "b", 25).Succeeded(60)}, summaries.At(70)), summaries.At(70))
	retrying := fixture.Job("ml", "train").BackoffLimit(4).Started(0).Status(1, 0, 0, 1)
	retryingPods := []*fixture.PodBuilder{fixture.Pod(retrying.J, "a", 0).FailedWith("app", 137, "OOMKilled", 300), fixture.Pod(retrying.J, "b", 320).Running(330)}
	b.JobChanged("ml/train", summaries.Of(retrying, retryingPods), summaries.At(330))
	b.JobDeleted("ml/train", summaries.Last(retrying, retryingPods, summaries.At(340)), summaries.At(340))
	b.JobGone("ml/train")

	if n := b.DeletedKept(summaries.At(400)); n != 3 {
		t.Errorf("%d deleted Jobs kept, want the 3 that failed", n)
	}
	p := h.page(summaries.At(480), "")
	want := []string{"deleted Job web/by-hand uid-web-by-hand", "deleted Job batch/early uid-batch-early", "deleted Job batch/report uid-batch-report"}
	if got := rowsOf(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, w := range []struct{ deleted, cause, report string }{
		{"deleted 3m ago, not by its TTL: by hand or another controller", "container app: exit 127: the command was not found",
			"runbooks/KubeJobBackoffLimitExceeded?job_name=by-hand&job_uid=uid-web-by-hand&namespace=web"},
		{"deleted 4m ago, not by its TTL (ttlSecondsAfterFinished=600 had not passed): by hand or another controller", "container app: exit 127",
			"runbooks/KubeJobBackoffLimitExceeded?job_name=early&job_uid=uid-batch-early&namespace=batch"},
		{"deleted 6m ago by its TTL (ttlSecondsAfterFinished=0)", "container app: exit 127",
			"runbooks/KubeJobBackoffLimitExceeded?job_name=report&job_uid=uid-batch-report&namespace=batch"},
	} {
		r := p.Rows[i]
		if r.Deleted != w.deleted || !strings.HasPrefix(r.Cause, w.cause) || r.Report != w.report || r.State != "failed: BackoffLimitExceeded" || r.Health != diagnose.Failed {
			t.Errorf("%s:\n deleted %q\n cause   %q\n report  %q\n state   %q\nwant %q, cause prefix %q, report %q", rowName(r), r.Deleted, r.Cause, r.Report, r.State, w.deleted, w.cause, w.report)
		}
	}
	if !p.Rows[2].Since.Equal(summaries.At(100)) {
		t.Errorf("the deleted Job is listed since %s, want its failure at %s", p.Rows[2].Since, summaries.At(100))
	}
	body := serveFailing(t, h, "")
	for _, want := range []string{
		`<span class="kind">deleted Job</span>`,
		`<a href="runbooks/KubeJobBackoffLimitExceeded?job_name=report&amp;job_uid=uid-batch-report&amp;namespace=batch" title="kept report"><strong>report</strong></a>`,
		`<span class="deleted">deleted `, "failed Jobs deleted since stay listed for 1h00m after their deletion",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

// TestDeletedJobRecreated: a Job re-created under the name of a deleted
// failed one is another Job (another UID): each keeps its row, neither
// overwrites the other's report, whatever order the watcher reports the
// deletion and the new Job in.
func TestDeletedJobRecreated(t *testing.T) {
	b := failing.NewBoard(0, 0)
	h := failingPageOf(t, Config{Board: b, Runbooks: runbooks.FS})
	first, firstPods := summaries.FailedJob("batch", "report", 100)
	second, _ := summaries.FailedJob("batch", "report", 300)
	second.J.UID = "uid-batch-report-2"
	secondPods := []*fixture.PodBuilder{fixture.Pod(second.J, "a", 200).FailedWith("app", 137, "OOMKilled", 300)}
	b.JobChanged("batch/report", summaries.Of(first, firstPods), summaries.At(100))
	// The worker saw the new Job before the handler reported the
	// deletion: the deletion does not take the new Job's row.
	b.JobChanged("batch/report", summaries.Of(second, secondPods), summaries.At(300))
	b.JobDeleted("batch/report", summaries.Last(first, firstPods, summaries.At(150)), summaries.At(300))

	p := h.page(summaries.At(400), "")
	want := []string{"Job batch/report", "deleted Job batch/report uid-batch-report"}
	if got := rowsOf(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p.Rows[0].Report != "runbooks/KubeJobBackoffLimitExceeded?job_name=report&namespace=batch" ||
		p.Rows[1].Report != "runbooks/KubeJobBackoffLimitExceeded?job_name=report&job_uid=uid-batch-report&namespace=batch" {
		t.Errorf("links %q and %q do not tell the two apart", p.Rows[0].Report, p.Rows[1].Report)
	}
	if !strings.Contains(p.Rows[0].Cause, "OOMKilled") && !strings.Contains(p.Rows[0].Cause, "memory") || !strings.Contains(p.Rows[1].Cause, "exit 127") {
		t.Errorf("causes mixed up: live %q, deleted %q", p.Rows[0].Cause, p.Rows[1].Cause)
	}
	// The second fails and is deleted too: both kept, the newest first.
	b.JobDeleted("batch/report", summaries.Last(second, secondPods, summaries.At(350)), summaries.At(350))
	b.JobGone("batch/report")
	want = []string{"deleted Job batch/report uid-batch-report-2", "deleted Job batch/report uid-batch-report"}
	if got := rowsOf(h.page(summaries.At(400), "")); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for uid, deleted := range map[types.UID]time.Time{"": summaries.At(350), "uid-batch-report": summaries.At(150), "uid-batch-report-2": summaries.At(350)} {
		if e, ok := b.KeptJob("batch", "report", uid, summaries.At(400)); !ok || !e.Kept.Deleted.Equal(deleted) {
			t.Errorf("keptJob(uid %q): deleted %v (%v), want %s", uid, e.Kept, ok, deleted)
		}
	}
	// The same deletion reported twice (a delete event, then a
	// tombstone after a re-list) is one Job.
	b.JobDeleted("batch/report", summaries.Last(second, secondPods, summaries.At(350)), summaries.At(360))
	if n := b.DeletedKept(summaries.At(400)); n != 2 {
		t.Errorf("%d kept after a repeated deletion, want 2", n)
	}
}

// TestDeletedCronJobRunsUnderTheirCronJob: a CronJob's run deleted by its
// history limit the moment it failed is shown once: under its CronJob,
// whose row names it and gives its cause, when the CronJob is listed for
// that failure; as a row of its own otherwise (a later run succeeded, or
// a newer failure is the one its CronJob names), as a run present would
// be.
func TestDeletedCronJobRunsUnderTheirCronJob(t *testing.T) {
	b := failing.NewBoard(0, 0)
	run := fixture.Job("batch", "nightly-29000000").OwnedByCronJob("nightly").BackoffLimit(0).MemoryLimit("app", "1Gi").Started(400).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 500)
	runPods := []*fixture.PodBuilder{fixture.Pod(run.J, "a", 400).FailedWith("app", 137, "OOMKilled", 500)}
	b.JobDeleted("batch/nightly-29000000", summaries.Last(run, runPods, summaries.At(500)), summaries.At(500))
	b.JobGone("batch/nightly-29000000")
	hourly := fixture.Job("batch", "hourly-1").OwnedByCronJob("hourly").BackoffLimit(0).Started(100).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 200)
	hourlyPods := []*fixture.PodBuilder{fixture.Pod(hourly.J, "a", 100).FailedWith("app", 1, "Error", 200)}
	b.JobDeleted("batch/hourly-1", summaries.Last(hourly, hourlyPods, summaries.At(200)), summaries.At(200))

	now := summaries.At(600)
	nightly := cronjob.Summarize("batch", "nightly", cronjob.NewRecord(fixture.CronJob("batch", "nightly", "0 12 * * *").LastScheduled(400).J), nil,
		cronjob.Memory{LastFailure: summaries.At(500), FailureReason: "BackoffLimitExceeded"}, now)
	// A later run of hourly succeeded (and is present): not listed.
	hourlyCron := cronjob.Summarize("batch", "hourly", cronjob.NewRecord(fixture.CronJob("batch", "hourly", "0 * * * *").LastScheduled(0).J),
		[]cronjob.Run{{Name: "hourly-2", OwnerUID: "uid-cron-hourly", Created: summaries.At(300), Finished: summaries.At(400), Succeeded: true}},
		cronjob.Memory{LastFailure: summaries.At(200), FailureReason: "BackoffLimitExceeded"}, now)
	// A failure none of the kept runs is (the exporter did not see it):
	// an earlier kept run does not explain it.
	earlier := fixture.Job("batch", "weekly-1").OwnedByCronJob("weekly").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 40)
	b.JobDeleted("batch/weekly-1", summaries.Last(earlier, []*fixture.PodBuilder{fixture.Pod(earlier.J, "a", 0).FailedWith("app", 1, "Error", 40)}, summaries.At(45)), summaries.At(45))
	weekly := cronjob.Summarize("batch", "weekly", cronjob.NewRecord(fixture.CronJob("batch", "weekly", "0 12 * * 0").LastScheduled(0).J), nil,
		cronjob.Memory{LastFailure: summaries.At(50), FailureReason: "DeadlineExceeded"}, now)
	h := failingPageOf(t, Config{Board: b, CronJobs: cronList{nightly, hourlyCron, weekly}, Runbooks: runbooks.FS})
	p := h.page(now, "")
	want := []string{"CronJob batch/nightly", "deleted Job batch/hourly-1 uid-batch-hourly-1", "CronJob batch/weekly", "deleted Job batch/weekly-1 uid-batch-weekly-1"}
	if got := rowsOf(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := p.Rows[0].Cause; !strings.HasPrefix(c, "its newest run nightly-29000000 failed (BackoffLimitExceeded) and was deleted: container app: memory limit 1Gi hit") {
		t.Errorf("CronJob cause %q", c)
	}
	if c := p.Rows[2].Cause; c != "its newest run failed (DeadlineExceeded)" {
		t.Errorf("the cause of a failure no kept run is: %q", c)
	}
	if r := p.Rows[1]; r.CronJob != "hourly" {
		t.Errorf("the hourly run's row does not name its CronJob: %+v", r)
	}

	// The CronJob's page shows the deleted run's kept report.
	rb := newTestRunbooks(t, Config{Runbooks: runbooks.FS, Jobs: &fakeJobs{}, CronJobs: cronList{nightly}, Board: b}, now, nil)
	page := serveRunbook(t, rb, "/runbooks/KubeCronJobLastRunFailed?namespace=batch&cronjob=nightly")
	for _, want := range []string{"Its newest failed run, <code>nightly-29000000</code>, was deleted at 2026-11-01 12:08:20 UTC, not by its TTL: by hand or another controller",
		"Job batch/nightly-29000000 (CronJob nightly): FAILED (BackoffLimitExceeded)"} {
		if !strings.Contains(page, want) {
			t.Errorf("CronJob page lacks %q:\n%s", want, page)
		}
	}
}

// fakeJobs is a JobSource of the Jobs given, on shard 0 of shards (0:
// not sharded).
type fakeJobs struct {
	jobs   map[string]job.Summary
	shards int
}

func (f *fakeJobs) Summary(key string) (job.Summary, bool) { s, ok := f.jobs[key]; return s, ok }
func (f *fakeJobs) Version(key string) (string, bool) {
	s, ok := f.jobs[key]
	return string(s.UID), ok
}
func (f *fakeJobs) ShardOf(string) (int, int, bool) { return 0, max(f.shards, 1), true }

// eventsSeen records the Jobs whose events a page read.
type eventsSeen struct {
	mu   sync.Mutex
	uids []types.UID
}

func (e *eventsSeen) read(_ context.Context, s job.Summary) ([]diagnose.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uids = append(e.uids, s.UID)
	return []diagnose.Event{{Object: "job/" + s.Name, Type: "Warning", Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}, nil
}

// newTestRunbooks are the runbook pages of cfg, judged at now, reading
// events from events (nil: none).
func newTestRunbooks(t *testing.T, cfg Config, now time.Time, events *eventsSeen) *runbookHandler {
	t.Helper()
	if events != nil {
		cfg.Events = events.read
	}
	cfg.Now = func() time.Time { return now }
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p.runbooks
}

func serveRunbook(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestRunbookPageOfDeletedJob: the runbook page of a Job deleted after it
// failed shows its kept report, headed by when it was deleted and whether
// by its TTL, with its events read as for a live Job; with job_uid it
// shows that Job even when another of its name exists, and without,
// the live one with a link to the deleted one's. Once expired, the page
// says nothing is kept.
func TestRunbookPageOfDeletedJob(t *testing.T) {
	b := failing.NewBoard(0, 0)
	j, pods := summaries.FailedJob("batch", "report", 100)
	j.J.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
	b.JobDeleted("batch/report", summaries.Last(j, pods, summaries.At(100)), summaries.At(100))
	now := summaries.At(400)
	events := &eventsSeen{}
	src := &fakeJobs{jobs: map[string]job.Summary{}}
	rb := newTestRunbooks(t, Config{Runbooks: runbooks.FS, Jobs: src, Board: b}, now, events)

	page := serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report")
	for _, want := range []string{
		"<h2>This Job was deleted at 2026-11-01 12:01:40 UTC, by its TTL (ttlSecondsAfterFinished=0)</h2>",
		"The exporter's last view of Job <code>batch/report</code> (UID <code>uid-batch-report</code>), kept since its deletion",
		"Job batch/report: FAILED (BackoffLimitExceeded)", "exit 127", "Job has reached the specified backoff limit",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "not in the exporter") || strings.Contains(page, "This Job now") {
		t.Errorf("the deleted Job's page reads as a live or missing Job:\n%s", page)
	}
	if len(events.uids) != 1 || events.uids[0] != "uid-batch-report" {
		t.Errorf("events read for %v, want the deleted Job's", events.uids)
	}

	// A Job of the same name exists again, running.
	again := fixture.Job("batch", "report").Started(300).Status(1, 1, 0, 0)
	again.J.UID = "uid-batch-report-2"
	src.jobs["batch/report"] = *summaries.Of(again, []*fixture.PodBuilder{fixture.Pod(again.J, "a", 300).Running(310)})
	page = serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report")
	if !strings.Contains(page, "<h2>This Job now</h2>") || strings.Contains(page, "This Job was deleted") ||
		!strings.Contains(page, `An earlier Job of this name failed and was deleted at 2026-11-01 12:01:40 UTC: <a href="?job_name=report&amp;job_uid=uid-batch-report&amp;namespace=batch">its kept report</a>`) {
		t.Errorf("page of the re-created Job:\n%s", page)
	}
	page = serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report&job_uid=uid-batch-report")
	if !strings.Contains(page, "This Job was deleted at") || strings.Contains(page, "This Job now") {
		t.Errorf("job_uid of the deleted Job does not open its kept report:\n%s", page)
	}
	page = serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report&job_uid=uid-batch-report-2")
	if !strings.Contains(page, "This Job now") || strings.Contains(page, "This Job was deleted") {
		t.Errorf("job_uid of the live Job does not open its live report:\n%s", page)
	}

	// An hour after the deletion, nothing is kept.
	delete(src.jobs, "batch/report")
	rb.cfg.Now = func() time.Time { return summaries.At(100).Add(time.Hour) }
	page = serveRunbook(t, rb, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report")
	if !strings.Contains(page, "Job <code>batch/report</code> is not in the exporter's cache now, and no evidence of it is kept") || strings.Contains(page, "This Job was deleted") {
		t.Errorf("expired evidence:\n%s", page)
	}
	for _, bad := range []string{"job_uid=%3Cscript%3E", "job_uid=" + strings.Repeat("a", 129)} {
		rec := httptest.NewRecorder()
		rb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/runbooks/KubeJobBackoffLimitExceeded?namespace=batch&job_name=report&"+bad, nil))
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %s %q", bad, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// failedAndDeletedRunbook stands for the alert's runbook, with the
// placeholders its commands use.
var failedAndDeletedRunbook = fstest.MapFS{
	"KubeJobFailedAndDeleted.md":     {Data: []byte("# KubeJobFailedAndDeleted\n\n```\nkubectl get events -n <namespace> | grep <owner-name>\n```\n")},
	"KubeJobBackoffLimitExceeded.md": {Data: []byte("# KubeJobBackoffLimitExceeded\n\n```\nkubectl describe job <job-name> -n <namespace>\n```\n")},
}

// TestOwnerPageListsDeletedJobs: the KubeJobFailedAndDeleted page of an
// owner lists its deleted failed Jobs in the namespace, newest deletion
// first, at most ownerListMax, each with its cause and a link to its own
// report, and opens the newest's report; other owners, namespaces and
// CronJob runs are not listed.
func TestOwnerPageListsDeletedJobs(t *testing.T) {
	b := failing.NewBoard(0, 0)
	const runs = ownerListMax + 3
	for i := range runs {
		j, pods := summaries.FailedJob("ci", fmt.Sprintf("build-%02d", i), 10*i)
		j.J.GenerateName = "build-"
		b.JobDeleted("ci/"+j.J.Name, summaries.Last(j, pods, summaries.At(10*i+5)), summaries.At(10*i+5))
	}
	other, otherPods := summaries.FailedJob("ci", "deploy", 100) // its own owner
	b.JobDeleted("ci/deploy", summaries.Last(other, otherPods, summaries.At(500)), summaries.At(500))
	elsewhere, elsewherePods := summaries.FailedJob("qa", "build-xx", 100)
	elsewhere.J.GenerateName = "build-"
	b.JobDeleted("qa/build-xx", summaries.Last(elsewhere, elsewherePods, summaries.At(500)), summaries.At(500))
	run := fixture.Job("ci", "build-29000000").OwnedByCronJob("build").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 400)
	b.JobDeleted("ci/build-29000000", summaries.Last(run, []*fixture.PodBuilder{fixture.Pod(run.J, "a", 0).FailedWith("app", 1, "Error", 400)}, summaries.At(600)), summaries.At(600))

	rb := newTestRunbooks(t, Config{Runbooks: failedAndDeletedRunbook, Jobs: &fakeJobs{shards: 2}, Board: b}, summaries.At(700), nil)
	page := serveRunbook(t, rb, "/runbooks/KubeJobFailedAndDeleted?namespace=ci&owner_name=build")
	if !strings.Contains(page, "kubectl get events -n ci | grep build") {
		t.Errorf("placeholders not filled in:\n%s", page)
	}
	items := regexp.MustCompile(`<li><a href="([^"]*)"><code>([^<]*)</code></a> failed \(BackoffLimitExceeded\) at [^;]*; deleted at [^,]*, not by its TTL: by hand or another controller\. container app: exit 127`).FindAllStringSubmatch(page, -1)
	if len(items) != ownerListMax {
		t.Fatalf("%d Jobs listed, want %d:\n%s", len(items), ownerListMax, page)
	}
	for i, m := range items {
		name := fmt.Sprintf("build-%02d", runs-1-i)
		if m[2] != name {
			t.Errorf("item %d is %s, want %s (newest deletion first)", i, m[2], name)
		}
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil || u.Path != "KubeJobBackoffLimitExceeded" || u.Query().Get("job_name") != name || u.Query().Get("job_uid") != "uid-ci-"+name || u.Query().Get("namespace") != "ci" {
			t.Errorf("item %d links %q", i, m[1])
			continue
		}
		// The link, resolved against the page, opens that Job's report.
		if i == len(items)-1 {
			linked := serveRunbook(t, rb, "/runbooks/"+u.String())
			if !strings.Contains(linked, "Job ci/"+name+": FAILED") || !strings.Contains(linked, "This Job was deleted at") {
				t.Errorf("the link of %s opens:\n%s", name, linked)
			}
		}
	}
	for _, want := range []string{"… and 3 more, deleted earlier.", "Each of the 2 shards keeps the Jobs it reports",
		fmt.Sprintf("<h2>This Job was deleted at %s UTC, not by its TTL", summaries.At(10*(runs-1)+5).Format(pageTimeFormat)),
		fmt.Sprintf("Job ci/build-%02d: FAILED (BackoffLimitExceeded)", runs-1)} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	for _, absent := range []string{"deploy", "build-xx", "build-29000000"} {
		if strings.Contains(page, absent) {
			t.Errorf("the owner's page lists %s", absent)
		}
	}

	page = serveRunbook(t, rb, "/runbooks/KubeJobFailedAndDeleted?namespace=ci&owner_name=Nightly_Build.v2")
	if !strings.Contains(page, "This exporter keeps no failed Job of owner <code>Nightly_Build.v2</code> in namespace <code>ci</code> that was deleted: it keeps them for 1h00m") {
		t.Errorf("page of an owner with nothing kept:\n%s", page)
	}
	for _, bad := range []string{"%3Cscript%3E", "-build", "build-", strings.Repeat("a", 254), "a%20b"} {
		rec := httptest.NewRecorder()
		rb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/runbooks/KubeJobFailedAndDeleted?namespace=ci&owner_name="+bad, nil))
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("owner_name %q: %d %s %q", bad, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	serveRunbook(t, rb, "/runbooks/KubeJobFailedAndDeleted?namespace=ci&owner_name="+strings.Repeat("a", 253))
}

// TestDeletedJobsEscaped: what a tenant wrote (names, container names,
// an owner label's value) reaches the failing-now page and the runbook
// pages of deleted Jobs as text, never as markup, whatever the API
// server's validation let through.
func TestDeletedJobsEscaped(t *testing.T) {
	const evilNS, evilName, evilContainer = `ns"><script>alert(1)</script>`, `j'><img src=x onerror=alert(2)>&job_uid=x`, `app<b onmouseover=alert(3)>`
	b := failing.NewBoard(0, 0)
	// The pod records keep no controller reference to a name or UID no
	// Job can have: the Jobs are summarized under valid ones, then named
	// so.
	j := fixture.Job("ns", "j").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 10)
	j.J.Spec.Template.Spec.Containers[0].Name = evilContainer
	s := summaries.Last(j, []*fixture.PodBuilder{fixture.Pod(j.J, "a", 0).FailedWith(evilContainer, 127, "Error", 10)}, summaries.At(20))
	s.Namespace, s.Name, s.UID = evilNS, evilName, `uid"><i>u</i>`
	s.Owner = job.Owner{Kind: job.OwnerKindJob, Name: "team"}
	// A Job of the valid namespace "team-a" with a hostile name.
	t2 := fixture.Job("team-a", "j").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 10)
	t2.J.Spec.Template.Spec.Containers[0].Name = evilContainer
	s2 := summaries.Last(t2, []*fixture.PodBuilder{fixture.Pod(t2.J, "a", 0).FailedWith(evilContainer, 127, "Error", 10)}, summaries.At(20))
	s2.Name = evilName
	s2.Owner = job.Owner{Kind: job.OwnerKindJob, Name: "team"}
	b.JobDeleted(keyOf(s), s, summaries.At(20))
	b.JobDeleted(keyOf(s2), s2, summaries.At(20))

	body := serveFailing(t, failingPageOf(t, Config{Board: b, Runbooks: runbooks.FS, Now: func() time.Time { return summaries.At(30) }}), "")
	rb := newTestRunbooks(t, Config{Runbooks: runbooks.FS, Jobs: &fakeJobs{}, Board: b}, summaries.At(30), nil)
	ownerRB := newTestRunbooks(t, Config{Runbooks: failedAndDeletedRunbook, Jobs: &fakeJobs{}, Board: b}, summaries.At(30), nil)
	owner := serveRunbook(t, ownerRB, "/runbooks/KubeJobFailedAndDeleted?namespace=team-a&owner_name=team")
	if !strings.Contains(owner, "exit 127") {
		t.Fatalf("owner page lists nothing:\n%s", owner)
	}
	for name, page := range map[string]string{"/failing": body, "owner page": owner} {
		for _, bad := range []string{"<script>", "<img", "<b ", "<i>", "&job_uid=x"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q unescaped:\n%s", name, bad, page)
			}
		}
		if !strings.Contains(page, "&lt;img src=x onerror=alert(2)&gt;") || !strings.Contains(page, "app&lt;b onmouseover=alert(3)&gt;") {
			t.Errorf("%s lacks the names as text:\n%s", name, page)
		}
	}
	// The links carry the names as query values that decode to them
	// exactly.
	for _, m := range regexp.MustCompile(`href="(runbooks/KubeJobBackoffLimitExceeded\?[^"]*)"`).FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("job_name") != evilName || len(q) != 3 || (q.Get("namespace") != evilNS && q.Get("namespace") != "team-a") {
			t.Errorf("link %q decodes to %v", m[1], q)
		}
	}
	// A hostile UID is refused as a query value (400, in plain text).
	rec := httptest.NewRecorder()
	rb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/runbooks/KubeJobBackoffLimitExceeded?namespace=team-a&job_name=x&job_uid="+url.QueryEscape(string(s.UID)), nil))
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("hostile job_uid: %d %q", rec.Code, rec.Body)
	}
}
