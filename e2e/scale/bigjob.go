package scale

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// The big-Job run (issue 17): one Indexed Job with many completions,
// most of them done, parallelism pods running, a failed attempt before
// every failEvery-th index; and a Job of smallPods running pods beside it.
// A stream of pod status changes goes to the small Job's pods, then at the
// same rate to the big Job's running pods; the exporter's CPU per 1,000
// events of each says whether an event of a big Job costs more than one of
// a small Job. During the big Job's stream, running pods fail now and then
// (exit 127) and /metrics is read until the Job's failure count moves: the
// event → metric delay. Then the Job's runbook page is read: time, and the
// bytes the exporter allocated for it.

const (
	bigNamespace = "scale-big"
	bigJobName   = "train"
	smallJobName = "small"
	smallPods    = 10
	failEvery    = 50
)

// bigJobSize is the size of the run: quick (make e2e) or full.
type bigJobSize struct {
	Completions, Parallelism int
	Events                   int     // per stream
	Rate                     float64 // events per second
	Probes                   int     // event → metric measurements
}

func bigJobPlan(size string) bigJobSize {
	if size == "full" {
		return bigJobSize{Completions: 100_000, Parallelism: 1_000, Events: 15_000, Rate: 500, Probes: 50}
	}
	return bigJobSize{Completions: 2_000, Parallelism: 100, Events: 3_000, Rate: 500, Probes: 20}
}

// bigJobResult is what the run measured.
type bigJobResult struct {
	Size                   bigJobSize
	Pods                   int // pods of the big Job
	Setup                  time.Duration
	Ready                  time.Duration
	SmallStream, BigStream streamResult
	DelayP50, DelayP99     time.Duration
	DelayMax               time.Duration
	Mem                    memSample
	PeakRSS                float64
	PageTime               time.Duration
	PageAlloc              float64 // bytes the exporter allocated serving the page
	PageBytes              int
	CPUSource              string
}

// streamResult is one stream of pod status changes.
type streamResult struct {
	Events int
	Wall   time.Duration
	CPU    float64 // exporter CPU seconds during the stream and its catch-up
}

func (s streamResult) rate() float64       { return float64(s.Events) / s.Wall.Seconds() }
func (s streamResult) per1000() float64    { return s.CPU / float64(s.Events) * 1000 }
func (r bigJobResult) cpuRatio() float64   { return r.BigStream.per1000() / r.SmallStream.per1000() }
func (s bigJobSize) completedIndexes() int { return s.Completions - s.Parallelism }

// bigPodName is the pod of index i (attempt 0: the failed attempt before
// the one that ran on).
func bigPodName(i, attempt int) string { return fmt.Sprintf("%s-%d-%d", bigJobName, i, attempt) }

func newIndexedJob(name string, completions, parallelism int) *batchv1.Job {
	b := batch{prefix: bigNamespace, namespaces: 1, podsPerJob: 1}
	j := newJob(b, 1) // a running kind: backoffLimit above its failures
	j.Name, j.Namespace = name, bigNamespace
	j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	j.Spec.Completions, j.Spec.Parallelism = ptr(int32(completions)), ptr(int32(parallelism))
	j.Spec.BackoffLimit = ptr(int32(completions))
	return j
}

// indexedPod is pod attempt of index i of j, its status written as the
// kubelet would: succeeded, failed (exit 1) or running.
func indexedPod(j *batchv1.Job, i, attempt int) *v1.Pod {
	p := newPod(j, i, 0)
	p.Name = fmt.Sprintf("%s-%d-%d", j.Name, i, attempt)
	p.Annotations[batchv1.JobCompletionIndexAnnotation] = fmt.Sprint(i)
	p.Labels[batchv1.JobCompletionIndexAnnotation] = fmt.Sprint(i)
	p.Annotations[batchv1.JobIndexFailureCountAnnotation] = fmt.Sprint(attempt)
	return p
}

