package pipeline

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// keepFiringFor and keepFiringForAtRisk shorten the alerts' keep_firing_for
// (10m for the terminal alerts, 2m for the others), which the tests that
// delete a Job wait for. The at-risk one stays long enough for the
// inhibition checks, which need the at-risk alerts of a Job that just
// failed still active.
const (
	keepFiringFor       = 10 * time.Second
	keepFiringForAtRisk = 30 * time.Second
)

// mixinConfig shortens, in this suite's rules, the `for` of the alerts
// about stuck Jobs (15m, 1m), of KubeJobMemoryNearLimit (5m), of
// KubeJobOOMKilled (15m: the drill's Job fails sooner, and the case checks
// that its page is held back by the terminal one) and of
// KubeJobFailedAndDeleted (2m: here the groups evaluate every second, so
// 3s still covers the race between them), which CI cannot wait for, and
// the keep_firing_for; every other alert keeps its real `for`.
var mixinConfig = map[string]any{
	"podsWaitingFor": "5s", "jobCannotCreatePodsFor": "5s", "jobRunningTooLongFor": "5s", "memoryNearLimitFor": "5s",
	"oomKilledFor":           "0s",
	"jobFailedAndDeletedFor": jobFailedAndDeletedFor.String(),
	"keepFiringFor":          keepFiringFor.String(), "keepFiringForAtRisk": keepFiringForAtRisk.String(),
	"cronJobMissedScheduleGraceSeconds": int(missedGrace.Seconds()),
}

// jobFailedAndDeletedFor is KubeJobFailedAndDeleted's `for` in this suite.
const jobFailedAndDeletedFor = 3 * time.Second

// missedGrace shortens how late a CronJob's run may be (5m) in the rules
// and the exporter's runbook pages alike.
const missedGrace = 10 * time.Second

// One cluster, one exporter, one Prometheus, one Alertmanager for every
// test of the package (harness allows one Cluster per process).
var (
	cluster  *harness.Cluster
	exporter *harness.Exporter
	pipe     *harness.Pipeline
	// metrics serves metrics.k8s.io through the API server's aggregation
	// layer, as metrics-server does; the exporter reads it
	// (--collector.pod-metrics).
	metrics *harness.MetricsServer
)

// podMetricsInterval is the exporter's --collector.pod-metrics.interval:
// short, so a usage the test sets reaches Prometheus within a few scrapes.
const podMetricsInterval = 2 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2e/pipeline: "+format+"\n", args...)
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	// Fail early, before minutes of building, when Alertmanager is missing.
	if _, err := harness.FindAlertmanager(); err != nil {
		logf("%v", err)
		return 1
	}
	// Build Prometheus while RunSuite builds the exporter and starts the
	// control plane.
	type built struct {
		path string
		err  error
	}
	promBuilt := make(chan built, 1)
	go func() {
		start := time.Now()
		p, err := harness.BuildPrometheus(ctx, nil)
		logf("prometheus ready (%s) in %s", p, time.Since(start).Round(time.Millisecond))
		promBuilt <- built{p, err}
	}()
	// The garbage collector and the TTL-after-finished controller run, as
	// in every cluster: Jobs with ttlSecondsAfterFinished go the moment
	// they finish (deleted_test.go).
	return harness.RunSuite("pipeline", harness.Options{GarbageCollector: true, TTLAfterFinished: true}, func(c *harness.Cluster, binary, work string) int {
		cluster = c
		pb := <-promBuilt
		if pb.err != nil {
			logf("build prometheus: %v", pb.err)
			return 1
		}
		return runPipeline(m, c, binary, pb.path, work)
	})
}

// runPipeline starts the exporter, Prometheus and Alertmanager, then the
// tests.
func runPipeline(m *testing.M, c *harness.Cluster, exporterBinary, prometheusBinary, work string) int {
	ctx := context.Background()
	// Registered before the exporter starts, as in a cluster with
	// metrics-server, so its pod metrics poll never fails.
	start := time.Now()
	ms, err := harness.StartMetricsServer(ctx, c)
	if err != nil {
		logf("start metrics server: %v", err)
		return 1
	}
	metrics = ms
	defer ms.Stop()
	logf("metrics.k8s.io available through the aggregation layer in %s", time.Since(start).Round(time.Millisecond))
	e, stopExporter, err := harness.StartSuiteExporter(ctx, c, exporterBinary, work, harness.ExporterOptions{
		Args: []string{"--job.pod-start-timeout=3s", "--cronjob.missed-grace=" + missedGrace.String(),
			"--collector.pod-metrics", "--collector.pod-metrics.interval=" + podMetricsInterval.String()},
	})
	if err != nil {
		logf("start exporter: %v", err)
		return 1
	}
	exporter = e
	defer stopExporter()

	amConfig, err := harness.ExampleAlertmanagerConfig()
	if err != nil {
		logf("%v", err)
		return 1
	}
	start = time.Now()
	p, err := harness.StartPipeline(ctx, harness.PipelineOptions{
		ExporterAddr:           e.Addr(),
		WorkDir:                filepath.Join(work, "pipeline"),
		PrometheusBinary:       prometheusBinary,
		MixinConfig:            mixinConfig,
		AlertmanagerConfigFile: amConfig,
	})
	if err != nil {
		logf("start pipeline: %v", err)
		return 1
	}
	pipe = p
	defer p.Stop()
	if p.PrometheusVersion == "" || p.AlertmanagerVersion == "" {
		logf("Prometheus or Alertmanager did not report its version (%q, %q)", p.PrometheusVersion, p.AlertmanagerVersion)
		return 1
	}
	logf("Prometheus %s and Alertmanager %s (%s) up in %s:\n%s", p.PrometheusVersion, p.AlertmanagerVersion,
		p.AlertmanagerBinary, time.Since(start).Round(time.Millisecond), p.Describe())
	return m.Run()
}
