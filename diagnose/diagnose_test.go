package diagnose

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the current output")

// fixtureReports diagnoses every Job of the fixture cluster at T0+90s.
func fixtureReports(t *testing.T) map[string]Report {
	t.Helper()
	var jobs []*batchv1.Job
	var pods []*corev1.Pod
	var events []corev1.Event
	var records []*job.EventRecord
	for _, o := range fixture.Cluster() {
		switch o := o.(type) {
		case *batchv1.Job:
			jobs = append(jobs, o)
		case *corev1.Pod:
			pods = append(pods, o)
		case *corev1.Event:
			events = append(events, *o)
			records = append(records, job.NewEventRecord(o))
		}
	}
	out := map[string]Report{}
	at := fixture.At(90).Time
	for _, j := range jobs {
		s := job.Summarize(j, pods, records, job.Options{Backoff: job.DefaultBackoff, StartTimeout: job.DefaultStartTimeout, Now: at})
		r := FromSummary(s, at, DefaultLimits)
		var mine []corev1.Event
		for _, e := range events {
			if e.InvolvedObject.Name == j.Name && e.Namespace == j.Namespace && e.InvolvedObject.UID == j.UID {
				mine = append(mine, e)
			}
		}
		r.Events = foldEvents(j.Name, mine, nil)
		out[j.Namespace+"_"+j.Name] = r
	}
	return out
}

// TestGoldenReports compares the text and JSON reports of every fixture
// Job with testdata/ (regenerate: go test ./diagnose -update).
func TestGoldenReports(t *testing.T) {
	for name, r := range fixtureReports(t) {
		checkGoldenReport(t, name, r)
	}
}

// checkGoldenReport compares a report's text and JSON with
// testdata/<name>.txt and .json (rewritten with -update).
func checkGoldenReport(t *testing.T, name string, r Report) {
	t.Helper()
	for format, write := range map[string]func(io.Writer) error{"txt": r.WriteText, "json": r.WriteJSON} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name+"."+format)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./diagnose -update)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs:\n%s", path, buf.String())
		}
	}
}

// TestVerdicts checks what matters in each report, independently of the
// golden files.
func TestVerdicts(t *testing.T) {
	reports := fixtureReports(t)
	tests := []struct {
		job      string
		health   Health
		exit     int
		verdict  string
		mentions []string
	}{
		{"batch_oom", Failed, 3, VerdictResource, []string{"memory limit 512Mi hit", "for example to 1Gi", "kubectl describe pod oom-c -n batch", "kubectl top pods -n batch"}},
		{"batch_cmd-not-found", Failing, 2, VerdictDeterministic, []string{"exit 127", "command: /app/run", "retrying will not help", "podFailurePolicy FailJob", "next retry at"}},
		{"batch_not-executable", Failed, 3, VerdictDeterministic, []string{"exit 126", "cannot be executed"}},
		{"batch_flaky", Complete, 0, VerdictTransient, []string{"exit 1", "COMPLETE (succeeded 1 of 1)"}},
		{"batch_deadline", Failed, 3, VerdictDeadline, []string{"activeDeadlineSeconds (1m0s)"}},
		{"ml_policy", Failed, 3, VerdictPolicy, []string{"exit 42", "podFailurePolicy action: FailJob", "podFailurePolicy action: Ignore"}},
		{"ml_shards", Failed, 3, VerdictResource, []string{"Indexes with failures: 1(×2) 3(×2)", "[index 3]"}},
		{"batch_onfailure", Failing, 2, VerdictResource, []string{"restartPolicy OnFailure", "--previous"}},
		{"web_pull", Stuck, 2, VerdictStuck, []string{"ImagePullBackOff", "only activeDeadlineSeconds"}},
		{"web_mount", Stuck, 2, VerdictStuck, []string{"ContainerCreating ×1", "a volume that cannot mount", "kubectl describe pod mount-a -n web"}},
		{"web_init-hang", Stuck, 2, VerdictStuck, []string{"PodInitializing ×1", "an init container runs and does not finish"}},
		{"quota_blocked", Stuck, 2, VerdictCannotCreate, []string{"Quota ×7", "exceeded quota: pods-zero", "kubectl describe resourcequota -n quota"}},
		{"restricted_privileged", Stuck, 2, VerdictCannotCreate, []string{"PodSecurity ×3", "kubectl get namespace restricted --show-labels"}},
		{"batch_suspended", Suspended, 0, VerdictNone, nil},
		{"batch_init-fail", Failing, 2, VerdictTransient, []string{"init container migrate exit 1", "kubectl logs init-fail-a -n batch -c migrate", "Evicted"}},
		{"batch_nightly-29000000", Failed, 3, VerdictTransient, []string{"(CronJob nightly)"}},
	}
	for _, tt := range tests {
		r, ok := reports[tt.job]
		if !ok {
			t.Fatalf("no fixture Job %s", tt.job)
		}
		var text bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if r.Health != tt.health || r.Health.ExitCode() != tt.exit || r.Verdict.Kind != tt.verdict {
			t.Errorf("%s: health %s (exit %d) verdict %s, want %s (exit %d) %s\n%s", tt.job, r.Health, r.Health.ExitCode(), r.Verdict.Kind, tt.health, tt.exit, tt.verdict, text.String())
		}
		for _, m := range tt.mentions {
			if !strings.Contains(text.String(), m) {
				t.Errorf("%s: report does not mention %q:\n%s", tt.job, m, text.String())
			}
		}
	}
}

