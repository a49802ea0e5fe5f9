// Package reliability holds the fault-injection end-to-end tests of issue 8
// ("survive API server outages, re-lists, bad objects and scrape storms
// without lying") and the helpers they share with its sub-packages (each
// sub-package runs its own Cluster, one per process: relist/ with the watch
// cache off, rbac/ with RBAC on).
//
// The central check is equality with a fresh exporter: after a fault, the
// per-Job series of the exporter that lived through it must equal those of
// an exporter started afterwards against the same cluster (state, not event
// counting: nothing doubled, nothing lost).
package reliability

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Suite is one test process: its cluster and the exporter binary.
type Suite struct {
	Cluster *harness.Cluster
	Binary  string
	WorkDir string // logs of every exporter started: exporter-<name>-<n>.log
	seq     atomic.Int32
}

// StartExporter runs the exporter binary against the cluster's kubeconfig
// (debug logs to WorkDir) and stops it when the test ends.
func (s *Suite) StartExporter(t testing.TB, name string, args ...string) *harness.Exporter {
	t.Helper()
	return s.StartExporterWith(t, name, s.Cluster.Kubeconfig(), args...)
}

// StartExporterWith is StartExporter with another kubeconfig.
func (s *Suite) StartExporterWith(t testing.TB, name, kubeconfig string, args ...string) *harness.Exporter {
	t.Helper()
	return s.startExporter(t, name, harness.ExporterOptions{Kubeconfig: kubeconfig, Args: args})
}

// StartExporterNotReady is StartExporter waiting only until the exporter
// listens: for a test of an exporter that is not meant to be ready yet.
func (s *Suite) StartExporterNotReady(t testing.TB, name string) *harness.Exporter {
	t.Helper()
	return s.startExporter(t, name, harness.ExporterOptions{Kubeconfig: s.Cluster.Kubeconfig(), WaitListening: true, ReadyTimeout: 30 * time.Second})
}

// startExporter starts the exporter binary with opts, the cluster's Job
// backoff and debug logs to WorkDir, and stops it when the test ends.
func (s *Suite) startExporter(t testing.TB, name string, opts harness.ExporterOptions) *harness.Exporter {
	t.Helper()
	path := filepath.Join(s.WorkDir, fmt.Sprintf("exporter-%s-%d.log", name, s.seq.Add(1)))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	opts.Binary, opts.LogLevel, opts.Output = s.Binary, "debug", f
	opts.BackoffInitial, opts.BackoffMax = s.Cluster.JobBackoff()
	e, err := harness.StartExporter(context.Background(), opts)
	if err != nil {
		f.Close()
		t.Fatalf("start exporter %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = e.Stop()
		f.Close()
	})
	return e
}

// ExcludedFromEquality says which kubejob_ families the equality check
// leaves out: the exporter's own metrics (process-local by nature), the
// outcome counters per owner (harness.CountedPerOwner: counted from the watch
// events an exporter saw, so a fresh exporter starts them at zero by
// design; docs/metrics.md) and, unless includeCron, the CronJob history,
// which docs/metrics.md documents as outliving the Job objects while the
// exporter runs (a fresh exporter rebuilds it only from the Jobs still
// present). The CronJob families are equal too as long as no CronJob-owned
// Job was deleted during the older exporter's life.
func ExcludedFromEquality(name string, includeCron bool) bool {
	if !strings.HasPrefix(name, "kubejob_") || strings.HasPrefix(name, "kubejob_exporter_") || harness.CountedPerOwner(name) {
		return true
	}
	return !includeCron && strings.HasPrefix(name, "kubejob_cronjob_")
}

// PerJob returns the per-Job (and, with includeCron, per-CronJob) series of
// a scrape as "name{labels}" → value, restricted to namespaces (nil: all).
func PerJob(m *harness.Metrics, includeCron bool, namespaces ...string) map[string]float64 {
	out := map[string]float64{}
	for name := range m.Families {
		if ExcludedFromEquality(name, includeCron) {
			continue
		}
		for _, s := range m.Samples(name, nil) {
			if len(namespaces) > 0 && !contains(namespaces, s.Labels["namespace"]) {
				continue
			}
			key := s.String()
			key = key[:strings.LastIndexByte(key, ' ')]
			out[key] = s.Value
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Diff lists how got differs from want, one line per series ("" if equal).
func Diff(want, got map[string]float64, wantName, gotName string) string {
	var lines []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("  only in %s: %s %v", wantName, k, w))
		case !same(g, w):
			lines = append(lines, fmt.Sprintf("  differs: %s: %s %v, %s %v", k, wantName, w, gotName, g))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("  only in %s: %s %v", gotName, k, g))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func same(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a))
}

