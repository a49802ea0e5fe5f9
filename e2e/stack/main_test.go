package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// clusterName is the `cluster` external label both Prometheus servers add
// to what they send to Alertmanager, as kube-prometheus-stack users set
// prometheusSpec.externalLabels; the example's grouping and every
// inhibition `equal` carry it.
const clusterName = "e2e-stack"

// crashLoopBackoff is how long the pod driver holds a restarted container
// in CrashLoopBackOff (its default, 500ms, is shorter than a scrape: the
// kube-state-metrics series a crash loop shows in would come and go).
const crashLoopBackoff = 3 * time.Second

// stack is one monitoring stack around the shared cluster: Prometheus
// scraping the exporter and kube-state-metrics and evaluating both
// mixins' rules, Alertmanager with mixin/alertmanager.example.yaml, and
// the webhook every receiver of that configuration posts to.
type stack struct {
	name string
	prom *harness.Prometheus
	am   *harness.Alertmanager
	hook *harness.WebhookReceiver
	logs []*os.File
}

func (s *stack) stop() error {
	var errs []error
	if s.prom != nil {
		errs = append(errs, s.prom.Stop())
	}
	if s.am != nil {
		errs = append(errs, s.am.Stop())
	}
	if s.hook != nil {
		errs = append(errs, s.hook.Close())
	}
	for _, f := range s.logs {
		f.Close()
	}
	return errors.Join(errs...)
}

var (
	cluster *harness.Cluster
	// withRecipe runs kubernetes-mixin's rules as the values snippet of
	// mixin/kube-prometheus leaves them; withoutRecipe as shipped.
	withRecipe, withoutRecipe *stack
	// rules are the rule sets the stacks run (rules_test.go).
	rules *ruleSets
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2e/stack: "+format+"\n", args...)
}

type built struct {
	path string
	err  error
	took time.Duration
}

func build(f func(context.Context) (string, error)) <-chan built {
	c := make(chan built, 1)
	go func() {
		start := time.Now()
		p, err := f(context.Background())
		c <- built{p, err, time.Since(start)}
	}()
	return c
}

func run(m *testing.M) int {
	// Fail early, before minutes of building, when Alertmanager is missing.
	amBinary, err := harness.FindAlertmanager()
	if err != nil {
		logf("%v", err)
		return 1
	}
	// Prometheus and kube-state-metrics build while RunSuite builds the
	// exporter and starts the control plane.
	promBuilt := build(func(ctx context.Context) (string, error) { return harness.BuildPrometheus(ctx, nil) })
	ksmBuilt := build(func(ctx context.Context) (string, error) { return harness.BuildKubeStateMetrics(ctx, nil) })
	return harness.RunSuite("stack", harness.Options{PodDriver: harness.DriverOptions{RestartBackoff: crashLoopBackoff}},
		func(c *harness.Cluster, exporterBinary, work string) int {
			cluster = c
			pb, kb := <-promBuilt, <-ksmBuilt
			for what, b := range map[string]built{"prometheus": pb, "kube-state-metrics": kb} {
				if b.err != nil {
					logf("build %s: %v", what, b.err)
					return 1
				}
				logf("%s ready (%s) in %s", what, b.path, b.took.Round(time.Millisecond))
			}
			return runStacks(m, c, exporterBinary, pb.path, kb.path, amBinary, work)
		})
}

