package scale

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Environment:
//
//	KJE_SCALE       quick (500 Jobs / 2,000 pods, churn 3×200 Jobs), medium
//	                (adds 2,500 / 10,000 with churn 3×2,000 Jobs; the big
//	                Job at the quick size) or full (then also 10,000 /
//	                100,000). Unset: quick (part of make e2e; -short skips).
//	                Every 10 Jobs are the runs of one CronJob (runsPerCronJob).
//	KJE_SCALE_OUT   write the Markdown report there (make scale does).
//	KJE_SCALE_WORKERS  concurrent API clients for setup (default 64).
//	KJE_SCALE_GOMEMLIMIT  the measured exporters' GOMEMLIMIT (e.g. 128MiB),
//	                as the Deployment sets it from the container's limit.
//	KJE_SCALE_CHURN_WAVES  at most this many churn waves per size (0: none;
//	                quicker runs when only the steady figures matter).
//	KJE_SCALE_EXPORTER_ENV  VAR=value ... added to every measured exporter's
//	                environment (e.g. GOGC=100, to compare GC settings).
//	KJE_SCALE_PROFILES  directory: save each measured exporter's heap
//	                profile there (go tool pprof -sample_index=inuse_space).
const (
	envSize    = "KJE_SCALE"
	envOut     = "KJE_SCALE_OUT"
	envWorkers = "KJE_SCALE_WORKERS"
)

// stage adds a batch of Jobs to the cluster, then measures. Stages are
// cumulative: each one's totals include the earlier batches.
type stage struct {
	add        batch
	churnWaves int
	churnJobs  int
}

// runsPerCronJob: every 10 Jobs are the runs of one CronJob (issue 16:
// 10,000 Jobs spread over 1,000 CronJobs), in the stages and in the churn.
const runsPerCronJob = 10

func plan(size string) ([]stage, error) {
	quick := stage{add: batch{prefix: "scale", namespaces: 10, first: 0, count: 500, podsPerJob: 4, runsPerCronJob: runsPerCronJob}, churnWaves: 3, churnJobs: 200}
	if n, err := strconv.Atoi(os.Getenv("KJE_SCALE_CHURN_JOBS")); err == nil && n > 0 {
		quick.churnJobs = n
	}
	switch size {
	case "quick":
		return []stage{quick}, nil
	case "medium": // 2,500 / 10,000 with churn, without the 100k-pod stage
		quick.churnWaves = 0
		return []stage{quick, {add: batch{prefix: "scale", namespaces: 10, first: 500, count: 2000, podsPerJob: 4, runsPerCronJob: runsPerCronJob}, churnWaves: 3, churnJobs: 2000}}, nil
	case "full":
		quick.churnWaves = 0
		return []stage{
			quick,
			{add: batch{prefix: "scale", namespaces: 10, first: 500, count: 2000, podsPerJob: 4, runsPerCronJob: runsPerCronJob}, churnWaves: 3, churnJobs: 2000},
			{add: batch{prefix: "scale", namespaces: 10, first: 2500, count: 7500, podsPerJob: 12, runsPerCronJob: runsPerCronJob}},
		}, nil
	}
	return nil, fmt.Errorf("$%s=%q: want quick, medium or full", envSize, size)
}

// result is one measured size.
type result struct {
	Jobs, Pods      int
	CronJobs        int
	Setup           time.Duration // creating this stage's objects
	SetupRequests   int64
	Ready           time.Duration // exporter start to /readyz 200
	AllSeries       time.Duration // exporter start to every Job rendered
	Full, PodsOnly  memSample     // after GC
	NoCronObjects   memSample     // after GC, the exporter run with --no-watch.cronjobs
	BaseNoCron      memSample     // the base exporter with --no-watch.cronjobs
	Limited         memSample     // the exporter run with $KJE_SCALE_GOMEMLIMIT
	LimitedPeakRSS  float64
	Base            memSample
	PeakRSS         float64
	StartCPU        float64 // exporter CPU seconds from its start to /readyz 200
	PlainP50        time.Duration
	PlainP99        time.Duration
	GzipP50         time.Duration
	GzipP99         time.Duration
	PlainBytes      int
	GzipBytes       int
	Series, JobSer  int
	Big             *bigJobResult // the big-Job run, with the last size
	CronSer         int           // kubejob_cronjob_* series
	NoCronSer       int           // kubejob_cronjob_* series with --no-watch.cronjobs
	Families        map[string]int
	UpdateP50       time.Duration
	UpdateP99       time.Duration
	UpdateMax       time.Duration
	Updates         int
	Churn           []churnWave
	ChurnBefore     memSample
	ChurnJobsPerWav int
	Events          eventsResult
}

