package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

const (
	// costJobs failed Jobs, spread over costNamespaces, fire one terminal
	// alert each while the rules are measured.
	costJobs, costNamespaces = 1000, 10
	// costSamples evaluations of every rule group are measured, costEvery
	// apart.
	costSamples = 10
	costEvery   = 3 * time.Second
)

// TestRuleEvaluationCost measures what the alerting rules cost Prometheus
// with 1,000 failed Jobs present, each firing its terminal alert: the rules
// before issue #14 (testdata/alerts-before-14.yaml, whose annotations ran
// PromQL for every firing alert at every evaluation), the mixin's rules
// now, and the same without annotations (what is left is the expressions
// and the ALERTS series; the difference is Prometheus' template expansion,
// per firing alert and annotation). Each runs in a Prometheus of its own,
// all three at once over the same exporter, so that the load of the
// machine weighs on them alike. It reports the evaluation time per rule
// group (what prometheus_rule_group_last_duration_seconds says);
// performance targets live in the report, so it asserts only that the
// measurement is valid (every alert firing, every group evaluated).
//
// Not parallel: it runs before the parallel tests, and its Jobs are gone
// before they start.
func TestRuleEvaluationCost(t *testing.T) {
	ctx := context.Background()
	cfg := cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 1e6, 1e6
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	namespaces := createFailedJobs(t, ctx, client)
	t.Logf("created %d failed Jobs with a pod each in %s", costJobs, time.Since(start).Round(100*time.Millisecond))
	t.Cleanup(func() { deleteCostJobs(t, client, namespaces) })

	before, err := filepath.Abs("testdata/alerts-before-14.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "alerts-without-annotations.yaml")
	if err := withoutAnnotations(pipe.RuleFiles[0], bare); err != nil {
		t.Fatal(err)
	}
	variants := []struct{ name, file string }{{"before #14", before}, {"now", pipe.RuleFiles[0]}, {"now, no annotations", bare}}
	servers := make([]*harness.Prometheus, len(variants))
	for i, v := range variants {
		servers[i] = startCostPrometheus(t, ctx, v.name, v.file)
	}
	results := make([]map[string]time.Duration, len(variants))
	for i, v := range variants {
		waitCostAlerts(t, ctx, v.name, servers[i])
	}
	sampleEvaluations(t, ctx, servers, results)

	groups := map[string]bool{}
	for _, r := range results {
		for g := range r {
			groups[g] = true
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "rule evaluation time with %d failed Jobs firing, every %s (median of %d evaluations per group):\n", costJobs, costEvery, costSamples)
	fmt.Fprintf(&b, "  %-36s", "group")
	for _, v := range variants {
		fmt.Fprintf(&b, " %20s", v.name)
	}
	totals := make([]time.Duration, len(variants))
	for _, g := range names {
		fmt.Fprintf(&b, "\n  %-36s", g)
		for i := range variants {
			fmt.Fprintf(&b, " %20s", show(results[i], g))
			totals[i] += results[i][g]
		}
	}
	fmt.Fprintf(&b, "\n  %-36s", "all groups")
	for i := range variants {
		fmt.Fprintf(&b, " %20s", totals[i].Round(100*time.Microsecond))
	}
	t.Log(b.String())
}

func show(r map[string]time.Duration, g string) string {
	d, ok := r[g]
	if !ok {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}

// withoutAnnotations writes the rule file in without its annotations.
func withoutAnnotations(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var f struct {
		Groups []struct {
			Name  string           `json:"name"`
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return err
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			delete(r, "annotations")
		}
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// createFailedJobs creates costJobs failed Jobs (harness.FailedJob, an
// OOMKilled pod each) and returns their namespaces.
func createFailedJobs(t *testing.T, ctx context.Context, client kubernetes.Interface) []string {
	t.Helper()
	var namespaces []string
	for i := 0; i < costNamespaces; i++ {
		ns := fmt.Sprintf("cost-%02d", i)
		if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		namespaces = append(namespaces, ns)
	}
	work := make(chan int)
	errs := make(chan error, costJobs)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ns := namespaces[i%costNamespaces]
				if _, err := harness.FailedJob(ctx, client, harness.OutcomeJob(ns, fmt.Sprintf("failed-%04d", i), "oom")); err != nil {
					errs <- fmt.Errorf("job %s/failed-%04d: %w", ns, i, err)
				}
			}
		}()
	}
	for i := 0; i < costJobs; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return namespaces
}

// firingCostAlerts counts the terminal alerts of the test's Jobs.
const firingCostAlerts = `count(ALERTS{alertname="KubeJobBackoffLimitExceeded",alertstate="firing",namespace=~"cost-.*"})`

// startCostPrometheus runs a Prometheus of its own with the rule file,
// stopped when the test ends.
func startCostPrometheus(t *testing.T, ctx context.Context, name, ruleFile string) *harness.Prometheus {
	t.Helper()
	p, err := harness.StartPrometheus(ctx, harness.PrometheusOptions{
		Binary: pipe.PrometheusBinary, WorkDir: t.TempDir(), ExporterAddr: exporter.Addr(),
		RuleFiles: []string{ruleFile}, ScrapeInterval: costEvery, EvaluationInterval: costEvery,
	})
	if err != nil {
		t.Fatalf("rules %s: %v", name, err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// waitCostAlerts waits until every Job's alert fires.
func waitCostAlerts(t *testing.T, ctx context.Context, name string, p *harness.Prometheus) {
	t.Helper()
	err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		r, err := p.Query(ctx, firingCostAlerts, time.Time{})
		if err != nil {
			return false, err.Error(), nil
		}
		if len(r.Samples) == 0 {
			return false, "no alert firing", nil
		}
		return r.Samples[0].Value == costJobs, fmt.Sprintf("%v of %d alerts firing", r.Samples[0].Value, costJobs), nil
	})
	if err != nil {
		t.Fatalf("rules %s: %v", name, err)
	}
}

// sampleEvaluations records the evaluation time of every rule group of
// every server, once per new evaluation, until each has costSamples, and
// stores the medians in results.
func sampleEvaluations(t *testing.T, ctx context.Context, servers []*harness.Prometheus, results []map[string]time.Duration) {
	t.Helper()
	samples := make([]map[string][]time.Duration, len(servers))
	last := make([]map[string]time.Time, len(servers))
	for i := range servers {
		samples[i], last[i] = map[string][]time.Duration{}, map[string]time.Time{}
	}
	err := harness.Eventually(ctx, 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		done := true
		for i, p := range servers {
			evals, err := p.RuleGroupEvaluations(ctx)
			if err != nil {
				return false, err.Error(), nil
			}
			done = done && len(evals) > 0
			for _, e := range evals {
				if !e.LastEvaluation.IsZero() && e.LastEvaluation != last[i][e.Group] {
					last[i][e.Group] = e.LastEvaluation
					samples[i][e.Group] = append(samples[i][e.Group], e.Duration)
				}
				done = done && len(samples[i][e.Group]) >= costSamples
			}
		}
		return done, fmt.Sprintf("evaluations seen: %v", counts(samples)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range servers {
		results[i] = map[string]time.Duration{}
		for g, ds := range samples[i] {
			sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
			results[i][g] = ds[len(ds)/2]
		}
	}
}

func counts(ms []map[string][]time.Duration) []map[string]int {
	var out []map[string]int
	for _, m := range ms {
		c := map[string]int{}
		for k, v := range m {
			c[k] = len(v)
		}
		out = append(out, c)
	}
	return out
}

// deleteCostJobs deletes the Jobs (their pods go with them: the pod driver
// collects them) and waits until the pipeline's Prometheus no longer sees
// them, so that the tests after this one start from a quiet pipeline.
func deleteCostJobs(t *testing.T, client kubernetes.Interface, namespaces []string) {
	ctx := context.Background()
	background := metav1.DeletePropagationBackground
	for _, ns := range namespaces {
		if err := client.BatchV1().Jobs(ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &background}, metav1.ListOptions{}); err != nil {
			t.Errorf("delete the Jobs of %s: %v", ns, err)
		}
	}
	err := harness.Eventually(ctx, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		r, err := pipe.Prometheus.Query(ctx, `count(kubejob_info{namespace=~"cost-.*"})`, time.Time{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(r.Samples) == 0, "the exporter still reports the deleted Jobs", nil
	})
	if err != nil {
		t.Error(err)
	}
}
