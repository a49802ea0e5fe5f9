package pages

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
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
