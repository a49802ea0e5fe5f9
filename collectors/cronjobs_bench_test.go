package collectors

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// The size docs/scale.md measures the pages at: 10,000 CronJobs with
// their objects, 10 runs each present (the last one failed).
const benchCronJobs, benchRunsPerCronJob = 10000, 10

// cronJobsAtScale returns CronJobs holding benchCronJobs CronJobs and the
// summaries of their runs.
func cronJobsAtScale(b *testing.B) (*CronJobs, []job.Summary) {
	b.Helper()
	c := NewCronJobs()
	c.WatchObjects(true)
	schedules := []string{"*/5 * * * *", "0 0 30 2 *", "0 3 * * *"}
	runs := make([]job.Summary, 0, benchCronJobs*benchRunsPerCronJob)
	for i := range benchCronJobs {
		name := fmt.Sprintf("cj-%d", i)
		c.SetCronJob(cronjob.NewRecord(fixture.CronJob("load", name, schedules[i%3]).LastScheduled(-7 * 86400).J))
		for k := range benchRunsPerCronJob {
			jb := fixture.Job("load", fmt.Sprintf("%s-%d", name, k)).OwnedByCronJob(name).Started(k * 100)
			if k == benchRunsPerCronJob-1 {
				jb.Failed("BackoffLimitExceeded", k*100+50)
			} else {
				jb.Complete(k*100 + 50)
			}
			s := job.Summarize(jb.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
			c.Observe(&s)
			runs = append(runs, s)
		}
	}
	return c, runs
}

// BenchmarkCronJobObserve: the metrics worker's cost of one run's update
// (its CronJob summarized and rendered again) among 10,000 CronJobs.
func BenchmarkCronJobObserve(b *testing.B) {
	c, runs := cronJobsAtScale(b)
	i := 0
	for b.Loop() {
		c.Observe(&runs[i%len(runs)])
		i++
	}
}

// BenchmarkCronJobSummaries: what the failing-now page reads, every
// CronJob summarized.
func BenchmarkCronJobSummaries(b *testing.B) {
	c, _ := cronJobsAtScale(b)
	now := fixture.T0
	for b.Loop() {
		if got := len(c.Summaries(now)); got != benchCronJobs {
			b.Fatalf("%d summaries, want %d", got, benchCronJobs)
		}
	}
}

// BenchmarkCronJobObserveWhilePagesRead: one run's update while two page
// readers summarize every CronJob back to back: the time the metrics
// worker waits for the CronJobs' lock shows in ns/op.
func BenchmarkCronJobObserveWhilePagesRead(b *testing.B) {
	c, runs := cronJobsAtScale(b)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					c.Summaries(fixture.T0)
				}
			}
		})
	}
	i := 0
	for b.Loop() {
		c.Observe(&runs[i%len(runs)])
		i++
	}
	close(done)
	wg.Wait()
}
