package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Main is the TestMain of a reliability package: it builds the exporter
// while the cluster starts, fills *s, runs the tests and stops everything.
// Logs are kept (and their directory printed) when a test fails.
func Main(m *testing.M, s *Suite, name string, opts harness.Options) (code int) {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "kje-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "%s: logs kept in %s (control-plane.log, exporter-*.log)\n", name, work)
		}
	}()
	type built struct {
		path string
		err  error
	}
	buildDone := make(chan built, 1)
	go func() {
		p, err := harness.BuildExporter(ctx, work, nil)
		buildDone <- built{p, err}
	}()
	start := time.Now()
	opts.WorkDir = filepath.Join(work, "cluster")
	c, err := harness.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: start cluster: %v\n", name, err)
		<-buildDone
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "%s: control plane up in %s\n", name, time.Since(start).Round(time.Millisecond))
	b := <-buildDone
	if b.err != nil {
		fmt.Fprintf(os.Stderr, "%s: build exporter: %v\n", name, b.err)
		return 1
	}
	s.Cluster, s.Binary, s.WorkDir = c, b.path, work
	return m.Run()
}
