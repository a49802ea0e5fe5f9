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

// One cluster, one exporter, one Prometheus, one Alertmanager for every
// test of the package (harness allows one Cluster per process).
var (
	cluster  *harness.Cluster
	exporter *harness.Exporter
	pipe     *harness.Pipeline
)

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
	work, err := os.MkdirTemp("", "kje-pipeline-")
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			logf("logs kept in %s (control-plane.log, exporter.log, prometheus.log, alertmanager.log)", work)
		}
	}()

	// Build the exporter and Prometheus while the control plane starts.
	type built struct {
		path string
		err  error
	}
	exporterBuilt, promBuilt := make(chan built, 1), make(chan built, 1)
	go func() {
		start := time.Now()
		p, err := harness.BuildExporter(ctx, work, nil)
		logf("exporter built in %s", time.Since(start).Round(time.Millisecond))
		exporterBuilt <- built{p, err}
	}()
	go func() {
		start := time.Now()
		p, err := harness.BuildPrometheus(ctx, nil)
		logf("prometheus ready (%s) in %s", p, time.Since(start).Round(time.Millisecond))
		promBuilt <- built{p, err}
	}()

	start := time.Now()
	c, err := harness.Start(ctx, harness.Options{WorkDir: filepath.Join(work, "cluster")})
	if err != nil {
		logf("start cluster: %v", err)
		<-exporterBuilt
		<-promBuilt
		return 1
	}
	cluster = c
	defer c.Stop()
	logf("control plane up in %s", time.Since(start).Round(time.Millisecond))

	eb, pb := <-exporterBuilt, <-promBuilt
	if eb.err != nil {
		logf("build exporter: %v", eb.err)
		return 1
	}
	if pb.err != nil {
		logf("build prometheus: %v", pb.err)
		return 1
	}
	logFile, err := os.Create(filepath.Join(work, "exporter.log"))
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer logFile.Close()
	initial, max := c.JobBackoff()
	e, err := harness.StartExporter(ctx, harness.ExporterOptions{
		Binary: eb.path, Kubeconfig: c.Kubeconfig(),
		BackoffInitial: initial, BackoffMax: max,
		Output: logFile,
	})
	if err != nil {
		logf("start exporter: %v", err)
		return 1
	}
	exporter = e
	defer e.Stop()

	start = time.Now()
	p, err := harness.StartPipeline(ctx, harness.PipelineOptions{
		ExporterAddr:     e.Addr(),
		WorkDir:          filepath.Join(work, "pipeline"),
		PrometheusBinary: pb.path,
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