type churnWave struct {
	Created, Deleted time.Duration
	After            memSample
	SeriesAfter      int
	Diff             string // metric families whose series count changed
}

// Heap per object, from the live heaps of exporters that track more and
// more of the same objects: an empty namespace (base, with and without
// the CronJob watch), the pods only, the pods and Jobs (the runs of
// CronJobs: with the per-CronJob state the runs alone give), everything.
func (r result) perPod() float64 {
	return (r.PodsOnly.HeapAlloc - r.BaseNoCron.HeapAlloc) / float64(r.Pods)
}
func (r result) perJob() float64 {
	return (r.NoCronObjects.HeapAlloc - r.PodsOnly.HeapAlloc) / float64(r.Jobs)
}

// cronWatchBase is the heap of a CronJob watch with nothing in it.
func (r result) cronWatchBase() float64 { return r.Base.HeapAlloc - r.BaseNoCron.HeapAlloc }

// perCronJob is the heap the CronJob objects add: the normal exporter less
// the one with --no-watch.cronjobs, less an empty CronJob watch.
func (r result) perCronJob() float64 {
	if r.CronJobs == 0 {
		return 0
	}
	return (r.Full.HeapAlloc - r.NoCronObjects.HeapAlloc - r.cronWatchBase()) / float64(r.CronJobs)
}

// cronPer is n per CronJob.
func (r result) cronPer(n int) float64 {
	if r.CronJobs == 0 {
		return 0
	}
	return float64(n) / float64(r.CronJobs)
}

