package collectors

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
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

// TestCronJobMemoryForgotten: Jobs that claim made-up UIDs of a CronJob
// leave no memory once they are gone, with the objects watched or not;
// the memory of the object's own UID outlives its runs while the object
// exists.
func TestCronJobMemoryForgotten(t *testing.T) {
	for _, objects := range []bool{true, false} {
		c := NewCronJobs()
		c.WatchObjects(objects)
		if objects {
			c.SetCronJob(cronjob.NewRecord(fixture.CronJob("ns", "report", "*/10 * * * *").J))
		}
		// A run that stays, so the state stays without the object.
		observe(c, fixture.Job("ns", "report-0").OwnedByCronJob("report").Started(0))
		for i := range 100 {
			jb := fixture.Job("ns", fmt.Sprintf("fake-%d", i)).OwnedByCronJob("report").Started(0).Failed("BackoffLimitExceeded", 10)
			jb.J.OwnerReferences[0].UID = types.UID(fmt.Sprintf("made-up-%d", i))
			observe(c, jb)
			c.Forget("ns/" + jb.J.Name)
		}
		// The CronJob's own run fails and its history limit deletes it.
		observe(c, fixture.Job("ns", "report-1").OwnedByCronJob("report").Started(0).Failed("DeadlineExceeded", 20))
		c.Forget("ns/report-1")

		st := c.state["ns/report"]
		if st == nil {
			t.Fatalf("objects %v: CronJob state gone", objects)
		}
		if len(st.memory) != 1 || st.memory["uid-cron-report"] == nil || st.memory["uid-cron-report"].FailureReason != "DeadlineExceeded" {
			t.Errorf("objects %v: memory of %d UIDs kept, want only the CronJob's with its failure: %v", objects, len(st.memory), st.memory)
		}
		// With its last run the state goes (without the object), or with
		// the object.
		c.Forget("ns/report-0")
		if objects {
			c.DeleteCronJob("ns/report")
		}
		if len(c.state) != 0 || len(c.runs) != 0 {
			t.Errorf("objects %v: state left: %d CronJobs, %d runs", objects, len(c.state), len(c.runs))
		}
	}
}
