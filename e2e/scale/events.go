package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// The events watch at scale. The exporter watches only the Job
// controller's FailedCreate warnings (job.EventFieldSelector); a busy
// cluster writes far more Warning events about pods of other workloads
// (unschedulable, crash-looping, failed mounts, failed probes). Each stage
// writes such a stream with a few FailedCreate warnings interleaved and
// measures what reaches the exporter, and what a watch of pod Warning
// events (the alternative not built) would have had to receive.

// noiseEvents is how many Warning events about pods of non-Job workloads
// a stage of jobs Jobs writes: 2 per Job, at least 2,000.
func noiseEvents(jobs int) int { return max(2000, 2*jobs) }

// failedCreateEvents is how many FailedCreate warnings a stage of jobs
// Jobs writes, one per Job: 1% of the Jobs, at least 5.
func failedCreateEvents(jobs int) int { return max(5, jobs/100) }

// noiseNamespaces hold the noise events; they outlive a stage, their
// events do not.
const noiseNamespaces = 4

func noiseNamespace(n int) string { return fmt.Sprintf("kje-scale-noise-%d", n) }

// podWarningsSelector is what a watch of pod Warning events would list.
const podWarningsSelector = "involvedObject.kind=Pod,type=Warning"

const createFailureSeries = `kubejob_pod_create_failure_timestamp_seconds{`

// eventsResult is the events watch measured on one stage's exporter.
type eventsResult struct {
	Noise, FailedCreate int    // events written in the stream
	MessageBytes        [2]int // shortest and longest noise message
	Clients             int
	Stream              time.Duration // wall time of the stream
	CPU                 float64       // exporter CPU seconds during the stream
	IdleCPU             float64       // the same exporter idle, scaled to the stream's length
	IdleWindow          time.Duration
	CPUSource           string
	CatchUp             time.Duration // end of the stream → every FailedCreate cached and on /metrics
	CachedBefore        int           // kubejob_exporter_objects{resource="events"} before the stream
	Cached              int           // and after it
	HeapBefore          memSample
	HeapAfter           memSample
	SeriesBefore        int
	SeriesAfter         int
	SeriesDiff          string
	Cleanup             time.Duration // deleting the FailedCreate events → cache empty, series gone
	SeriesCleaned       int           // series after the cleanup
	Problems            []string      // what the exporter got wrong

	// The alternative not built: a watch of pod Warning events.
	PodWarnings             int
	JSONBytes, ProtoBytes   int
	JSONList, ProtoList     time.Duration
	JSONDecode, ProtoDecode time.Duration // fastest of 5, one goroutine

	Took time.Duration // the whole measurement, cleanup included
}

func (e eventsResult) written() int { return e.Noise + e.FailedCreate }

func (e eventsResult) rate() float64 { return float64(e.written()) / e.Stream.Seconds() }

// per1000 is CPU seconds per 1,000 events written in the stream.
func (e eventsResult) per1000(cpu float64) float64 { return cpu / float64(e.written()) * 1000 }

func (e eventsResult) heapPerEvent() float64 {
	return (e.HeapAfter.HeapAlloc - e.HeapBefore.HeapAlloc) / float64(e.FailedCreate)
}

// decodePer1000 is the decode time per 1,000 pod Warning events listed.
func (e eventsResult) decodePer1000(d time.Duration) time.Duration {
	if e.PodWarnings == 0 {
		return 0
	}
	return d * 1000 / time.Duration(e.PodWarnings)
}

// failedCreateJobs picks n running Jobs of b (only a running Job shows
// its create failures), spread over the batch.
func failedCreateJobs(b batch, n int) []int {
	var running []int
	for i := b.first; i < b.first+b.count; i++ {
		if kindOf(i) == kindRunning127 {
			running = append(running, i)
		}
	}
	n = min(n, len(running))
	out := make([]int, n)
	for k := range out {
		out[k] = running[k*len(running)/n]
	}
	return out
}

