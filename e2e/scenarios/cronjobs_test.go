package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// CronJobs run by the real CronJob controller: every-minute schedules, so
// each test takes a minute or two of wall clock; they run in parallel.

// runTimeout allows one more run of an every-minute CronJob: up to a
// minute to the next boundary, plus the controller's requeue and a loaded
// machine.
const runTimeout = 80 * time.Second

func cronLabels(ns, name string) harness.Labels {
	return harness.Labels{"namespace": ns, "cronjob": name}
}

// A CronJob whose first run fails, then, with its template fixed, succeeds:
// the series say so, and a fresh exporter (a restart) still knows the last
// success and failure from the CronJob's status and the runs present.
func TestCronJobFailsThenSucceeds(t *testing.T) {
	e := newEnv(t, "s40-cron")
	tmpl := e.NewJob("x", "exit=1").Spec
	tmpl.BackoffLimit = ptr(int32(0))
	cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, harness.CronJob(e.NS, "flaky", "* * * * *", tmpl), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, runs, err := harness.WaitRuns(e.Ctx, e.Client, e.NS, "flaky", 1, runTimeout)
	if err != nil {
		t.Fatal(err)
	}
	first, err := harness.WaitRunFinished(e.Ctx, e.Client, e.NS, runs[0].Name, harness.JobTimeout)
	if err != nil {
		t.Fatal(err)
	}
	sel := cronLabels(e.NS, "flaky")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		x.eq("cronjob_consecutive_failed_runs", 1)
		if !m.Has("kubejob_cronjob_last_run_duration_seconds", x.sel("result", "failed", "reason", "BackoffLimitExceeded")) {
			x.failf("no kubejob_cronjob_last_run_duration_seconds{result=failed,reason=BackoffLimitExceeded}")
		}
		if !m.Has("kubejob_cronjob_last_failure_timestamp_seconds", harness.Labels{"namespace": e.NS, "cronjob": "flaky", "reason": "BackoffLimitExceeded"}) {
			x.failf("no kubejob_cronjob_last_failure_timestamp_seconds{reason=BackoffLimitExceeded}")
		}
		if !m.Has("kubejob_cronjob_info", harness.Labels{"namespace": e.NS, "cronjob": "flaky", "schedule": "* * * * *", "concurrency_policy": "Allow"}) {
			x.failf("no kubejob_cronjob_info with the schedule")
		}
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	r, code, text := diagnose(t, e.NS, "cronjob/flaky")
	if r.Health != "failed" || code != 3 || !strings.Contains(text, "failed (BackoffLimitExceeded)") || !strings.Contains(text, "The newest failed run:") {
		t.Errorf("diagnose cronjob/flaky after the failed run: %s (exit %d)\n%s", r.Health, code, text)
	}

	// Fix the template: the next run succeeds.
	patch := []byte(fmt.Sprintf(`{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"annotations":{%q:"succeed"}}}}}}}`, harness.OutcomeAnnotation))
	if _, err := e.Client.BatchV1().CronJobs(e.NS).Patch(e.Ctx, "flaky", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	_, runs, err = harness.WaitRuns(e.Ctx, e.Client, e.NS, "flaky", 2, runTimeout)
	if err != nil {
		t.Fatal(err)
	}
	second, err := harness.WaitRunFinished(e.Ctx, e.Client, e.NS, runs[len(runs)-1].Name, harness.JobTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		x.eq("cronjob_consecutive_failed_runs", 0)
		x.eq("cronjob_last_success_timestamp_seconds", unix(*second.Status.CompletionTime))
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}

	// A fresh exporter: the last success from the CronJob's status, the
	// last failure from the failed run still present.
	fresh := startFreshExporter(t)
	cj, err = e.Client.BatchV1().CronJobs(e.NS).Get(e.Ctx, "flaky", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		if cj.Status.LastSuccessfulTime == nil {
			return false, "the CronJob controller has not set lastSuccessfulTime yet"
		}
		x.eq("cronjob_last_success_timestamp_seconds", unix(*cj.Status.LastSuccessfulTime))
		if v := x.value("cronjob_last_failure_timestamp_seconds", "reason", "BackoffLimitExceeded"); v < unix(*first.Status.StartTime) {
			x.failf("last failure %v before the failed run started", v)
		}
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
}

// A Forbid CronJob whose run hangs: the controller starts no further run,
// so the next run is overdue (kubejob_cronjob_next_schedule_timestamp_seconds
// in the past) with one active run, and diagnose names the run that blocks
// it. Deleted with its runs, the CronJob's series go.
func TestCronJobBlockedByHungRun(t *testing.T) {
	e := newEnv(t, "s41-forbid")
	tmpl := e.NewJob("x", "run=forever").Spec
	cronJob := harness.CronJob(e.NS, "blocked", "* * * * *", tmpl)
	cronJob.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	if _, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, cronJob, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cj, runs, err := harness.WaitRuns(e.Ctx, e.Client, e.NS, "blocked", 1, runTimeout)
	if err != nil {
		t.Fatal(err)
	}
	hung := runs[0].Name
	// The next minute passes without a run: JobAlreadyActive.
	if _, err := harness.WaitEvent(e.Ctx, e.Client, e.NS, "CronJob", "blocked", "JobAlreadyActive", runTimeout); err != nil {
		t.Fatal(err)
	}
	sel := cronLabels(e.NS, "blocked")
	due := float64(cj.Status.LastScheduleTime.Add(time.Minute).Unix())
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		x.eq("cronjob_next_schedule_timestamp_seconds", due)
		x.eq("cronjob_active_runs", 1)
		x.eq("cronjob_schedule_interval_seconds", 60)
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	// Once the run is more than the grace late, diagnose calls it missed.
	var text string
	err = harness.Eventually(e.Ctx, 30*time.Second, func(context.Context) (bool, string, error) {
		r, code, out := diagnoseArgs(t, e.NS, "cronjob/blocked", "--cronjob.missed-grace=1s")
		text = out
		return r.Health == "stuck" && code == 2, fmt.Sprintf("diagnose cronjob/blocked: %s (exit %d)", r.Health, code), nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "run "+hung+" is still active and concurrencyPolicy is Forbid") {
		t.Errorf("diagnose cronjob/blocked does not name the run that blocks it:\n%s", text)
	}

	if err := harness.DeleteCronJobWithRuns(e.Ctx, e.Client, e.NS, "blocked"); err != nil {
		t.Fatal(err)
	}
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, harness.Labels{"namespace": e.NS}, func(m *harness.Metrics) (bool, string) {
		for _, name := range []string{"kubejob_cronjob_info", "kubejob_cronjob_next_schedule_timestamp_seconds", "kubejob_cronjob_active_runs"} {
			if m.Has(name, sel) {
				return false, name + " of the deleted CronJob still there"
			}
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
}

// A suspended CronJob: the series say so, and diagnose too (exit 0).
func TestCronJobSuspended(t *testing.T) {
	e := newEnv(t, "s42-suspended")
	cj := harness.CronJob(e.NS, "paused", "* * * * *", e.NewJob("x", "succeed").Spec)
	cj.Spec.Suspend = ptr(true)
	if _, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sel := cronLabels(e.NS, "paused")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		x.eq("cronjob_suspended", 1)
		x.eq("cronjob_active_runs", 0)
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
	r, code, text := diagnose(t, e.NS, "cronjob/paused")
	if r.Health != "suspended" || code != 0 {
		t.Errorf("diagnose cronjob/paused: %s (exit %d)\n%s", r.Health, code, text)
	}
}

// startFreshExporter starts a second exporter on the suite's cluster, as
// after a restart, stopped when the test ends.
func startFreshExporter(t *testing.T) *harness.Exporter {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	initial, maxDelay := cluster.JobBackoff()
	e, err := harness.StartExporter(t.Context(), harness.ExporterOptions{
		Binary: exporterBinary, Kubeconfig: cluster.Kubeconfig(),
		BackoffInitial: initial, BackoffMax: maxDelay, Output: logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(); logf.Close() })
	return e
}
