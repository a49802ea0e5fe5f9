package exporter

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// benchCluster makes n Jobs with podsPerJob pods each: a quarter failed
// with OOMKilled, a quarter running after exit-127 failures, half complete
// after a retry (the mix of the kube-state-metrics comparison).
func benchCluster(n, podsPerJob int) (jobs []*fixture.JobBuilder, pods [][]*fixture.PodBuilder) {
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("job-%06d", i)
		var jb *fixture.JobBuilder
		var ps []*fixture.PodBuilder
		switch i % 4 {
		case 0:
			jb = fixture.Job("bench", name).BackoffLimit(int32(podsPerJob-1)).MemoryLimit("app", "512Mi").Started(0).Status(0, 0, 0, int32(podsPerJob)).Failed("BackoffLimitExceeded", 100)
			for p := 0; p < podsPerJob; p++ {
				ps = append(ps, fixture.Pod(jb.J, fmt.Sprint(p), p*10).FailedWith("app", 137, "OOMKilled", p*10+5))
			}
		case 1:
			jb = fixture.Job("bench", name).BackoffLimit(int32(podsPerJob+2)).Deadline(3600).Started(0).Status(1, 1, 0, int32(podsPerJob-1))
			for p := 0; p < podsPerJob-1; p++ {
				ps = append(ps, fixture.Pod(jb.J, fmt.Sprint(p), p*10).FailedWith("app", 127, "Error", p*10+5))
			}
			ps = append(ps, fixture.Pod(jb.J, "run", 100).Running(101))
		default:
			jb = fixture.Job("bench", name).Started(0).Status(0, 0, 1, int32(podsPerJob-1)).Complete(200)
			for p := 0; p < podsPerJob-1; p++ {
				ps = append(ps, fixture.Pod(jb.J, fmt.Sprint(p), p*10).FailedWith("app", 1, "Error", p*10+5))
			}
			ps = append(ps, fixture.Pod(jb.J, "ok", 150).Succeeded(200))
		}
		jobs = append(jobs, jb)
		pods = append(pods, ps)
	}
	return jobs, pods
}

func renderedJobs(b *testing.B, n int) (*collectors.Jobs, int) {
	b.Helper()
	m := collectors.NewJobs(collectors.Options{MaxIndexSeries: 50})
	jobs, pods := benchCluster(n, 4)
	for i, jb := range jobs {
		var ps []*corev1.Pod
		for _, p := range pods[i] {
			ps = append(ps, p.P)
		}
		s := job.Summarize(jb.J, ps, nil, job.Options{Backoff: job.DefaultBackoff})
		m.Update(jb.J.Namespace+"/"+jb.J.Name, &s)
	}
	mfs, err := m.Store.Gather()
	if err != nil {
		b.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
	}
	return m, series
}

// BenchmarkScrape measures writing /metrics for N Jobs: the work a scrape
// does, without HTTP. The bar is 1M series/s.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			m, series := renderedJobs(b, n)
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				written, err := m.Store.WriteTo(io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				bytes = written
			}
			b.ReportMetric(float64(series)*float64(b.N)/b.Elapsed().Seconds(), "series/s")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(bytes), "bytes/scrape")
		})
	}
}

// BenchmarkUpdate measures the work of one watch event: summarize a Job
// with its pods and re-render its series.
func BenchmarkUpdate(b *testing.B) {
	jobs, pods := benchCluster(4, 10)
	m := collectors.NewJobs(collectors.Options{MaxIndexSeries: 50})
	var ps [][]*corev1.Pod
	for _, p := range pods {
		var list []*corev1.Pod
		for _, pb := range p {
			list = append(list, pb.P)
		}
		ps = append(ps, list)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(jobs)
		s := job.Summarize(jobs[k].J, ps[k], nil, job.Options{Backoff: job.DefaultBackoff})
		m.Update("bench/"+jobs[k].J.Name, &s)
	}
}

// BenchmarkMemory measures the heap the exporter keeps per tracked Job and
// Pod: a fake API holds the cluster, the exporter syncs it, and the heap
// growth is divided by the Jobs. Targets: <= 2 KiB per Job and 1 KiB per
// Pod. Two sizes separate the two: the growth from 2 to 8 pods per Job is
// the cost of 6 pods, the rest the cost of the Job.
func BenchmarkMemory(b *testing.B) {
	for _, podsPerJob := range []int{2, 8} {
		b.Run(fmt.Sprintf("podsPerJob=%d", podsPerJob), func(b *testing.B) { benchmarkMemory(b, podsPerJob) })
	}
}

func benchmarkMemory(b *testing.B, podsPerJob int) {
	const jobsN = 2000
	for i := 0; i < b.N; i++ {
		jobs, pods := benchCluster(jobsN, podsPerJob)
		var objs []k8sruntime.Object
		nPods := 0
		for k, jb := range jobs {
			objs = append(objs, jb.J)
			for _, p := range pods[k] {
				objs = append(objs, p.P)
				nPods++
			}
		}
		client := kubefake.New(objs...) // jobs, pods and objs are dead from here: not roots for heapAfterGC
		before := heapAfterGC()
		exp, err := New(Config{Client: client, Backoff: job.DefaultBackoff, Collectors: collectors.Options{MaxIndexSeries: 50}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); exp.Run(ctx) }()
		deadline := time.Now().Add(2 * time.Minute)
		for exp.health.Ready() != nil || exp.watcher.Pending() > 0 || exp.jobs.Store.Len() < jobsN {
			if time.Now().After(deadline) {
				b.Fatal("exporter did not sync")
			}
			time.Sleep(20 * time.Millisecond)
		}
		after := heapAfterGC()
		b.ReportMetric(float64(after-before)/jobsN, "heapB/job+pods")
		runtime.KeepAlive(exp)
		cancel()
		<-done
	}
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
