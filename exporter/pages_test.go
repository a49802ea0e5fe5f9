package exporter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
	"github.com/kube-job-exporter/kube-job-exporter/pages"
)

// recordSource is a pages.JobSource over one Job and its pods kept as compact
// records, summarized as the watcher does a big Job: from the pods'
// Aggregate, built once.
type recordSource struct {
	job       *batchv1.Job
	pods      []*job.PodRecord
	version   atomic.Int64
	summaries atomic.Int32
	shard     int
	total     int

	mu  sync.Mutex
	agg *job.Aggregate
}

func (s *recordSource) key() string { return s.job.Namespace + "/" + s.job.Name }

func (s *recordSource) Summary(key string) (job.Summary, bool) {
	if key != s.key() {
		return job.Summary{}, false
	}
	s.summaries.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agg == nil {
		s.agg = job.NewAggregate(job.NewJobRecord(s.job))
		for _, r := range s.pods {
			s.agg.Add(r)
		}
	}
	return job.SummarizeAggregate(job.NewJobRecord(s.job), s.agg, nil, job.Options{Backoff: job.DefaultBackoff}), true
}

func (s *recordSource) Version(key string) (string, bool) {
	return fmt.Sprint(s.version.Load()), key == s.key()
}

func (s *recordSource) ShardOf(string) (int, int, bool) {
	return s.shard, s.total, s.total <= 1 || s.shard == 0
}

// bigJob is a Job with n failed pods (OOMKilled), as compact records.
func bigJob(t testing.TB, n int) *recordSource {
	t.Helper()
	jb := fixture.Job("ml", "huge").Indexed(int32(n), 1000).PerIndex(1, int32(n)).Started(0).Status(0, 0, 0, int32(n))
	src := &recordSource{job: jb.J, pods: make([]*job.PodRecord, 0, n)}
	for i := 0; i < n; i++ {
		p := fixture.Pod(jb.J, fmt.Sprint(i), 0).Index(i, 0).FailedWith("app", 137, "OOMKilled", i%3600).P
		r, err := job.RecordPod(p)
		if err != nil {
			t.Fatal(err)
		}
		src.pods = append(src.pods, r.(*job.PodRecord))
	}
	return src
}

// runbookPages are the runbook pages (of testdata/runbooks) over the Jobs
// of src.
func runbookPages(t testing.TB, src pages.JobSource) http.Handler {
	t.Helper()
	p, err := pages.New(pages.Config{Runbooks: os.DirFS("testdata/runbooks"), Jobs: src})
	if err != nil {
		t.Fatal(err)
	}
	return p.Runbooks()
}

// heapSampler records the highest heap (objects, live or not yet
// collected) and the highest live heap (as of the latest GC) while it
// runs.
type heapSampler struct {
	stop       chan struct{}
	done       chan struct{}
	peak, live uint64
}

func readHeap() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			o, l := readHeap()
			h.peak, h.live = max(h.peak, o), max(h.live, l)
			select {
			case <-h.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) end() { close(h.stop); <-h.done }

