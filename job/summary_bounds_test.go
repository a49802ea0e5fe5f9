package job_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// TestSummaryListsAreBounded: a Job with more failed pods and failing
// indexes than a page can show keeps the newest attempts and the worst
// indexes, and counts the rest, whatever order the pods come in.
func TestSummaryListsAreBounded(t *testing.T) {
	const n = 3*job.MaxAttempts + 7
	j := fixture.Job("ml", "big").Indexed(n, 10).PerIndex(5, n).Started(0).Status(0, 0, 0, n)
	var pods []*corev1.Pod
	for i := 0; i < n; i++ {
		// Index i failed i%4+1 times; its pod finished at second i.
		pods = append(pods, fixture.Pod(j.J, fmt.Sprint(i), 0).Index(i, i%4).FailedWith("main", 1, "Error", i).P)
	}
	for _, opts := range []job.Options{{}, {MaxIndexFailures: 7}} {
		for _, order := range []string{"oldest first", "newest first"} {
			in := pods
			if order == "newest first" {
				in = make([]*corev1.Pod, n)
				for i := range pods {
					in[n-1-i] = pods[i]
				}
			}
			s := job.Summarize(j.J, in, nil, opts)
			if len(s.Attempts) != job.MaxAttempts || s.OlderAttempts != n-job.MaxAttempts {
				t.Fatalf("%s: %d attempts, %d older; want %d, %d", order, len(s.Attempts), s.OlderAttempts, job.MaxAttempts, n-job.MaxAttempts)
			}
			for k, a := range s.Attempts {
				if want := fmt.Sprintf("big-%d", n-job.MaxAttempts+k); a.Pod != want {
					t.Fatalf("%s: attempt %d is %s, want %s (the newest, oldest first)", order, k, a.Pod, want)
				}
			}
			limit := opts.MaxIndexFailures
			if limit == 0 {
				limit = job.DefaultMaxIndexFailures
			}
			if want := min(n, limit); len(s.IndexFailures) != want || s.IndexesWithFailures != n {
				t.Fatalf("%s: %d index failures listed of %d; want %d of %d", order, len(s.IndexFailures), s.IndexesWithFailures, want, n)
			}
			// The worst first: the n/4 indexes 3, 7, 11… failed 4 times.
			for k, f := range s.IndexFailures {
				if k > 0 && f.Failures > s.IndexFailures[k-1].Failures || k < n/4 && f.Failures != 4 {
					t.Fatalf("%s: index failures not worst first at %d: %v", order, k, s.IndexFailures)
				}
			}
		}
	}
}
