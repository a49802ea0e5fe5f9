package diagnose

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
)

const quotaMessage = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 3 more needed"

// queuedSummary is the Summary of a suspended Job labelled for LocalQueue
// team-a, as of T0+at, standing in its queue as q says (Name set here).
func queuedSummary(t *testing.T, q job.Queue) job.Summary {
	t.Helper()
	b := fixture.Job("ml", "train").Suspend()
	b.J.Labels = map[string]string{job.QueueLabel: "team-a"}
	s := job.Summarize(b.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	if s.QueueName != "team-a" || !s.Suspended {
		t.Fatalf("summary: queue %q suspended %v", s.QueueName, s.Suspended)
	}
	q.Name = s.QueueName
	s.Queue = &q
	return s
}

// TestQueueReports: each state and cause of a Job in a Kueue queue gives
// its health (and exit code), verdict, alert and commands.
func TestQueueReports(t *testing.T) {
	now := fixture.At(2*3600 + 3*60).Time
	waiting := func(cause, cq, workload, message string) job.Queue {
		return job.Queue{ClusterQueue: cq, Workload: workload, State: job.QueueWaiting, Since: fixture.At(0).Time, Cause: cause, Message: message}
	}
	tests := []struct {
		name    string
		q       job.Queue
		limits  Limits
		health  Health
		verdict string
		alert   string
		text    []string // in the verdict
		cmds    []string // among the commands
		noCmds  []string // prefixes of commands that must not be there
	}{
		{"quota, within the wait limit", waiting(job.QueueCauseInsufficientQuota, "gpu-cq", "job-train-1a2b3", quotaMessage), Limits{QueueWait: 3 * time.Hour},
			Queued, VerdictQueued, AlertWaitingForAdmission,
			[]string{"Waiting 2h 3m for admission in LocalQueue team-a (ClusterQueue gpu-cq): InsufficientQuota — " + quotaMessage + ". The ClusterQueue"},
			[]string{"kubectl get workloads -n ml -l kueue.x-k8s.io/job-uid=uid-ml-train", "kubectl describe workload job-train-1a2b3 -n ml", "kubectl describe clusterqueue gpu-cq", "kubectl get localqueue -n ml"},
			[]string{"kubectl get localqueues -A"}},
		{"quota, past the wait limit", waiting(job.QueueCauseInsufficientQuota, "gpu-cq", "job-train-1a2b3", quotaMessage), DefaultLimits,
			Stuck, VerdictQueued, AlertWaitingForAdmission, []string{"Waiting 2h 3m"}, nil, nil},
		{"no limit given: queued however long", waiting(job.QueueCauseInsufficientQuota, "gpu-cq", "job-train-1a2b3", quotaMessage), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission, nil, nil, nil},
		{"LocalQueue missing: no ClusterQueue known", waiting(job.QueueCauseLocalQueueMissing, "", "job-train-1a2b3", "LocalQueue team-a doesn't exist"), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission,
			[]string{"in LocalQueue team-a: LocalQueueMissing — LocalQueue team-a doesn't exist. The LocalQueue the Job's label"},
			[]string{"kubectl get localqueues -A", "kubectl get localqueue -n ml"}, []string{"kubectl describe clusterqueue"}},
		{"no Workload", waiting(job.QueueCauseNoWorkload, "gpu-cq", "", ""), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission, []string{"(ClusterQueue gpu-cq): NoWorkload. Kueue has made no Workload"},
			[]string{"kubectl get deployments -A -l app.kubernetes.io/name=kueue"}, []string{"kubectl describe workload"}},
		{"no flavor fits", waiting(job.QueueCauseNoFlavorFits, "gpu-cq", "w", "couldn't assign flavors to pod set main: flavor a100 doesn't match node affinity"), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission, []string{"does not pass by itself"}, []string{"kubectl get resourceflavors -o yaml"}, nil},
		{"ClusterQueue missing", waiting(job.QueueCauseClusterQueueMissing, "gone-cq", "w", "ClusterQueue gone-cq doesn't exist"), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission, nil, []string{"kubectl get clusterqueues"}, nil},
		{"admission checks", waiting(job.QueueCauseAdmissionChecks, "gpu-cq", "w", ""), Limits{},
			Queued, VerdictQueued, AlertWaitingForAdmission, nil, []string{"kubectl get admissionchecks"}, nil},
		{"admitted, still suspended", job.Queue{ClusterQueue: "gpu-cq", Workload: "w", State: job.QueueAdmittedSuspended, Since: fixture.At(3 * 60).Time}, DefaultLimits,
			Stuck, VerdictNotStarted, AlertAdmittedNotStarted, []string{"admitted by Kueue in ClusterQueue gpu-cq 2h 0m ago, yet the Job is still suspended"},
			[]string{"kubectl describe workload w -n ml", "kubectl logs -n kueue-system deployment/kueue-controller-manager | grep train"}, nil},
		{"deactivated: quiet", job.Queue{ClusterQueue: "gpu-cq", Workload: "w", State: job.QueueDeactivated, Since: fixture.At(0).Time}, DefaultLimits,
			Suspended, VerdictNone, "", []string{"deactivated"}, nil, []string{"kubectl get workloads"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := FromSummary(queuedSummary(t, tt.q), now, tt.limits)
			if r.Health != tt.health || r.Verdict.Kind != tt.verdict || r.Alert != tt.alert {
				t.Errorf("health %s verdict %s alert %q, want %s %s %q\n%s", r.Health, r.Verdict.Kind, r.Alert, tt.health, tt.verdict, tt.alert, r.Verdict.Text)
			}
			if want := map[Health]int{Stuck: 2}[tt.health]; r.Health.ExitCode() != want {
				t.Errorf("exit %d, want %d", r.Health.ExitCode(), want)
			}
			for _, m := range tt.text {
				if !strings.Contains(r.Verdict.Text, m) {
					t.Errorf("verdict does not say %q:\n%s", m, r.Verdict.Text)
				}
			}
			for _, c := range tt.cmds {
				if !slices.ContainsFunc(r.Commands, func(got string) bool { return strings.HasPrefix(got, c) }) {
					t.Errorf("no command %q among\n%s", c, strings.Join(r.Commands, "\n"))
				}
			}
			for _, c := range tt.noCmds {
				if slices.ContainsFunc(r.Commands, func(got string) bool { return strings.HasPrefix(got, c) }) {
					t.Errorf("command %q among\n%s", c, strings.Join(r.Commands, "\n"))
				}
			}
		})
	}
}

// TestQueueEvictions: the evictions of a running Job's Workload are shown
// and, from the mixin's default threshold on, name KubeJobEvictedRepeatedly
// unless another alert pages for the Job; a waiting Job evicted before
// shows them under the alert of its wait.
func TestQueueEvictions(t *testing.T) {
	now := fixture.At(3600).Time
	evicted := job.QueueEviction{Reason: "InClusterQueue", Message: "Preempted to accommodate a workload (UID: u) due to prioritization in the ClusterQueue", At: fixture.At(1800).Time}
	for _, tt := range []struct {
		evictions int32
		state     job.QueueState
		alert     string
	}{
		{2, job.QueueRunning, ""},
		{3, job.QueueRunning, AlertEvictedRepeatedly},
		{3, job.QueueWaiting, AlertWaitingForAdmission},
	} {
		s := queuedSummary(t, job.Queue{ClusterQueue: "gpu-cq", Workload: "w", State: tt.state, Since: fixture.At(1900).Time,
			Evictions: tt.evictions, LastEviction: evicted})
		s.Suspended = tt.state != job.QueueRunning
		r := FromSummary(s, now, Limits{})
		if r.Alert != tt.alert {
			t.Errorf("%d evictions, %s: alert %q, want %q", tt.evictions, tt.state, r.Alert, tt.alert)
		}
		var text bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		want := "\nEvictions: evicted " + plural(int64(tt.evictions), "time") + ", the last at " + evicted.At.UTC().Format(time.RFC3339) + ": InClusterQueue — Preempted to accommodate"
		if !strings.Contains(text.String(), want) {
			t.Errorf("text does not show the evictions (%q…):\n%s", want, text.String())
		}
		if !slices.ContainsFunc(r.Commands, func(c string) bool { return strings.HasPrefix(c, "kubectl describe workload w -n ml") }) {
			t.Errorf("no command for the evicted Workload:\n%s", strings.Join(r.Commands, "\n"))
		}
	}
}

// TestQueueReportText: the text and the JSON say where the Job stands:
// queue, ClusterQueue, state, wait, cause in words, Kueue's message; the
// JSON object "queue" has the documented fields.
func TestQueueReportText(t *testing.T) {
	now := fixture.At(2*3600 + 3*60).Time
	s := queuedSummary(t, job.Queue{ClusterQueue: "gpu-cq", Workload: "job-train-1a2b3", State: job.QueueWaiting, Since: fixture.At(0).Time,
		Cause: job.QueueCauseInsufficientQuota, Message: quotaMessage})
	r := FromSummary(s, now, DefaultLimits)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	since := fixture.At(0).UTC().Format(time.RFC3339)
	for _, want := range []string{
		"Job ml/train: STUCK\n",
		"\nQueue:     LocalQueue team-a (ClusterQueue gpu-cq), Waiting for 2h 3m (since " + since + ")\n           Workload job-train-1a2b3\n           InsufficientQuota: the ClusterQueue",
		"\n           Kueue says: " + quotaMessage + "\n",
		"\nVerdict (queued): Waiting 2h 3m for admission",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Queue map[string]any `json:"queue"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "team-a", "clusterQueue": "gpu-cq", "workload": "job-train-1a2b3", "state": "Waiting",
		"since": since, "for": "2h 3m", "cause": "InsufficientQuota", "meaning": QueueCauseMeaning(job.QueueCauseInsufficientQuota), "message": quotaMessage}
	for k, v := range want {
		if got.Queue[k] != v {
			t.Errorf("queue.%s = %v, want %v", k, got.Queue[k], v)
		}
	}
	if len(got.Queue) != len(want) {
		t.Errorf("queue has fields %v, want those of %v", got.Queue, want)
	}
	checkGoldenReport(t, "queue_waiting-quota", r)
}

// TestQueueTextIsPrintable: Kueue's messages carry what tenants named
// (pod sets, resources) and the names come from objects the exporter does
// not validate: they reach the terminal without control characters, and a
// name that is no Kubernetes name never reaches a command.
func TestQueueTextIsPrintable(t *testing.T) {
	evilCQ := "cq\x1b]0;pwned\x07; rm -rf ~"
	s := queuedSummary(t, job.Queue{ClusterQueue: evilCQ, Workload: "w\x1b[2J", State: job.QueueWaiting, Since: fixture.At(0).Time,
		Cause: job.QueueCauseInsufficientQuota, Message: "insufficient quota\n\nVerdict (none): all good\x1b[31m" + strings.Repeat("x", 2*job.MaxQueueMessage),
		Evictions: 1, LastEviction: job.QueueEviction{Reason: "Other", Message: "\u202eevil\x1b[1;1H", At: fixture.At(0).Time}})
	r := FromSummary(s, fixture.At(60).Time, Limits{})
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\nVerdict (none): all good"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "ClusterQueue cq\ufffd]0;pwned\ufffd; ") {
		t.Errorf("report does not show the ClusterQueue made printable:\n%s", out)
	}
	if len(r.Queue.Message) > job.MaxQueueMessage+len("…") {
		t.Errorf("message of %d bytes, bound %d", len(r.Queue.Message), job.MaxQueueMessage)
	}
	for _, c := range r.Commands {
		if strings.Contains(c, "clusterqueue") || strings.Contains(c, "workload w") || strings.Contains(c, "rm -rf") {
			t.Errorf("a name that is no Kubernetes name reached a command: %q", c)
		}
	}
}
