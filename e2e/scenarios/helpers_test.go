package scenarios

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Timeouts are generous: CI machines are small and shared.
const (
	jobTimeout     = 2 * time.Minute
	metricsTimeout = time.Minute
)

// env is one scenario: its own namespace in the shared cluster.
type env struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	client kubernetes.Interface
}

var nsSeq atomic.Int32

// newEnv makes a parallel test with a fresh namespace named after it (with
// a sequence number, so that -count=N runs do not collide).
func newEnv(t *testing.T, ns string) *env {
	t.Helper()
	t.Parallel()
	ns = fmt.Sprintf("%s-%d", ns, nsSeq.Add(1))
	e := &env{t: t, ctx: context.Background(), ns: ns, client: cluster.Client()}
	newNamespace(t, e)
	return e
}

func newNamespace(t *testing.T, e *env) {
	t.Helper()
	_, err := e.client.CoreV1().Namespaces().Create(e.ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", e.ns, err)
	}
}

func ptr[T any](v T) *T { return &v }

// newJob is a Job in the test's namespace whose pods follow outcome.
func (e *env) newJob(name, outcome string) *batchv1.Job {
	return harness.OutcomeJob(e.ns, name, outcome)
}

func (e *env) create(job *batchv1.Job) *batchv1.Job {
	e.t.Helper()
	j, err := e.client.BatchV1().Jobs(e.ns).Create(e.ctx, job, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create job %s: %v", job.Name, err)
	}
	return j
}

func (e *env) getJob(name string) *batchv1.Job {
	e.t.Helper()
	j, err := e.client.BatchV1().Jobs(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get job %s: %v", name, err)
	}
	return j
}

// waitJob polls the API until cond holds for the Job.
func (e *env) waitJob(name string, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	e.t.Helper()
	var last *batchv1.Job
	err := harness.Eventually(e.ctx, jobTimeout, func(ctx context.Context) (bool, string, error) {
		j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		last = j
		return cond(j), fmt.Sprintf("job %s/%s: waiting for %s; status %s", e.ns, name, what, jobStatus(j)), nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return last
}

// waitFinished waits for the real Job controller to set condition typ
// (Complete or Failed) and checks its reason ("" for any).
func (e *env) waitFinished(name string, typ batchv1.JobConditionType, reason string) *batchv1.Job {
	e.t.Helper()
	j := e.waitJob(name, string(typ), func(j *batchv1.Job) bool {
		return condition(j, batchv1.JobComplete) != nil || condition(j, batchv1.JobFailed) != nil
	})
	c := condition(j, typ)
	if c == nil {
		e.t.Fatalf("job %s/%s finished without %s: %s", e.ns, name, typ, jobStatus(j))
	}
	if reason != "" && c.Reason != reason {
		e.t.Fatalf("job %s/%s: %s reason %q, want %q (the controller's behaviour changed?)", e.ns, name, typ, c.Reason, reason)
	}
	return j
}

func condition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == v1.ConditionTrue {
			return c
		}
	}
	return nil
}

func jobStatus(j *batchv1.Job) string {
	var conds []string
	for _, c := range j.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	s := fmt.Sprintf("active=%d ready=%d succeeded=%d failed=%d terminating=%d conditions=[%s]",
		j.Status.Active, ptrVal(j.Status.Ready), j.Status.Succeeded, j.Status.Failed, ptrVal(j.Status.Terminating), strings.Join(conds, " "))
	if j.Status.FailedIndexes != nil {
		s += " failedIndexes=" + *j.Status.FailedIndexes
	}
	if j.Status.CompletedIndexes != "" {
		s += " completedIndexes=" + j.Status.CompletedIndexes
	}
	return s
}

func ptrVal[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// pods lists the Job's pods, oldest first.
func (e *env) pods(job *batchv1.Job) []v1.Pod {
	e.t.Helper()
	list, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{
		LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID),
	})
	if err != nil {
		e.t.Fatalf("list pods: %v", err)
	}
	sort.Slice(list.Items, func(i, k int) bool {
		return list.Items[i].CreationTimestamp.Before(&list.Items[k].CreationTimestamp)
	})
	return list.Items
}

