// Package scenarios holds the end-to-end tests: each test runs one failure
// scenario against the real Job controller (harness) and asserts the
// /metrics of the real exporter binary, started once for all tests.
package scenarios

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

var (
	cluster  *harness.Cluster
	exporter *harness.Exporter
	// exporterBinary is the binary under test, also run as `diagnose`.
	exporterBinary string
)

// startTimeout is the exporter's --job.pod-start-timeout: long enough for the
// pod driver's normal start (StartDelay), short enough for a test to see a
// pod that never starts.
const startTimeout = 3 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// suiteOptions: the controllers of a cluster that delete Jobs run, as in
// every cluster: the garbage collector (owner references, foreground
// deletions) and the TTL-after-finished controller (ttlSecondsAfterFinished;
// outlive_test.go).
var suiteOptions = harness.Options{GarbageCollector: true, TTLAfterFinished: true}

func run(m *testing.M) int {
	return harness.RunSuite("e2e", suiteOptions, func(c *harness.Cluster, binary, work string) int {
		cluster, exporterBinary = c, binary
		return runWithExporter(m, c, binary, work)
	})
}

// runWithExporter starts the one exporter every scenario scrapes.
func runWithExporter(m *testing.M, c *harness.Cluster, binary, work string) int {
	e, stop, err := harness.StartSuiteExporter(context.Background(), c, binary, work, harness.ExporterOptions{
		LogLevel: "debug",
		Args:     []string{"--job.pod-start-timeout=" + startTimeout.String()},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start exporter: %v\n", err)
		return 1
	}
	exporter = e
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: exporter stop: %v\n", err)
		}
	}()
	return m.Run()
}
