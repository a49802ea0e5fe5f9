package collectors

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// manyContainers is a Job whose template has n containers, each with a
// memory limit, whose every pod failed in a different container with a
// different exit code: n memory limits and n failure keys.
func manyContainers(n int) (*fixture.JobBuilder, []*corev1.Pod) {
	jb := fixture.Job("ns", "wide").Started(0)
	cs := make([]corev1.Container, n)
	for i := range cs {
		cs[i] = corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "busybox",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}
	}
	jb.J.Spec.Template.Spec.Containers = cs
	var pods []*corev1.Pod
	for i := range min(n, 255) {
		pods = append(pods, fixture.Pod(jb.J, fmt.Sprint(i), 0).FailedWith(cs[i].Name, int32(i+1), "Error", i+1).P)
	}
	return jb, pods
}

// TestSeriesPerJobBounded: a Job of 3,000 containers, 255 of them failing
// in their own way, brings at most 100 series, and the series left out
// are counted; a Job of a few containers brings all of its own.
func TestSeriesPerJobBounded(t *testing.T) {
	jb, pods := manyContainers(3000)
	s := job.Summarize(jb.J, pods, nil, job.Options{Backoff: job.DefaultBackoff})
	before := job.Cuts()[job.CutSeries]
	m := NewJobs(Options{})
	m.Update("ns/wide", &s)
	n, err := testutil.GatherAndCount(prometheus.GathererFunc(m.Store.Gather))
	if err != nil {
		t.Fatal(err)
	}
	if n > 100 {
		t.Errorf("one Job brings %d series, want at most 100", n)
	}
	for name, want := range map[string]int{
		"kubejob_pod_failures": DefaultMaxContainerSeries,
		// Of the containers the record keeps.
		"kubejob_container_memory_limit_bytes": min(job.DefaultMaxContainers, DefaultMaxContainerSeries),
	} {
		if k, _ := testutil.GatherAndCount(prometheus.GathererFunc(m.Store.Gather), name); k != want {
			t.Errorf("%s: %d series, want %d", name, k, want)
		}
	}
	if cut := job.Cuts()[job.CutSeries] - before; cut < 255-DefaultMaxContainerSeries {
		t.Errorf("%d series counted as cut, want at least %d", cut, 255-DefaultMaxContainerSeries)
	}

	few, fewPods := manyContainers(3)
	s = job.Summarize(few.J, fewPods, nil, job.Options{Backoff: job.DefaultBackoff})
	m.Update("ns/wide", &s)
	for _, name := range []string{"kubejob_pod_failures", "kubejob_container_memory_limit_bytes"} {
		if k, _ := testutil.GatherAndCount(prometheus.GathererFunc(m.Store.Gather), name); k != 3 {
			t.Errorf("a Job of 3 containers: %s has %d series, want 3", name, k)
		}
	}
}

// TestMostFailures: the failures kept are those with the most, in the
// Summary's order.
func TestMostFailures(t *testing.T) {
	in := []job.PodFailure{{Container: "a", Count: 1}, {Container: "b", Count: 5}, {Container: "c", Count: 2}, {Container: "d", Count: 5}}
	got := mostFailures(in, 2)
	if len(got) != 2 || got[0].Container != "b" || got[1].Container != "d" {
		t.Errorf("kept %v", got)
	}
	if got := mostFailures(in, 4); &got[0] != &in[0] {
		t.Errorf("within the bound: copied")
	}
}

// TestPodMemoryBounded: the working set series of one Job are bounded too.
func TestPodMemoryBounded(t *testing.T) {
	m := NewPodMemory()
	usage := map[string]int64{}
	for i := range 3000 {
		usage[fmt.Sprintf("c%04d", i)] = 1
	}
	m.Replace(map[string]map[string]int64{"ns/wide": usage})
	if k, _ := testutil.GatherAndCount(prometheus.GathererFunc(m.Store.Gather)); k != DefaultMaxContainerSeries {
		t.Errorf("%d working set series, want %d", k, DefaultMaxContainerSeries)
	}
}
