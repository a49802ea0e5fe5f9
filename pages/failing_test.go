package pages

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// failingFixture is a board and the CronJobs of a small cluster:
// failed, failing, stuck and healthy Jobs, a CronJob whose newest run
// failed, and the order the page must list them in.
func failingFixture(t *testing.T) (*failing.Board, []cronjob.Summary, []string) {
	t.Helper()
	b := failing.NewBoard(0, 0)
	add := func(j *fixture.JobBuilder, pods ...*fixture.PodBuilder) *job.Summary {
		s := summaries.Of(j, pods)
		b.JobChanged(s.Namespace+"/"+s.Name, s, summaries.Now)
		return s
	}
	// Failed for good at 100: command not found.
	report := fixture.Job("batch", "report").BackoffLimit(1).Command("/app/run").Started(0).Status(0, 0, 0, 2).Failed("BackoffLimitExceeded", 100)
	add(report, fixture.Pod(report.J, "a", 0).FailedWith("app", 127, "Error", 40), fixture.Pod(report.J, "b", 50).FailedWith("app", 127, "Error", 100))
	// Still retrying after an OOM kill at 300.
	train := fixture.Job("ml", "train").BackoffLimit(4).MemoryLimit("app", "256Mi").Started(0).Status(1, 0, 0, 1)
	add(train, fixture.Pod(train.J, "a", 0).FailedWith("app", 137, "OOMKilled", 300), fixture.Pod(train.J, "b", 320).Running(330))
	// Pods refused by a ResourceQuota, last at 200.
	blocked := fixture.Job("quota", "blocked").Started(0)
	s := summaries.Of(blocked, nil, fixture.FailedCreate(blocked.J, "q", `pods "blocked-x" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2`, 4, 200))
	b.JobChanged("quota/blocked", s, summaries.Now)
	// An image that cannot be pulled since the start, at 0.
	pull := fixture.Job("web", "pull").Started(0).Status(1, 0, 0, 0)
	add(pull, fixture.Pod(pull.J, "a", 0).Waiting("ImagePullBackOff"))
	// Not listed: running fine, succeeded after a retry, suspended.
	ok := fixture.Job("batch", "ok").Started(0).Status(1, 1, 0, 0)
	add(ok, fixture.Pod(ok.J, "a", 0).Running(5))
	flaky := fixture.Job("batch", "flaky").Started(0).Status(0, 0, 1, 1).Complete(60)
	add(flaky, fixture.Pod(flaky.J, "a", 0).FailedWith("app", 1, "Error", 10), fixture.Pod(flaky.J, "b", 25).Succeeded(60))
	add(fixture.Job("batch", "paused").Suspend())

	// A daily CronJob whose newest run failed at 500 (OOM); its next run
	// is due tomorrow, so it is not missed.
	run := fixture.Job("batch", "nightly-29000000").OwnedByCronJob("nightly").BackoffLimit(0).MemoryLimit("app", "1Gi").Started(400).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 500)
	runSummary := add(run, fixture.Pod(run.J, "a", 400).FailedWith("app", 137, "OOMKilled", 500))
	cj := cronjob.NewRecord(fixture.CronJob("batch", "nightly", "0 12 * * *").LastScheduled(400).J)
	crons := []cronjob.Summary{cronjob.Summarize("batch", "nightly", cj, []cronjob.Run{cronjob.RunOf(runSummary)}, cronjob.Memory{}, summaries.Now)}
	return b, crons, []string{"Job batch/nightly-29000000", "CronJob batch/nightly", "Job ml/train", "Job quota/blocked", "Job batch/report", "Job web/pull"}
}

