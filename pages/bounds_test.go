package pages

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture/summaries"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// panickingJobs is a JobSource whose Summary waits for release and then
// panics, once; later calls return the Job.
type panickingJobs struct {
	release chan struct{}
	calls   int // guarded by the bubble's order: only the loaders write it
}

func (p *panickingJobs) Summary(key string) (job.Summary, bool) {
	p.calls++
	if p.calls == 1 {
		<-p.release
		panic("summary loader broke")
	}
	return job.Summary{Namespace: "ns", Name: "j"}, true
}
func (p *panickingJobs) Version(string) (string, bool)   { return "1", true }
func (p *panickingJobs) ShardOf(string) (int, int, bool) { return 0, 1, true }

// TestSummaryCachePanicReleasesWaiters: a loader that panics releases the
// requests waiting for the same Job with an error, its own request panics
// on (the server answers 500), and nothing is cached: the next request
// computes the summary afresh.
func TestSummaryCachePanicReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &panickingJobs{release: make(chan struct{})}
		c := newSummaryCache(src)
		loaderPanicked := make(chan any, 1)
		go func() {
			defer func() { loaderPanicked <- recover() }()
			c.get("ns/j")
		}()
		synctest.Wait() // the loader waits inside Summary, its entry in the cache
		const waiters = 3
		errs := make(chan error, waiters)
		for range waiters {
			go func() {
				_, ok, err := c.get("ns/j")
				if ok {
					t.Error("a waiter got ok from a load that panicked")
				}
				errs <- err
			}()
		}
		synctest.Wait() // every waiter waits for the loader's entry
		if len(errs) != 0 {
			t.Fatal("a waiter returned before the loader finished")
		}
		close(src.release)
		if p := <-loaderPanicked; p == nil {
			t.Error("the loader's own request did not panic on")
		}
		for range waiters {
			if err := <-errs; err == nil {
				t.Error("a waiter of a load that panicked got no error")
			}
		}
		s, ok, err := c.get("ns/j")
		if err != nil || !ok || s.Name != "j" {
			t.Errorf("after the panic get = %v, %v, %v; want the Job computed afresh", s.Name, ok, err)
		}
		if src.calls != 2 {
			t.Errorf("Summary called %d times, want 2: the panicked load is not cached, the new one is computed once", src.calls)
		}
	})
}

// TestPageEventReadsTakePagesBudget: the events a page reads are taken
// from the pages' rate limit (kube.BudgetPages), not the watches'.
func TestPageEventReadsTakePagesBudget(t *testing.T) {
	var got kube.Budget = -1
	r := newEventReader(func(ctx context.Context, _ job.Summary) ([]diagnose.Event, error) {
		got = kube.BudgetOf(ctx)
		return nil, nil
	})
	if _, err := r.read(context.Background(), job.Summary{Namespace: "ns", Name: "j"}); err != nil {
		t.Fatal(err)
	}
	if got != kube.BudgetPages {
		t.Errorf("a page's event read takes from budget %v, want %v", got, kube.BudgetPages)
	}
}

// TestQueueTextEscaped: what a Job's queue shows comes from Kueue's
// objects and messages, which carry what tenants named: on the live
// report and on /failing it is text, never markup, whatever it holds
// (tags, control characters, a message far past its bound).
func TestQueueTextEscaped(t *testing.T) {
	evilCQ, evilWorkload := `cq"><script>alert(1)</script>`, `w<img src=x onerror=alert(2)>`
	evilMessage := "insufficient quota <b onmouseover=alert(3)>\x1b[31m\u202e" + strings.Repeat("x", 4*job.MaxQueueMessage)
	q := summaries.WaitingForQuota("team-a", evilCQ, 0)
	q.Workload, q.Message = evilWorkload, evilMessage
	q.Evictions, q.LastEviction = 1, job.QueueEviction{Reason: "Other", Message: "<i>evicted</i>\x07", At: summaries.At(0)}
	s := summaries.InQueue(fixture.Job("ml", "train").Suspend(), nil, q)

	board := failing.NewBoard(0, 0)
	board.JobChanged("ml/train", s, summaries.Now)
	h := failingPageOf(t, Config{Board: board, Runbooks: queueRunbooks})
	failingBody := serveFailing(t, h, "")
	rb := newTestRunbooks(t, Config{Runbooks: queueRunbooks, Jobs: &fakeJobs{jobs: map[string]job.Summary{"ml/train": *s}}}, summaries.Now, nil)
	reportBody := serveRunbook(t, rb, "/runbooks/KubeJobWaitingForAdmission?namespace=ml&job_name=train")
	for page, body := range map[string]string{"/failing": failingBody, "live report": reportBody} {
		for _, bad := range []string{"<script>", "<img", "<b ", "<i>", "\x1b", "\x07", "\u202e", strings.Repeat("x", job.MaxQueueMessage+1)} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", page, bad)
			}
		}
		for _, want := range []string{"ClusterQueue cq&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "insufficient quota &lt;b onmouseover=alert(3)&gt;\ufffd[31m\ufffd"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", page, want, body)
			}
		}
	}
	if !strings.Contains(reportBody, "Workload <code>w&lt;img src=x onerror=alert(2)&gt;</code>") {
		t.Errorf("live report lacks the Workload escaped:\n%s", reportBody)
	}
	// A name that is no Kubernetes name reaches no command.
	if strings.Contains(reportBody, "describe clusterqueue") || strings.Contains(reportBody, "describe workload") {
		t.Errorf("a hostile name reached a command:\n%s", reportBody)
	}
}
