package reliability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// An exporter restarted mid-scenario (Jobs finished, retrying, stuck)
// answers exactly what the old process answered: the per-Job metrics are
// state recomputed from the Jobs and pods, not counted events, so retries
// and pod_failures neither reset to 0 nor double. The scenario then goes
// on and the restarted exporter still equals a fresh one.
func TestExporterRestart(t *testing.T) {
	ctx := context.Background()
	ns := "restart"
	suite.CreateNamespace(t, ns)
	old := suite.StartExporter(t, "restart-old")

	oom := NewJob(ns, "oom-fail", "oom", 2)
	oom.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	indexed := NewJob(ns, "indexed", "index=1 exit=3", 0)
	indexed.Spec.BackoffLimit = nil
	indexed.Spec.CompletionMode = Ptr(batchv1.IndexedCompletion)
	indexed.Spec.Completions, indexed.Spec.Parallelism = Ptr(int32(3)), Ptr(int32(3))
	indexed.Spec.BackoffLimitPerIndex = Ptr(int32(1))
	onFailure := NewJob(ns, "onfailure-running", "attempt=1-2 exit=1; run=forever", 5)
	onFailure.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	suite.CreateJobs(t,
		NewJob(ns, "flaky-ok", "attempt=1-2 exit=1; succeed", 4),
		oom,
		NewJob(ns, "retrying-running", "attempt=1-2 exit=1; run=forever", 5),
		NewJob(ns, "pull", "image-pull", 1),
		indexed,
		onFailure,
	)
	if err := suite.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{
		"flaky-ok": batchv1.JobComplete, "oom-fail": batchv1.JobFailed, "indexed": batchv1.JobFailed,
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		l    harness.Labels
		v    float64
	}{
		{"kubejob_retries", Labels(ns, "flaky-ok"), 2},
		{"kubejob_complete", Labels(ns, "flaky-ok"), 1},
		{"kubejob_retries", Labels(ns, "oom-fail"), 3},
		{"kubejob_pod_failures", Labels(ns, "oom-fail", "container", "main", "reason", "OOMKilled", "exit_code", "137"), 3},
		{"kubejob_retries", Labels(ns, "retrying-running"), 2},
		{"kubejob_pod_failures", Labels(ns, "retrying-running", "container", "main", "reason", "Error", "exit_code", "1"), 2},
		{"kubejob_pods", Labels(ns, "retrying-running", "state", "active"), 1},
		{"kubejob_pods_waiting", Labels(ns, "pull", "reason", "ImagePullBackOff"), 1},
		{"kubejob_failed", Labels(ns, "indexed", "reason", "FailedIndexes"), 1},
		{"kubejob_index_failures", Labels(ns, "indexed", "index", "1"), 2},
		{"kubejob_retries", Labels(ns, "onfailure-running"), 2},
		{"kubejob_pods", Labels(ns, "onfailure-running", "state", "active"), 1},
	}
	check := func(m *harness.Metrics) (bool, string) {
		for _, w := range want {
			if v, ok := m.Value(w.name, w.l); !ok || v != w.v {
				return false, fmt.Sprintf("%s%v = %v (present %v), want %v", w.name, w.l, v, ok, w.v)
			}
		}
		return true, ""
	}
	// A settled state: the expectations hold and two scrapes a second
	// apart agree.
	var before map[string]float64
	if err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		m1, err := old.Scrape(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		if ok, why := check(m1); !ok {
			return false, why, nil
		}
		time.Sleep(time.Second) // the settle interval, not a hope: the condition is polled
		m2, err := old.Scrape(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		a, b := PerJob(m1, true), PerJob(m2, true)
		if d := Diff(a, b, "scrape 1", "scrape 2"); d != "" {
			return false, "not settled:\n" + d, nil
		}
		before = b
		return true, "", nil
	}); err != nil {
		t.Fatalf("old exporter: %v\n%s", err, Tail(old.Logs(), 3000))
	}
	if err := old.Stop(); err != nil {
		t.Fatalf("old exporter stop: %v", err)
	}

	start := time.Now()
	restarted := suite.StartExporter(t, "restart-new")
	ready := time.Since(start)
	if err := WaitSnapshot(ctx, time.Minute, restarted, before, true); err != nil {
		t.Fatalf("the restarted exporter differs from the old one: %v", err)
	}
	t.Logf("restarted exporter ready in %s, equal to the old one (%d series, all namespaces) %s after start",
		ready.Round(time.Millisecond), len(before), time.Since(start).Round(time.Millisecond))
	var kept []string
	for k, v := range before {
		if strings.HasPrefix(k, "kubejob_retries{") || strings.HasPrefix(k, "kubejob_pod_failures{") {
			if strings.Contains(k, `namespace="`+ns+`"`) {
				kept = append(kept, fmt.Sprintf("%s %v", k, v))
			}
		}
	}
	sort.Strings(kept)
	t.Logf("identical across the restart:\n  %s", strings.Join(kept, "\n  "))

	// The scenario goes on after the restart.
	suite.CreateJobs(t, NewJob(ns, "after-fail", "exit=126", 1))
	if err := suite.WaitJobsFinished(ctx, 2*time.Minute, ns, map[string]batchv1.JobConditionType{"after-fail": batchv1.JobFailed}); err != nil {
		t.Fatal(err)
	}
	fresh := suite.StartExporter(t, "restart-fresh")
	got, err := WaitEqual(ctx, time.Minute, fresh, restarted, true)
	if err != nil {
		t.Fatalf("restarted vs fresh exporter: %v", err)
	}
	key := `kubejob_pod_failures{container="main",exit_code="126",job_name="after-fail",namespace="restart",reason="Error"}`
	if got[key] != 2 {
		t.Errorf("%s = %v, want 2", key, got[key])
	}
}