// noiseEvent is the k-th Warning event about a pod of a Deployment: the
// scheduler's and kubelets' usual complaints, in turn.
func noiseEvent(k int, now metav1.Time) *v1.Event {
	p := k / 2 // two events per pod
	ns := noiseNamespace(p % noiseNamespaces)
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := uint32(p) * 2654435761
	var suffix [5]byte
	for i := range suffix {
		suffix[i] = alphabet[h%uint32(len(alphabet))]
		h /= uint32(len(alphabet))
	}
	pod := fmt.Sprintf("web-%d-7d9f8c6b5-%s", p%50, suffix[:])
	uid := types.UID(fmt.Sprintf("%08x-4b1e-4c2a-9d3f-%012x", p, k))
	node := fmt.Sprintf("node-%03d", p%200)
	e := &v1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", pod, now.UnixNano()+int64(k)), Namespace: ns},
		InvolvedObject: v1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: pod, UID: uid, FieldPath: "spec.containers{app}",
		},
		Type: v1.EventTypeWarning, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source: v1.EventSource{Component: "kubelet", Host: node}, ReportingController: "kubelet", ReportingInstance: node,
	}
	switch k % 4 {
	case 0:
		e.Reason = "FailedScheduling"
		e.InvolvedObject.FieldPath = ""
		e.Source, e.ReportingController, e.ReportingInstance = v1.EventSource{Component: "default-scheduler"}, "default-scheduler", "default-scheduler-kje"
		e.Message = "0/200 nodes are available: 140 Insufficient memory, 60 node(s) didn't match Pod's node affinity/selector. preemption: 0/200 nodes are available: 60 Preemption is not helpful for scheduling, 140 No preemption victims found for incoming pod."
	case 1:
		e.Reason = "BackOff"
		e.Message = fmt.Sprintf("Back-off restarting failed container app in pod %s_%s(%s)", pod, ns, uid)
	case 2:
		e.Reason = "FailedMount"
		e.InvolvedObject.FieldPath = ""
		e.Message = fmt.Sprintf("MountVolume.SetUp failed for volume \"data\" : mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs 10.0.%d.%d:/exports/web /var/lib/kubelet/pods/%s/volumes/kubernetes.io~nfs/data\nOutput: mount.nfs: Connection timed out", p%256, k%256, uid)
	case 3:
		e.Reason = "Unhealthy"
		e.Message = fmt.Sprintf("Readiness probe failed: Get \"http://10.244.%d.%d:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", p%256, k%256)
	}
	return e
}

// afterPods dates the FailedCreate events: a refusal counts only when it
// is newer than the Job's newest pod (by more than the exporter's allowance
// for clock skew, a few seconds), and the status-update step may have
// created a pod of the same Job moments ago.
const afterPods = time.Minute

// failedCreateEvent is the Job controller's warning when the API server
// refuses a pod of the Job for its namespace's ResourceQuota.
func failedCreateEvent(j metav1.ObjectMeta, now metav1.Time) *v1.Event {
	now = metav1.NewTime(now.Add(afterPods))
	return &v1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", j.Name, now.UnixNano()), Namespace: j.Namespace},
		InvolvedObject: v1.ObjectReference{
			Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion,
		},
		Type: v1.EventTypeWarning, Reason: "FailedCreate", Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Message:             fmt.Sprintf(`Error creating: pods "%s-abcde" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10`, j.Name),
		Source:              v1.EventSource{Component: "job-controller"},
		ReportingController: "job-controller",
	}
}

