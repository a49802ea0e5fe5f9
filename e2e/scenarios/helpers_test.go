package scenarios

import (
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

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Timeouts are generous: CI machines are small and shared.
const (
	metricsTimeout = time.Minute
)

// env is one scenario: its own namespace in the shared cluster.
type env struct{ *harness.Env }

var nsSeq atomic.Int32

// newEnv makes a parallel test with a fresh namespace named after it (with
// a sequence number, so that -count=N runs do not collide).
func newEnv(t *testing.T, ns string) *env {
	t.Helper()
	t.Parallel()
	return &env{harness.NewEnv(t, cluster.Client(), fmt.Sprintf("%s-%d", ns, nsSeq.Add(1)))}
}

func ptr[T any](v T) *T { return &v }

// waitJob is harness.Env.WaitJob without the time the test saw the Job.
func (e *env) waitJob(name string, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	e.T.Helper()
	j, _ := e.WaitJob(name, what, cond)
	return j
}

// waitFinished is harness.Env.WaitFinished without the time.
func (e *env) waitFinished(name string, typ batchv1.JobConditionType, reason string) *batchv1.Job {
	e.T.Helper()
	j, _ := e.WaitFinished(name, typ, reason)
	return j
}

// pods lists the Job's pods, oldest first.
func (e *env) pods(job *batchv1.Job) []v1.Pod {
	e.T.Helper()
	list, err := e.Client.CoreV1().Pods(e.NS).List(e.Ctx, metav1.ListOptions{
		LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID),
	})
	if err != nil {
		e.T.Fatalf("list pods: %v", err)
	}
	sort.Slice(list.Items, func(i, k int) bool {
		return list.Items[i].CreationTimestamp.Before(&list.Items[k].CreationTimestamp)
	})
	return list.Items
}

// labels selects a Job's series.
func (e *env) labels(job string, extra ...string) harness.Labels {
	l := harness.Labels{"namespace": e.NS, "job_name": job}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// waitMetrics scrapes the exporter until every expectation that build
// registers holds, and returns that scrape. On timeout the test fails with
// the unmet expectations and the Job's series of the last scrape.
func (e *env) waitMetrics(job string, build func(x *expect)) *harness.Metrics {
	e.T.Helper()
	return e.waitFrom(exporter, job, build)
}

// waitFrom is env.waitMetrics against exporter exp.
func (e *env) waitFrom(exp *harness.Exporter, job string, build func(x *expect)) *harness.Metrics {
	e.T.Helper()
	m, err := exp.WaitMetrics(e.Ctx, metricsTimeout, e.labels(job), func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: e.labels(job)}
		build(x)
		return x.result()
	})
	if err != nil {
		e.T.Fatalf("exporter /metrics for job %s/%s: %v", e.NS, job, err)
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
	initial, maxDelay := cluster.JobBackoff()
	if n <= 0 {
		return 0
	}
	d := initial
	for i := 1; i < n; i++ {
		d *= 2
		if d >= maxDelay {
			return maxDelay
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
