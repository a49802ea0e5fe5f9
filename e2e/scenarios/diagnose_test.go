package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// report is the part of `diagnose -o json` the test reads.
type report struct {
	Health   string `json:"health"`
	CronJob  string `json:"cronjob"`
	Reason   string `json:"reason"`
	Attempts []struct {
		ExitCode *int32 `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"attempts"`
	Waiting []struct{ Reason string } `json:"waiting"`
	Verdict struct{ Kind string }     `json:"verdict"`
	// Queue is where a Kueue-managed Job stands (queue_test.go).
	Queue *struct {
		Name, ClusterQueue, Workload, State, Cause, Message string
		LastEviction                                        *struct{ Reason, Message string }
	} `json:"queue"`
	Commands []string `json:"commands"`
}

// diagnose runs `kube-job-exporter diagnose` against the cluster as a user
// would and returns its report and exit status.
func diagnose(t *testing.T, ns, job string) (report, int, string) {
	t.Helper()
	return diagnoseArgs(t, ns, job)
}

// diagnoseArgs is diagnose with more flags.
func diagnoseArgs(t *testing.T, ns, job string, flags ...string) (report, int, string) {
	t.Helper()
	var r report
	args := append([]string{"diagnose", "--kube.config", cluster.Kubeconfig(), "--job.pod-start-timeout=" + startTimeout.String(), "-n", ns}, flags...)
	cmd := exec.Command(exporterBinary, append(args, "-o", "json", job)...)
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("diagnose %s/%s: %v", ns, job, err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("diagnose %s/%s: output is not JSON (%v):\n%s", ns, job, err, out)
	}
	text, _ := exec.Command(exporterBinary, append(args, job)...).Output()
	return r, code, string(text)
}

// TestDiagnose runs the diagnose command against Jobs the real controller
// failed: the verdict, the evidence and the exit status match what
// happened.
func TestDiagnose(t *testing.T) {
	e := newEnv(t, "s12-diagnose")
	oom := e.NewJob("oom", "oom")
	oom.Spec.BackoffLimit = ptr(int32(1))
	e.Create(oom)
	notFound := e.NewJob("not-found", "exit=127")
	notFound.Spec.BackoffLimit = ptr(int32(1))
	e.Create(notFound)
	e.Create(e.NewJob("pull", "image-pull"))
	e.waitFinished("oom", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
	e.waitFinished("not-found", batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)

	r, code, text := diagnose(t, e.NS, "oom")
	if r.Health != "failed" || code != 3 || r.Reason != "BackoffLimitExceeded" || r.Verdict.Kind != "resource" {
		t.Errorf("oom: health %s (exit %d) reason %s verdict %s, want failed (3) BackoffLimitExceeded resource\n%s", r.Health, code, r.Reason, r.Verdict.Kind, text)
	}
	for _, a := range r.Attempts {
		if a.Reason != "OOMKilled" || a.ExitCode == nil || *a.ExitCode != 137 {
			t.Errorf("oom attempt %+v, want OOMKilled 137", a)
		}
	}
	if !strings.Contains(text, "kubectl describe job oom -n "+e.NS) {
		t.Errorf("oom: next commands not filled in:\n%s", text)
	}

	r, code, text = diagnose(t, e.NS, "not-found")
	if r.Health != "failed" || code != 3 || r.Verdict.Kind != "deterministic" || len(r.Attempts) == 0 {
		t.Errorf("not-found: health %s (exit %d) verdict %s, %d attempts, want failed (3) deterministic\n%s", r.Health, code, r.Verdict.Kind, len(r.Attempts), text)
	}
	if !strings.Contains(text, "exit 127") || !strings.Contains(text, "command: /bin/worker") {
		t.Errorf("not-found: the report does not name exit 127 and the command:\n%s", text)
	}

	if err := harness.Eventually(e.Ctx, 60*time.Second, func(context.Context) (bool, string, error) {
		r, code, _ = diagnose(t, e.NS, "pull")
		return r.Verdict.Kind == "stuck", "pull: verdict " + r.Verdict.Kind, nil
	}); err != nil {
		t.Fatal(err)
	}
	if r.Health != "stuck" || code != 2 || len(r.Waiting) == 0 {
		t.Errorf("pull: health %s (exit %d), waiting %+v, want stuck (2) with waiting pods", r.Health, code, r.Waiting)
	}

	if _, err := exec.Command(exporterBinary, "diagnose", "--kube.config", cluster.Kubeconfig(), "-n", e.NS, "nope").Output(); err == nil {
		t.Error("diagnose of a missing Job exited 0")
	} else if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() != 1 {
		t.Errorf("diagnose of a missing Job exited %d, want 1", exit.ExitCode())
	}
}
