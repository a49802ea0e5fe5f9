// Package scenarios holds the end-to-end tests: each test runs one failure
// scenario against the real Job controller (harness) and asserts the
// /metrics of the real exporter binary, started once for all tests.
package scenarios

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

var (
	cluster  *harness.Cluster
	exporter *harness.Exporter
	// exporterBinary is the binary under test, also run as `diagnose`.
	exporterBinary string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "kje-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "e2e: logs kept in %s (control-plane.log, exporter.log)\n", work)
		}
	}()

	// Build the exporter while the control plane starts.
	type built struct {
		path string
		err  error
	}
	buildDone := make(chan built, 1)
	go func() {
		start := time.Now()
		p, err := harness.BuildExporter(ctx, work, nil)
		fmt.Fprintf(os.Stderr, "e2e: exporter built in %s\n", time.Since(start).Round(time.Millisecond))
		buildDone <- built{p, err}
	}()

	start := time.Now()
	c, err := harness.Start(ctx, harness.Options{WorkDir: filepath.Join(work, "cluster")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start cluster: %v\n", err)
		<-buildDone
		return 1
	}
	cluster = c
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "e2e: control plane up in %s\n", time.Since(start).Round(time.Millisecond))

	b := <-buildDone
	if b.err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build exporter: %v\n", b.err)
		return 1
	}
	exporterBinary = b.path
	logf, err := os.Create(filepath.Join(work, "exporter.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logf.Close()
	initial, max := c.JobBackoff()
	e, err := harness.StartExporter(ctx, harness.ExporterOptions{
		Binary:         b.path,
		Kubeconfig:     c.Kubeconfig(),
		BackoffInitial: initial,
		BackoffMax:     max,
		LogLevel:       "debug",
		Output:         logf,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start exporter: %v\n", err)
		return 1
	}
	exporter = e
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: exporter stop: %v\n", err)
		}
	}()
	return m.Run()
}
