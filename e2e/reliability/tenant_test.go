package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// Issue 26: what a tenant writes into its objects is bounded where the
// exporter records it, so its memory and series grow with the number of
// objects, not with their contents.
const (
	// tenantImageBytes is the image reference of each suspended Job: the
	// API server sets no limit on it, only on the object (about 1.5 MiB).
	tenantImageBytes = 1 << 20
	tenantBigJobs    = 40
	// tenantContainers is the width of the one wide Job, each container
	// with a memory limit (a series each, unbounded).
	tenantContainers = 3000
	// tenantHeapGrowth is what the 41 Jobs may add to the live heap: their
	// images alone are 40 MiB, kept whole before the bound; cut to 1 KiB
	// and 20 containers kept, the records take tens of KiB.
	tenantHeapGrowth = 8 << 20
	// tenantJobSeries is what the wide Job may bring.
	tenantJobSeries = 100
)

// TestTenantStrings creates, through the real API server, 40 suspended
// Jobs whose image references are 1 MiB each and one suspended Job of
// 3,000 containers with memory limits: the exporter's live heap (after a
// forced GC) grows by at most 8 MiB, the wide Job brings at most 100
// series, and both cuts are counted. Suspended Jobs start no pods, so
// nothing but the Job objects is in play.
func TestTenantStrings(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	const ns = "tenant-strings"
	suite.CreateNamespace(t, ns)
	e := suite.StartExporter(t, "tenant", "--web.enable-pprof", "--watch.namespaces="+ns)
	before, err := e.LiveHeap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cutsBefore := cutCounts(ctx, t, e)

	image := "registry.example/" + strings.Repeat("a", tenantImageBytes) + ":v1"
	var jobs []*batchv1.Job
	for i := range tenantBigJobs {
		j := NewJob(ns, fmt.Sprintf("long-image-%d", i), "succeed", 0)
		j.Spec.Suspend = Ptr(true)
		j.Spec.Template.Spec.Containers[0].Image = image
		jobs = append(jobs, j)
	}
	wide := NewJob(ns, "wide", "succeed", 0)
	wide.Spec.Suspend = Ptr(true)
	containers := make([]corev1.Container, tenantContainers)
	for i := range containers {
		containers[i] = corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "registry.example/batch/worker:1.0",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}
	}
	wide.Spec.Template.Spec.Containers = containers
	// One at a time: the API server takes about a second to admit each
	// megabyte Job (it runs in this process, on the same cores).
	created := time.Now()
	suite.CreateJobs(t, append(jobs, wide)...)
	createdIn := time.Since(created)

	m, err := e.WaitMetrics(ctx, 30*time.Second, Labels(ns, "wide"), func(m *harness.Metrics) (bool, string) {
		n := len(m.Samples("kubejob_suspended", harness.Labels{"namespace": ns}))
		return n == tenantBigJobs+1, fmt.Sprintf("%d of %d Jobs reported suspended", n, tenantBigJobs+1)
	})
	if err != nil {
		t.Fatal(err)
	}
	reported := time.Now()
	series := 0
	for name := range m.Families {
		series += len(m.Samples(name, harness.Labels{"namespace": ns, "job_name": "wide"}))
	}
	if series > tenantJobSeries {
		t.Errorf("the Job of %d containers brings %d series, want at most %d", tenantContainers, series, tenantJobSeries)
	}
	if n := len(m.Samples("kubejob_container_memory_limit_bytes", harness.Labels{"namespace": ns, "job_name": "wide"})); n == 0 {
		t.Errorf("the wide Job has no memory limit series at all")
	}
	after, err := e.LiveHeap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew > tenantHeapGrowth {
		t.Errorf("live heap grew by %.1f MiB (%.1f → %.1f MiB), want at most %d MiB", grew/(1<<20), before/(1<<20), after/(1<<20), tenantHeapGrowth>>20)
	}
	cuts := cutCounts(ctx, t, e)
	// Every long image cut, and the containers past those kept (fewer
	// than the series a Job may bring) not kept.
	if cuts["image"]-cutsBefore["image"] < tenantBigJobs || cuts["container"]-cutsBefore["container"] < tenantContainers-tenantJobSeries {
		t.Errorf("cuts counted: %v (before %v)", cuts, cutsBefore)
	}
	t.Logf("live heap %.1f → %.1f MiB; the wide Job brings %d series; cuts %v; Jobs created in %s, all reported %s later; took %s",
		before/(1<<20), after/(1<<20), series, cuts, createdIn.Round(100*time.Millisecond),
		reported.Sub(created.Add(createdIn)).Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
}

// cutCounts reads kubejob_exporter_tenant_values_cut_total by what.
func cutCounts(ctx context.Context, t *testing.T, e *harness.Exporter) map[string]float64 {
	t.Helper()
	m, err := e.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range m.Samples("kubejob_exporter_tenant_values_cut_total", nil) {
		out[s.Labels["what"]] = s.Value
	}
	return out
}
