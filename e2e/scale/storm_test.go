package scale

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// The scrape storm of issue 8.
const (
	stormJobs        = 10_000
	stormMaxRequests = 8  // --web.max-requests, well below stormClients
	stormClients     = 50 // concurrent scrapers, half of them asking for gzip
	stormDuration    = 30 * time.Second
	stormBaseline    = 20 // pod updates measured before the storm
	stormSetupConns  = 64 // API clients creating the Jobs
)

// stormRefusedBody is the exporter's answer beyond --web.max-requests
// (exporter/metrics_handler.go, written by http.Error).
const stormRefusedBody = "too many concurrent scrapes, see --web.max-requests\n"

// TestScrapeStorm: 50 clients scrape an exporter of 10,000 Jobs back to
// back for 30 s, half with Accept-Encoding gzip as Prometheus sends it,
// against --web.max-requests=8, while the test fails one running pod after
// another and times how soon the exporter serves each change.
//
//   - Every 200 answer is complete and consistent: it ends properly (last
//     line ends; gzip trailer and checksum), every series sits under its
//     family's TYPE line, the families about Jobs come with the reference
//     answer's HELP/TYPE lines in its order, the exporter's own metrics
//     parse and are all there, it has 10,000 kubejob_info series, and the
//     multiset of its series about Jobs equals the exporter's state after
//     exactly m of the test's updates, with m at least the number of
//     updates some answer had already shown when this request was sent: no
//     answer is torn, partial, or older than one served before it.
//   - Every other answer is a clean 503 (the handler's body and headers),
//     and kubejob_exporter_scrapes_refused_total grew by exactly the 503s
//     the clients received.
//   - Peak RSS during the storm stays below the RSS before it plus one
//     plain answer per admitted scrape (see the memory bound below).
//   - The watch keeps up: the delay from a pod write to the exporter
//     serving the new value stays within 2× of the one measured without
//     the storm at p50, or within one quiet scrape, the resolution of that
//     measurement (see below for what is measured and why).
func TestScrapeStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("scrape storm skipped in -short mode")
	}
	testStart := time.Now()
	ctx := context.Background()
	defer func(p time.Duration) { harness.PollInterval = p }(harness.PollInterval)
	harness.PollInterval = 20 * time.Millisecond

	st := startStorm(ctx, t)
	defer st.exp.Stop()
	defer func() {
		if t.Failed() {
			logs := st.exp.Logs()
			if len(logs) > 4<<10 {
				logs = logs[len(logs)-4<<10:]
			}
			t.Logf("end of the exporter's output:\n%s", logs)
		}
	}()
	st.measureBaseline(ctx, t)
	o := st.storm(ctx, t)
	answers := st.checkAnswers(ctx, t, o)
	cs := st.checkRefusals(t, o)
	st.checkMemory(t, o)
	st.checkDelays(t, o, answers, cs, testStart)
}

// stormTest is one run of TestScrapeStorm: the Jobs, the exporter, the
// reference answer and what was measured before the storm.
type stormTest struct {
	b        batch
	exp      *harness.Exporter
	ref      *stormReference
	r        *stormRun
	measurer *stormClient
	setup    time.Duration
	requests int64

	baseline     []*stormUpdate
	hist0, hist1 stormHistogram
}

// stormOutcome is what the storm left: the clients, the updates measured
// during it, and the exporter's counters and memory around it.
type stormOutcome struct {
	clients                     []*stormClient
	updates                     []*stormUpdate
	start                       time.Time
	took                        time.Duration
	refusedBefore, refusedAfter float64
	measurerRefusedBefore       int
	memBefore, memAfter         memSample
	rssBefore, rssPeak          float64
	haveProc, hwmReset          bool
	hist2                       stormHistogram
}

// stormCounts are the clients' answers, by kind.
type stormCounts struct {
	ok200, gzip200, refused int
	took200, took503        []time.Duration
}

