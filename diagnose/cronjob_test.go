package diagnose

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// TestCronJobReports: a CronJob whose newest run failed reads FAILED with
// that run's cause; one whose run is held back by an active run under
// Forbid reads STUCK, naming the run; a suspended one SUSPENDED. Without
// permission to read CronJobs the runs alone still tell the outcome.
func TestCronJobReports(t *testing.T) {
	at := fixture.At(90).Time
	opts := job.Options{Backoff: job.DefaultBackoff, Now: at}
	client := kubefake.New(fixture.Cluster()...)
	for _, tt := range []struct {
		ns, name string
		health   Health
		verdict  string
		mentions []string
	}{
		{"batch", "nightly", Failed, VerdictTransient, []string{
			"Schedule:  0 12 * * * (the controller's time zone), concurrencyPolicy Allow",
			"Next run:  2026-11-02T12:00:00Z (every 24h0m0s)",
			"nightly-29000000  2026-11-01T12:00:00Z  failed (BackoffLimitExceeded)",
			"nightly-28999999", "succeeded after 1m40s",
			"its newest run nightly-29000000 failed (BackoffLimitExceeded)",
			"The newest failed run:", "Job batch/nightly-29000000 (CronJob nightly): FAILED",
		}},
		{"batch", "hourly", Stuck, VerdictMissed, []string{
			"Next run:  due 2026-11-01T10:00:00Z, 2h1m30s overdue",
			"run hourly-29000000 is still active and concurrencyPolicy is Forbid",
			"kube-job-exporter diagnose -n batch hourly-29000000",
		}},
		{"reports", "weekly", Suspended, VerdictNone, []string{"(Europe/Berlin)", "suspended"}},
	} {
		s, failed, err := FetchCronJob(context.Background(), client, tt.ns, tt.name, opts)
		if err != nil {
			t.Fatal(err)
		}
		r := FromCronJob(s, failed, at, DefaultMissedGrace)
		var text bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if r.Health != tt.health || r.Verdict.Kind != tt.verdict {
			t.Errorf("%s: health %s verdict %s, want %s %s\n%s", tt.name, r.Health, r.Verdict.Kind, tt.health, tt.verdict, text.String())
		}
		for _, m := range tt.mentions {
			if !strings.Contains(text.String(), m) {
				t.Errorf("%s: report lacks %q:\n%s", tt.name, m, text.String())
			}
		}
	}

	denied := kubefake.New(fixture.Cluster()...)
	denied.PrependReactor("list", "cronjobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "cronjobs"}, "", nil)
	})
	s, failed, err := FetchCronJob(context.Background(), denied, "batch", "nightly", opts)
	if err != nil {
		t.Fatal(err)
	}
	r := FromCronJob(s, failed, at, DefaultMissedGrace)
	var text bytes.Buffer
	_ = r.WriteText(&text)
	if r.Health != Failed || len(r.Runs) != 2 || !strings.Contains(text.String(), "Schedule:  not known") {
		t.Errorf("without CronJobs: %s\n%s", r.Health, text.String())
	}
	if _, _, err := FetchCronJob(context.Background(), client, "batch", "nope", opts); err == nil || !strings.Contains(err.Error(), "cronjob nope not found") {
		t.Errorf("missing CronJob: %v", err)
	}
}