// labels selects a Job's series.
func (e *env) labels(job string, extra ...string) harness.Labels {
	l := harness.Labels{"namespace": e.ns, "job_name": job}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// waitMetrics scrapes the exporter until every expectation that build
// registers holds, and returns that scrape. On timeout the test fails with
// the unmet expectations and the Job's series of the last scrape.
func (e *env) waitMetrics(job string, build func(x *expect)) *harness.Metrics {
	e.t.Helper()
	m, err := exporter.WaitMetrics(e.ctx, metricsTimeout, harness.Labels{"namespace": e.ns, "job_name": job}, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels(job)}
		build(x)
		return x.result()
	})
	if err != nil {
		e.t.Fatalf("exporter /metrics for job %s/%s: %v", e.ns, job, err)
	}
	return m
}

// expect collects expectations on one scrape; names are given without the
// kubejob_ prefix.
type expect struct {
	m     *harness.Metrics
	base  harness.Labels
	fails []string
}

func (x *expect) sel(extra ...string) harness.Labels {
	l := harness.Labels{}
	for k, v := range x.base {
		l[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func (x *expect) failf(format string, args ...any) {
	x.fails = append(x.fails, fmt.Sprintf(format, args...))
}

func seriesName(name string, l harness.Labels) string {
	return harness.Sample{Name: name, Labels: l}.String()
}

// eq: exactly one series of kubejob_<name> with the labels, of value want.
func (x *expect) eq(name string, want float64, extra ...string) {
	name = "kubejob_" + name
	l := x.sel(extra...)
	got := x.m.Samples(name, l)
	switch {
	case len(got) == 0:
		x.failf("want %s = %v, series absent", seriesName(name, l), want)
	case len(got) > 1:
		x.failf("want one series %s, got %d", seriesName(name, l), len(got))
	case math.Abs(got[0].Value-want) > 1e-6*math.Max(1, math.Abs(want)):
		x.failf("want %s = %v, got %v", seriesName(name, l), want, got[0].Value)
	}
}

// near: like eq, within tol.
func (x *expect) near(name string, want, tol float64, extra ...string) {
	name = "kubejob_" + name
	l := x.sel(extra...)
	v, ok := x.m.Value(name, l)
	if !ok {
		x.failf("want %s ≈ %v, series absent or not unique", seriesName(name, l), want)
	} else if math.Abs(v-want) > tol {
		x.failf("want %s = %v ± %v, got %v", seriesName(name, l), want, tol, v)
	}
}

// absent: no series of kubejob_<name> with the labels.
func (x *expect) absent(name string, extra ...string) {
	name = "kubejob_" + name
	l := x.sel(extra...)
	if got := x.m.Samples(name, l); len(got) > 0 {
		x.failf("want no %s, got %v", seriesName(name, l), got)
	}
}

// value returns the single series' value (NaN and a failure when missing).
func (x *expect) value(name string, extra ...string) float64 {
	name = "kubejob_" + name
	l := x.sel(extra...)
	v, ok := x.m.Value(name, l)
	if !ok {
		x.failf("want one series %s", seriesName(name, l))
		return math.NaN()
	}
	return v
}

// only: the series of kubejob_<name> for the Job are exactly the given
// label value for label key (e.g. kubejob_failed only reason=X).
func (x *expect) only(name, key, value string) {
	for _, s := range x.m.Samples("kubejob_"+name, x.base) {
		if s.Labels[key] != value {
			x.failf("want only %s=%q in kubejob_%s, also got %v", key, value, name, s)
		}
	}
}

func (x *expect) result() (bool, string) {
	if len(x.fails) == 0 {
		return true, ""
	}
	return false, strings.Join(x.fails, "; ")
}

// unix is a metav1.Time as the float Unix seconds the exporter exposes.
func unix(t metav1.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// backoffDelay is the Job controller's delay after n consecutive failures
// (pkg/controller/job getRemainingTimeForFailuresCount) with the harness's
// settings.
func backoffDelay(n int) time.Duration {
	initial, max := cluster.JobBackoff()
	if n <= 0 {
		return 0
	}
	d := initial
	for i := 1; i < n; i++ {
		d *= 2
		if d >= max {
			return max
		}
	}
	return d
}

// terminatedOf returns the terminated state of the pod's container name.
func terminatedOf(p *v1.Pod, name string) *v1.ContainerStateTerminated {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.State.Terminated
		}
	}
	return nil
}
