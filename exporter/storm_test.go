package exporter

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestScrapeStorm: 50 clients scraping at once against an in-flight limit
// of 8. Every answer is either complete and parses, with every Job, or a
// clean 503; refusals are counted; and a Job updated during the storm
// shows its new state on the next scrapes.
func TestScrapeStorm(t *testing.T) {
	const jobsN = 300
	jobs, pods := benchCluster(jobsN, 2)
	var objs []k8sruntime.Object
	for i, jb := range jobs {
		objs = append(objs, jb.J)
		for _, p := range pods[i] {
			objs = append(objs, p.P)
		}
	}
	client := kubefake.New(objs...)
	exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Collectors: collectors.Options{MaxIndexSeries: 50}, MaxRequests: 8})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "sync", func() bool {
		return exp.health.Ready() == nil && exp.watcher.Pending() == 0 && exp.jobs.Store.Len() == jobsN
	})
	h, err := exp.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// Suspend one Job while the storm runs.
	target := jobs[1].J
	var ok200, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 50*2)
	for c := 0; c < 50; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				resp, err := http.Get(srv.URL + "/metrics")
				if err != nil {
					errs <- err
					return
				}
				var body bytes.Buffer
				_, err = body.ReadFrom(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode == http.StatusServiceUnavailable:
					refused.Add(1)
				case resp.StatusCode != http.StatusOK:
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				default:
					ok200.Add(1)
					if n := strings.Count(body.String(), "\nkubejob_info{"); n != jobsN {
						errs <- fmt.Errorf("incomplete answer: %d of %d Jobs", n, jobsN)
					}
					if _, err := parseBody(body.Bytes()); err != nil {
						errs <- fmt.Errorf("answer does not parse: %v", err)
					}
				}
			}
		}()
	}
	updated := target.DeepCopy()
	suspend := true
	updated.Spec.Suspend = &suspend
	if _, err := client.BatchV1().Jobs(target.Namespace).Update(context.Background(), updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ok200.Load() == 0 {
		t.Fatal("no scrape succeeded")
	}
	t.Logf("%d complete answers, %d refused", ok200.Load(), refused.Load())
	if got := testutilCounter(exp.self.scrapeRefused); got != float64(refused.Load()) {
		t.Errorf("kubejob_exporter_scrapes_refused_total = %v, clients saw %d", got, refused.Load())
	}
	want := fmt.Sprintf(`kubejob_suspended{namespace="bench",job_name="%s"} 1`, target.Name)
	waitFor(t, "the update during the storm to show", func() bool {
		_, body := get(t, srv.URL+"/metrics", nil)
		return strings.Contains(string(body), want)
	})
}
