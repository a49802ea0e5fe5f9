package exporter

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestContainerBoundsConfigured: --job.max-containers reaches the Job
// records the watcher makes and --job.max-container-series the
// per-container series (Config.Collectors), and what they cut is counted
// on /metrics.
func TestContainerBoundsConfigured(t *testing.T) {
	jb := fixture.Job("batch", "wide").Started(0)
	cs := make([]corev1.Container, 9)
	for i := range cs {
		cs[i] = corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "busybox",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}
	}
	jb.J.Spec.Template.Spec.Containers = cs
	for _, c := range []struct {
		opts collectors.Options
		want int
	}{
		{collectors.Options{MaxIndexSeries: 50}, len(cs)},
		{collectors.Options{MaxIndexSeries: 50, MaxContainers: 3}, 3},
		{collectors.Options{MaxIndexSeries: 50, MaxContainerSeries: 2}, 2},
	} {
		exp, url := serveExporter(t, Config{Client: kubefake.New(jb.J.DeepCopy()), Backoff: job.DefaultBackoff, Collectors: c.opts})
		waitFor(t, "the Job rendered", func() bool { return exp.health.Ready() == nil && exp.jobs.Store.Has("batch/wide") })
		var out bytes.Buffer
		_, _ = exp.jobs.Store.WriteTo(&out)
		if n := strings.Count(out.String(), "kubejob_container_memory_limit_bytes{"); n != c.want {
			t.Errorf("%+v: %d memory limit series, want %d", c.opts, n, c.want)
		}
		_, body := get(t, url+"/metrics", nil)
		what := ""
		switch {
		case c.opts.MaxContainers > 0:
			what = "container"
		case c.opts.MaxContainerSeries > 0:
			what = "series"
		}
		if what != "" && !strings.Contains(string(body), fmt.Sprintf(`kubejob_exporter_tenant_values_cut_total{what=%q} %d`, what, len(cs)-c.want)) {
			t.Errorf("%+v: cut not counted under %s", c.opts, what)
		}
	}
}