func TestScale(t *testing.T) {
	runSize := os.Getenv(envSize)
	if runSize == "" {
		if testing.Short() {
			t.Skip("scale run skipped in -short mode")
		}
		runSize = "quick" // make e2e: the quick size, about 20 s
	}
	stages, err := plan(runSize)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := strconv.Atoi(os.Getenv("KJE_SCALE_CHURN_WAVES")); err == nil && n >= 0 {
		for i := range stages {
			stages[i].churnWaves = min(stages[i].churnWaves, n)
		}
	}
	workers := 64
	if w := os.Getenv(envWorkers); w != "" {
		fmt.Sscan(w, &workers)
	}
	ctx := context.Background()
	profiles := os.Getenv("KJE_SCALE_PROFILES")
	memLimit := os.Getenv("KJE_SCALE_GOMEMLIMIT")
	saveProfile := func(e *harness.Exporter, name string) {
		if profiles == "" {
			return
		}
		code, body, err := e.Get(ctx, "/debug/pprof/heap")
		if err == nil && code == 200 {
			err = os.WriteFile(filepath.Join(profiles, name+".pb.gz"), []byte(body), 0o644)
		}
		if err != nil || code != 200 {
			t.Logf("heap profile %s: %d %v", name, code, err)
		}
	}
	harness.PollInterval = 20 * time.Millisecond

	rg := startRig(ctx, t)
	c, bin, work, cs := rg.Cluster, rg.bin, rg.work, rg.cs

	startExporter := func(name string, args ...string) (*harness.Exporter, time.Duration) {
		t.Helper()
		logf, err := os.Create(filepath.Join(work, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		// pprof: liveHeap reads the heap right after a forced GC.
		args = append(args, "--web.enable-pprof")
		s := time.Now()
		env := strings.Fields(os.Getenv("KJE_SCALE_EXPORTER_ENV"))
		if strings.HasPrefix(name, "exporter-limited-") {
			env = append(env, "GOMEMLIMIT="+memLimit)
		}
		e, err := harness.StartExporter(ctx, harness.ExporterOptions{
			Binary: bin, Kubeconfig: c.Kubeconfig(), Args: args, Env: env, LogLevel: "warn",
			Output: logf, ReadyTimeout: 10 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		return e, time.Since(s)
	}

	// The exporter with nothing to track: the base of the per-object costs,
	// with and without the CronJob watch (its fixed cost is no CronJob's).
	be, _ := startExporter("exporter-base", "--watch.namespaces=kje-scale-nothing")
	baseMem, err := liveHeap(ctx, be)
	be.Stop()
	if err != nil {
		t.Fatal(err)
	}
	be, _ = startExporter("exporter-base-nocron", "--watch.namespaces=kje-scale-nothing", "--no-watch.cronjobs")
	baseNoCron, err := liveHeap(ctx, be)
	be.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base exporter: heap %s after GC, RSS %s; with --no-watch.cronjobs heap %s", mib(baseMem.HeapAlloc), mib(baseMem.RSS), mib(baseNoCron.HeapAlloc))

	var results []result
	jobs, pods, crons := 0, 0, 0
	for si, st := range stages {
		r := result{Base: baseMem, BaseNoCron: baseNoCron}
		s := time.Now()
		last := time.Now()
		n, err := createBatch(ctx, cs, st.add, workers, func(done int) {
			if time.Since(last) > 15*time.Second {
				last = time.Now()
				t.Logf("  created %d/%d Jobs (%s)", done, st.add.count, time.Since(s).Round(time.Second))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Setup, r.SetupRequests = time.Since(s), n
		setupEnd := time.Now()
		jobs, pods, crons = jobs+st.add.count, pods+st.add.pods(), crons+st.add.cronJobs()
		r.Jobs, r.Pods, r.CronJobs = jobs, pods, crons
		t.Logf("%d Jobs / %d pods / %d CronJobs: created %d Jobs, %d pods and %d CronJobs in %s (%d requests, %.0f/s, %d clients)",
			jobs, pods, crons, st.add.count, st.add.pods(), st.add.cronJobs(), r.Setup.Round(time.Millisecond), n, float64(n)/r.Setup.Seconds(), workers)

		exp, ready := startExporter(fmt.Sprintf("exporter-%d", jobs))
		s = time.Now().Add(-ready)
		// The CPU of the initial list, when the exporter allocates most:
		// what a GC setting costs shows here first.
		cpu, _ := newCPUReader(ctx, exp)
		if r.StartCPU, err = cpu(); err != nil {
			t.Fatal(err)
		}
		if err := waitObjects(ctx, exp, jobs, pods, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := waitCronJobs(ctx, exp, crons, true, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		r.Ready, r.AllSeries = ready, time.Since(s)
		t.Logf("  exporter ready in %s, every Job and CronJob rendered after %s", ms(r.Ready), ms(r.AllSeries))

		// Scrape latency and size.
		nPlain, nGzip := 100, 50
		if os.Getenv("KJE_SCALE_DEBUG") != "" {
			nPlain, nGzip = 2, 2
		}
		var plain, gz []time.Duration
		for i := 0; i < nPlain; i++ {
			body, d, err := fetch(ctx, exp, false)
			if err != nil {
				t.Fatal(err)
			}
			plain = append(plain, d)
			if i == 0 {
				r.PlainBytes = len(body)
				r.Series, r.JobSer, r.Families = seriesCount(body)
				r.CronSer = cronSeries(r.Families)
			}
		}
		for i := 0; i < nGzip; i++ {
			body, d, err := fetch(ctx, exp, true)
			if err != nil {
				t.Fatal(err)
			}
			gz = append(gz, d)
			r.GzipBytes = len(body)
		}
		r.PlainP50, r.PlainP99 = quantile(plain, 0.5), quantile(plain, 0.99)
		r.GzipP50, r.GzipP99 = quantile(gz, 0.5), quantile(gz, 0.99)
		t.Logf("  scrape plain p50 %s p99 %s %s; gzip p50 %s p99 %s %s; %d series (%d about Jobs, %d about CronJobs)",
			ms(r.PlainP50), ms(r.PlainP99), size(r.PlainBytes), ms(r.GzipP50), ms(r.GzipP99), size(r.GzipBytes), r.Series, r.JobSer, r.CronSer)

		if r.Full, err = liveHeap(ctx, exp); err != nil {
			t.Fatal(err)
		}
		r.PeakRSS, _ = peakRSS(exp)
		saveProfile(exp, fmt.Sprintf("heap-%d", jobs))
		t.Logf("  heap after GC %s (inuse %s), RSS %s (anonymous %s, file-backed %s), peak RSS %s; CPU start → ready %.0f ms",
			mib(r.Full.HeapAlloc), mib(r.Full.HeapInuse), mib(r.Full.RSS), mib(r.Full.RSSAnon), mib(r.Full.RSSFile), mib(r.PeakRSS), 1000*r.StartCPU)

		// Status update → /metrics, on running Jobs of this stage's batch.
		var lat []time.Duration
		stride := max(1, st.add.count/4/50) // 50 running Jobs spread over the batch
		for i, k := st.add.first, 0; i < st.add.first+st.add.count && len(lat) < 50; i++ {
			if kindOf(i) != kindRunning127 {
				continue
			}
			if k++; (k-1)%stride != 0 {
				continue
			}
			series := fmt.Sprintf(`kubejob_pod_failures{namespace="%s",job_name="%s",container="main",reason="Error",exit_code="127"}`, st.add.namespace(i), st.add.jobName(i))
			want := float64(st.add.podsPerJob)
			s := time.Now()
			if err := failRunningPod(ctx, cs, st.add, i); err != nil {
				t.Fatal(err)
			}
			var got float64
			for {
				body, _, err := fetch(ctx, exp, false)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ = value(body, series); got == want {
					break
				}
				if time.Since(s) > time.Minute {
					t.Fatalf("%s: still %v after 1m, want %v; the Job's series:\n%s", series, got, want, grepLines(body, st.add.jobName(i)))
				}
			}
			lat = append(lat, time.Since(s))
		}
		r.Updates = len(lat)
		r.UpdateP50, r.UpdateP99, r.UpdateMax = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
		t.Logf("  status update → /metrics over %d updates: p50 %s p99 %s max %s", r.Updates, ms(r.UpdateP50), ms(r.UpdateP99), ms(r.UpdateMax))

		// Churn: waves of Jobs created and deleted; the heap must come back.
		if st.churnWaves > 0 {
			r.ChurnJobsPerWav = st.churnJobs
			r.ChurnBefore = r.Full
			cb := batch{prefix: "churn", namespaces: 4, first: 1_000_000, count: st.churnJobs, podsPerJob: 2, runsPerCronJob: st.add.runsPerCronJob}
			for w := 0; w < st.churnWaves; w++ {
				var cw churnWave
				s := time.Now()
				if _, err := createBatch(ctx, cs, cb, workers, nil); err != nil {
					t.Fatal(err)
				}
				if err := waitObjects(ctx, exp, jobs+cb.count, pods+cb.pods(), 5*time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := waitCronJobs(ctx, exp, crons+cb.cronJobs(), true, 5*time.Minute); err != nil {
					t.Fatal(err)
				}
				cw.Created = time.Since(s)
				s = time.Now()
				if _, err := deleteBatch(ctx, cs, cb, workers); err != nil {
					t.Fatal(err)
				}
				if err := waitObjects(ctx, exp, jobs, pods, 5*time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := waitCronJobs(ctx, exp, crons, true, 5*time.Minute); err != nil {
					t.Fatal(err)
				}
				cw.Deleted = time.Since(s)
				if cw.After, err = liveHeap(ctx, exp); err != nil {
					t.Fatal(err)
				}
				body, _, err := fetch(ctx, exp, false)
				if err != nil {
					t.Fatal(err)
				}
				var fams map[string]int
				cw.SeriesAfter, _, fams = seriesCount(body)
				cw.Diff = familyDiff(r.Families, fams)
				t.Logf("  churn wave %d: +%d Jobs/%d pods/%d CronJobs seen in %s, deleted and gone in %s; heap after GC %s (before churn %s), %d series",
					w+1, cb.count, cb.pods(), cb.cronJobs(), ms(cw.Created), ms(cw.Deleted), mib(cw.After.HeapAlloc), mib(r.ChurnBefore.HeapAlloc), cw.SeriesAfter)
				r.Churn = append(r.Churn, cw)
				if grow := cw.After.HeapAlloc - r.ChurnBefore.HeapAlloc; grow > max(2<<20, 0.05*r.ChurnBefore.HeapAlloc) {
					t.Errorf("churn wave %d: heap after GC grew by %s over the level before churn (deleted objects kept?)", w+1, mib(grow))
				}
				// The outcome counters per owner outlive the deleted Jobs by
				// design (--outcomes.retention): every other series goes.
				if after, before := cw.SeriesAfter-ownerSeries(fams), r.Series-ownerSeries(r.Families); after != before {
					t.Errorf("churn wave %d: %d series after the churn Jobs were deleted, %d before (the outcome counters per owner aside): %s", w+1, after, before, cw.Diff)
				}
			}
		}

		// Events: pod Warning noise with FailedCreate warnings interleaved;
		// the field selector must keep the noise out of the exporter.
		if r.Events, err = measureEvents(ctx, cs, exp, st.add, jobs, workers, setupEnd, si < len(stages)-1); err != nil {
			t.Fatal(err)
		}
		ev := r.Events
		t.Logf("  events: %d noise + %d FailedCreate written in %s (%.0f/s); exporter CPU %.0f ms during the stream (idle %.0f ms), caught up %s after; %d events cached, heap after GC %s → %s (%.0f B per event), %+d series; took %s",
			ev.Noise, ev.FailedCreate, ms(ev.Stream), ev.rate(), 1000*ev.CPU, 1000*ev.IdleCPU, ms(ev.CatchUp), ev.Cached,
			mib(ev.HeapBefore.HeapAlloc), mib(ev.HeapAfter.HeapAlloc), ev.heapPerEvent(), ev.SeriesAfter-ev.SeriesBefore, ms(ev.Took))
		t.Logf("  pod Warning events a pod-events watch would receive: %d, JSON %s listed in %s, decoded in %s; protobuf %s in %s, decoded in %s",
			ev.PodWarnings, size(ev.JSONBytes), ms(ev.JSONList), ms(ev.JSONDecode), size(ev.ProtoBytes), ms(ev.ProtoList), ms(ev.ProtoDecode))
		if ev.SeriesDiff != "" {
			t.Logf("  series changed by the FailedCreate events: %s", ev.SeriesDiff)
		}
		if ev.Cached != ev.CachedBefore+ev.FailedCreate {
			t.Errorf("events watch: the exporter caches %d events after %d FailedCreate and %d noise events (%d before): the field selector let noise in?",
				ev.Cached, ev.FailedCreate, ev.Noise, ev.CachedBefore)
		}
		for _, p := range ev.Problems {
			t.Errorf("events watch: %s", p)
		}
		exp.Stop()

		// The same pods without their Jobs (no Job matches the selector;
		// the pod informer does not use it) nor the CronJob objects: the
		// heap the pods take.
		pe, _ := startExporter(fmt.Sprintf("exporter-pods-%d", jobs), "--watch.job-selector=kje-scale-none=true", "--no-watch.cronjobs")
		if err := harness.Eventually(ctx, 10*time.Minute, func(ctx context.Context) (bool, string, error) {
			body, _, err := fetch(ctx, pe, false)
			if err != nil {
				return false, err.Error(), nil
			}
			p, _ := value(body, `kubejob_exporter_objects{resource="pods"}`)
			return int(p) == pods, fmt.Sprintf("pods-only exporter tracks %v pods, want %d", p, pods), nil
		}); err != nil {
			t.Fatal(err)
		}
		if r.PodsOnly, err = liveHeap(ctx, pe); err != nil {
			t.Fatal(err)
		}
		saveProfile(pe, fmt.Sprintf("heap-pods-%d", jobs))
		pe.Stop()

		// The same Jobs and pods without the CronJob objects
		// (--no-watch.cronjobs): the CronJobs come from their runs
		// alone. What the normal exporter has more is the CronJob objects.
		ne, _ := startExporter(fmt.Sprintf("exporter-nocron-%d", jobs), "--no-watch.cronjobs")
		if err := waitObjects(ctx, ne, jobs, pods, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := waitCronJobs(ctx, ne, crons, false, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		body, _, err := fetch(ctx, ne, false)
		if err != nil {
			t.Fatal(err)
		}
		_, _, fams := seriesCount(body)
		r.NoCronSer = cronSeries(fams)
		if r.NoCronObjects, err = liveHeap(ctx, ne); err != nil {
			t.Fatal(err)
		}
		saveProfile(ne, fmt.Sprintf("heap-nocron-%d", jobs))
		ne.Stop()
		t.Logf("  pods-only exporter heap after GC %s, without the CronJob objects %s: %.0f B per Pod, %.0f B per Job, %.0f B per CronJob (its object; an empty CronJob watch %.1f KiB); %.1f series per CronJob (%.1f from the runs alone)",
			mib(r.PodsOnly.HeapAlloc), mib(r.NoCronObjects.HeapAlloc), r.perPod(), r.perJob(), r.perCronJob(), r.cronWatchBase()/1024,
			r.cronPer(r.CronSer), r.cronPer(r.NoCronSer))

		// The same cluster with the runtime's memory limit, as the
		// Deployment sets it: RSS during the initial list and after it.
		if memLimit != "" {
			le, _ := startExporter(fmt.Sprintf("exporter-limited-%d", jobs))
			if err := waitObjects(ctx, le, jobs, pods, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := waitCronJobs(ctx, le, crons, true, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			for range 20 { // scrapes as Prometheus makes them
				if _, _, err := fetch(ctx, le, true); err != nil {
					t.Fatal(err)
				}
			}
			body, _, err := fetch(ctx, le, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.Limited, err = readMem(body); err != nil {
				t.Fatal(err)
			}
			r.Limited.readRSSParts(le)
			r.LimitedPeakRSS, _ = peakRSS(le)
			le.Stop()
			t.Logf("  with GOMEMLIMIT=%s: RSS %s (anonymous %s, file-backed %s), peak %s, heap in use %s", memLimit, mib(r.Limited.RSS), mib(r.Limited.RSSAnon), mib(r.Limited.RSSFile), mib(r.LimitedPeakRSS), mib(r.Limited.HeapInuse))
		}
		results = append(results, r)
	}

	// One big Job beside a small one, with its own exporter (bigjob.go).
	big, err := runBigJob(ctx, t.Logf, cs, startExporter, bigJobPlan(runSize), workers)
	if err != nil {
		t.Fatal(err)
	}
	results[len(results)-1].Big = &big

	report := render(results, runSize, workers, memLimit)
	fmt.Println(report)
	if out := os.Getenv(envOut); out != "" {
		// Keep the hand-written notes of an earlier report.
		if old, err := os.ReadFile(out); err == nil {
			if i := strings.Index(string(old), notesMarker); i >= 0 {
				report += string(old[i:])
			}
		}
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("report written to %s", out)
	}
	for _, r := range results {
		for _, f := range checkTargets(r, memLimit) {
			t.Logf("target not met at %d Jobs / %d pods: %s", r.Jobs, r.Pods, f)
		}
	}
}

// liveHeap forces two garbage collections in the exporter (pprof's heap
// endpoint with gc=1 runs one before it answers; the second frees what the
// first left in sync.Pool victim caches, such as the pooled gzip writers)
// and returns the heap statistics that endpoint prints right after the
// last one: the live heap, with nothing allocated since. RSS comes from
// /metrics.
func liveHeap(ctx context.Context, e *harness.Exporter) (memSample, error) {
	var m memSample
	for range 2 {
		code, body, err := e.Get(ctx, "/debug/pprof/heap?gc=1&debug=1")
		if err != nil {
			return m, err
		}
		if code != 200 {
			return m, fmt.Errorf("GET /debug/pprof/heap: %d: %.200s", code, body)
		}
		var ok [2]bool
		for _, line := range strings.Split(body, "\n") {
			if v, found := strings.CutPrefix(line, "# HeapAlloc = "); found {
				m.HeapAlloc, err = strconv.ParseFloat(v, 64)
				ok[0] = err == nil
			}
			if v, found := strings.CutPrefix(line, "# HeapInuse = "); found {
				m.HeapInuse, err = strconv.ParseFloat(v, 64)
				ok[1] = err == nil
			}
		}
		if !ok[0] || !ok[1] {
			return m, fmt.Errorf("no HeapAlloc/HeapInuse in the heap profile's text form")
		}
	}
	body, _, err := fetch(ctx, e, false)
	if err != nil {
		return m, err
	}
	rss, ok := value(body, "process_resident_memory_bytes")
	if !ok {
		return m, fmt.Errorf("process_resident_memory_bytes missing from /metrics")
	}
	m.RSS = rss
	m.readRSSParts(e)
	return m, nil
}