// WaitEqual scrapes ref (usually a fresh exporter) and got until their
// per-Job series are equal, and returns got's series then. On timeout the
// error lists the differences of the last pair of scrapes.
func WaitEqual(ctx context.Context, timeout time.Duration, ref, got *harness.Exporter, includeCron bool, namespaces ...string) (map[string]float64, error) {
	var last map[string]float64
	err := harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		mr, err := ref.Scrape(ctx)
		if err != nil {
			return false, "scrape reference: " + err.Error(), nil
		}
		mg, err := got.Scrape(ctx)
		if err != nil {
			return false, "scrape exporter under test: " + err.Error(), nil
		}
		r, g := PerJob(mr, includeCron, namespaces...), PerJob(mg, includeCron, namespaces...)
		last = g
		if d := Diff(r, g, "fresh", "tested"); d != "" {
			return false, fmt.Sprintf("per-Job series differ (%d fresh, %d tested):\n%s", len(r), len(g), d), nil
		}
		if len(r) == 0 {
			return false, "no per-Job series at all", nil
		}
		return true, "", nil
	})
	return last, err
}

// WaitSnapshot scrapes e until its per-Job series equal want.
func WaitSnapshot(ctx context.Context, timeout time.Duration, e *harness.Exporter, want map[string]float64, includeCron bool, namespaces ...string) error {
	return harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		m, err := e.Scrape(ctx)
		if err != nil {
			return false, "scrape: " + err.Error(), nil
		}
		if d := Diff(want, PerJob(m, includeCron, namespaces...), "before", "now"); d != "" {
			return false, "per-Job series differ:\n" + d, nil
		}
		return true, "", nil
	})
}

// WatchUp is sum(kubejob_exporter_watch_up): len(harness.WatchedResources)
// when every watch works.
func WatchUp(m *harness.Metrics) float64 {
	return m.Sum("kubejob_exporter_watch_up", harness.Labels{})
}

// WaitHealthy waits for every watch up and /readyz 200.
func WaitHealthy(ctx context.Context, timeout time.Duration, e *harness.Exporter) error {
	return harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		m, err := e.Scrape(ctx)
		if err != nil {
			return false, "scrape: " + err.Error(), nil
		}
		if up := WatchUp(m); up != float64(len(harness.WatchedResources)) {
			return false, fmt.Sprintf("sum(kubejob_exporter_watch_up) = %v", up), nil
		}
		code, body, err := e.Get(ctx, "/readyz")
		if err != nil || code != 200 {
			return false, fmt.Sprintf("/readyz: %d %q %v", code, strings.TrimSpace(body), err), nil
		}
		return true, "", nil
	})
}

func Ptr[T any](v T) *T { return &v }

// NewJob is a Job whose pods follow outcome (harness.OutcomeAnnotation):
// restartPolicy Never, one container "main" with a 64Mi memory limit.
func NewJob(ns, name, outcome string, backoffLimit int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: Ptr(backoffLimit),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{harness.OutcomeAnnotation: outcome}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "main", Image: "registry.example/batch/worker:1.0", Command: []string{"/bin/worker"},
					}},
				},
			},
		},
	}
}

// CreateNamespace creates ns with the cluster-admin client.
func (s *Suite) CreateNamespace(t testing.TB, ns string) {
	t.Helper()
	_, err := s.Cluster.Client().CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// CreateJobs creates the Jobs with the cluster-admin client (which does not
// go through the outage proxy).
func (s *Suite) CreateJobs(t testing.TB, jobs ...*batchv1.Job) {
	t.Helper()
	for _, j := range jobs {
		if _, err := s.Cluster.Client().BatchV1().Jobs(j.Namespace).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create job %s/%s: %v", j.Namespace, j.Name, err)
		}
	}
}

// Finished tells whether a Job has a terminal condition, and which.
func Finished(j *batchv1.Job) (batchv1.JobConditionType, bool) {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return c.Type, true
		}
	}
	return "", false
}

// WaitJobsFinished polls the API (not the exporter) until each named Job
// of ns has the terminal condition given (Complete or Failed).
func (s *Suite) WaitJobsFinished(ctx context.Context, timeout time.Duration, ns string, want map[string]batchv1.JobConditionType) error {
	return harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		for name, typ := range want {
			j, err := s.Cluster.Client().BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			got, ok := Finished(j)
			if !ok {
				return false, fmt.Sprintf("job %s/%s not finished yet (active=%d failed=%d succeeded=%d)", ns, name, j.Status.Active, j.Status.Failed, j.Status.Succeeded), nil
			}
			if got != typ {
				return false, fmt.Sprintf("job %s/%s finished %s, want %s", ns, name, got, typ), fmt.Errorf("job %s/%s finished %s, want %s", ns, name, got, typ)
			}
		}
		return true, "", nil
	})
}

// Labels selects one Job's series.
func Labels(ns, job string, kv ...string) harness.Labels {
	l := harness.Labels{"namespace": ns, "job_name": job}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return l
}

// Tail is the end of s, for logs in failure messages.
func Tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
