package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RunSuite is the common start of an e2e package's TestMain: a work
// directory, the exporter built while the control plane starts (one
// Cluster per process), then run with both. Afterwards the cluster is
// stopped and the work directory removed, or kept and printed when run
// returned non-zero, so a failing suite leaves its logs.
func RunSuite(name string, opts Options, run func(c *Cluster, exporterBinary, workDir string) int) (code int) {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "kje-"+name+"-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "%s: logs kept in %s\n", name, work)
		}
	}()
	type built struct {
		path string
		err  error
	}
	buildDone := make(chan built, 1)
	go func() {
		start := time.Now()
		p, err := BuildExporter(ctx, work, nil)
		fmt.Fprintf(os.Stderr, "%s: exporter built in %s\n", name, time.Since(start).Round(time.Millisecond))
		buildDone <- built{p, err}
	}()
	start := time.Now()
	opts.WorkDir = filepath.Join(work, "cluster")
	c, err := Start(ctx, opts)
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
	return run(c, b.path, work)
}
