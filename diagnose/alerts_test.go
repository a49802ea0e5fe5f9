package diagnose

import (
	"io/fs"
	"testing"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/mixin/runbooks"
)

// Every alert the judging names is an alert of the mixin, with a runbook:
// a renamed or removed rule fails here, not as a dead link on a page.
func TestAlertsAreTheMixins(t *testing.T) {
	if _, err := runbooks.Alerts(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range JudgedAlerts {
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
		if _, ok := runbooks.Lookup(name); !ok {
			t.Errorf("the judging names %s, which mixin/runbooks/alerts.json does not have", name)
		}
		if _, err := fs.Stat(runbooks.FS, name+".md"); err != nil {
			t.Errorf("the judging names %s, which has no runbook: %v", name, err)
		}
	}
}

// The alert a report names follows the Job's state: by its terminal
// reason once failed, by the verdict while it retries, none while it is
// healthy.
func TestReportAlert(t *testing.T) {
	failed := func(reason string) job.Summary {
		return job.Summary{Namespace: "ns", Name: "j", Failed: true, FailedReason: reason, Retries: 1}
	}
	for _, c := range []struct {
		s    job.Summary
		want string
	}{
		{failed("BackoffLimitExceeded"), AlertBackoffLimitExceeded},
		{failed("DeadlineExceeded"), AlertDeadlineExceeded},
		{failed("PodFailurePolicy"), AlertFailedByPodFailurePolicy},
		{failed("FailedIndexes"), AlertFailedIndexes},
		{failed("MaxFailedIndexesExceeded"), AlertMaxFailedIndexesExceeded},
		{failed("SomethingNew"), AlertFailedOtherReason},
		{job.Summary{Namespace: "ns", Name: "j", Retries: 2}, AlertRetryBudgetNearlyExhausted},
		{job.Summary{Namespace: "ns", Name: "j", Retries: 2, BackoffLimitPerIndex: new(int32)}, AlertIndexesFailing},
		{job.Summary{Namespace: "ns", Name: "j", WithoutPods: true}, AlertCannotCreatePods},
		{job.Summary{Namespace: "ns", Name: "j", Waiting: []job.ReasonCount{{Reason: "ImagePullBackOff", Count: 1}}}, AlertPodsStuckWaiting},
		{job.Summary{Namespace: "ns", Name: "j", StartTime: fixture.T0}, ""},
		{job.Summary{Namespace: "ns", Name: "j", Complete: true}, ""},
	} {
		r := FromSummary(c.s, fixture.T0.Add(1e9), Limits{})
		if r.Alert != c.want {
			t.Errorf("%s %+v: alert %q, want %q", r.Health, c.s, r.Alert, c.want)
		}
	}
	// A run past the limit, with nothing else wrong.
	long := FromSummary(job.Summary{Namespace: "ns", Name: "j", StartTime: fixture.T0}, fixture.T0.Add(13*3600e9), DefaultLimits)
	if long.Alert != AlertRunningTooLong {
		t.Errorf("a Job running 13h: alert %q, want %s", long.Alert, AlertRunningTooLong)
	}
}
