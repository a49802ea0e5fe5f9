package exporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// BenchmarkFailingPageMetricsLatency: /failing opened by 4 clients in a
// loop over 10,000 CronJobs (overdue, so every one is judged and listed;
// a third with a schedule that never comes, a third in a time zone) must
// leave the metrics worker's event→metric latency p99 under 1s (reported
// as p99-ns; docs/scale.md). The latency is measured from a failed run's
// creation in the fake API to its row on the failing board, which the
// worker writes after the Job's series and its CronJob's Book (whose lock a
// page takes only to copy the CronJobs out). A benchmark, not a test: a latency
// figure belongs in `make bench`, on a machine that measures it (not
// under the race detector). One run whatever b.N: it takes seconds.
func BenchmarkFailingPageMetricsLatency(t *testing.B) {
	const cronJobs, probes, clients = 10000, 100, 4
	schedules := []string{"*/5 * * * *", "0 0 30 2 *", "0 3 * * *"}
	objs := make([]k8sruntime.Object, 0, cronJobs)
	for i := range cronJobs {
		b := fixture.CronJob("load", fmt.Sprintf("cj-%d", i), schedules[i%3]).LastScheduled(-7 * 86400)
		if i%3 == 2 {
			b.J.Spec.TimeZone = ptr.To("Europe/Berlin")
		}
		objs = append(objs, b.J)
	}
	client := kubefake.New(objs...)
	exp, url := serveExporter(t, Config{Client: client, Backoff: job.DefaultBackoff, CronJobs: true})
	waitFor(t, "every CronJob reported", func() bool {
		return exp.health.Ready() == nil && exp.crons.Len() == cronJobs && exp.watcher.Pending() == 0
	})

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var pagesMu sync.Mutex
	var pages []time.Duration
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				resp, err := http.Get(url + "/failing")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("/failing: status %d", resp.StatusCode)
					return
				}
				pagesMu.Lock()
				pages = append(pages, time.Since(start))
				pagesMu.Unlock()
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	latencies := make([]time.Duration, 0, probes)
	for i := range probes {
		// A failed run of a CronJob: the worker renders the Job, records
		// the run in its CronJob's state and lists it on the board.
		j := fixture.Job("load", fmt.Sprintf("probe-%d", i)).OwnedByCronJob(fmt.Sprintf("cj-%d", i)).Failed("BackoffLimitExceeded", i).J
		key := j.Namespace + "/" + j.Name
		start := time.Now()
		if _, err := client.BatchV1().Jobs(j.Namespace).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Polling measures, it does not wait in hope: the deadline only
		// ends a test that failed.
		for {
			if _, listed := exp.board.Listed(key); listed {
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("probe %s not on the board after a minute", key)
			}
			time.Sleep(time.Millisecond)
		}
		latencies = append(latencies, time.Since(start))
	}
	stop()
	wg.Wait()
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100-1]
	pagesMu.Lock()
	slices.Sort(pages)
	served := len(pages)
	var pageP50 time.Duration
	if served > 0 {
		pageP50 = pages[served/2]
	}
	pagesMu.Unlock()
	t.Logf("event→metric latency over %d runs: p50 %v, p99 %v, max %v; %d /failing pages of %d CronJobs served meanwhile, p50 %v",
		probes, latencies[len(latencies)/2], p99, latencies[len(latencies)-1], served, cronJobs, pageP50)
	if served < clients {
		t.Errorf("only %d pages served during the probes: the load did not run", served)
	}
	t.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
	t.ReportMetric(float64(pageP50.Nanoseconds()), "page-p50-ns")
	if p99 >= time.Second {
		t.Errorf("event→metric p99 %v under /failing load, want < 1s", p99)
	}
}