// TestPodsGone: a Job whose failed pods were deleted still gets a report
// that says what can no longer be known.
func TestPodsGone(t *testing.T) {
	j := fixture.Job("batch", "ttl").BackoffLimit(2).Started(0).Status(0, 0, 0, 3).Failed("BackoffLimitExceeded", 60)
	r := FromSummary(job.Summarize(j.J, nil, nil, job.Options{Backoff: job.DefaultBackoff}), fixture.At(90).Time, DefaultLimits)
	if r.Health != Failed || r.Verdict.Kind != VerdictUnknown || !strings.Contains(r.Gone, "3 of 3 failed pods are gone") {
		t.Errorf("report %+v", r)
	}
}

// TestRunTimeJudgement: a run without failures is healthy within the
// run-time limit, stuck beyond it, and merely running when no limit is
// given (the runbook page, where the alert judged the run time).
func TestRunTimeJudgement(t *testing.T) {
	j := fixture.Job("batch", "long").Started(0).Status(1, 1, 0, 0)
	at := fixture.At(3 * 3600).Time
	s := job.Summarize(j.J, nil, nil, job.Options{Backoff: job.DefaultBackoff, Now: at})
	for _, tt := range []struct {
		limits Limits
		want   Health
	}{
		{Limits{RunTime: 12 * time.Hour}, Healthy},
		{Limits{RunTime: time.Hour}, Stuck},
		{Limits{}, Running},
	} {
		r := FromSummary(s, at, tt.limits)
		if r.Health != tt.want || r.Health.ExitCode() != map[Health]int{Stuck: 2}[tt.want] {
			t.Errorf("limits %+v: health %s (exit %d), want %s", tt.limits, r.Health, r.Health.ExitCode(), tt.want)
		}
		if r.RunningFor != "3h0m0s" {
			t.Errorf("limits %+v: running for %q, want 3h0m0s", tt.limits, r.RunningFor)
		}
	}
}

// TestTenantTextIsPrintable: what a tenant writes into a Job (the image,
// the command, a runtime's reason) reaches the terminal without control
// characters, and of the command only its program.
func TestTenantTextIsPrintable(t *testing.T) {
	jb := fixture.Job("batch", "evil").BackoffLimit(0).Started(0).Status(0, 0, 0, 1).Failed("BackoffLimitExceeded", 60).
		Command("/app/\x1b]0;pwned\x07run --password=hunter2")
	jb.J.Spec.Template.Spec.Containers[0].Image = "registry.example/app:v1\x1b[2J\x1b[1;1H\nVerdict (none): all good"
	pod := fixture.Pod(jb.J, "a", 0).FailedWith("app", 127, "Error\x1b[31m", 30).P
	s := job.Summarize(jb.J, []*corev1.Pod{pod}, nil, job.Options{Backoff: job.DefaultBackoff})
	r := FromSummary(s, fixture.At(90).Time, DefaultLimits)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, bad := range []string{"\x1b", "\x07", "hunter2", "\nVerdict (none): all good"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "command: /app/\ufffd]0;pwned\ufffdrun (image registry.example/app:v1\ufffd[2J") {
		t.Errorf("report does not show the program and image, made printable:\n%s", out)
	}
}
