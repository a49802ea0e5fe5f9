package reliability

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Issue 26: what a page reads of the API server is bounded in bytes
// whatever tenants wrote in their events.
const (
	// pageEvents events about one Job, each with a message of
	// pageEventBytes: what the API server accepts (an object of at most
	// about 1.5 MiB).
	pageEvents     = 200
	pageEventBytes = 1 << 20
	// pageOpens is how many times the Job's page is opened at once: the
	// pages read events 4 at a time.
	pageOpens = 4
	// pageRSSGrowth is what the opens may raise the exporter's peak
	// resident memory by: listed whole, each read would hold its 200 MiB
	// list; streamed with every string cut, each holds a read buffer and
	// 200 events of about 3 KiB.
	pageRSSGrowth = 16 << 20
	// pageOpenRounds bounds how often the 4 opens are repeated on a
	// machine too loaded for any of them to read an event in time;
	// pageEventsReuse is how long the pages reuse what a read of a Job's
	// events returned, its error too (pages/events.go, eventsTTL: 15s),
	// with a margin.
	pageOpenRounds  = 4
	pageEventsReuse = 16 * time.Second
)

// TestPageEventsBounded creates, through the real API server, 200 events
// of 1 MiB messages about one Job, then opens the Job's runbook page 4
// times at once: the exporter's peak resident memory (VmHWM) grows by at
// most 16 MiB, and every page shows the Job's events with messages cut
// and says that the list was cut at its byte bound (past the pages' time
// bound, the events read by then, and says so; the opens are repeated
// until a page shows the events, on a machine too loaded for any read).
func TestPageEventsBounded(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	const ns, name = "page-events", "noisy"
	suite.CreateNamespace(t, ns)
	j := NewJob(ns, name, "succeed", 0)
	j.Spec.Suspend = Ptr(true) // no pods: the Job's own events are in play
	suite.CreateJobs(t, j)
	created, err := suite.Cluster.Client().BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Not the Job controller's FailedCreate, which the exporter watches:
	// only the pages read these.
	createdIn := createEvents(t, created, "TenantWrote", pageEvents, pageEventBytes)

	// Started after the events exist, so that everything but the pages'
	// reads is in the baseline.
	e := suite.StartExporter(t, "page-events", "--watch.namespaces="+ns)
	if _, err := e.WaitMetrics(ctx, 60*time.Second, Labels(ns, name), func(m *harness.Metrics) (bool, string) {
		return len(m.Samples("kubejob_suspended", Labels(ns, name))) == 1, "the Job not reported yet"
	}); err != nil {
		t.Fatal(err)
	}
	before, err := peakRSS(e.Pid())
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"namespace": {ns}, "job_name": {name}}
	path := "/runbooks/KubeJobCannotCreatePods?" + q.Encode()
	// A page whose read outlasts the pages' time bound (3s; four reads at
	// once on a loaded machine may) says so, and shows the events it read
	// by then, if any. At least one page must show them, or the peak below
	// would not cover a read: the 4 opens are repeated, up to
	// pageOpenRounds times, until one does.
	var shown, late, rounds int
	var openedIn time.Duration
	for shown == 0 && rounds < pageOpenRounds {
		if rounds > 0 {
			time.Sleep(pageEventsReuse) // else the pages show what the last round read
		}
		rounds++
		shown, late, openedIn = openPagesAtOnce(t, e, path, name)
	}
	after, err := peakRSS(e.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if shown == 0 {
		t.Errorf("in %d rounds, none of the %d pages opened at once shows the Job's events: each read passed the pages' time bound before its first page", rounds, pageOpens)
	}
	if grew := after - before; grew > pageRSSGrowth {
		t.Errorf("peak RSS grew by %.1f MiB (%.1f → %.1f MiB) opening the page %d times at once, want at most %d MiB",
			float64(grew)/(1<<20), float64(before)/(1<<20), float64(after)/(1<<20), pageOpens, pageRSSGrowth>>20)
	}
	t.Logf("peak RSS %.1f → %.1f MiB; %d events of %d MiB created in %s; %d pages opened at once in %s (round %d: %d show the events, %d read past the time bound); took %s",
		float64(before)/(1<<20), float64(after)/(1<<20), pageEvents, pageEventBytes>>20, createdIn.Round(100*time.Millisecond),
		pageOpens, openedIn.Round(time.Millisecond), rounds, shown, late, time.Since(began).Round(100*time.Millisecond))
}

// openPagesAtOnce opens the page at path pageOpens times at once and
// checks each: within its size bound, and showing the Job's events with
// their messages cut and the list cut at its byte bound, or saying that
// its read passed the pages' time bound. It returns how many pages show
// the events, how many read past the bound, and how long the opens took.
func openPagesAtOnce(t *testing.T, e *harness.Exporter, path, name string) (shown, late int, took time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	pages := make([]string, pageOpens)
	codes := make([]int, pageOpens)
	opened := time.Now()
	for i := range pageOpens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			codes[i], pages[i], err = e.Get(context.Background(), path)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	took = time.Since(opened)
	for i, page := range pages {
		if codes[i] != 200 {
			t.Fatalf("page %d: status %d: %.300s", i, codes[i], page)
		}
		if len(page) > 256<<10 {
			t.Errorf("page %d is %d KiB", i, len(page)>>10)
		}
		_, body, ok := strings.Cut(page, "<main")
		if !ok {
			t.Fatalf("page %d has no <main>: %.2000s", i, page)
		}
		_, note, _ := strings.Cut(body, "some events could not be read: ")
		note, _, _ = strings.Cut(note, "</p>")
		pastBound := strings.Contains(note, "deadline")
		if pastBound {
			late++
		}
		if !strings.Contains(body, "job/"+name) || !strings.Contains(body, "mmmm…") {
			if !pastBound {
				t.Errorf("page %d does not show the Job's events with their messages cut, nor say why:\n%.2000s", i, body)
			}
			continue
		}
		shown++
		if !strings.Contains(body, "events larger than 2 MiB: only the events before the cut were read") {
			t.Errorf("page %d does not say the list was cut at its byte bound:\n%.2000s", i, body)
		}
	}
	return shown, late, took
}

// createEvents creates n Warning events of reason about Job j, each with
// a message of size bytes, and says how long it took.
func createEvents(t *testing.T, j *batchv1.Job, reason string, n, size int) time.Duration {
	t.Helper()
	ctx := context.Background()
	message := strings.Repeat("m", size)
	start := time.Now()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range 4 { // the API server admits a megabyte event in about 100ms
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				now := metav1.NewTime(time.Now())
				e := &corev1.Event{
					ObjectMeta: metav1.ObjectMeta{Namespace: j.Namespace, Name: fmt.Sprintf("%s.%03d", j.Name, i)},
					InvolvedObject: corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace,
						Name: j.Name, UID: j.UID},
					Type: corev1.EventTypeWarning, Reason: reason, Message: message, Count: 1,
					FirstTimestamp: now, LastTimestamp: now, Source: corev1.EventSource{Component: "tenant"},
				}
				if _, err := suite.Cluster.Client().CoreV1().Events(j.Namespace).Create(ctx, e, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("event %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return time.Since(start)
}

// peakRSS is a process's peak resident set size in bytes (VmHWM).
func peakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