// measureEvents writes noiseEvents(jobs) pod Warning events with
// failedCreateEvents(jobs) FailedCreate warnings on running Jobs of b
// interleaved, with workers clients, and measures the exporter e: CPU
// during the stream, time to catch up, events cached, heap, series. Then
// it lists the pod Warning events a pod-events watch would have received,
// and deletes the FailedCreate warnings, waiting until the exporter is back
// where it was, and the noise if deleteNoise. notBefore is when b's pods
// were created: the FailedCreate warnings must be newer (to the second) to
// show.
func measureEvents(ctx context.Context, cs kubernetes.Interface, e *harness.Exporter, b batch, jobs, workers int, notBefore time.Time, deleteNoise bool) (eventsResult, error) {
	start := time.Now()
	r := eventsResult{Noise: noiseEvents(jobs), Clients: workers, MessageBytes: [2]int{1 << 30, 0}}
	for k := range 4 { // one of each reason
		n := len(noiseEvent(k, metav1.Now()).Message)
		r.MessageBytes = [2]int{min(r.MessageBytes[0], n), max(r.MessageBytes[1], n)}
	}
	picked := failedCreateJobs(b, failedCreateEvents(jobs))
	r.FailedCreate = len(picked)

	for n := 0; n < noiseNamespaces; n++ {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: noiseNamespace(n)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !isAlreadyExists(err) {
			return r, err
		}
	}
	// The Jobs, for their UIDs, before the stream.
	jobsMeta := make([]metav1.ObjectMeta, len(picked))
	var requests atomic.Int64
	if _, err := forEach(ctx, 0, len(picked), workers, nil, &requests, func(ctx context.Context, k int) error {
		i := picked[k]
		ns := b.namespace(i)
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, b.jobName(i), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get job %s/%s: %w", ns, b.jobName(i), err)
		}
		jobsMeta[k] = j.ObjectMeta
		return nil
	}); err != nil {
		return r, err
	}
	wantSeries := make([]string, len(picked))
	for k, j := range jobsMeta {
		wantSeries[k] = fmt.Sprintf(`%snamespace="%s",job_name="%s",cause="Quota"}`, createFailureSeries, j.Namespace, j.Name)
	}

	body, _, err := fetch(ctx, e, false)
	if err != nil {
		return r, err
	}
	cached, _ := value(body, `kubejob_exporter_objects{resource="events"}`)
	r.CachedBefore = int(cached)
	createFailuresBefore := count(body, createFailureSeries)
	var famBefore map[string]int
	r.SeriesBefore, _, famBefore = seriesCount(body)
	if r.HeapBefore, err = liveHeap(ctx, e); err != nil {
		return r, err
	}

	// FailedCreate newer than the Job's pods, to the second.
	if d := time.Until(notBefore.Truncate(time.Second).Add(time.Second)); d > 0 {
		time.Sleep(d)
	}
	var cpu func() (float64, error)
	cpu, r.CPUSource = newCPUReader(ctx, e)
	// Idle baseline, then the stream. No scrape in between: a scrape of a
	// large exporter costs more CPU than the events.
	r.IdleWindow = 500 * time.Millisecond
	idle0, err := cpu()
	if err != nil {
		return r, err
	}
	time.Sleep(r.IdleWindow)
	cpu0, err := cpu()
	if err != nil {
		return r, err
	}
	// Item k of the stream is FailedCreate j if it is where the j-th of
	// them falls when spread evenly, else noise event k-j.
	total := r.written()
	interleave := func(k int) (j int, failedCreate bool) {
		j = k * r.FailedCreate / total
		return j, (k+1)*r.FailedCreate/total > j
	}
	failedCreateNames := make([]string, r.FailedCreate)
	streamStart := time.Now()
	if _, err := forEach(ctx, 0, total, workers, nil, &requests, func(ctx context.Context, k int) error {
		now := metav1.Now()
		j, fc := interleave(k)
		var ev *v1.Event
		if fc {
			ev = failedCreateEvent(jobsMeta[j], now)
			failedCreateNames[j] = ev.Name
		} else {
			ev = noiseEvent(k-j, now)
		}
		if _, err := cs.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create event %s/%s: %w", ev.Namespace, ev.Name, err)
		}
		return nil
	}); err != nil {
		return r, err
	}
	r.Stream = time.Since(streamStart)
	cpu1, err := cpu()
	if err != nil {
		return r, err
	}
	r.CPU = cpu1 - cpu0
	r.IdleCPU = (cpu0 - idle0) * r.Stream.Seconds() / r.IdleWindow.Seconds()

	// Caught up: every FailedCreate cached and its Job's series rendered.
	streamEnd := time.Now()
	if err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil { // the timeout's: keep the reason before it
			return false, "", nil
		}
		n, _ := value(body, `kubejob_exporter_objects{resource="events"}`)
		s := count(body, createFailureSeries) - createFailuresBefore
		return int(n) >= r.CachedBefore+r.FailedCreate && s >= r.FailedCreate,
			fmt.Sprintf("exporter caches %v events and renders %d new create failures; want %d and %d", n, s, r.CachedBefore+r.FailedCreate, r.FailedCreate), nil
	}); err != nil {
		return r, fmt.Errorf("events stream: %w", err)
	}
	r.CatchUp = time.Since(streamEnd)

	if r.HeapAfter, err = liveHeap(ctx, e); err != nil {
		return r, err
	}
	if body, _, err = fetch(ctx, e, false); err != nil {
		return r, err
	}
	cached, _ = value(body, `kubejob_exporter_objects{resource="events"}`)
	r.Cached = int(cached)
	var famAfter map[string]int
	r.SeriesAfter, _, famAfter = seriesCount(body)
	r.SeriesDiff = familyDiff(famBefore, famAfter)
	for k, s := range wantSeries {
		if v, ok := value(body, s); !ok {
			r.Problems = append(r.Problems, fmt.Sprintf("%s missing; the Job's series:\n%s", s, grepLines(body, jobsMeta[k].Name+`"`)))
		} else if v < float64(streamStart.Unix()) {
			r.Problems = append(r.Problems, fmt.Sprintf("%s %v: older than the stream", s, v))
		}
	}

	// The alternative: what a watch of pod Warning events would receive.
	if err := measurePodWarnings(ctx, cs, &r); err != nil {
		return r, err
	}
	if r.PodWarnings < r.Noise {
		r.Problems = append(r.Problems, fmt.Sprintf("the API server lists %d pod Warning events, %d written", r.PodWarnings, r.Noise))
	}

	// Clean up: the FailedCreate warnings, and the exporter back to its
	// series before the stream; then the noise, by namespace, if a later
	// stage follows (its list of pod Warning events starts empty).
	cleanStart := time.Now()
	if _, err := forEach(ctx, 0, r.FailedCreate, workers, nil, &requests, func(ctx context.Context, j int) error {
		ns := jobsMeta[j].Namespace
		if err := cs.CoreV1().Events(ns).Delete(ctx, failedCreateNames[j], metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete event %s/%s: %w", ns, failedCreateNames[j], err)
		}
		return nil
	}); err != nil {
		return r, err
	}
	if err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil { // the timeout's: keep the reason before it
			return false, "", nil
		}
		n, _ := value(body, `kubejob_exporter_objects{resource="events"}`)
		s := count(body, createFailureSeries)
		r.SeriesCleaned, _, _ = seriesCount(body)
		return int(n) == r.CachedBefore && s == createFailuresBefore && r.SeriesCleaned == r.SeriesBefore,
			fmt.Sprintf("after deleting the FailedCreate events the exporter caches %v events, renders %d create failures and %d series; want %d, %d, %d",
				n, s, r.SeriesCleaned, r.CachedBefore, createFailuresBefore, r.SeriesBefore), nil
	}); err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	r.Cleanup = time.Since(cleanStart)
	if deleteNoise {
		if _, err := forEach(ctx, 0, noiseNamespaces, noiseNamespaces, nil, &requests, func(ctx context.Context, n int) error {
			if err := cs.CoreV1().Events(noiseNamespace(n)).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
				return fmt.Errorf("delete the events of %s: %w", noiseNamespace(n), err)
			}
			return nil
		}); err != nil {
			return r, err
		}
	}
	r.Took = time.Since(start)
	return r, nil
}

