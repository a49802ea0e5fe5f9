package scenarios

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// What failures cost (issue 28): kubejob_attempt_resource_seconds_total on
// the real API server and Job controller, each pod's running time times its
// effective request, checked against the pods as the API server stores
// them and against the scheduler's own rule
// (k8s.io/component-helpers/resource.PodRequests with the options
// kube-scheduler's NodeResourcesFit passes while PodLevelResources is on,
// its default), applied to the pods read back after the API server
// defaulted and admitted them.
//
// Precision: the API server stores times to the second (metav1.Time
// drops sub-seconds in JSON and protobuf), and the exporter reads the same
// stored status.startTime and finishedAt as the test does, so the counter
// must equal the test's product exactly; the only tolerance is
// floating-point rounding (heldTolerance). The second-truncation bounds how
// far a stored running time can be from the time the pod driver ran its
// containers: two truncated timestamps shorten or lengthen a span by less
// than a second (checkRan).

const resourceSecondsTotal = "kubejob_attempt_resource_seconds_total"

// countedResources are the resources the suite's exporter counts: cpu,
// memory and the extended resources of the default of
// --outcomes.extended-resources (docs/metrics.md). Any other resource a pod
// requests has no series: the resource label stays bounded.
var countedResources = map[v1.ResourceName]bool{
	v1.ResourceCPU: true, v1.ResourceMemory: true,
	"nvidia.com/gpu": true, "amd.com/gpu": true, "gpu.intel.com/i915": true,
}

// heldTolerance is the relative difference allowed between a counter and
// the test's product of the same stored numbers: float rounding of sums of
// a few products, nothing more.
const heldTolerance = 1e-9

// heldKey is one series of an owner's resource-time.
type heldKey struct{ outcome, resource string }

// held is what the owners of a namespace should have held: per owner
// name (owner_kind Job), per outcome and resource.
type held map[string]map[heldKey]float64

// add counts pod p under owner as the scheduler's rule and the stored
// times say: PodRequests(p) times p's stored running time, under the
// outcome of its phase, for the counted resources.
func (h held) add(t *testing.T, owner string, p *v1.Pod) {
	t.Helper()
	var outcome string
	switch p.Status.Phase {
	case v1.PodSucceeded:
		outcome = "succeeded"
	case v1.PodFailed:
		outcome = "failed"
	default:
		t.Fatalf("pod %s: phase %s, want it finished", p.Name, p.Status.Phase)
	}
	ran := storedRunTime(t, p).Seconds()
	if h[owner] == nil {
		h[owner] = map[heldKey]float64{}
	}
	for name, q := range resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}) {
		if countedResources[name] && q.Sign() > 0 {
			h[owner][heldKey{outcome, string(name)}] += q.AsApproximateFloat64() * ran
		}
	}
}

// storedRunTime is the pod's running time as the API server stores it:
// status.startTime to the latest finishedAt of its containers (the app
// containers and the sidecars, whose end is the pod's; an init container
// ends before them).
func storedRunTime(t *testing.T, p *v1.Pod) time.Duration {
	t.Helper()
	if p.Status.StartTime == nil {
		t.Fatalf("pod %s: no status.startTime", p.Name)
	}
	var end time.Time
	for _, list := range [][]v1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, cs := range list {
			if term := cs.State.Terminated; term != nil && term.FinishedAt.After(end) {
				end = term.FinishedAt.Time
			}
		}
	}
	if end.IsZero() {
		t.Fatalf("pod %s: no container terminated", p.Name)
	}
	return end.Sub(p.Status.StartTime.Time)
}

// checkRan checks the pod's stored running time against what the pod
// driver ran: more than run less a second (the driver sets startTime
// before it starts the run, and truncation shortens a span by less than a
// second), and no more than within plus a second, within being the wall
// time the test saw the pod's whole Job take.
func checkRan(t *testing.T, p *v1.Pod, run, within time.Duration) {
	t.Helper()
	got := storedRunTime(t, p)
	if got <= run-time.Second || got > within+time.Second {
		t.Errorf("pod %s: stored running time %s, want more than %s and at most %s", p.Name, got, run-time.Second, within+time.Second)
	}
}