// createBigJob creates the namespace, the big Job and the small one, and
// their pods with their statuses.
func createBigJob(ctx context.Context, cs kubernetes.Interface, size bigJobSize, workers int) (pods int, err error) {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bigNamespace}}, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
		return 0, err
	}
	big, err := cs.BatchV1().Jobs(bigNamespace).Create(ctx, newIndexedJob(bigJobName, size.Completions, size.Parallelism), metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	small, err := cs.BatchV1().Jobs(bigNamespace).Create(ctx, newIndexedJob(smallJobName, smallPods, smallPods), metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	done := size.completedIndexes()
	start := base
	// Every index below done succeeded, every failEvery-th after one
	// failed attempt; the rest run.
	var requests atomic.Int64
	var created atomic.Int64
	write := func(ctx context.Context, j *batchv1.Job, i, attempt int, status func(*v1.Pod)) error {
		p, err := cs.CoreV1().Pods(bigNamespace).Create(ctx, indexedPod(j, i, attempt), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		status(p)
		_, err = cs.CoreV1().Pods(bigNamespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		created.Add(1)
		return err
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * 50 * time.Millisecond) }
	if _, err := forEach(ctx, 0, size.Completions, workers, nil, &requests, func(ctx context.Context, i int) error {
		if i%failEvery == 0 {
			if err := write(ctx, big, i, 0, func(p *v1.Pod) { failPod(p, at(i), 1, "Error") }); err != nil {
				return err
			}
		}
		attempt := 0
		if i%failEvery == 0 {
			attempt = 1
		}
		if i < done {
			return write(ctx, big, i, attempt, func(p *v1.Pod) { failPod(p, at(i).Add(time.Minute), 0, "Completed") })
		}
		return write(ctx, big, i, attempt, func(p *v1.Pod) { runPod(p, at(i)) })
	}); err != nil {
		return 0, err
	}
	for i := range smallPods {
		if err := write(ctx, small, i, 0, func(p *v1.Pod) { runPod(p, at(i)) }); err != nil {
			return 0, err
		}
	}
	for _, s := range []struct {
		j                         *batchv1.Job
		active, succeeded, failed int
		completed                 string
	}{
		{big, size.Parallelism, done, (size.Completions + failEvery - 1) / failEvery, fmt.Sprintf("0-%d", done-1)},
		{small, smallPods, 0, 0, ""},
	} {
		st := metav1.NewTime(start)
		s.j.Status = batchv1.JobStatus{StartTime: &st, Active: int32(s.active), Ready: ptr(int32(s.active)), Succeeded: int32(s.succeeded),
			Failed: int32(s.failed), Terminating: ptr(int32(0)), CompletedIndexes: s.completed, UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}}
		if _, err := cs.BatchV1().Jobs(bigNamespace).UpdateStatus(ctx, s.j, metav1.UpdateOptions{}); err != nil {
			return 0, err
		}
	}
	return int(created.Load()) - smallPods, nil
}

// runningPods are the names of a Job's running pods.
func runningPods(j string, size bigJobSize) []string {
	if j == smallJobName {
		var out []string
		for i := range smallPods {
			out = append(out, fmt.Sprintf("%s-%d-0", smallJobName, i))
		}
		return out
	}
	var out []string
	for i := size.completedIndexes(); i < size.Completions; i++ {
		attempt := 0
		if i%failEvery == 0 {
			attempt = 1
		}
		out = append(out, bigPodName(i, attempt))
	}
	return out
}

// stream writes n status changes to the pods, at rate per second, each
// one flipping a running pod's Ready condition (a readiness probe that
// fails and recovers): a pod event the exporter must process, which
// changes no metric. Each pod is written by one client, from the object
// its last write returned.
func stream(ctx context.Context, cs kubernetes.Interface, pods []string, n int, rate float64) (time.Duration, error) {
	workers := min(len(pods), 32)
	chans := make([]chan int, workers)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := range workers {
		chans[w] = make(chan int, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			latest := map[string]*v1.Pod{}
			for k := range chans[w] {
				name := pods[k%len(pods)]
				p := latest[name]
				if p == nil {
					var err error
					if p, err = cs.CoreV1().Pods(bigNamespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
						once.Do(func() { firstErr = err })
						continue
					}
				}
				for c := range p.Status.Conditions {
					if t := p.Status.Conditions[c].Type; t == v1.PodReady || t == v1.ContainersReady {
						ready := p.Status.Conditions[c].Status != v1.ConditionTrue
						p.Status.Conditions[c] = podCond(t, ready, "", metav1.Now())
					}
				}
				out, err := cs.CoreV1().Pods(bigNamespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				if err != nil {
					once.Do(func() { firstErr = err })
					delete(latest, name)
					continue
				}
				latest[name] = out
			}
		}()
	}
	start := time.Now()
	for k := range n {
		if d := time.Until(start.Add(time.Duration(float64(k) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		// Pod k%len(pods) always goes to the same client.
		chans[(k%len(pods))%workers] <- k
	}
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// measureStream runs a stream and returns it with the exporter's CPU
// during it and until the exporter has processed every event (its own
// event counter stops moving).
func measureStream(ctx context.Context, cs kubernetes.Interface, e *harness.Exporter, cpu func() (float64, error), pods []string, n int, rate float64) (streamResult, error) {
	before, err := cpu()
	if err != nil {
		return streamResult{}, err
	}
	wall, err := stream(ctx, cs, pods, n, rate)
	if err != nil {
		return streamResult{}, err
	}
	if err := settle(ctx, e); err != nil {
		return streamResult{}, err
	}
	after, err := cpu()
	if err != nil {
		return streamResult{}, err
	}
	return streamResult{Events: n, Wall: wall, CPU: after - before}, nil
}

// settle waits until the exporter's count of processed events stays put
// for half a second.
func settle(ctx context.Context, e *harness.Exporter) error {
	last, since := -1.0, time.Now()
	return harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return false, err.Error(), nil
		}
		v, _ := value(body, "kubejob_exporter_event_processing_delay_seconds_count")
		if v != last {
			last, since = v, time.Now()
		}
		return time.Since(since) > 500*time.Millisecond, fmt.Sprintf("%v events processed", v), nil
	})
}

// probeDelays fails running pods of the big Job (exit 127) one at a time
// while another stream runs, and reads /metrics back to back until the
// Job's exit-127 failure count moves.
func probeDelays(ctx context.Context, cs kubernetes.Interface, e *harness.Exporter, pods []string) ([]time.Duration, error) {
	series := fmt.Sprintf(`kubejob_pod_failures{namespace="%s",job_name="%s",container="main",reason="Error",exit_code="127"}`, bigNamespace, bigJobName)
	var out []time.Duration
	for k, name := range pods {
		p, err := cs.CoreV1().Pods(bigNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		failPod(p, time.Now().Add(-30*time.Second), 127, "Error")
		s := time.Now()
		if _, err := cs.CoreV1().Pods(bigNamespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
		for {
			body, _, err := fetch(ctx, e, false)
			if err != nil {
				return nil, err
			}
			if v, _ := value(body, series); int(v) == k+1 {
				break
			}
			if time.Since(s) > time.Minute {
				return nil, fmt.Errorf("%s still below %d after 1m; the Job's failures:\n%s", series, k+1, grepLines(body, "kubejob_pod_failures{namespace=\""+bigNamespace))
			}
		}
		out = append(out, time.Since(s))
		time.Sleep(100 * time.Millisecond)
	}
	return out, nil
}

// readPage reads the big Job's runbook page and what the exporter
// allocated meanwhile (go_memstats_alloc_bytes_total, read around it).
func readPage(ctx context.Context, e *harness.Exporter) (time.Duration, float64, int, error) {
	alloc := func() (float64, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return 0, err
		}
		v, ok := value(body, "go_memstats_alloc_bytes_total")
		if !ok {
			return 0, fmt.Errorf("go_memstats_alloc_bytes_total missing")
		}
		return v, nil
	}
	// One scrape's allocation, to take out of the difference.
	a0, err := alloc()
	if err != nil {
		return 0, 0, 0, err
	}
	a1, err := alloc()
	if err != nil {
		return 0, 0, 0, err
	}
	s := time.Now()
	code, body, err := e.Get(ctx, fmt.Sprintf("/runbooks/KubeJobBackoffLimitExceeded?namespace=%s&job_name=%s", bigNamespace, bigJobName))
	d := time.Since(s)
	if err != nil {
		return 0, 0, 0, err
	}
	if code != 200 || !strings.Contains(body, bigJobName) {
		return 0, 0, 0, fmt.Errorf("runbook page: %d %.300s", code, body)
	}
	a2, err := alloc()
	if err != nil {
		return 0, 0, 0, err
	}
	return d, (a2 - a1) - (a1 - a0), len(body), nil
}

// runBigJob sets up the big Job, starts an exporter that watches its
// namespace only (its CPU is then the two Jobs' alone, and /metrics stays
// small enough to read back to back) and measures.
func runBigJob(ctx context.Context, logf func(string, ...any), cs kubernetes.Interface, start func(name string, args ...string) (*harness.Exporter, time.Duration), sz bigJobSize, workers int) (bigJobResult, error) {
	r := bigJobResult{Size: sz}
	s := time.Now()
	pods, err := createBigJob(ctx, cs, sz, workers)
	if err != nil {
		return r, err
	}
	r.Pods, r.Setup = pods, time.Since(s)
	logf("big Job: %d completions, parallelism %d, %d pods created in %s", sz.Completions, sz.Parallelism, pods, ms(r.Setup))
	e, ready := start("exporter-bigjob", "--watch.namespaces="+bigNamespace)
	defer e.Stop()
	r.Ready = ready
	if err := harness.Eventually(ctx, 10*time.Minute, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return false, err.Error(), nil
		}
		j, _ := value(body, `kubejob_exporter_objects{resource="jobs"}`)
		p, _ := value(body, `kubejob_exporter_objects{resource="pods"}`)
		c := count(body, "kubejob_complete{")
		return int(j) == 2 && int(p) == pods+smallPods && c == 2,
			fmt.Sprintf("exporter tracks %v Jobs and %v pods, renders %d Jobs; want 2, %d, 2", j, p, c, pods+smallPods), nil
	}); err != nil {
		return r, err
	}
	if err := settle(ctx, e); err != nil {
		return r, err
	}
	cpu, src := newCPUReader(ctx, e)
	r.CPUSource = src
	running := runningPods(bigJobName, sz)
	probes, streamed := running[:sz.Probes], running[sz.Probes:]
	if r.SmallStream, err = measureStream(ctx, cs, e, cpu, runningPods(smallJobName, sz), sz.Events, sz.Rate); err != nil {
		return r, err
	}
	if r.BigStream, err = measureStream(ctx, cs, e, cpu, streamed, sz.Events, sz.Rate); err != nil {
		return r, err
	}
	logf("  CPU per 1,000 pod events: small Job %.1f ms (%.0f events/s), big Job %.1f ms (%.0f events/s): %.2f×",
		1000*r.SmallStream.per1000(), r.SmallStream.rate(), 1000*r.BigStream.per1000(), r.BigStream.rate(), r.cpuRatio())

	// The event → metric delay, under a stream like the one above.
	var delays []time.Duration
	var probeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		delays, probeErr = probeDelays(ctx, cs, e, probes)
	}()
	for {
		if _, err := stream(ctx, cs, streamed, int(sz.Rate), sz.Rate); err != nil {
			return r, err
		}
		select {
		case <-done:
		default:
			continue
		}
		break
	}
	if probeErr != nil {
		return r, probeErr
	}
	r.DelayP50, r.DelayP99, r.DelayMax = quantile(delays, 0.5), quantile(delays, 0.99), quantile(delays, 1)
	logf("  event → metric under the stream: p50 %s p99 %s max %s", ms(r.DelayP50), ms(r.DelayP99), ms(r.DelayMax))

	if r.PageTime, r.PageAlloc, r.PageBytes, err = readPage(ctx, e); err != nil {
		return r, err
	}
	if r.Mem, err = liveHeap(ctx, e); err != nil {
		return r, err
	}
	r.PeakRSS, _ = peakRSS(e)
	logf("  runbook page %s, %s allocated, %s; live heap %s, RSS %s", ms(r.PageTime), mib(r.PageAlloc), size(r.PageBytes), mib(r.Mem.HeapAlloc), mib(r.Mem.RSS))
	return r, nil
}