// measurePodWarnings lists the pod Warning events of every namespace as
// raw bytes, in JSON and in protobuf (what client-go's typed clients, the
// exporter's informers among them, ask for), and times decoding them.
func measurePodWarnings(ctx context.Context, cs kubernetes.Interface, r *eventsResult) error {
	list := func(accept string) ([]byte, time.Duration, error) {
		s := time.Now()
		b, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/events").
			Param("fieldSelector", podWarningsSelector).Param("limit", "0").
			SetHeader("Accept", accept).DoRaw(ctx)
		return b, time.Since(s), err
	}
	decode := func(fn func() (int, error)) (time.Duration, int, error) {
		var ds []time.Duration
		var n int
		for range 5 {
			s := time.Now()
			var err error
			if n, err = fn(); err != nil {
				return 0, 0, err
			}
			ds = append(ds, time.Since(s))
		}
		return slices.Min(ds), n, nil
	}

	js, d, err := list("application/json")
	if err != nil {
		return fmt.Errorf("list pod Warning events (JSON): %w", err)
	}
	r.JSONBytes, r.JSONList = len(js), d
	var nJSON int
	if r.JSONDecode, nJSON, err = decode(func() (int, error) {
		var l v1.EventList
		err := json.Unmarshal(js, &l)
		return len(l.Items), err
	}); err != nil {
		return fmt.Errorf("decode the pod Warning events (JSON): %w", err)
	}
	r.PodWarnings = nJSON

	pb, d, err := list("application/vnd.kubernetes.protobuf")
	if err != nil {
		return fmt.Errorf("list pod Warning events (protobuf): %w", err)
	}
	if !bytes.HasPrefix(pb, []byte("k8s\x00")) {
		return fmt.Errorf("list pod Warning events: asked for protobuf, got %.40q", pb)
	}
	r.ProtoBytes, r.ProtoList = len(pb), d
	dec := scheme.Codecs.UniversalDeserializer()
	var nProto int
	if r.ProtoDecode, nProto, err = decode(func() (int, error) {
		var l v1.EventList
		_, _, err := dec.Decode(pb, nil, &l)
		return len(l.Items), err
	}); err != nil {
		return fmt.Errorf("decode the pod Warning events (protobuf): %w", err)
	}
	if nProto != nJSON {
		return fmt.Errorf("pod Warning events: %d in JSON, %d in protobuf", nJSON, nProto)
	}
	return nil
}