func rowName(r failingRow) string {
	kind := "Job"
	if r.CronJobRow {
		kind = "CronJob"
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// failingPageOf is the failing-now page of cfg.
func failingPageOf(t *testing.T, cfg Config) *failingHandler {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p.failing
}

// cronList is a CronJobSource of the CronJobs given.
type cronList []cronjob.Summary

func (l cronList) Summary(key string, _ time.Time) (cronjob.Summary, bool) {
	for _, cs := range l {
		if cs.Namespace+"/"+cs.Name == key {
			return cs, true
		}
	}
	return cronjob.Summary{}, false
}

func (l cronList) Summaries(time.Time) []cronjob.Summary { return l }

// TestFailingPageListsNewestFirst: the page lists the failed, failing and
// stuck Jobs and the CronJob whose newest run failed, newest first, each
// with its state, cause and the runbook page that shows its live report;
// healthy, complete and suspended Jobs are not listed.
func TestFailingPageListsNewestFirst(t *testing.T) {
	board, crons, order := failingFixture(t)
	h := failingPageOf(t, Config{Board: board, CronJobs: cronList(crons), Runbooks: runbooks.FS, MetricsPath: "metrics"})
	p := h.page(summaries.Now, "")
	var got []string
	for _, r := range p.Rows {
		got = append(got, rowName(r))
	}
	if strings.Join(got, "\n") != strings.Join(order, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(order, "\n"))
	}
	if p.Total != len(order) || p.More != 0 || p.Counts["failed"] != 3 || p.Counts["failing"] != 1 || p.Counts["stuck"] != 2 {
		t.Errorf("total %d, more %d, counts %v", p.Total, p.More, p.Counts)
	}
	want := map[string]struct{ state, cause, report string }{
		"Job batch/nightly-29000000": {"failed: BackoffLimitExceeded", "container app: memory limit 1Gi hit",
			"runbooks/KubeJobBackoffLimitExceeded?job_name=nightly-29000000&namespace=batch"},
		"CronJob batch/nightly": {"newest run failed (1 in a row)", "its newest run nightly-29000000 failed (BackoffLimitExceeded): container app: memory limit 1Gi hit",
			"runbooks/KubeCronJobLastRunFailed?cronjob=nightly&namespace=batch"},
		"Job ml/train": {"failing, retrying: 1 failures, fails for good at 5", "container app: memory limit 256Mi hit",
			"runbooks/KubeJobOOMKilled?job_name=train&namespace=ml"},
		"Job quota/blocked": {"stuck: its pods are refused", "the API server refuses its pods (Quota): a ResourceQuota",
			"runbooks/KubeJobCannotCreatePods?job_name=blocked&namespace=quota"},
		"Job batch/report": {"failed: BackoffLimitExceeded", "container app: exit 127: the command was not found",
			"runbooks/KubeJobBackoffLimitExceeded?job_name=report&namespace=batch"},
		"Job web/pull": {"stuck: pods not starting", "1 pod(s) waiting: the image cannot be pulled (ImagePullBackOff)",
			"runbooks/KubeJobPodsStuckWaiting?job_name=pull&namespace=web"},
	}
	for _, r := range p.Rows {
		w := want[rowName(r)]
		if !strings.HasPrefix(r.State, w.state) || !strings.HasPrefix(r.Cause, w.cause) || r.Report != w.report {
			t.Errorf("%s:\n state  %q\n cause  %q\n report %q\nwant prefixes %q, %q and report %q", rowName(r), r.State, r.Cause, r.Report, w.state, w.cause, w.report)
		}
	}
	if r := p.Rows[0]; !r.Since.Equal(fixture.T0.Add(500*time.Second)) || r.Age != "8m" || r.CronJob != "nightly" {
		t.Errorf("newest row since %s, age %q, CronJob %q", r.Since, r.Age, r.CronJob)
	}

	// The HTML has the rows in that order, the links as attributes.
	body := serveFailing(t, h, "")
	last := -1
	for _, w := range order {
		name := w[strings.Index(w, "/")+1:]
		i := strings.Index(body, "<strong>"+name+"</strong>")
		if i <= last {
			t.Errorf("%s at %d, after the previous row at %d", w, i, last)
		}
		last = i
	}
	if !strings.Contains(body, `href="runbooks/KubeJobOOMKilled?job_name=train&amp;namespace=ml"`) {
		t.Errorf("no report link for ml/train:\n%s", body)
	}

	// A Job that recovers leaves the page; one deleted too.
	healed := fixture.Job("ml", "train").BackoffLimit(4).Started(0).Status(0, 0, 1, 1).Complete(900)
	board.JobChanged("ml/train", summaries.Of(healed, []*fixture.PodBuilder{fixture.Pod(healed.J, "a", 0).FailedWith("app", 137, "OOMKilled", 300), fixture.Pod(healed.J, "b", 320).Succeeded(900)}), summaries.Now)
	board.JobGone("web/pull")
	p = h.page(summaries.Now, "")
	for _, r := range p.Rows {
		if n := rowName(r); n == "Job ml/train" || n == "Job web/pull" {
			t.Errorf("%s still listed", n)
		}
	}
	if p.Total != len(order)-2 {
		t.Errorf("%d rows after two left, want %d", p.Total, len(order)-2)
	}
}

func serveFailing(t *testing.T, h http.Handler, query string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/failing"+query, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/failing%s: %d %s", query, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestFailingPageCap: with more rows than the page holds, it lists the
// newest FailingPageMax and counts the rest; a namespace filter narrows
// the rows and the counts.
func TestFailingPageCap(t *testing.T) {
	const jobs = FailingPageMax + 150
	b := failing.NewBoard(0, 0)
	for i := 0; i < jobs; i++ {
		ns := "even"
		if i%2 == 1 {
			ns = "odd"
		}
		j := fixture.Job(ns, fmt.Sprintf("job-%03d", i)).BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", i)
		s := summaries.Of(j, []*fixture.PodBuilder{fixture.Pod(j.J, "a", 0).FailedWith("app", 1, "Error", i)})
		b.JobChanged(ns+"/"+j.J.Name, s, summaries.Now)
	}
	h := failingPageOf(t, Config{Board: b})
	p := h.page(summaries.Now, "")
	if len(p.Rows) != FailingPageMax || p.Total != jobs || p.More != jobs-FailingPageMax || p.Counts["failed"] != jobs {
		t.Fatalf("%d rows, total %d, more %d, counts %v", len(p.Rows), p.Total, p.More, p.Counts)
	}
	for i, r := range p.Rows {
		if want := fmt.Sprintf("job-%03d", jobs-1-i); r.Name != want {
			t.Fatalf("row %d is %s, want %s (the newest, in order)", i, r.Name, want)
		}
	}
	body := serveFailing(t, h, "")
	if len(body) > 96<<10 {
		t.Errorf("the page of %d rows is %d bytes", FailingPageMax, len(body))
	}
	if n := strings.Count(body, "<tr class="); n != FailingPageMax {
		t.Errorf("%d rows in the HTML, want %d", n, FailingPageMax)
	}
	if !strings.Contains(body, fmt.Sprintf("… and %d more, older", jobs-FailingPageMax)) || !strings.Contains(body, fmt.Sprintf("%d failed", jobs)) {
		t.Errorf("the page does not count the rest")
	}

	p = h.page(summaries.Now, "odd")
	if p.Total != jobs/2 || len(p.Rows) != FailingPageMax || p.Rows[0].Name != fmt.Sprintf("job-%03d", jobs-1) {
		t.Errorf("namespace odd: total %d, %d rows, first %s", p.Total, len(p.Rows), p.Rows[0].Name)
	}
	for _, r := range p.Rows {
		if r.Namespace != "odd" {
			t.Fatalf("namespace odd lists %s/%s", r.Namespace, r.Name)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/failing?namespace=%3Cscript%3E", nil))
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("invalid namespace: %d %q", rec.Code, rec.Body)
	}
}

// TestFailingPageEscapes: names and texts a tenant wrote reach the page as
// text and as query values, never as markup, whatever they hold (the API
// server's validation is not relied on).
func TestFailingPageEscapes(t *testing.T) {
	const evilNS, evilName, evilContainer = `ns"><script>alert(1)</script>`, `j'><img src=x onerror=alert(2)>&job_name=other`, `app<b onmouseover=alert(3)>`
	// The pod records keep no controller reference to a name no Job can
	// have: the Job is summarized under a valid name, then named so.
	j := fixture.Job("ns", "j").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 10)
	j.J.Spec.Template.Spec.Containers[0].Name = evilContainer
	s := summaries.Of(j, []*fixture.PodBuilder{fixture.Pod(j.J, "a", 0).FailedWith(evilContainer, 127, "Error", 10)})
	s.Namespace, s.Name = evilNS, evilName
	b := failing.NewBoard(0, 0)
	b.JobChanged(evilNS+"/"+evilName, s, summaries.Now)
	crons := []cronjob.Summary{{Namespace: evilNS, Name: `<script>cron</script>`, LastFailure: summaries.Now, FailureReason: `<i>why</i>`,
		LastRun: &cronjob.Run{Name: `<u>run</u>`, Failed: true, Finished: summaries.Now, Reason: `<i>why</i>`}}}
	h := failingPageOf(t, Config{Board: b, CronJobs: cronList(crons), Runbooks: runbooks.FS})
	body := serveFailing(t, h, "")
	if n := strings.Count(body, "<tr class="); n != 2 {
		t.Fatalf("%d rows, want the Job and the CronJob:\n%s", n, body)
	}
	for _, bad := range []string{"<script>", "<img", "<b ", "<i>", "<u>", "&job_name=other"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped:\n%s", bad, body)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "container app&lt;b onmouseover=alert(3)&gt;: exit 127"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	// The report link carries the names as query values that decode to
	// them exactly.
	m := regexp.MustCompile(`href="(runbooks/KubeJobBackoffLimitExceeded\?[^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no report link:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("namespace") != evilNS || q.Get("job_name") != evilName || len(q) != 2 {
		t.Errorf("link %q decodes to %v", m[1], q)
	}
}

// TestFailingPageEmptyShardedNotReady: with nothing failing the page says
// so (no table); a shard says it lists its own Jobs only; caches not yet
// synced are said to make the list incomplete.
func TestFailingPageEmptyShardedNotReady(t *testing.T) {
	h := failingPageOf(t, Config{Board: failing.NewBoard(0, 0), JobCount: func() int { return 42 }})
	body := serveFailing(t, h, "")
	if !strings.Contains(body, "Nothing has failed, is failing or is stuck now.") || strings.Contains(body, "<table") ||
		!strings.Contains(body, "cache of 42 Jobs") || strings.Contains(body, "shard") || strings.Contains(body, "not complete") {
		t.Errorf("empty page:\n%s", body)
	}
	h.cfg.Shard = watcher.Shard{Index: 1, Total: 3}
	h.cfg.Ready = func() error { return fmt.Errorf("jobs not synced") }
	body = serveFailing(t, h, "?namespace=team-a")
	for _, want := range []string{"This replica is shard 1 of 3 (<code>--watch.shard=1</code>): it lists only the Jobs and CronJobs of its shard",
		"not complete yet (jobs not synced)", "Nothing has failed, is failing or is stuck in namespace <code>team-a</code> now."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
