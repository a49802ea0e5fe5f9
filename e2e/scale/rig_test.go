package scale

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// rig is what every test of this package starts from: the harness's real
// API server (without the pod driver: these tests write pod statuses
// themselves), the exporter binary built beside it, and a client without
// rate limits for bulk setup.
type rig struct {
	*harness.Cluster
	bin  string // the exporter binary
	work string // the test's scratch directory
	cs   kubernetes.Interface
}

// startRig starts the control plane while the exporter builds; it stops
// with the test.
func startRig(ctx context.Context, t *testing.T) *rig {
	t.Helper()
	start := time.Now()
	r := &rig{work: t.TempDir()}
	binc := make(chan string, 1)
	go func() {
		p, err := harness.BuildExporter(ctx, r.work, nil)
		if err != nil {
			t.Error(err)
		}
		binc <- p
	}()
	c, err := harness.Start(ctx, harness.Options{NoPodDriver: true, WorkDir: filepath.Join(r.work, "cluster")})
	if err != nil {
		<-binc
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	r.Cluster = c
	if r.bin = <-binc; r.bin == "" {
		t.FailNow()
	}
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 1e6, 1e6
	r.cs = kubernetes.NewForConfigOrDie(cfg)
	t.Logf("control plane up and exporter built after %s", ms(time.Since(start)))
	return r
}
