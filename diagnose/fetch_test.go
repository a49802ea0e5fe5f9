package diagnose

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

func TestFetch(t *testing.T) {
	client := fake.NewClientset(fixture.Cluster()...)
	s, err := Fetch(context.Background(), client, "batch", "oom", job.Options{Backoff: job.DefaultBackoff})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "oom" || !s.Failed || len(s.Attempts) != 3 {
		t.Errorf("summary of batch/oom: %+v", s)
	}
	if _, err := Fetch(context.Background(), client, "batch", "nope", job.Options{}); err == nil || !strings.Contains(err.Error(), "job nope not found in namespace batch") {
		t.Errorf("missing Job: %v", err)
	}
}
