package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const (
	// jobTimeout bounds a Job reaching its terminal state.
	jobTimeout = 2 * time.Minute
	// pageWindow bounds the time from a Job's terminal failure (as the
	// test sees it in the API) to the page at the webhook: scrape 2s,
	// evaluation 1s, Alertmanager group_wait 1s, plus the exporter's and
	// the processes' latency on a loaded 2-core CI machine. Failing
	// scenarios must page within it (they take a few seconds); the
	// scenarios that must not page are watched for the same window after
	// Prometheus has seen their final state.
	pageWindow = 30 * time.Second
)

// env is one scenario: its own namespace in the shared cluster.
type env struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	client kubernetes.Interface
}

func newEnv(t *testing.T, ns string) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), ns: ns, client: cluster.Client()}
	if _, err := e.client.CoreV1().Namespaces().Create(e.ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	return e
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

// waitJob polls the API (every harness.PollInterval, 200ms) until cond
// holds, and returns the Job and when the test saw it.
func (e *env) waitJob(name, what string, cond func(*batchv1.Job) bool) (*batchv1.Job, time.Time) {
	e.t.Helper()
	var last *batchv1.Job
	var seen time.Time
	err := harness.Eventually(e.ctx, jobTimeout, func(ctx context.Context) (bool, string, error) {
		j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		last, seen = j, time.Now()
		return cond(j), fmt.Sprintf("job %s/%s: waiting for %s; conditions %s", e.ns, name, what, conditions(j)), nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return last, seen
}

// waitFinished waits for the Job controller to finish the Job with
// condition typ and reason ("" any); it returns when the test saw it.
func (e *env) waitFinished(name string, typ batchv1.JobConditionType, reason string) (*batchv1.Job, time.Time) {
	e.t.Helper()
	j, seen := e.waitJob(name, string(typ), func(j *batchv1.Job) bool {
		return condition(j, batchv1.JobComplete) != nil || condition(j, batchv1.JobFailed) != nil
	})
	c := condition(j, typ)
	if c == nil {
		e.t.Fatalf("job %s/%s finished without %s: %s", e.ns, name, typ, conditions(j))
	}
	if reason != "" && c.Reason != reason {
		e.t.Fatalf("job %s/%s: %s reason %q, want %q", e.ns, name, typ, c.Reason, reason)
	}
	return j, seen
}

func condition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == v1.ConditionTrue {
			return c
		}
	}
	return nil
}

func conditions(j *batchv1.Job) string {
	var cs []string
	for _, c := range j.Status.Conditions {
		cs = append(cs, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return fmt.Sprintf("[%s] active=%d failed=%d succeeded=%d", strings.Join(cs, " "), j.Status.Active, j.Status.Failed, j.Status.Succeeded)
}

// inNamespace matches the alerts (firing or resolved) of namespace ns.
func inNamespace(ns string) func(harness.ReceivedAlert) bool {
	return func(a harness.ReceivedAlert) bool { return a.Labels["namespace"] == ns }
}

// alertMatch matches alerts of status with every given label value.
func alertMatch(status string, labels map[string]string) func(harness.ReceivedAlert) bool {
	return func(a harness.ReceivedAlert) bool {
		if a.Status != status {
			return false
		}
		for k, v := range labels {
			if a.Labels[k] != v {
				return false
			}
		}
		return true
	}
}

// waitPrometheus runs expr until it returns at least one series.
func waitPrometheus(t *testing.T, expr string, timeout time.Duration) {
	t.Helper()
	err := harness.Eventually(context.Background(), timeout, func(ctx context.Context) (bool, string, error) {
		r, err := pipe.Prometheus.Query(ctx, expr, time.Time{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(r.Samples) > 0, "no series for " + expr, nil
	})
	if err != nil {
		t.Fatalf("Prometheus: %v", err)
	}
}

// httpGet fetches u and returns the status code and body.
func httpGet(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// latencies collects the failure-to-page times for the report at the end.
type latency struct {
	alert, where string
	d            time.Duration
}

func sortedLatencies(ls []latency) []latency {
	out := append([]latency(nil), ls...)
	sort.Slice(out, func(i, k int) bool { return out[i].alert+out[i].where < out[k].alert+out[k].where })
	return out
}
