package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// What the scenarios prove holds for the Kubernetes minor the harness is
// compiled against: v1.37 in e2e/, each older supported minor in its
// module e2e/skew/1.N (docs/compatibility.md). These tests pin that minor
// down and check the version-dependent parts of the Job API the exporter
// reads.

// kubeMinor is the minor of the Kubernetes release the harness runs, for
// the scenarios whose controller behaviour changed between the supported
// minors.
func kubeMinor(t *testing.T) int {
	t.Helper()
	_, minor, err := harness.KubernetesVersion()
	if err != nil {
		t.Fatal(err)
	}
	return minor
}

// The API server is the release the harness is built from, and the
// exporter reports the version it read at start.
func TestAPIServerVersion(t *testing.T) {
	t.Parallel()
	version, minor, err := harness.KubernetesVersion()
	if err != nil {
		t.Fatal(err)
	}
	info, err := cluster.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	// A build from modules reports its binary version's minor in /version
	// (no patch release: gitVersion is a placeholder without -ldflags).
	if info.Major != "1" || info.Minor != strconv.Itoa(minor) {
		t.Fatalf("the API server says %s.%s (%s), the harness is built from Kubernetes %s", info.Major, info.Minor, info.GitVersion, version)
	}
	t.Logf("control plane: Kubernetes %s, /version %s.%s %q", version, info.Major, info.Minor, info.GitVersion)
	want := harness.Labels{"git_version": info.GitVersion, "minor": info.Minor}
	if _, err := exporter.WaitMetrics(t.Context(), metricsTimeout, harness.Labels{}, func(m *harness.Metrics) (bool, string) {
		all := m.Samples("kubejob_exporter_kube_apiserver_info", harness.Labels{})
		if v, ok := m.Value("kubejob_exporter_kube_apiserver_info", want); !ok || v != 1 || len(all) != 1 {
			return false, fmt.Sprintf("want the one series kubejob_exporter_kube_apiserver_info{git_version=%q,minor=%q} 1, got %v", info.GitVersion, info.Minor, all)
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
}

// backoffLog is the exporter's start-up line naming the backoff it chose.
var backoffLog = regexp.MustCompile(`msg="API server" .*backoff_initial=(\S+) backoff_max=(\S+) backoff_from="([^"]*)"`)

// Without --backoff flags the exporter takes the Job controller's backoff
// from the server's version: the one this release's controller ships with
// (read from the compiled controller before the harness shortened it).
func TestBackoffFromServerVersion(t *testing.T) {
	t.Parallel()
	e, err := harness.StartExporter(t.Context(), harness.ExporterOptions{Binary: exporterBinary, Kubeconfig: cluster.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	m := backoffLog.FindStringSubmatch(e.Logs())
	if m == nil {
		t.Fatalf("no start-up line with the backoff in the exporter's log:\n%s", e.Logs())
	}
	initial, errI := time.ParseDuration(m[1])
	maxDelay, errM := time.ParseDuration(m[2])
	wantInitial, wantMax := harness.UpstreamJobBackoff()
	if errI != nil || errM != nil || initial != wantInitial || maxDelay != wantMax || m[3] != "server version" {
		t.Errorf("exporter chose backoff %s, max %s, from %q; the controller of this release uses %s, max %s (want from \"server version\")",
			m[1], m[2], m[3], wantInitial, wantMax)
	}
}

// The Job API as the supported minors write it, which the exporter's
// rules assume (docs/compatibility.md): the controller records its
// decision (FailureTarget, SuccessCriteriaMet) before the terminal
// condition, with the same reason; status.terminating is reported;
// spec.podReplacementPolicy is defaulted; a CronJob's spec.timeZone is
// honoured. Each is feature-gated or new in some minor: this fails on a
// minor where the exporter's reading would be wrong.
func TestJobAPIOfSupportedMinor(t *testing.T) {
	e := newEnv(t, "s50-api")
	fails := e.NewJob("fails", "exit=1")
	fails.Spec.BackoffLimit = ptr(int32(0))
	created := e.Create(fails)
	if p := created.Spec.PodReplacementPolicy; p == nil || *p != batchv1.TerminatingOrFailed {
		t.Errorf("spec.podReplacementPolicy defaulted to %v, want TerminatingOrFailed", p)
	}
	e.Create(e.NewJob("succeeds", "succeed"))

	j := e.waitFinished("fails", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	failed, target := harness.Condition(j, batchv1.JobFailed), harness.Condition(j, batchv1.JobFailureTarget)
	if target == nil || target.Reason != failed.Reason || target.LastTransitionTime.After(failed.LastTransitionTime.Time) {
		t.Errorf("fails: want FailureTarget (%s) at or before Failed, got %s", failed.Reason, harness.JobStatus(j))
	}
	if j.Status.Terminating == nil {
		t.Errorf("fails: status.terminating not reported: %s", harness.JobStatus(j))
	}
	s := e.waitFinished("succeeds", batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
	met, complete := harness.Condition(s, batchv1.JobSuccessCriteriaMet), harness.Condition(s, batchv1.JobComplete)
	if met == nil || met.Reason != complete.Reason || met.LastTransitionTime.After(complete.LastTransitionTime.Time) {
		t.Errorf("succeeds: want SuccessCriteriaMet (%s) at or before Complete, got %s", complete.Reason, harness.JobStatus(s))
	}
	e.waitMetrics("fails", func(x *expect) {
		x.eq("failed", 1, "reason", "BackoffLimitExceeded")
		x.absent("pods", "state", "terminating")
	})
	e.waitMetrics("succeeds", func(x *expect) {
		x.eq("complete", 1)
		x.absent("failed")
	})

	// A CronJob in a time zone of its own (once a year: the controller
	// starts no run during the test): the exporter's next run is the
	// controller's, 03:00 in Berlin.
	tmpl := e.NewJob("x", "succeed").Spec
	cj := harness.CronJob(e.NS, "berlin", "0 3 1 1 *", tmpl)
	cj.Spec.TimeZone = ptr("Europe/Berlin")
	cj, err := e.Client.BatchV1().CronJobs(e.NS).Create(e.Ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(cj.CreationTimestamp.In(berlin).Year(), time.January, 1, 3, 0, 0, 0, berlin)
	if !next.After(cj.CreationTimestamp.Time) {
		next = next.AddDate(1, 0, 0)
	}
	sel := cronLabels(e.NS, "berlin")
	if _, err := exporter.WaitMetrics(e.Ctx, metricsTimeout, sel, func(m *harness.Metrics) (bool, string) {
		x := &expect{m: m, base: sel}
		x.eq("cronjob_info", 1, "schedule", "0 3 1 1 *", "timezone", "Europe/Berlin")
		x.eq("cronjob_next_schedule_timestamp_seconds", float64(next.Unix()))
		return x.result()
	}); err != nil {
		t.Fatal(err)
	}
}