// waitHeld waits until the namespace's resource-time series are exactly
// want: each owner's series of each outcome and resource with its value,
// and no other series. It returns the scrape.
func (e *env) waitHeld(want held) *harness.Metrics {
	e.T.Helper()
	ns := harness.Labels{"namespace": e.NS}
	m, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, ns, func(m *harness.Metrics) (bool, string) {
		if diff := heldDiff(m.Samples(resourceSecondsTotal, ns), want); diff != "" {
			return false, diff + "\n" + m.Dump(ns, resourceSecondsTotal)
		}
		return true, ""
	})
	if err != nil {
		e.T.Fatalf("exporter /metrics: %v", err)
	}
	return m
}

// heldDiff says how the series differ from want ("" if they do not).
func heldDiff(got []harness.Sample, want held) string {
	var diffs []string
	seen := map[string]map[heldKey]bool{}
	for _, s := range got {
		owner, k := s.Labels["owner_name"], heldKey{s.Labels["outcome"], s.Labels["resource"]}
		w, ok := want[owner][k]
		switch {
		case s.Labels["owner_kind"] != "Job":
			diffs = append(diffs, "unexpected owner: "+s.String())
		case !ok:
			diffs = append(diffs, "unexpected series: "+s.String())
		case math.Abs(s.Value-w) > heldTolerance*math.Abs(w):
			diffs = append(diffs, fmt.Sprintf("%s, want %v", s, w))
		}
		if seen[owner] == nil {
			seen[owner] = map[heldKey]bool{}
		}
		seen[owner][k] = true
	}
	for owner, series := range want {
		for k, w := range series {
			if !seen[owner][k] {
				diffs = append(diffs, fmt.Sprintf("missing %s{owner_name=%q,outcome=%q,resource=%q} %v", resourceSecondsTotal, owner, k.outcome, k.resource, w))
			}
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// gpuWorker is the request of the training pods of TestFailureCost: two
// cores, 4 GiB and one NVIDIA GPU (an extended resource is given as a
// limit, which the API server copies to the request).
func gpuWorker() v1.ResourceRequirements {
	return v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("4Gi")},
		Limits:   v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")},
	}
}

// Pods of cpu 2, memory 4Gi and one GPU fail after a known run time: one
// Job gives up after two failed pods (backoffLimit 1), another succeeds on
// its second pod. Both are runs of one owner (generateName "train-"): the
// failed pods' resource-time adds up under it, outcome "failed", the
// succeeded pod's under "succeeded". Deleting the Jobs afterwards (the
// garbage collector deletes their finished pods) counts nothing more: each
// pod counts once, when it finishes.
func TestFailureCostOfFailedAttempts(t *testing.T) {
	e := newEnv(t, "s40-cost")
	const failRun, succeedRun = 3 * time.Second, 2 * time.Second
	newJob := func(outcome string) *batchv1.Job {
		job := e.NewJob("", outcome)
		job.GenerateName = "train-"
		job.Spec.BackoffLimit = ptr(int32(1))
		job.Spec.Template.Spec.Containers[0].Resources = gpuWorker()
		return job
	}
	start := time.Now()
	failing := e.Create(newJob(fmt.Sprintf("run=%s exit=1", failRun)))
	retried := e.Create(newJob(fmt.Sprintf("attempt=1 run=%s exit=1; run=%s succeed", failRun, succeedRun)))

	failed, seenFailed := e.WaitFinished(failing.Name, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	complete, seenComplete := e.WaitFinished(retried.Name, batchv1.JobComplete, "")
	want := held{}
	phases := map[v1.PodPhase]int{}
	for _, run := range []struct {
		job  *batchv1.Job
		seen time.Time
	}{{failed, seenFailed}, {complete, seenComplete}} {
		for _, p := range e.pods(run.job) {
			phases[p.Status.Phase]++
			scripted := failRun
			if p.Status.Phase == v1.PodSucceeded {
				scripted = succeedRun
			}
			checkRan(t, &p, scripted, run.seen.Sub(start))
			// The scheduler's rule reads the pod as the template says.
			req := resourcehelper.PodRequests(&p, resourcehelper.PodResourcesOptions{})
			for name, q := range map[v1.ResourceName]string{v1.ResourceCPU: "2", v1.ResourceMemory: "4Gi", "nvidia.com/gpu": "1"} {
				if got := req[name]; got.Cmp(resource.MustParse(q)) != 0 {
					t.Errorf("pod %s: PodRequests %s = %s, want %s", p.Name, name, got.String(), q)
				}
			}
			want.add(t, "train", &p)
		}
	}
	if phases[v1.PodFailed] != 3 || phases[v1.PodSucceeded] != 1 {
		t.Fatalf("controller: pods by phase %v, want 3 Failed and 1 Succeeded", phases)
	}
	e.waitHeld(want)
	// For the record: what the counters say in the units a reader uses.
	f := want["train"]
	t.Logf("owner train: failed attempts held %.1f core-seconds, %.1f GiB-seconds, %.1f GPU-seconds; the succeeded one %.1f GPU-seconds",
		f[heldKey{"failed", "cpu"}], f[heldKey{"failed", "memory"}]/(1<<30), f[heldKey{"failed", "nvidia.com/gpu"}], f[heldKey{"succeeded", "nvidia.com/gpu"}])

	// Clean-up of finished pods is no finish.
	for _, j := range []*batchv1.Job{failed, complete} {
		if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatalf("delete job %s: %v", j.Name, err)
		}
	}
	err := harness.Eventually(e.Ctx, harness.JobTimeout, func(ctx context.Context) (bool, string, error) {
		pods, err := e.Client.CoreV1().Pods(e.NS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		jobs, err := e.Client.BatchV1().Jobs(e.NS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods.Items)+len(jobs.Items) == 0, fmt.Sprintf("%d pods and %d Jobs left", len(pods.Items), len(jobs.Items)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The exporter has seen the deletions once it no longer reports the
	// Jobs; the owner's counters stay (retention) and are unchanged.
	m, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		if m.Has("kubejob_info", harness.Labels{"namespace": e.NS}) {
			return false, "the exporter still reports the deleted Jobs"
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := heldDiff(m.Samples(resourceSecondsTotal, harness.Labels{"namespace": e.NS}), want); diff != "" {
		t.Errorf("after the Jobs and their pods were deleted: %s", diff)
	}
}

// costShape is a pod template shape whose effective request is tricky:
// effective is the request the scheduler's rule must find on the pod the
// API server stores (checked, so the shape tests what it says).
type costShape struct {
	name      string
	why       string
	spec      func(*v1.PodSpec)
	effective v1.ResourceList
}

func resources(kv ...string) v1.ResourceList {
	l := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// costShapes are the shapes TestFailureCostEffectiveRequest runs; pods of
// the RuntimeClass runtimeClass have its overhead (cpu 250m, memory 64Mi).
func costShapes(runtimeClass string) []costShape {
	main := func(s *v1.PodSpec) *v1.Container { return &s.Containers[0] }
	sidecar := v1.ContainerRestartPolicyAlways
	return []costShape{{
		name: "init-larger", why: "an init container larger than the app container: its request is the pod's",
		spec: func(s *v1.PodSpec) {
			main(s).Resources = v1.ResourceRequirements{Requests: resources("cpu", "1", "memory", "1Gi"), Limits: resources("nvidia.com/gpu", "1")}
			s.InitContainers = []v1.Container{{Name: "setup", Image: "registry.example/batch/setup:1.0",
				Resources: v1.ResourceRequirements{Requests: resources("cpu", "3", "memory", "6Gi"), Limits: resources("nvidia.com/gpu", "2")}}}
		},
		effective: resources("cpu", "3", "memory", "6Gi", "nvidia.com/gpu", "2"),
	}, {
		name: "sidecars", why: "a sidecar adds to the app container and to the init containers declared after it, not to those before",
		spec: func(s *v1.PodSpec) {
			main(s).Resources.Requests = resources("cpu", "1", "memory", "1Gi")
			s.InitContainers = []v1.Container{
				{Name: "fetch", Image: "registry.example/batch/fetch:1.0", Resources: v1.ResourceRequirements{Requests: resources("cpu", "1600m", "memory", "128Mi")}},
				{Name: "proxy", Image: "registry.example/batch/proxy:1.0", RestartPolicy: &sidecar, Resources: v1.ResourceRequirements{Requests: resources("cpu", "500m", "memory", "512Mi")}},
				{Name: "migrate", Image: "registry.example/batch/migrate:1.0", Resources: v1.ResourceRequirements{Requests: resources("cpu", "1200m", "memory", "256Mi")}},
			}
		},
		// cpu: migrate with the proxy (1.7) over fetch alone (1.6) and the
		// app with the proxy (1.5); memory: the app with the proxy.
		effective: resources("cpu", "1700m", "memory", "1536Mi"),
	}, {
		name: "overhead", why: "the RuntimeClass's overhead, which its admission plugin writes into spec.overhead",
		spec: func(s *v1.PodSpec) {
			main(s).Resources.Requests = resources("cpu", "1", "memory", "1Gi")
			s.RuntimeClassName = &runtimeClass
		},
		effective: resources("cpu", "1250m", "memory", "1088Mi"),
	}, {
		name: "limits-only", why: "limits without requests: the API server defaults each request to its limit; ephemeral-storage is not counted",
		spec: func(s *v1.PodSpec) {
			main(s).Resources.Limits = resources("cpu", "1500m", "memory", "2Gi", "nvidia.com/gpu", "1", "ephemeral-storage", "1Gi")
		},
		effective: resources("cpu", "1500m", "memory", "2Gi", "nvidia.com/gpu", "1", "ephemeral-storage", "1Gi"),
	}, {
		name: "several", why: "several app containers add up; each configured extended resource counts, example.com/fpga does not",
		spec: func(s *v1.PodSpec) {
			main(s).Resources.Requests = resources("cpu", "500m", "memory", "256Mi")
			s.Containers = append(s.Containers,
				v1.Container{Name: "loader", Image: "registry.example/batch/loader:1.0",
					Resources: v1.ResourceRequirements{Requests: resources("cpu", "1", "memory", "1Gi"), Limits: resources("amd.com/gpu", "1")}},
				v1.Container{Name: "render", Image: "registry.example/batch/render:1.0",
					Resources: v1.ResourceRequirements{Requests: resources("cpu", "250m"),
						Limits: resources("nvidia.com/gpu", "1", "gpu.intel.com/i915", "2", "example.com/fpga", "1")}})
		},
		effective: resources("cpu", "1750m", "memory", "1280Mi", "amd.com/gpu", "1", "nvidia.com/gpu", "1", "gpu.intel.com/i915", "2", "example.com/fpga", "1"),
	}, {
		name: "pod-level", why: "pod-level requests (spec.resources) replace the containers' sum for cpu and memory",
		spec: func(s *v1.PodSpec) {
			s.Resources = &v1.ResourceRequirements{Requests: resources("cpu", "2", "memory", "3Gi")}
			main(s).Resources.Requests = resources("cpu", "500m", "memory", "1Gi")
		},
		effective: resources("cpu", "2", "memory", "3Gi"),
	}, {
		name: "pod-level-limits", why: "pod-level limits only: the API server defaults the pod's cpu request to the containers' and its memory request to the limit",
		spec: func(s *v1.PodSpec) {
			s.Resources = &v1.ResourceRequirements{Limits: resources("cpu", "3", "memory", "2Gi")}
			main(s).Resources.Requests = resources("cpu", "500m")
		},
		effective: resources("cpu", "500m", "memory", "2Gi"),
	}}
}

// The effective request of each tricky shape, as the exporter counts it,
// is the scheduler's rule (component-helpers PodRequests) applied to the
// pod the API server stores after defaulting (requests from limits,
// pod-level requests) and admission (the RuntimeClass's overhead); times
// the pod's stored running time. One Job per shape, all at once; each is
// its own owner.
func TestFailureCostEffectiveRequest(t *testing.T) {
	e := newEnv(t, "s41-cost-shapes")
	const run = 2 * time.Second

	// RuntimeClasses are cluster-wide: named after the namespace, unique.
	rc, err := e.Client.NodeV1().RuntimeClasses().Create(e.Ctx, &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: e.NS},
		Handler:    "runc",
		Overhead:   &nodev1.Overhead{PodFixed: resources("cpu", "250m", "memory", "64Mi")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create RuntimeClass: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Client.NodeV1().RuntimeClasses().Delete(context.Background(), rc.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete RuntimeClass %s: %v", rc.Name, err)
		}
	})

	shapes := costShapes(rc.Name)
	start := time.Now()
	for _, s := range shapes {
		job := e.NewJob(s.name, fmt.Sprintf("run=%s succeed", run))
		job.Spec.BackoffLimit = ptr(int32(0))
		s.spec(&job.Spec.Template.Spec)
		e.Create(job)
	}
	want := held{}
	for _, s := range shapes {
		j, seen := e.WaitFinished(s.name, batchv1.JobComplete, "")
		pods := e.pods(j)
		if len(pods) != 1 {
			t.Fatalf("%s: %d pods, want 1", s.name, len(pods))
		}
		p := &pods[0]
		checkRan(t, p, run, seen.Sub(start))
		got := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
		if !equalResources(got, s.effective) {
			t.Errorf("%s (%s): PodRequests of the stored pod = %v, want %v", s.name, s.why, resourceString(got), resourceString(s.effective))
		}
		want.add(t, s.name, p)
	}
	e.waitHeld(want)
}

func equalResources(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if w, ok := b[name]; !ok || q.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// resourceString is a ResourceList in a stable order, for messages.
func resourceString(l v1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for name, q := range l {
		parts = append(parts, string(name)+"="+q.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// deadlineKill is one Job of TestFailureCostOfDeadlineKill: how its pod
// template differs, and what the pod watch saw of its pod (its first state
// with a deletionTimestamp, as the API server stored it; its UIDs; whether
// it is gone).
type deadlineKill struct {
	why      string
	template func(*batchv1.JobSpec)
	deleting *v1.Pod
	uids     map[types.UID]bool
	gone     bool
}

// Jobs whose one pod (cpu 2, memory 4Gi, one GPU) runs past
// activeDeadlineSeconds: the Job controller deletes the running pod and
// fails the Job (DeadlineExceeded). The time the pod ran until it was
// deleted counts as failed resource-time of the owner, once: the
// kubelet's last status (phase Failed), the pod's removal and the Job's
// deletion add nothing, and no succeeded series appears.
//
// The controller deletes the pods before it writes FailureTarget
// (syncJob's deleteActivePods comes before trackJobStatusAndRemoveFinalizers
// flushes the condition), so the exporter most often sees the deletion
// while the Job still runs; either way the pod counts failed.
//
// The exporter ends a deleted pod's span at its deletionTimestamp or when
// it saw the deletion, whichever is earlier, or, for a Job that replaces
// only failed pods, at the end its Failed status gives (job.PodFinish):
//   - "hang-now" (terminationGracePeriodSeconds 0): the API server stores
//     deletionTimestamp = the deletion request's time, truncated to the
//     second, before the exporter sees it: the counter is exactly
//     request × (deletionTimestamp − startTime) of the stored pod.
//   - "hang" (the API's default grace period) and "hang-pfp" (its
//     podFailurePolicy makes the Job replace only failed pods: the deletion
//     is no failure until the pod's phase is Failed): the end is when the
//     exporter saw the deletion, or the last container's finishedAt the
//     pod driver wrote when it saw it; neither is stored before the
//     deletion request, whose time truncated to the second is
//     deletionTimestamp − deletionGracePeriodSeconds, nor after the scrape
//     that first shows the counter (exporter, API server, pod driver and
//     test share one clock). So the span is between those two, each less
//     the stored startTime.
func TestFailureCostOfDeadlineKill(t *testing.T) {
	e := newEnv(t, "s42-cost-deadline")
	kills := map[string]*deadlineKill{
		"hang": {why: "the default grace period: deletionTimestamp in the future"},
		"hang-now": {why: "grace period 0: deletionTimestamp is the deletion's time",
			template: func(s *batchv1.JobSpec) { s.Template.Spec.TerminationGracePeriodSeconds = ptr(int64(0)) }},
		"hang-pfp": {why: "a podFailurePolicy: the pod counts once its phase is Failed",
			template: func(s *batchv1.JobSpec) {
				s.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action:          batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: v1.DisruptionTarget, Status: v1.ConditionTrue}},
				}}}
			}},
	}
	series := 3 * len(kills) // cpu, memory and GPU of each Job's owner

	// The driver and the Job controller remove a deleted pod within
	// moments: a watch opened before the Jobs exist sees every state the
	// API server stores, the deletion's included.
	w, err := e.Client.CoreV1().Pods(e.NS).Watch(e.Ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	defer w.Stop()
	for name, k := range kills {
		k.uids = map[types.UID]bool{}
		job := e.NewJob(name, "run=forever")
		job.Spec.ActiveDeadlineSeconds = ptr(int64(4))
		job.Spec.Template.Spec.Containers[0].Resources = gpuWorker()
		if k.template != nil {
			k.template(&job.Spec)
		}
		e.Create(job)
	}
	gone := 0
	timeout := time.NewTimer(harness.JobTimeout)
	defer timeout.Stop()
	for gone < len(kills) {
		var ev watch.Event
		select {
		case ev = <-w.ResultChan():
		case <-timeout.C:
			t.Fatalf("pod watch: %d of %d pods deleted after %s", gone, len(kills), harness.JobTimeout)
		}
		if ev.Type == watch.Error {
			t.Fatalf("pod watch: %v", ev.Object)
		}
		p, ok := ev.Object.(*v1.Pod)
		if !ok {
			t.Fatalf("pod watch: closed or unexpected %T", ev.Object)
		}
		k := kills[p.Labels[batchv1.JobNameLabel]]
		if k == nil {
			t.Fatalf("pod %s of no Job of this test", p.Name)
		}
		k.uids[p.UID] = true
		if k.deleting == nil && p.DeletionTimestamp != nil {
			k.deleting = p.DeepCopy()
		}
		if ev.Type == watch.Deleted && !k.gone {
			k.gone = true
			gone++
		}
	}

	for name, k := range kills {
		e.WaitFinished(name, batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
		p := k.deleting
		switch {
		case len(k.uids) != 1:
			t.Fatalf("%s: %d pods, want 1", name, len(k.uids))
		case p == nil:
			t.Fatalf("%s: pod removed without a deletionTimestamp seen", name)
		case p.Status.Phase != v1.PodRunning || p.Status.StartTime == nil:
			t.Fatalf("%s: pod %s was %s (startTime %v) when its deletion began, want Running", name, p.Name, p.Status.Phase, p.Status.StartTime)
		case p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != harness.Deref(p.Spec.TerminationGracePeriodSeconds):
			t.Fatalf("%s: deletionGracePeriodSeconds %v, want the pod's terminationGracePeriodSeconds %v", name, p.DeletionGracePeriodSeconds, p.Spec.TerminationGracePeriodSeconds)
		}
	}
	if g := *kills["hang"].deleting.DeletionGracePeriodSeconds; g == 0 {
		t.Fatalf("hang: deletion grace period 0, want the default (the deletionTimestamp in the future)")
	}

	ns := harness.Labels{"namespace": e.NS}
	m, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, ns, func(m *harness.Metrics) (bool, string) {
		var missing []string
		for name, k := range kills {
			if !m.Has(resourceSecondsTotal, harness.Labels{"namespace": e.NS, "owner_name": name}) {
				missing = append(missing, fmt.Sprintf("%s (%s)", name, k.why))
			}
		}
		sort.Strings(missing)
		return len(missing) == 0, "no resource-time of the pod killed at the deadline of " + strings.Join(missing, ", ")
	})
	if err != nil {
		t.Fatal(err)
	}
	// The exporter counted each pod before this scrape's response arrived.
	scraped := time.Now()

	type span struct{ lo, hi time.Time } // the exporter's end of a pod's span
	ends := map[string]span{}
	for name, k := range kills {
		p := k.deleting
		dt := p.DeletionTimestamp.Time
		if *p.DeletionGracePeriodSeconds == 0 {
			ends[name] = span{dt, dt}
		} else {
			ends[name] = span{dt.Add(-time.Duration(*p.DeletionGracePeriodSeconds) * time.Second), scraped}
		}
	}
	first := held{}
	ran := map[string]float64{} // the span each series implies, per owner
	samples := m.Samples(resourceSecondsTotal, ns)
	for _, s := range samples {
		owner, res := s.Labels["owner_name"], v1.ResourceName(s.Labels["resource"])
		if first[owner] == nil {
			first[owner] = map[heldKey]float64{}
		}
		first[owner][heldKey{s.Labels["outcome"], string(res)}] = s.Value
		k := kills[owner]
		if k == nil || s.Labels["owner_kind"] != "Job" || s.Labels["outcome"] != "failed" {
			t.Errorf("unexpected series %s", s)
			continue
		}
		p := k.deleting
		q, ok := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})[res]
		if !ok || !countedResources[res] {
			t.Errorf("%s: the pod requests no counted %s", s, res)
			continue
		}
		req := q.AsApproximateFloat64()
		lo := ends[owner].lo.Sub(p.Status.StartTime.Time).Seconds()
		hi := ends[owner].hi.Sub(p.Status.StartTime.Time).Seconds()
		if s.Value < req*lo*(1-heldTolerance) || s.Value > req*hi*(1+heldTolerance) {
			t.Errorf("%s (%s), want %v × [%v, %v] s (startTime %s, deletionTimestamp %s, grace %ds)", s, k.why, req, lo, hi,
				p.Status.StartTime.UTC().Format(time.RFC3339), p.DeletionTimestamp.UTC().Format(time.RFC3339), *p.DeletionGracePeriodSeconds)
		}
		// One span per pod: every resource's value divides into it.
		d := s.Value / req
		if r, seen := ran[owner]; seen && math.Abs(d-r) > heldTolerance*r {
			t.Errorf("%s: %v s of %s, another resource of the pod %v s", owner, d, res, r)
		}
		ran[owner] = d
	}
	if len(samples) != series {
		t.Fatalf("%d series, want %d:\n%s", len(samples), series, m.Dump(ns, resourceSecondsTotal))
	}
	for owner, d := range ran {
		f := first[owner]
		t.Logf("owner %s: the pod killed at the deadline ran %.3f s: %.1f core-seconds, %.1f GPU-seconds failed",
			owner, d, f[heldKey{"failed", "cpu"}], f[heldKey{"failed", "nvidia.com/gpu"}])
	}

	// Counted once: after the kubelet's last status, the pod's removal
	// and the Jobs' deletion, the counters are those first seen.
	for name := range kills {
		if err := e.Client.BatchV1().Jobs(e.NS).Delete(e.Ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatalf("delete job %s: %v", name, err)
		}
	}
	m, err = exporter.WaitMetrics(e.Ctx, metricsTimeout, ns, func(m *harness.Metrics) (bool, string) {
		if m.Has("kubejob_info", ns) {
			return false, "the exporter still reports the deleted Jobs"
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := heldDiff(m.Samples(resourceSecondsTotal, ns), first); diff != "" {
		t.Errorf("after the Jobs were deleted, against the values first seen: %s", diff)
	}
}
