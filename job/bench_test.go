package job

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	corev1 "k8s.io/api/core/v1"
)

// benchJob is an Indexed Job with per-index limits, an Ignore rule and
// 100 pods in a mix of states.
func benchJob() (*fixture.JobBuilder, []*corev1.Pod) {
	j := fixture.Job("bench", "big").Indexed(50, 50).PerIndex(3, -1).IgnoreDisruptions().FailJobOnExitCodes(42).
		MemoryLimit("app", "1Gi").Started(0).Status(20, 10, 30, 50).Indexes("0-29", "")
	var ps []*corev1.Pod
	for i := 0; i < 100; i++ {
		pb := fixture.Pod(j.J, "p"+strconv.Itoa(i), i).Index(i%50, i%4)
		switch i % 5 {
		case 0:
			pb.Succeeded(i + 10)
		case 1:
			pb.FailedWith("app", 137, "OOMKilled", i+10)
		case 2:
			pb.FailedWith("app", int32(i%3), "Error", i+10)
		case 3:
			pb.Disrupted("PreemptionByScheduler", i+10)
		case 4:
			pb.Running(i + 1)
		}
		ps = append(ps, pb.P)
	}
	return j, ps
}

func BenchmarkSummarize(b *testing.B) {
	j, ps := benchJob()
	opts := Options{Backoff: DefaultBackoff}
	b.ReportAllocs()
	for b.Loop() {
		Summarize(j.J, ps, nil, opts)
	}
}

func BenchmarkNewPodRecord(b *testing.B) {
	_, ps := benchJob()
	p := ps[1]
	p.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = strings.Repeat("x", 4096)
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}, {Name: "C", Value: "d"}}
	b.ReportAllocs()
	for b.Loop() {
		NewPodRecord(p)
	}
}

func BenchmarkCountIndexes(b *testing.B) {
	for _, bc := range []struct {
		name, list string
	}{
		{"1MiB-duplicates", strings.Repeat("1,", 1<<19)},
		{"sorted-100k", sortedList(100000)},
		{"unsorted-100k", "99999999," + sortedList(100000) + ",0"},
		{"huge-range", "0-4294967295"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.list)))
			b.ReportAllocs()
			for b.Loop() {
				CountIndexes(bc.list, 0)
			}
		})
	}
}

// sortedList is "0,2,4,..." with n entries.
func sortedList(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(2 * i))
	}
	return sb.String()
}

// BenchmarkNewJobRecord: the bytes a normal Job's record takes (B/op: the
// record, its containers and conditions; the Job's strings are shared
// with the decoded object), a CronJob's run with one container, a memory
// limit and a Failed condition. Bounding what tenants write (Bounded,
// ValidName, ValidUID) must cost it nothing.
func BenchmarkNewJobRecord(b *testing.B) {
	j := fixture.Job("bench", "nightly-29380000").OwnedByCronJob("nightly").MemoryLimit("app", "1Gi").
		Command("/app/run", "--x").Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 10).J
	b.ReportAllocs()
	for b.Loop() {
		NewJobRecord(j)
	}
}
