package diagnose

import (
	"context"
	"strings"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

func TestFetch(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	ev, err := Fetch(context.Background(), client, "batch", "oom", job.Options{Backoff: job.DefaultBackoff})
	if err != nil {
		t.Fatal(err)
	}
	if s := ev.Summary; s.Name != "oom" || !s.Failed || len(s.Attempts) != 3 {
		t.Errorf("summary of batch/oom: %+v", s)
	}
	if _, err := Fetch(context.Background(), client, "batch", "nope", job.Options{}); err == nil || !strings.Contains(err.Error(), "job nope not found in namespace batch") {
		t.Errorf("missing Job: %v", err)
	}
}

// TestFetchCreateFailures: the FailedCreate events of the Job (not those of
// an earlier Job of the same name) make the summary's creation failures and
// the report's events.
func TestFetchCreateFailures(t *testing.T) {
	client := kubefake.New(fixture.Cluster()...)
	ev, err := Fetch(context.Background(), client, "restricted", "privileged", job.Options{Backoff: job.DefaultBackoff})
	if err != nil {
		t.Fatal(err)
	}
	if f := ev.Summary.CreateFailures; len(f) != 1 || f[0].Cause != job.CreateCausePodSecurity || f[0].Count != 3 {
		t.Errorf("creation failures %+v, want one PodSecurity ×3", f)
	}
	if len(ev.Events) != 1 || !strings.Contains(ev.Events[0].Message, `violates PodSecurity "restricted:latest"`) || ev.Events[0].Object != "job/privileged" {
		t.Errorf("events %+v, want the PodSecurity event of job/privileged only", ev.Events)
	}
	if ev.EventsErr != nil {
		t.Error(ev.EventsErr)
	}
}