// startStorm creates the 10,000 Jobs, starts the exporter and waits until
// it renders them all, then reads the reference answer.
func startStorm(ctx context.Context, t *testing.T) *stormTest {
	rg := startRig(ctx, t)
	c, bin, work, cs := rg.Cluster, rg.bin, rg.work, rg.cs

	// 10,000 Jobs with one pod each: 4 API requests per Job.
	b := batch{prefix: "storm", namespaces: 10, first: 0, count: stormJobs, podsPerJob: 1}
	s := time.Now()
	requests, err := createBatch(ctx, cs, b, stormSetupConns, nil)
	if err != nil {
		t.Fatal(err)
	}
	setup := time.Since(s)
	t.Logf("created %d Jobs and %d pods in %s (%d requests, %.0f/s, %d clients)", b.count, b.pods(), ms(setup), requests, float64(requests)/setup.Seconds(), stormSetupConns)

	logf, err := os.Create(filepath.Join(work, "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	s = time.Now()
	exp, err := harness.StartExporter(ctx, harness.ExporterOptions{
		Binary: bin, Kubeconfig: c.Kubeconfig(), LogLevel: "warn", Output: logf, ReadyTimeout: 5 * time.Minute,
		Args: []string{fmt.Sprintf("--web.max-requests=%d", stormMaxRequests)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Stop() })
	// With one pod per Job only the OOMKilled quarter has pod failures.
	oomJobs := 0
	for i := b.first; i < b.first+b.count; i++ {
		if kindOf(i) == kindOOM {
			oomJobs++
		}
	}
	if err := harness.Eventually(ctx, 5*time.Minute, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, exp, false)
		if err != nil {
			return false, err.Error(), nil
		}
		j, _ := value(body, `kubejob_exporter_objects{resource="jobs"}`)
		p, _ := value(body, `kubejob_exporter_objects{resource="pods"}`)
		i, f := count(body, "kubejob_info{"), count(body, "kubejob_pod_failures{")
		return int(j) == b.count && int(p) == b.pods() && i == b.count && f == oomJobs,
			fmt.Sprintf("exporter tracks %v Jobs and %v pods, renders %d Jobs, %d with pod failures; want %d, %d, %d, %d", j, p, i, f, b.count, b.pods(), b.count, oomJobs), nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("exporter ready and every Job rendered %s after its start", ms(time.Since(s)))

	ref, err := newStormReference(ctx, exp, b.count)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("an answer: %s plain, %s gzip, %d series about Jobs; quiet scrape p50 %s plain, %s gzip",
		size(ref.plainBytes), size(ref.gzipBytes), ref.x.series, ms(ref.plainP50), ms(ref.gzipP50))

	r := &stormRun{ref: ref, cs: cs, exp: exp, b: b, states: []uint64{ref.x.sum}}
	measurer := newStormClient(r, -1, false, 1)
	r.measurer = measurer
	hist0, err := eventDelayHistogram(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}

	return &stormTest{b: b, exp: exp, ref: ref, r: r, measurer: measurer, setup: setup, requests: requests, hist0: hist0}
}

// measureBaseline measures updates before the storm, as TestScale does.
func (st *stormTest) measureBaseline(ctx context.Context, t *testing.T) {
	r, exp := st.r, st.exp
	// Baseline: as TestScale measures it, one client scraping back to back
	// from each pod write until the new value shows.
	var baseline []*stormUpdate
	for len(baseline) < stormBaseline {
		u, err := r.measure(ctx, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		baseline = append(baseline, u)
	}
	hist1, err := eventDelayHistogram(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	st.baseline, st.hist1 = baseline, hist1
}

// storm runs the clients for stormDuration while the test updates pods,
// and reads the exporter's counters and memory around it.
func (st *stormTest) storm(ctx context.Context, t *testing.T) stormOutcome {
	r, exp, measurer := st.r, st.exp, st.measurer
	refusedBefore, err := refusedTotal(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	measurerRefusedBefore := len(measurer.refused)
	memBefore, err := readMemBody(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	// RSS from /proc (Linux only). Writing 5 to clear_refs resets VmHWM
	// (peak RSS) to the current RSS, so VmHWM after the storm is the peak
	// during it. Where the kernel refuses, the VmRSS sampled every 50 ms is
	// the peak.
	proc, haveProc := exporterProc(exp)
	if !haveProc && runtime.GOOS == "linux" {
		t.Fatal("the exporter process is not in /proc")
	}
	rssBefore, _ := procStatusBytes(proc, "VmRSS")
	hwmReset := haveProc && os.WriteFile(filepath.Join(proc, "clear_refs"), []byte("5"), 0) == nil

	// The storm: every client scrapes back to back until stop; every
	// client's answers show the pod writes, which go on meanwhile, one
	// after the other as soon as an answer showed the previous one.
	stormStart := time.Now()
	stop := stormStart.Add(stormDuration)
	clients := make([]*stormClient, stormClients)
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = newStormClient(r, i, i%2 == 1, stormClients)
		wg.Add(1)
		go func(sc *stormClient) {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := sc.scrape(); err != nil {
					r.fail(fmt.Errorf("client %d (gzip %v) after %s: %v", sc.id, sc.gzip, ms(time.Since(stormStart)), err))
					return
				}
			}
		}(clients[i])
	}
	var rssSampled float64
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for time.Now().Before(stop) {
			if v, ok := procStatusBytes(proc, "VmRSS"); haveProc && ok && v > rssSampled {
				rssSampled = v
			}
			<-tick.C
		}
	}()
	clientsDone := make(chan struct{})
	go func() { wg.Wait(); close(clientsDone) }()
	var storm []*stormUpdate
	for time.Now().Before(stop) {
		u, err := r.measure(ctx, true, clientsDone)
		if err != nil {
			t.Fatal(err)
		}
		storm = append(storm, u)
	}
	<-clientsDone
	<-samplerDone
	stormTook := time.Since(stormStart)
	rssPeak := rssSampled
	if hwmReset {
		if v, ok := procStatusBytes(proc, "VmHWM"); ok && v > rssPeak {
			rssPeak = v
		}
	}
	hist2, err := eventDelayHistogram(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	refusedAfter, err := refusedTotal(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	memAfter, err := readMemBody(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}

	return stormOutcome{clients: clients, updates: storm, start: stormStart, took: stormTook,
		refusedBefore: refusedBefore, refusedAfter: refusedAfter, measurerRefusedBefore: measurerRefusedBefore,
		memBefore: memBefore, memAfter: memAfter, rssBefore: rssBefore, rssPeak: rssPeak,
		haveProc: haveProc, hwmReset: hwmReset, hist2: hist2}
}

// checkAnswers checks every 200 answer against the exporter's states and
// the final state against all the updates; it returns the answers with
// their states.
func (st *stormTest) checkAnswers(ctx context.Context, t *testing.T, o stormOutcome) []stormAnswer {
	r, exp, ref, stormStart := st.r, st.exp, st.ref, o.start
	// Client errors: transport errors, bad 503s, bad or incomplete 200s.
	r.mu.Lock()
	errs, answers := r.errs, r.answers
	r.mu.Unlock()
	for _, err := range errs {
		t.Error(err)
	}

	// Each 200 answer shows exactly the state after m updates, and no
	// older state than one already shown when its request was sent.
	stateOf := map[uint64]int{}
	for m, sum := range r.states {
		stateOf[sum] = m
	}
	var stale, torn int
	for i := range answers {
		a := &answers[i]
		m, ok := stateOf[a.sum]
		if !ok {
			a.state = -1
			if torn++; torn <= 5 {
				t.Errorf("answer to client %d (gzip %v) sent %s into the storm: its series about Jobs match no state of the exporter (%d updates made); series by family, against the reference: %s",
					a.client, a.gzip, ms(a.start.Sub(stormStart)), len(r.states)-1, ref.familyDiff(a.families))
			}
			continue
		}
		a.state = m
		if m < a.lo {
			if stale++; stale <= 5 {
				t.Errorf("answer to client %d sent %s into the storm shows %d updates, but an answer had shown %d before it was sent", a.client, ms(a.start.Sub(stormStart)), m, a.lo)
			}
		}
	}
	if torn > 5 || stale > 5 {
		t.Errorf("%d answers match no state, %d show an older state than one served before", torn, stale)
	}
	// The exporter ends in the state of all the updates, none lost.
	if final, err := finalSum(ctx, exp, ref); err != nil {
		t.Error(err)
	} else if final != r.states[len(r.states)-1] {
		m, ok := stateOf[final]
		if !ok {
			m = -1
		}
		t.Errorf("after the storm the series about Jobs are the state after %d updates (-1: no state), not after all %d", m, len(r.states)-1)
	}

	return answers
}

// checkRefusals compares the 503s the clients received with the
// exporter's count of them.
func (st *stormTest) checkRefusals(t *testing.T, o stormOutcome) stormCounts {
	clients, measurer := o.clients, st.measurer
	refusedAfter, refusedBefore, measurerRefusedBefore := o.refusedAfter, o.refusedBefore, o.measurerRefusedBefore
	// Refusals: what the clients received is what the exporter counted. No
	// request is cancelled, so none is counted without being received.
	var ok200, gzip200, refused int
	var took200, took503 []time.Duration
	for _, sc := range clients {
		ok200 += sc.ok
		if sc.gzip {
			gzip200 += sc.ok
		}
		refused += len(sc.refused)
		took200 = append(took200, sc.took...)
		took503 = append(took503, sc.refused...)
	}
	if got, want := refusedAfter-refusedBefore, refused+len(measurer.refused)-measurerRefusedBefore; got != float64(want) {
		t.Errorf("kubejob_exporter_scrapes_refused_total grew by %v in the storm; the clients received %d 503s", got, want)
	}
	if ok200 == 0 || refused == 0 {
		t.Errorf("%d clients against --web.max-requests=%d: %d answers 200, %d refused; want both", stormClients, stormMaxRequests, ok200, refused)
	}

	return stormCounts{ok200: ok200, gzip200: gzip200, refused: refused, took200: took200, took503: took503}
}

// checkMemory bounds the peak RSS during the storm.
func (st *stormTest) checkMemory(t *testing.T, o stormOutcome) {
	ref, rssBefore, rssPeak, haveProc := st.ref, o.rssBefore, o.rssPeak, o.haveProc
	// Memory. An admitted scrape streams the pre-rendered series: it holds
	// a snapshot of the store (8 bytes per Job), a 64 KiB buffer and, for
	// gzip, a pooled compressor (about 1 MiB), never a copy of the answer;
	// a refused one holds nothing past its 503. The bound is one plain
	// answer per admitted scrape over the RSS before the storm: what a
	// handler that buffered its answers would hold live, before Go's GC
	// headroom (GOGC=100) doubles it. Streaming, the growth is those
	// buffers and compressors, about twice over with that headroom.
	memBound := rssBefore + float64(stormMaxRequests*ref.plainBytes)
	if !haveProc {
		t.Logf("no /proc/PID/status on %s: peak RSS not checked", runtime.GOOS)
	} else if rssPeak > memBound {
		t.Errorf("peak RSS during the storm %s > %s: RSS before %s + %d admitted scrapes × %s (one plain answer each)",
			mib(rssPeak), mib(memBound), mib(rssBefore), stormMaxRequests, size(ref.plainBytes))
	}

}

// checkDelays checks that the watch kept up (event → served, baseline vs
// storm) and logs the run's figures.
func (st *stormTest) checkDelays(t *testing.T, o stormOutcome, answers []stormAnswer, c stormCounts, testStart time.Time) {
	baseline, storm, ref := st.baseline, o.updates, st.ref
	hist0, hist1, hist2 := st.hist0, st.hist1, o.hist2
	stormTook, rssBefore, rssPeak, hwmReset := o.took, o.rssBefore, o.rssPeak, o.hwmReset
	memBefore, memAfter := o.memBefore, o.memAfter
	ok200, gzip200, refused, took200, took503 := c.ok200, c.gzip200, c.refused, c.took200, c.took503
	memBound := rssBefore + float64(stormMaxRequests*ref.plainBytes)
	setup, requests := st.setup, st.requests
	// Event → metric. Update k is in the exporter's store from some moment
	// X on. An answer snapshots the store after its request is sent and
	// before its headers arrive, so X is after the send time of the last
	// answer without the update ("not yet served"), and no later than the
	// send time of the first answer with it ("served"; late by the moment
	// between sending and the snapshot, sub-millisecond on a kept-alive
	// connection). Both are measured from the return of the pod write; the
	// write itself is reported apart, as the API server runs in this test
	// process and shares its CPUs with the 50 clients.
	type delays struct{ lower, served, headers, read, write []time.Duration }
	lat := func(us []*stormUpdate) delays {
		var d delays
		for _, u := range us {
			if u.tail {
				continue
			}
			var lo, sv, hd, rd time.Time
			for _, a := range answers {
				switch {
				case a.state < 0:
				case a.state < u.k:
					if a.start.After(lo) {
						lo = a.start
					}
				default:
					if sv.IsZero() || a.start.Before(sv) {
						sv = a.start
					}
					if hd.IsZero() || a.head.Before(hd) {
						hd = a.head
					}
					if rd.IsZero() || a.end.Before(rd) {
						rd = a.end
					}
				}
			}
			d.lower = append(d.lower, lo.Sub(u.written))
			d.served = append(d.served, sv.Sub(u.written))
			d.headers = append(d.headers, hd.Sub(u.written))
			d.read = append(d.read, rd.Sub(u.t0))
			d.write = append(d.write, u.written.Sub(u.t0))
		}
		return d
	}
	bd, sd := lat(baseline), lat(storm)
	q := func(ds []time.Duration) string { return ms(quantile(ds, 0.5)) + " / " + ms(quantile(ds, 0.99)) }
	// No scrape was admitted between those two sends: the width between
	// them is the resolution. Before the storm the measuring client sends a
	// scrape right after each write and the next one quiet scrape later. In
	// the storm the admitted scrapes start in waves (the clients refill a
	// freed slot at once, and the admitted scrapes run about equally long),
	// so an update written between waves shows only with the next one, up
	// to a storm scrape (hundreds of ms) later: "served" is then mostly that
	// wait, not the watch. The assertion takes what is certain: "not yet
	// served" is a lower bound of the true delay, so a p50 of it above 2×
	// the baseline's "served" p50 proves the watch fell behind. The floor is
	// one quiet scrape: the baseline measurement (TestScale's) cannot tell
	// shorter delays from zero, and its p50 is about zero here (the exporter
	// has the update before the write's response reaches the test).
	bP50, lP50 := quantile(bd.served, 0.5), quantile(sd.lower, 0.5)
	limit := max(2*bP50, ref.plainP50)
	switch {
	case len(sd.lower) < 10:
		t.Errorf("only %d updates measured during the storm", len(sd.lower))
	case lP50 > limit:
		t.Errorf("the watch falls behind under the storm: at p50, a scrape admitted %s after the pod write returned still lacked the update (> %s: 2× the baseline's %s, or one quiet scrape %s); served p50 / p99 %s, baseline %s",
			ms(lP50), ms(limit), ms(bP50), ms(ref.plainP50), q(sd.served), q(bd.served))
	}
	var width []time.Duration
	for i := range sd.served {
		width = append(width, sd.served[i]-sd.lower[i])
	}

	t.Logf("storm: %d clients for %s against --web.max-requests=%d: %d answers 200 (%d gzip), p50 / p99 %s, headers after %s; %d refused 503 (%.0f/s), p50 / p99 %s",
		stormClients, ms(stormTook), stormMaxRequests, ok200, gzip200, q(took200), q(headers(answers)), refused, float64(refused)/stormTook.Seconds(), q(took503))
	t.Logf("pod write returned → served, p50 / p99: baseline %s over %d updates (not yet served %s); storm %s over %d updates (not yet served %s, bound on its p50 %s; width %s; headers of the first answer with it %s)",
		q(bd.served), len(bd.served), q(bd.lower), q(sd.served), len(sd.served), q(sd.lower), ms(limit), q(width), q(sd.headers))
	t.Logf("pod write → first answer with it read by a client, p50 / p99: baseline %s, storm %s; the pod write itself: baseline %s, storm %s",
		q(bd.read), q(sd.read), q(bd.write), q(sd.write))
	t.Logf("exporter's own event → metric (kubejob_exporter_event_processing_delay_seconds): baseline %s; storm %s", hist1.sub(hist0), hist2.sub(hist1))
	t.Logf("memory: RSS before the storm %s, peak in it %s (bound %s; VmHWM reset: %v), after %s; heap in use before %s, after %s",
		mib(rssBefore), mib(rssPeak), mib(memBound), hwmReset, mib(memAfter.RSS), mib(memBefore.HeapInuse), mib(memAfter.HeapInuse))
	t.Logf("summary: setup %s (%.0f requests/s); pod write → served p50 / p99 baseline %s, storm %s (not yet served %s); 200s %d, 503s %d; RSS before %s, peak %s; test %s",
		ms(setup), float64(requests)/setup.Seconds(), q(bd.served), q(sd.served), q(sd.lower), ok200, refused, mib(rssBefore), mib(rssPeak), ms(time.Since(testStart)))
}

// stormRun is what the clients and the updates share.
type stormRun struct {
	ref *stormReference
	cs  kubernetes.Interface
	exp *harness.Exporter
	b   batch

	measurer *stormClient // scrapes for the updates when no storm client does

	next    int                         // updates made
	states  []uint64                    // states[m]: fingerprint of the series about Jobs after m updates
	visible atomic.Int64                // updates an answer has shown
	current atomic.Pointer[stormUpdate] // the update in flight

	mu      sync.Mutex
	answers []stormAnswer
	errs    []error
}

// stormUpdate is one pod written Failed (exit 127) in a running Job.
type stormUpdate struct {
	k      int    // the state that shows it: states[k]
	series []byte // its kubejob_pod_failures{exit_code="127"} line, up to the value
	id     []byte // `{namespace="ns",job_name="name"`: the Job's series
	before uint64 // fingerprint of the Job's series before
	found  chan uint64
	tail   bool // the storm ended before a storm client saw it

	t0, written time.Time // before and after the write
}

// measure writes the next update and waits until an answer shows it.
// Without a storm the measuring client scrapes back to back from the write
// on; in one, the storm clients' answers show it, and if they stop first
// (clientsDone) the measuring client confirms it and the update is left
// out of the storm's figures.
func (r *stormRun) measure(ctx context.Context, storm bool, clientsDone <-chan struct{}) (*stormUpdate, error) {
	if r.next >= r.b.count/4 {
		return nil, errors.New("no running Job left to update")
	}
	// Running Jobs are i ≡ 1 mod 4 (kindRunning127); 148 apart, the
	// first 2,500 are distinct and successive ones in other namespaces.
	i := (1 + 148*r.next) % r.b.count
	r.next++
	ns := r.b.namespace(i)
	id := fmt.Sprintf(`{namespace="%s",job_name="%s"`, ns, r.b.jobName(i))
	u := &stormUpdate{
		k:      len(r.states),
		series: []byte(fmt.Sprintf(`kubejob_pod_failures%s,container="main",reason="Error",exit_code="127"} `, id)),
		id:     []byte(id),
		before: jobSeriesSum(r.ref.body, id),
		found:  make(chan uint64, 1),
	}
	r.current.Store(u)
	u.t0 = time.Now()
	if err := failRunningPod(ctx, r.cs, r.b, i); err != nil {
		return nil, err
	}
	u.written = time.Now()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	var sc *stormClient
	if !storm {
		sc = r.measurer
	}
	for {
		var after uint64
		if sc != nil {
			select {
			case after = <-u.found:
			case <-timeout.C:
				return nil, fmt.Errorf("%s not 1 a minute after the pod was written Failed", u.series)
			default:
				if _, err := sc.scrape(); err != nil {
					return nil, err
				}
				continue
			}
		} else {
			select {
			case after = <-u.found:
			case <-clientsDone:
				u.tail, sc = true, r.measurer
				continue
			case <-timeout.C:
				return nil, fmt.Errorf("%s not 1 a minute after the pod was written Failed", u.series)
			}
		}
		r.states = append(r.states, r.states[u.k-1]-u.before+after)
		r.visible.Store(int64(u.k))
		return u, nil
	}
}

func (r *stormRun) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// stormAnswer is one 200 answer.
type stormAnswer struct {
	client           int // -1: the measuring client
	gzip             bool
	start, head, end time.Time // request sent, headers received, body read
	lo               int       // updates an answer had shown when this request was sent
	state            int       // updates this answer shows (-1: no state of the exporter)
	sum              uint64    // fingerprint of the series about Jobs
	families         []int     // series per family about Jobs, in order
}

func headers(as []stormAnswer) []time.Duration {
	var ds []time.Duration
	for _, a := range as {
		if a.client >= 0 {
			ds = append(ds, a.head.Sub(a.start))
		}
	}
	return ds
}

// stormClient scrapes /metrics and checks every answer.
type stormClient struct {
	r    *stormRun
	id   int
	gzip bool
	http *http.Client
	br   *bufio.Reader
	gz   *gzip.Reader
	self bytes.Buffer

	ok      int
	took    []time.Duration // 200 answers
	refused []time.Duration // 503 answers
}

func newStormClient(r *stormRun, id int, gz bool, conns int) *stormClient {
	return &stormClient{
		r: r, id: id, gzip: gz,
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: conns}},
		br:   bufio.NewReaderSize(nil, 64<<10),
	}
}

// scrape GETs /metrics once and returns the status. A 200 answer is read
// to its end, checked (scanStorm, stormReference.check) and recorded; one
// that shows the update in flight tells it so. A 503 must be the handler's
// refusal. Any other answer, or a transport error, is an error.
func (sc *stormClient) scrape() (int, error) {
	r := sc.r
	a := stormAnswer{client: sc.id, gzip: sc.gzip, lo: int(r.visible.Load())}
	u := r.current.Load()
	req, err := http.NewRequest(http.MethodGet, r.exp.URL("/metrics"), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if sc.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	a.start = time.Now()
	resp, err := sc.http.Do(req)
	a.head = time.Now()
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	h := resp.Header
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		body, err := io.ReadAll(resp.Body)
		switch {
		case err != nil:
			return resp.StatusCode, fmt.Errorf("reading a 503: %v", err)
		case string(body) != stormRefusedBody:
			return resp.StatusCode, fmt.Errorf("503 with body %q, want %q", body, stormRefusedBody)
		case h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Content-Encoding") != "":
			return resp.StatusCode, fmt.Errorf("503 with Content-Type %q, Content-Encoding %q", h.Get("Content-Type"), h.Get("Content-Encoding"))
		}
		sc.refused = append(sc.refused, time.Since(a.start))
		return resp.StatusCode, nil
	default:
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, fmt.Errorf("GET /metrics: %s: %.200s", resp.Status, body)
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		return resp.StatusCode, fmt.Errorf("200 with Content-Type %q", ct)
	}
	var rd io.Reader = resp.Body
	if sc.gzip {
		if ce := h.Get("Content-Encoding"); ce != "gzip" {
			return resp.StatusCode, fmt.Errorf("Accept-Encoding gzip answered with Content-Encoding %q", ce)
		}
		if sc.gz == nil {
			sc.gz, err = gzip.NewReader(resp.Body)
		} else {
			err = sc.gz.Reset(resp.Body)
		}
		if err != nil {
			return resp.StatusCode, fmt.Errorf("gzip header: %v", err)
		}
		sc.gz.Multistream(false)
		rd = sc.gz
	} else if ce := h.Get("Content-Encoding"); ce != "" {
		return resp.StatusCode, fmt.Errorf("a plain scrape answered with Content-Encoding %q", ce)
	}
	sc.br.Reset(rd)
	x, err := scanStorm(sc.br, u, &sc.self)
	a.end = time.Now()
	if err == nil {
		err = r.ref.check(x)
	}
	if err != nil {
		return resp.StatusCode, fmt.Errorf("200 answer read for %s (gzip %v): %v", ms(a.end.Sub(a.start)), sc.gzip, err)
	}
	a.sum, a.families = x.sum, x.families
	if x.shows {
		select {
		case u.found <- x.jobSum:
		default: // another answer showed it first
		}
	}
	sc.ok++
	sc.took = append(sc.took, a.end.Sub(a.start))
	r.mu.Lock()
	r.answers = append(r.answers, a)
	r.mu.Unlock()
	return resp.StatusCode, nil
}

// stormSeed hashes every series line of the test.
var stormSeed = maphash.MakeSeed()

// stormExposition is what scanStorm finds in one answer.
type stormExposition struct {
	sum       uint64   // Σ hash of every series line about Jobs: the multiset of them
	headers   uint64   // hash of the HELP and TYPE lines about Jobs, in order
	families  []int    // series per family about Jobs, in order
	names     []string // those families
	info      int      // kubejob_info series
	series    int      // series about Jobs
	selfNames string   // the exporter's own families, sorted
	shows     bool     // the update's new value is there
	jobSum    uint64   // Σ hash of the updated Job's series
}

// scanStorm reads a text exposition to its end: the families about Jobs
// (the pre-rendered stores), then the exporter's own metrics, which it
// parses. Each series must be under its family's TYPE line, and each line
// must end with a newline, which a cut answer does not; a gzip reader fails
// on a missing trailer or a bad checksum. u, if not nil, is an update to
// look for.
func scanStorm(br *bufio.Reader, u *stormUpdate, self *bytes.Buffer) (stormExposition, error) {
	var x stormExposition
	var h maphash.Hash
	h.SetSeed(stormSeed)
	var family []byte
	self.Reset()
	inSelf, skip := false, false
	for {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			if err == io.EOF {
				return x, fmt.Errorf("the answer ends within a line: %.100q", line)
			}
			return x, err
		}
		if inSelf {
			self.Write(line)
			continue
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0:
			return x, errors.New("empty line")
		case line[0] == '#':
			f := bytes.Fields(line)
			if len(f) < 3 || (string(f[1]) != "HELP" && string(f[1]) != "TYPE") {
				return x, fmt.Errorf("unexpected comment %.100q", line)
			}
			// The outcome counters per owner (first in the answer) are
			// counted, not state: the states compared leave them out.
			if skip = harness.CountedPerOwner(string(f[2])); skip {
				continue
			}
			if name := string(f[2]); strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "kubejob_exporter_") {
				inSelf = true
				self.Write(line)
				self.WriteByte('\n')
				continue
			}
			h.Write(line)
			h.WriteByte('\n')
			if string(f[1]) == "TYPE" {
				family = append(family[:0], f[2]...)
				x.families = append(x.families, 0)
				x.names = append(x.names, string(f[2]))
			}
		case skip:
		default:
			end := bytes.IndexAny(line, "{ ")
			if end < 0 || len(x.families) == 0 || !bytes.Equal(line[:end], family) {
				return x, fmt.Errorf("series %.100q outside its family (under %q)", line, family)
			}
			hl := maphash.Bytes(stormSeed, line)
			x.sum += hl
			x.families[len(x.families)-1]++
			x.series++
			if string(family) == "kubejob_info" {
				x.info++
			}
			if u != nil {
				if rest := line[end:]; bytes.HasPrefix(rest, u.id) && len(rest) > len(u.id) && (rest[len(u.id)] == ',' || rest[len(u.id)] == '}') {
					x.jobSum += hl
					if bytes.HasPrefix(line, u.series) {
						v, err := strconv.ParseFloat(string(line[len(u.series):]), 64)
						x.shows = err == nil && v == 1
					}
				}
			}
		}
	}
	x.headers = h.Sum64()
	if !inSelf {
		return x, errors.New("the exporter's own metrics are missing: the answer stops after the series about Jobs")
	}
	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(self.Bytes()))
	if err != nil {
		return x, fmt.Errorf("the exporter's own metrics do not parse: %v", err)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	x.selfNames = strings.Join(names, " ")
	return x, nil
}

// stormReference is a quiet answer before any update: every other answer
// is compared with it.
type stormReference struct {
	body              []byte
	x                 stormExposition
	jobs              int
	plainBytes        int
	gzipBytes         int
	plainP50, gzipP50 time.Duration
}

func newStormReference(ctx context.Context, e *harness.Exporter, jobs int) (*stormReference, error) {
	ref := &stormReference{jobs: jobs}
	var plain, gz []time.Duration
	for i := 0; i < 10; i++ {
		body, d, err := fetch(ctx, e, false)
		if err != nil {
			return nil, err
		}
		plain = append(plain, d)
		ref.body, ref.plainBytes = body, len(body)
		gbody, d, err := fetch(ctx, e, true)
		if err != nil {
			return nil, err
		}
		gz = append(gz, d)
		ref.gzipBytes = len(gbody)
	}
	ref.plainP50, ref.gzipP50 = quantile(plain, 0.5), quantile(gz, 0.5)
	// The whole reference answer parses; the others are compared with it.
	parser := expfmt.NewTextParser(prommodel.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(ref.body)); err != nil {
		return nil, fmt.Errorf("the reference answer does not parse: %v", err)
	}
	var self bytes.Buffer
	x, err := scanStorm(bufio.NewReader(bytes.NewReader(ref.body)), nil, &self)
	if err != nil {
		return nil, fmt.Errorf("the reference answer: %v", err)
	}
	if x.info != jobs {
		return nil, fmt.Errorf("the reference answer has %d kubejob_info series, want %d", x.info, jobs)
	}
	ref.x = x
	return ref, nil
}

// check compares the shape of an answer with the reference: the same
// families about Jobs with the same HELP and TYPE lines in the same order,
// every Job, the same families of the exporter's own.
func (ref *stormReference) check(x stormExposition) error {
	switch {
	case x.headers != ref.x.headers:
		return fmt.Errorf("the families about Jobs differ from the reference's: %s", strings.Join(x.names, " "))
	case x.info != ref.jobs:
		return fmt.Errorf("%d kubejob_info series, want %d", x.info, ref.jobs)
	case x.selfNames != ref.x.selfNames:
		return fmt.Errorf("the exporter's own families are %q, the reference's %q", x.selfNames, ref.x.selfNames)
	}
	return nil
}

// familyDiff lists the families whose series count differs from the reference's.
func (ref *stormReference) familyDiff(got []int) string {
	var out []string
	for i, n := range got {
		if i < len(ref.x.families) && n != ref.x.families[i] {
			out = append(out, fmt.Sprintf("%s %d→%d", ref.x.names[i], ref.x.families[i], n))
		}
	}
	if len(out) == 0 {
		return "the same counts, other series"
	}
	return strings.Join(out, ", ")
}

// jobSeriesSum is the fingerprint of one Job's series (id is
// `{namespace="ns",job_name="name"`) in a text exposition.
func jobSeriesSum(body []byte, id string) uint64 {
	var sum uint64
	key := []byte(id)
	for off := 0; ; {
		i := bytes.Index(body[off:], key)
		if i < 0 {
			return sum
		}
		at := off + i
		if n := at + len(key); n < len(body) && (body[n] == ',' || body[n] == '}') {
			start := bytes.LastIndexByte(body[:at], '\n') + 1
			end := at + bytes.IndexByte(body[at:], '\n')
			sum += maphash.Bytes(stormSeed, body[start:end])
		}
		off = at + len(key)
	}
}

// finalSum scrapes once more, quietly, and returns the fingerprint of the
// series about Jobs.
func finalSum(ctx context.Context, e *harness.Exporter, ref *stormReference) (uint64, error) {
	body, _, err := fetch(ctx, e, false)
	if err != nil {
		return 0, err
	}
	var self bytes.Buffer
	x, err := scanStorm(bufio.NewReader(bytes.NewReader(body)), nil, &self)
	if err == nil {
		err = ref.check(x)
	}
	if err != nil {
		return 0, fmt.Errorf("the answer after the storm: %v", err)
	}
	return x.sum, nil
}

// stormHistogram is a snapshot of kubejob_exporter_event_processing_delay_seconds.
type stormHistogram struct {
	count, sum float64
	le, n      []float64 // bucket bounds and cumulative counts
}

func eventDelayHistogram(ctx context.Context, e *harness.Exporter) (stormHistogram, error) {
	m, err := e.Scrape(ctx)
	if err != nil {
		return stormHistogram{}, err
	}
	f := m.Families["kubejob_exporter_event_processing_delay_seconds"]
	if f == nil || len(f.Metric) != 1 || f.Metric[0].Histogram == nil {
		return stormHistogram{}, errors.New("kubejob_exporter_event_processing_delay_seconds is missing")
	}
	hm := f.Metric[0].Histogram
	h := stormHistogram{count: float64(hm.GetSampleCount()), sum: hm.GetSampleSum()}
	for _, b := range hm.Bucket {
		h.le = append(h.le, b.GetUpperBound())
		h.n = append(h.n, float64(b.GetCumulativeCount()))
	}
	return h, nil
}

// sub describes the events between two snapshots: count, mean, and the
// buckets of p50 and p99.
func (h stormHistogram) sub(before stormHistogram) string {
	n := h.count - before.count
	if n == 0 || len(h.le) != len(before.le) {
		return "no events"
	}
	bucket := func(q float64) string {
		for i := range h.le {
			if h.n[i]-before.n[i] >= q*n {
				return "≤ " + ms(time.Duration(h.le[i]*float64(time.Second)))
			}
		}
		return "> " + ms(time.Duration(h.le[len(h.le)-1]*float64(time.Second)))
	}
	return fmt.Sprintf("%.0f events, mean %s, p50 %s, p99 %s", n, ms(time.Duration((h.sum-before.sum)/n*float64(time.Second))), bucket(0.5), bucket(0.99))
}

func refusedTotal(ctx context.Context, e *harness.Exporter) (float64, error) {
	body, _, err := fetch(ctx, e, false)
	if err != nil {
		return 0, err
	}
	v, ok := value(body, "kubejob_exporter_scrapes_refused_total")
	if !ok {
		return 0, errors.New("kubejob_exporter_scrapes_refused_total is missing")
	}
	return v, nil
}

func readMemBody(ctx context.Context, e *harness.Exporter) (memSample, error) {
	body, _, err := fetch(ctx, e, false)
	if err != nil {
		return memSample{}, err
	}
	return readMem(body)
}