// runStacks starts the exporter, kube-state-metrics and the two stacks,
// then the tests.
func runStacks(m *testing.M, c *harness.Cluster, exporterBinary, promBinary, ksmBinary, amBinary, work string) int {
	ctx := context.Background()
	start := time.Now()
	e, stopExporter, err := harness.StartSuiteExporter(ctx, c, exporterBinary, work, harness.ExporterOptions{})
	if err != nil {
		logf("start exporter: %v", err)
		return 1
	}
	defer stopExporter()
	ksmLog, err := os.Create(filepath.Join(work, "kube-state-metrics.log"))
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer ksmLog.Close()
	ksm, err := harness.StartKubeStateMetrics(ctx, harness.KubeStateMetricsOptions{Binary: ksmBinary, Kubeconfig: c.Kubeconfig(), Output: ksmLog})
	if err != nil {
		logf("start kube-state-metrics: %v", err)
		return 1
	}
	defer ksm.Stop()
	logf("exporter and kube-state-metrics up in %s", time.Since(start).Round(time.Millisecond))

	rs, err := prepareRules(ctx, filepath.Join(work, "rules"), e.Addr())
	if err != nil {
		logf("rules: %v", err)
		return 1
	}
	rules = rs
	targets := []harness.ScrapeTarget{{Job: "kube-job-exporter", Addr: e.Addr()}, {Job: harness.KubeStateMetricsJob, Addr: ksm.Addr()}}
	for _, s := range []struct {
		dst   **stack
		name  string
		files []string
	}{
		{&withRecipe, "with-recipe", rs.withRecipeFiles},
		{&withoutRecipe, "without-recipe", rs.withoutRecipeFiles},
	} {
		st, err := startStack(ctx, s.name, filepath.Join(work, s.name), promBinary, amBinary, s.files, targets)
		if err != nil {
			logf("start stack %s: %v", s.name, err)
			return 1
		}
		*s.dst = st
		defer st.stop()
	}
	// Both targets scraped and every rule healthy, in both stacks, before
	// any test counts pages.
	for _, s := range []*stack{withRecipe, withoutRecipe} {
		if err := s.ready(ctx); err != nil {
			logf("stack %s: %v", s.name, err)
			return 1
		}
	}
	logf("stacks up in %s (scrape 2s, evaluation 1s; every `for` divided by %d)", time.Since(start).Round(time.Millisecond), forScale)
	start = time.Now()
	code := m.Run()
	logf("tests ran in %s", time.Since(start).Round(time.Millisecond))
	return code
}

func startStack(ctx context.Context, name, dir, promBinary, amBinary string, ruleFiles []string, targets []harness.ScrapeTarget) (_ *stack, retErr error) {
	s := &stack{name: name}
	defer func() {
		if retErr != nil {
			s.stop()
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logFile := func(n string) (*os.File, error) {
		f, err := os.Create(filepath.Join(dir, n))
		if err == nil {
			s.logs = append(s.logs, f)
		}
		return f, err
	}
	var err error
	if s.hook, err = harness.StartWebhookReceiver(nil); err != nil {
		return nil, err
	}
	amConfig, err := harness.ExampleAlertmanagerConfig()
	if err != nil {
		return nil, err
	}
	amLog, err := logFile("alertmanager.log")
	if err != nil {
		return nil, err
	}
	s.am, err = harness.StartAlertmanager(ctx, harness.AlertmanagerOptions{
		Binary: amBinary, WorkDir: filepath.Join(dir, "alertmanager"),
		WebhookURL: s.hook.URL(), ConfigFile: amConfig, Output: amLog,
	})
	if err != nil {
		return nil, err
	}
	promLog, err := logFile("prometheus.log")
	if err != nil {
		return nil, err
	}
	s.prom, err = harness.StartPrometheus(ctx, harness.PrometheusOptions{
		Binary: promBinary, WorkDir: filepath.Join(dir, "prometheus"), Targets: targets,
		ExternalLabels: map[string]string{"cluster": clusterName},
		RuleFiles:      ruleFiles, AlertmanagerAddr: s.am.Addr(), Output: promLog,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ready waits until both scrape targets are up and every rule evaluated
// without error.
func (s *stack) ready(ctx context.Context) error {
	return harness.Eventually(ctx, time.Minute, func(ctx context.Context) (bool, string, error) {
		ts, err := s.prom.Targets(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		up := 0
		for _, t := range ts {
			if t.Health == "up" {
				up++
			}
		}
		if up != 2 {
			return false, fmt.Sprintf("targets %+v", ts), nil
		}
		rs, err := s.prom.Rules(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		for _, r := range rs {
			if r.Health != "ok" {
				return false, fmt.Sprintf("rule %s/%s: %s %s", r.Group, r.Name, r.Health, r.LastError), nil
			}
		}
		return len(rs) > 0, "no rules loaded", nil
	})
}
