package scenarios

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Jobs queued in Kueue (issue 29), on Kueue v0.17.0's CRDs in the real API
// server. Kueue's controllers do not run (harness/kueue.go says why): the
// test writes each Workload and status as the named Kueue function does,
// and the API server validates them against the CRDs. The exporters
// here run with --collector.kueue; the suite's own (without it) must show
// no queue at all.

// gpu is the resource the queued Jobs ask for.
const gpu = corev1.ResourceName("nvidia.com/gpu")

func gpus(n int64) corev1.ResourceList {
	return corev1.ResourceList{gpu: *resource.NewQuantity(n, resource.DecimalSI)}
}

// kueueFixture is what the Kueue tests share: the Kueue the test plays, an
// exporter started once the CRDs were installed, and one started before
// (nil when the CRDs were there already: -count above 1 on one cluster).
type kueueFixture struct {
	k            *harness.Kueue
	exp, early   *harness.Exporter
	earlyStarted time.Time
}

// TestKueue installs Kueue's CRDs and runs the queue scenarios in parallel
// with each other and with the rest of the suite.
func TestKueue(t *testing.T) {
	t.Parallel()
	f := startKueue(t)
	t.Run("WaitingForGPUQuota", func(t *testing.T) { testWaitingForQuota(t, f) })
	t.Run("LocalQueueMissing", func(t *testing.T) { testLocalQueueMissing(t, f) })
	t.Run("PreemptedInClusterQueue", func(t *testing.T) { testPreempted(t, f) })
	t.Run("PersonSuspendedNotQueued", func(t *testing.T) { testPersonSuspended(t, f) })
	t.Run("KueueInstalledLater", func(t *testing.T) { testKueueInstalledLater(t, f) })
}