// TestRunbookPagesBoundMemory: 32 concurrent runbook requests for a Job
// with 100,000 failed pods stay under 64 MiB of extra heap: at most
// DefaultMaxPageRequests are served at once (the rest get 503 at once),
// those share one summary of the Job, read from the Job's pod Aggregate
// (built by the first, as the watcher keeps one for a big Job), and the
// page lists a bounded number of attempts and indexes.
func TestRunbookPagesBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 pods")
	}
	const pods, requests = 100_000, 32
	const budget = 64 << 20
	src := bigJob(t, pods)
	srv := httptest.NewServer(limitInFlight(DefaultMaxPageRequests, runbookPages(t, src)))
	defer srv.Close()
	url := srv.URL + "/runbooks/KubeJobTest?namespace=ml&job_name=huge"

	runtime.GC()
	base, baseLive := readHeap()
	sampler := sampleHeap()
	var wg sync.WaitGroup
	codes := make(chan int, requests)
	bodies := make(chan string, requests)
	start := make(chan struct{})
	for i := 0; i < requests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Error(err)
				return
			}
			codes <- resp.StatusCode
			if resp.StatusCode == http.StatusOK {
				bodies <- string(b)
			}
		}()
	}
	close(start)
	wg.Wait()
	sampler.end()
	close(codes)
	close(bodies)

	served, refused := 0, 0
	for c := range codes {
		switch c {
		case http.StatusOK:
			served++
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Errorf("status %d", c)
		}
	}
	extra, extraLive := int64(sampler.peak)-int64(base), int64(sampler.live)-int64(baseLive)
	t.Logf("%d requests: %d served, %d refused; %d summaries computed; heap +%.1f MiB at peak (live +%.1f MiB)",
		requests, served, refused, src.summaries.Load(), float64(extra)/(1<<20), float64(extraLive)/(1<<20))
	if served == 0 || served+refused != requests {
		t.Errorf("served %d, refused %d of %d", served, refused, requests)
	}
	if n := src.summaries.Load(); n < 1 || int(n) > served {
		t.Errorf("%d summaries for %d served pages of an unchanged Job", n, served)
	}
	if extra > budget {
		t.Errorf("heap grew by %.1f MiB, budget %d MiB", float64(extra)/(1<<20), budget>>20)
	}
	body := <-bodies
	for _, want := range []string{
		fmt.Sprintf("… %d older failed pod(s) not listed", pods-job.MaxAttempts),
		fmt.Sprintf("and %d more", pods-diagnose.MaxReportIndexes),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<li class="attempt">`); n < 1 || n > job.MaxAttempts {
		t.Errorf("page lists %d attempts, want at most %d", n, job.MaxAttempts)
	}
}

// TestRunbookReusesSummary: pages of an unchanged Job reuse its summary;
// a change of the Job (its Version) makes the next page compute it anew.
func TestRunbookReusesSummary(t *testing.T) {
	src := bigJob(t, 10)
	srv := httptest.NewServer(runbookPages(t, src))
	defer srv.Close()
	url := srv.URL + "/runbooks/KubeJobTest?namespace=ml&job_name=huge"
	for i := 0; i < 3; i++ {
		get(t, url, nil)
	}
	if n := src.summaries.Load(); n != 1 {
		t.Errorf("%d summaries for 3 pages of an unchanged Job, want 1", n)
	}
	src.version.Add(1)
	get(t, url, nil)
	if n := src.summaries.Load(); n != 2 {
		t.Errorf("%d summaries after the Job changed, want 2", n)
	}
}

// TestRunbookOfAnotherShard: a replica asked for a Job another shard
// reports says which shard that is, instead of a report from the skeleton
// it keeps of that Job.
func TestRunbookOfAnotherShard(t *testing.T) {
	src := bigJob(t, 3)
	src.shard, src.total = 2, 3
	srv := httptest.NewServer(runbookPages(t, src))
	defer srv.Close()
	_, body := get(t, srv.URL+"/runbooks/KubeJobTest?namespace=ml&job_name=huge", nil)
	if !strings.Contains(string(body), "is reported by shard 2 of 3") || strings.Contains(string(body), "This Job now") || src.summaries.Load() != 0 {
		t.Errorf("page for another shard's Job:\n%s", body)
	}
}

// TestPagesShareALimitAndHeaders: runbook pages and profiles share one
// in-flight limit (a profile being taken leaves no room for a page with a
// limit of 1), and runbook pages carry the security headers.
func TestPagesShareALimitAndHeaders(t *testing.T) {
	_, base := serveExporter(t, Config{Client: kubefake.New(fixture.Cluster()...), Backoff: job.DefaultBackoff,
		Collectors: collectors.Options{MaxIndexSeries: 50}, Runbooks: os.DirFS("testdata/runbooks"),
		Pprof: true, MaxPageRequests: 1})

	resp, _ := get(t, base+"/runbooks/KubeJobTest", nil)
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	checkRefusedWhileProfiling(t, base, "/runbooks/KubeJobTest", 2)
}

// checkRefusedWhileProfiling: with a page limit of 1, the page at path is
// refused at once (503 with Retry-After) while a CPU profile of seconds
// holds the one slot, and served again after.
func checkRefusedWhileProfiling(t *testing.T, base, path string, seconds int) {
	t.Helper()
	profiling := make(chan int)
	go func() {
		// A page polled below may hold the slot when the profile asks
		// first: the profile asks again until it is let in.
		for {
			resp, _ := get(t, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), nil)
			if resp.StatusCode != http.StatusServiceUnavailable {
				profiling <- resp.StatusCode
				return
			}
		}
	}()
	err := waitUntil(5*time.Second, func() bool {
		resp, _ := get(t, base+path, nil)
		return resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
	})
	if err != nil {
		t.Errorf("%s never refused while a profile held the slot: %v", path, err)
	}
	if code := <-profiling; code != http.StatusOK {
		t.Errorf("profile: %d", code)
	}
	if resp, _ := get(t, base+path, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("%s after the profile: %d", path, resp.StatusCode)
	}
}

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