// newCPUReader returns a function reading the exporter's CPU seconds: the
// on-CPU time of its threads from /proc/PID/task/*/schedstat, in
// nanoseconds (process_cpu_seconds_total counts the same time in 10 ms
// ticks, and reading it costs a scrape); from /metrics if the process or
// its schedstat files are not found.
func newCPUReader(ctx context.Context, e *harness.Exporter) (func() (float64, error), string) {
	schedstat := func(proc string) (float64, bool) {
		files, _ := filepath.Glob(filepath.Join(proc, "task", "*", "schedstat"))
		var ns float64
		n := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil { // a thread that exited
				continue
			}
			fields := strings.Fields(string(b))
			if len(fields) == 0 {
				continue
			}
			if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
				ns += v
				n++
			}
		}
		return ns / 1e9, n > 0
	}
	if proc, ok := exporterProc(e); ok {
		if _, ok := schedstat(proc); ok {
			return func() (float64, error) {
				v, ok := schedstat(proc)
				if !ok {
					return 0, fmt.Errorf("%s/task/*/schedstat: none readable", proc)
				}
				return v, nil
			}, "the on-CPU time of its threads (`/proc/PID/task/*/schedstat`, nanoseconds; `process_cpu_seconds_total` counts the same in 10 ms ticks), read without a scrape"
		}
	}
	return func() (float64, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return 0, err
		}
		v, ok := value(body, "process_cpu_seconds_total")
		if !ok {
			return 0, fmt.Errorf("process_cpu_seconds_total missing from /metrics")
		}
		return v, nil
	}, "`process_cpu_seconds_total` (scraped, 10 ms ticks)"
}