// startKueue starts an exporter with --collector.kueue while Kueue is not
// installed (it must be ready and say so), installs the CRDs, and starts
// the exporter the scenarios read. Both stop when every scenario is done.
func startKueue(t *testing.T) *kueueFixture {
	t.Helper()
	ctx := context.Background()
	cfg := cluster.RESTConfig()
	f := &kueueFixture{}
	installed, err := harness.KueueCRDsInstalled(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !installed {
		f.earlyStarted = time.Now()
		f.early = startKueueExporter(t, "early")
		_, err := f.early.WaitMetrics(ctx, metricsTimeout, nil, func(m *harness.Metrics) (bool, string) {
			if v, ok := m.Value("kubejob_exporter_kueue_api", harness.Labels{"version": ""}); !ok || v != 0 {
				return false, "want kubejob_exporter_kueue_api{version=\"\"} 0 without Kueue's CRDs"
			}
			return true, ""
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	version, err := harness.InstallKueueCRDs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the CRDs of Kueue %s installed in %s", version, time.Since(start).Round(time.Millisecond))
	if f.k, err = harness.NewKueue(cfg, cluster.Client()); err != nil {
		t.Fatal(err)
	}
	f.exp = startKueueExporter(t, "")
	if _, err := f.exp.WaitMetrics(ctx, metricsTimeout, nil, kueueAPIServed); err != nil {
		t.Fatal(err)
	}
	return f
}

// kueueAPIServed: the exporter found Kueue's API, the version the CRDs
// store.
func kueueAPIServed(m *harness.Metrics) (bool, string) {
	if v, ok := m.Value("kubejob_exporter_kueue_api", harness.Labels{"version": kueue.GroupVersion.Version}); !ok || v != 1 {
		return false, "want kubejob_exporter_kueue_api{version=\"" + kueue.GroupVersion.Version + "\"} 1"
	}
	if m.Has("kubejob_exporter_kueue_api", harness.Labels{"version": ""}) {
		return false, "kubejob_exporter_kueue_api{version=\"\"} still present"
	}
	return true, ""
}

// kueueDiscovery is how often the exporters here look for Kueue's API
// while it is absent (a minute by default): short, so that finding a
// Kueue installed later costs the test seconds.
const kueueDiscovery = 2 * time.Second

// startKueueExporter starts an exporter with --collector.kueue like the
// suite's, logging to exporter-kueue[-name].log beside the suite's log
// (kept when the suite fails), stopped when t's tests are done.
func startKueueExporter(t *testing.T, name string) *harness.Exporter {
	t.Helper()
	file := "exporter-kueue.log"
	if name != "" {
		file = "exporter-kueue-" + name + ".log"
	}
	logf, err := os.Create(filepath.Join(filepath.Dir(cluster.WorkDir()), file))
	if err != nil {
		t.Fatal(err)
	}
	initial, maxBackoff := cluster.JobBackoff()
	e, err := harness.StartExporter(context.Background(), harness.ExporterOptions{
		Binary: exporterBinary, Kubeconfig: cluster.Kubeconfig(), BackoffInitial: initial, BackoffMax: maxBackoff,
		LogLevel: "debug", Output: logf,
		Args: []string{"--job.pod-start-timeout=" + startTimeout.String(), "--collector.kueue",
			"--collector.kueue.discovery-interval=" + kueueDiscovery.String()},
	})
	if err != nil {
		logf.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("exporter (kueue %s) stop: %v", name, err)
		}
		logf.Close()
	})
	return e
}

// queueFamilies are the per-Job families of a queued Job (no kubejob_ prefix).
var queueFamilies = []string{"queue_info", "queue_waiting_since_timestamp_seconds", "queue_admitted_suspended_since_timestamp_seconds"}

// noQueue: none of the Job's queue series.
func (x *expect) noQueue() {
	for _, f := range queueFamilies {
		x.absent(f)
	}
}

// queuedGPUJob creates a Job of n GPUs for LocalQueue queue, suspended as
// Kueue's webhook leaves it, whose pods run until deleted.
func (e *env) queuedGPUJob(name, queue string, n int64, labels map[string]string) *batchv1.Job {
	e.T.Helper()
	j := harness.QueuedJob(e.NewJob(name, "run=forever"), queue)
	for k, v := range labels {
		j.Labels[k] = v
	}
	j.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: gpus(n), Limits: gpus(n)}
	return e.Create(j)
}

// gpuQueue creates a ResourceFlavor, a ClusterQueue of n GPUs of it and
// the LocalQueue lq pointing at it; the cluster-scoped names carry the
// namespace. It returns the flavor and the ClusterQueue.
func (e *env) gpuQueue(k *harness.Kueue, lq string, n int64) (flavor, cq string) {
	e.T.Helper()
	flavor, cq = "a100-"+e.NS, "gpus-"+e.NS
	if err := k.ResourceFlavor(e.Ctx, flavor); err != nil {
		e.T.Fatal(err)
	}
	if err := k.ClusterQueue(e.Ctx, cq, flavor, gpus(n)); err != nil {
		e.T.Fatal(err)
	}
	if err := k.LocalQueue(e.Ctx, e.NS, lq, cq); err != nil {
		e.T.Fatal(err)
	}
	return flavor, cq
}

// insufficientQuota is the scheduler's message when the flavor lacks
// need more GPUs (flavorassigner.Assignment.Message and
// fitsResourceQuota).
func insufficientQuota(flavor, need string) string {
	return "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor " + flavor + ", " + need + " more needed"
}

// must(call)(t) is call's value, or t's end on its error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// A Job asking for more GPUs than its ClusterQueue has: waiting, with the
// cause and Kueue's words, in the metrics, diagnose and the live report;
// then the quota is raised, Kueue admits it (admitted, still suspended),
// starts it, and it runs: the waiting series go.
func testWaitingForQuota(t *testing.T, f *kueueFixture) {
	e := newEnv(t, "q1-gpu-quota")
	flavor, cq := e.gpuQueue(f.k, "team-gpus", 2)
	j := e.queuedGPUJob("train", "team-gpus", 4, nil)
	wl := must(f.k.CreateWorkloadFor(e.Ctx, j, 0))(t)
	msg := insufficientQuota(flavor, "2")
	wl = must(f.k.Pending(e.Ctx, wl, msg))(t)
	e.waitFrom(f.exp, "train", func(x *expect) {
		x.eq("queue_info", 1, "queue", "team-gpus", "cluster_queue", cq)
		x.eq("queue_waiting_since_timestamp_seconds", unix(wl.CreationTimestamp), "queue", "team-gpus", "cause", "InsufficientQuota")
		x.only("queue_waiting_since_timestamp_seconds", "cause", "InsufficientQuota")
		x.absent("queue_admitted_suspended_since_timestamp_seconds")
	})
	// The suite's exporter, without --collector.kueue, knows the Job and
	// nothing of Kueue.
	e.waitMetrics("train", func(x *expect) {
		x.eq("suspended", 1)
		x.noQueue()
		if x.m.Has("kubejob_exporter_kueue_api", nil) {
			x.failf("kubejob_exporter_kueue_api without --collector.kueue")
		}
	})

	r, code, text := diagnose(t, e.NS, "train")
	q := r.Queue
	if q == nil || q.Name != "team-gpus" || q.ClusterQueue != cq || q.State != "Waiting" || q.Cause != "InsufficientQuota" || q.Message != msg || q.Workload != wl.Name {
		t.Errorf("diagnose train: queue %+v, want team-gpus in %s, Waiting, InsufficientQuota, Workload %s, %q\n%s", q, cq, wl.Name, msg, text)
	}
	if r.Health == "failed" || code == 3 {
		t.Errorf("diagnose train: a Job waiting for quota is %s (exit %d)\n%s", r.Health, code, text)
	}
	commands := strings.Join(r.Commands, "\n")
	for _, w := range []string{"kubectl describe clusterqueue " + cq, "kubectl describe workload " + wl.Name + " -n " + e.NS} {
		if !strings.Contains(commands, w) {
			t.Errorf("diagnose train: no %q among the commands:\n%s", w, commands)
		}
	}
	for _, w := range []string{"LocalQueue team-gpus (ClusterQueue " + cq + "), Waiting", "InsufficientQuota", "Kueue says: " + msg} {
		if !strings.Contains(text, w) {
			t.Errorf("diagnose train does not say %q:\n%s", w, text)
		}
	}
	e.liveReport(f.exp, "KubeJobWaitingForAdmission", "train", "team-gpus", cq, "InsufficientQuota", msg)

	// A person raises the quota; the scheduler admits the Workload.
	if err := f.k.SetClusterQueueQuota(e.Ctx, cq, flavor, gpus(4)); err != nil {
		t.Fatal(err)
	}
	wl = must(f.k.Admit(e.Ctx, wl, cq, flavor))(t)
	admitted := harness.WorkloadCondition(wl, kueue.WorkloadAdmitted)
	if admitted == nil {
		t.Fatalf("workload %s: no Admitted condition after admission", wl.Name)
	}
	e.waitFrom(f.exp, "train", func(x *expect) {
		x.eq("queue_admitted_suspended_since_timestamp_seconds", unix(admitted.LastTransitionTime), "queue", "team-gpus")
		x.absent("queue_waiting_since_timestamp_seconds")
		x.eq("queue_info", 1, "queue", "team-gpus", "cluster_queue", cq)
	})
	// The job reconciler starts it; the Job controller creates its pod.
	if err := f.k.StartJob(e.Ctx, e.NS, "train"); err != nil {
		t.Fatal(err)
	}
	e.waitJob("train", "an active pod", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	e.waitFrom(f.exp, "train", func(x *expect) {
		x.absent("queue_waiting_since_timestamp_seconds")
		x.absent("queue_admitted_suspended_since_timestamp_seconds")
		x.eq("queue_info", 1, "queue", "team-gpus", "cluster_queue", cq)
		x.eq("pods", 1, "state", "active")
		x.absent("suspended")
	})
	if r, _, text := diagnose(t, e.NS, "train"); r.Queue == nil || r.Queue.State != "Running" {
		t.Errorf("diagnose train once running: queue %+v, want Running\n%s", r.Queue, text)
	}
}

// A Job naming a LocalQueue that does not exist (the workload controller
// says so), and one Kueue made no Workload for.
func testLocalQueueMissing(t *testing.T, f *kueueFixture) {
	e := newEnv(t, "q2-no-localqueue")
	j := e.Create(harness.QueuedJob(e.NewJob("lost", "succeed"), "nowhere"))
	wl := must(f.k.CreateWorkloadFor(e.Ctx, j, 0))(t)
	msg := "LocalQueue nowhere doesn't exist"
	wl = must(f.k.Inadmissible(e.Ctx, wl, msg))(t)
	orphan := e.Create(harness.QueuedJob(e.NewJob("orphan", "succeed"), "nowhere"))
	e.waitFrom(f.exp, "lost", func(x *expect) {
		x.eq("queue_info", 1, "queue", "nowhere", "cluster_queue", "")
		x.eq("queue_waiting_since_timestamp_seconds", unix(wl.CreationTimestamp), "queue", "nowhere", "cause", "LocalQueueMissing")
		x.only("queue_waiting_since_timestamp_seconds", "cause", "LocalQueueMissing")
	})
	e.waitFrom(f.exp, "orphan", func(x *expect) {
		x.eq("queue_waiting_since_timestamp_seconds", unix(orphan.CreationTimestamp), "queue", "nowhere", "cause", "NoWorkload")
	})
	r, _, text := diagnose(t, e.NS, "lost")
	if q := r.Queue; q == nil || q.Name != "nowhere" || q.ClusterQueue != "" || q.Cause != "LocalQueueMissing" || q.Message != msg {
		t.Errorf("diagnose lost: queue %+v, want nowhere, no ClusterQueue, LocalQueueMissing, %q\n%s", q, msg, text)
	}
	if !strings.Contains(strings.Join(r.Commands, "\n"), "kubectl get localqueue") {
		t.Errorf("diagnose lost: no kubectl get localqueue among the commands: %q", r.Commands)
	}
}

// A running Job preempted by one of higher priority in its ClusterQueue:
// its owner's eviction counter counts it once, with who preempted; later
// writes to the Workload do not count it again, nor does a fresh exporter
// (a restart) that finds it already evicted.
func testPreempted(t *testing.T, f *kueueFixture) {
	e := newEnv(t, "q3-preempted")
	flavor, cq := e.gpuQueue(f.k, "shared", 1)
	low, high := "low-"+e.NS, "high-"+e.NS
	if err := f.k.WorkloadPriorityClass(e.Ctx, low, 10); err != nil {
		t.Fatal(err)
	}
	if err := f.k.WorkloadPriorityClass(e.Ctx, high, 1000); err != nil {
		t.Fatal(err)
	}
	lowJob := e.queuedGPUJob("sweep", "shared", 1, map[string]string{harness.PriorityClassLabel: low})
	lowWL := must(f.k.CreateWorkloadFor(e.Ctx, lowJob, 10))(t)
	lowWL = must(f.k.Admit(e.Ctx, lowWL, cq, flavor))(t)
	if err := f.k.StartJob(e.Ctx, e.NS, "sweep"); err != nil {
		t.Fatal(err)
	}
	e.waitJob("sweep", "an active pod", func(j *batchv1.Job) bool { return j.Status.Active == 1 })
	// The exporter has seen it admitted and running before the eviction.
	e.waitFrom(f.exp, "sweep", func(x *expect) {
		x.eq("queue_info", 1, "queue", "shared", "cluster_queue", cq)
		x.absent("queue_waiting_since_timestamp_seconds")
		x.eq("pods", 1, "state", "active")
	})

	highJob := e.queuedGPUJob("urgent", "shared", 1, map[string]string{harness.PriorityClassLabel: high})
	highWL := must(f.k.CreateWorkloadFor(e.Ctx, highJob, 1000))(t)
	highWL = must(f.k.Pending(e.Ctx, highWL, insufficientQuota(flavor, "1")+". Pending the preemption of 1 workload(s)"))(t)
	// preemption.preemptionMessage, as Kueue words it.
	preemption := "Preempted to accommodate a workload (UID: " + string(highWL.UID) + ", JobUID: " + string(highJob.UID) +
		") due to prioritization in the ClusterQueue; preemptor path: /" + cq + "; preemptee path: /" + cq
	lowWL = must(f.k.Evict(e.Ctx, lowWL, kueue.WorkloadEvictedByPreemption, kueue.InClusterQueueReason, preemption))(t)
	must(f.k.Admit(e.Ctx, highWL, cq, flavor))(t)
	if err := f.k.StartJob(e.Ctx, e.NS, "urgent"); err != nil {
		t.Fatal(err)
	}

	owner := harness.Labels{"namespace": e.NS, "owner_kind": "Job", "owner_name": "sweep"}
	counted := func(m *harness.Metrics) (bool, string) {
		got := m.Samples("kubejob_owner_queue_evictions_total", owner)
		if len(got) != 1 || got[0].Labels["reason"] != kueue.InClusterQueueReason || got[0].Value != 1 {
			return false, "want one kubejob_owner_queue_evictions_total{reason=\"InClusterQueue\"} 1 for Job sweep, got " + samplesString(got)
		}
		return true, ""
	}
	if _, err := f.exp.WaitMetrics(e.Ctx, metricsTimeout, owner, counted); err != nil {
		t.Fatal(err)
	}
	// Requeued: waiting again since the preemption released its quota.
	requeued := harness.WorkloadCondition(lowWL, kueue.WorkloadAdmitted)
	if requeued == nil || requeued.Status != "False" {
		t.Fatalf("workload %s after eviction: Admitted %+v, want False", lowWL.Name, requeued)
	}
	e.waitFrom(f.exp, "sweep", func(x *expect) {
		// The cause is whatever Kueue's message of the moment says; the
		// wait counts from the requeue.
		w := x.m.Samples("kubejob_queue_waiting_since_timestamp_seconds", x.sel("queue", "shared"))
		if len(w) != 1 || w[0].Value != unix(requeued.LastTransitionTime) {
			x.failf("want one kubejob_queue_waiting_since_timestamp_seconds{queue=\"shared\"} = %v (the requeue), got %s", unix(requeued.LastTransitionTime), samplesString(w))
		}
		x.absent("pods", "state", "active")
	})
	// The scheduler tries it again: no room. Another write to the
	// evicted Workload, no new eviction.
	if _, err := f.k.Pending(e.Ctx, lowWL, insufficientQuota(flavor, "1")); err != nil {
		t.Fatal(err)
	}
	e.waitFrom(f.exp, "sweep", func(x *expect) {
		x.eq("queue_waiting_since_timestamp_seconds", unix(requeued.LastTransitionTime), "queue", "shared", "cause", "InsufficientQuota")
	})
	e.waitFrom(f.exp, "urgent", func(x *expect) {
		x.eq("pods", 1, "state", "active")
		x.absent("queue_waiting_since_timestamp_seconds")
	})
	m, err := f.exp.Scrape(e.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := counted(m); !ok {
		t.Errorf("after the Workload's later updates: %s", why)
	}
	if got := m.Samples("kubejob_owner_queue_evictions_total", harness.Labels{"namespace": e.NS, "owner_name": "urgent"}); len(got) > 0 {
		t.Errorf("the preemptor counted evictions: %s", samplesString(got))
	}
	r, _, text := diagnose(t, e.NS, "sweep")
	if q := r.Queue; q == nil || q.LastEviction == nil || q.LastEviction.Reason != kueue.InClusterQueueReason || q.LastEviction.Message != preemption {
		t.Errorf("diagnose sweep: queue %+v, want the last eviction InClusterQueue %q\n%s", q, preemption, text)
	}

	// A restart: the fresh exporter lists the Workload already evicted and
	// counts nothing (the eviction may predate it).
	fresh := startKueueExporter(t, "restarted-"+e.NS)
	fm, err := fresh.WaitMetrics(e.Ctx, metricsTimeout, e.labels("sweep"), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels("sweep")}
		x.eq("queue_waiting_since_timestamp_seconds", unix(requeued.LastTransitionTime), "queue", "shared", "cause", "InsufficientQuota")
		return x.result()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fm.Samples("kubejob_owner_queue_evictions_total", owner); len(got) > 0 && got[0].Value != 0 {
		t.Errorf("a fresh exporter counted the eviction it did not see: %s", samplesString(got))
	}
}

// A Job a person suspended, without a queue label: nothing of Kueue, and
// the report does not call it queued.
func testPersonSuspended(t *testing.T, f *kueueFixture) {
	e := newEnv(t, "q4-person-suspended")
	j := e.NewJob("paused", "succeed")
	j.Spec.Suspend = ptr(true)
	e.Create(j)
	e.waitFrom(f.exp, "paused", func(x *expect) {
		x.eq("suspended", 1)
		x.noQueue()
	})
	r, code, text := diagnose(t, e.NS, "paused")
	if r.Queue != nil || r.Health == "queued" || code == 3 {
		t.Errorf("diagnose paused: health %s (exit %d), queue %+v: want no queue\n%s", r.Health, code, r.Queue, text)
	}
}

// The exporter started with --collector.kueue before Kueue was installed:
// it was ready and said kubejob_exporter_kueue_api{version=""} 0
// (startKueue); it finds the API within its re-check interval
// (kueueDiscovery) and from then on reads the Workloads.
func testKueueInstalledLater(t *testing.T, f *kueueFixture) {
	if f.early == nil {
		t.Skip("Kueue's CRDs were installed before this run: nothing to find later")
	}
	e := newEnv(t, "q5-installed-later")
	j := e.Create(harness.QueuedJob(e.NewJob("late", "succeed"), "nowhere"))
	wl := must(f.k.CreateWorkloadFor(e.Ctx, j, 0))(t)
	wl = must(f.k.Inadmissible(e.Ctx, wl, "LocalQueue nowhere doesn't exist"))(t)
	// The re-check interval, from the exporter's start, and a margin.
	const recheck = kueueDiscovery
	timeout := max(time.Until(f.earlyStarted.Add(recheck+30*time.Second)), 10*time.Second)
	if _, err := f.early.WaitMetrics(e.Ctx, timeout, nil, kueueAPIServed); err != nil {
		t.Fatalf("Kueue's API not found within %s of the exporter's start: %v", recheck, err)
	}
	t.Logf("found Kueue's API %s after the exporter started", time.Since(f.earlyStarted).Round(time.Second))
	_, err := f.early.WaitMetrics(e.Ctx, metricsTimeout, e.labels("late"), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels("late")}
		x.eq("queue_waiting_since_timestamp_seconds", unix(wl.CreationTimestamp), "queue", "nowhere", "cause", "LocalQueueMissing")
		for _, r := range []string{"workloads", "localqueues"} {
			if v, ok := m.Value("kubejob_exporter_watch_up", harness.Labels{"resource": r}); !ok || v != 1 {
				x.failf("want kubejob_exporter_watch_up{resource=%q} 1", r)
			}
		}
		return x.result()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// liveReport opens the runbook page of alert with the Job's live report
// on exporter exp (where the alert's live_report_url leads) and checks it
// says each of want, escaped as HTML.
func (e *env) liveReport(exp *harness.Exporter, alert, job string, want ...string) {
	e.T.Helper()
	path := "/runbooks/" + alert + "?" + url.Values{"namespace": {e.NS}, "job_name": {job}}.Encode()
	code, body, err := exp.Get(e.Ctx, path)
	if err != nil || code != http.StatusOK {
		e.T.Fatalf("GET %s: %d %v", path, code, err)
	}
	for _, w := range want {
		if !strings.Contains(body, html.EscapeString(w)) {
			e.T.Errorf("GET %s does not say %q:\n%.4000s", path, w, body)
		}
	}
}

func samplesString(s []harness.Sample) string {
	if len(s) == 0 {
		return "none"
	}
	var out []string
	for _, x := range s {
		out = append(out, x.String())
	}
	return strings.Join(out, ", ")
}
