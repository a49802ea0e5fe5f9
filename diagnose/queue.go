package diagnose

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// Queue is where a Job stands in its Kueue queue, as a report shows it
// (job.Queue): the JSON object "queue". Every text in it is printable.
type Queue struct {
	// Name is the LocalQueue the Job's label names, ClusterQueue the
	// ClusterQueue admitting it ("" while unknown), Workload the Job's
	// Workload ("" while it has none).
	Name         string `json:"name"`
	ClusterQueue string `json:"clusterQueue,omitempty"`
	Workload     string `json:"workload,omitempty"`
	// State is Waiting, AdmittedSuspended, Running or Deactivated
	// (job.QueueState), since Since; For says how long, in words.
	State job.QueueState `json:"state"`
	Since *time.Time     `json:"since,omitempty"`
	For   string         `json:"for,omitempty"`
	// Cause is why a waiting Job is not admitted (one of job.QueueCauses),
	// Meaning the cause in words; Message is Kueue's own words on it.
	Cause   string `json:"cause,omitempty"`
	Meaning string `json:"meaning,omitempty"`
	Message string `json:"message,omitempty"`
	// Evictions counts the Workload's evictions, for any reason (Kueue's schedulingStats);
	// LastEviction is the newest still on the Workload.
	Evictions    int32     `json:"evictions,omitempty"`
	LastEviction *Eviction `json:"lastEviction,omitempty"`
}

// Eviction is an eviction of the Job's Workload.
type Eviction struct {
	Reason  string    `json:"reason"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// repeatedEvictions is how many evictions make a running Job's report
// name KubeJobEvictedRepeatedly: the default of the mixin's
// queueEvictionsThreshold.
const repeatedEvictions = 3

// queueOf is the report's view of s.Queue at now, nil without one.
func queueOf(s job.Summary, now time.Time) *Queue {
	q := s.Queue
	if q == nil {
		return nil
	}
	out := &Queue{Name: printable(q.Name, maxShort), ClusterQueue: printable(q.ClusterQueue, maxShort),
		Workload: printable(q.Workload, maxShort), State: q.State, Cause: q.Cause,
		Message: printable(q.Message, job.MaxQueueMessage), Evictions: q.Evictions}
	if !q.Since.IsZero() {
		t := q.Since
		out.Since = &t
		out.For = span(now.Sub(q.Since))
	}
	if q.State == job.QueueWaiting {
		out.Meaning = QueueCauseMeaning(q.Cause)
	}
	if e := q.LastEviction; e.Reason != "" {
		out.LastEviction = &Eviction{Reason: printable(e.Reason, maxShort), Message: printable(e.Message, job.MaxQueueMessage), At: e.At}
	}
	return out
}

// QueueCauseMeaning says what a cause of waiting for admission
// (job.QueueCauses) means, and whether it passes by itself.
func QueueCauseMeaning(cause string) string {
	switch cause {
	case job.QueueCauseInsufficientQuota:
		return "the ClusterQueue (with what its cohort lends) has not enough unused quota left for the Job's pods: it is admitted when other workloads finish or the quota is raised"
	case job.QueueCauseNoFlavorFits:
		return "no ResourceFlavor of the ClusterQueue can hold the Job's pods (a resource it does not offer, node affinity or taints, a request above its quota): this does not pass by itself"
	case job.QueueCauseClusterQueueInactive:
		return "the ClusterQueue is inactive or stopped (a missing ResourceFlavor or AdmissionCheck, a stop policy): nothing in it is admitted until it is fixed"
	case job.QueueCauseClusterQueueMissing:
		return "the ClusterQueue the LocalQueue points to does not exist: nothing in the LocalQueue is admitted until it is created"
	case job.QueueCauseLocalQueueMissing:
		return "the LocalQueue the Job's label kueue.x-k8s.io/queue-name names does not exist in the Job's namespace: create it or fix the label"
	case job.QueueCauseLocalQueueInactive:
		return "the LocalQueue is stopped (its stop policy) or its ClusterQueue is inactive: nothing in it is admitted until it is fixed"
	case job.QueueCauseAdmissionChecks:
		return "quota is reserved, but the ClusterQueue's admission checks (a ProvisioningRequest, MultiKueue) are not all ready yet"
	case job.QueueCauseQueued:
		return "Kueue has not tried to admit it yet, or it waits behind older workloads of its ClusterQueue (StrictFIFO)"
	case job.QueueCauseNoWorkload:
		return "Kueue has made no Workload for the Job: its controller is down, the batch/job integration is off, or it ignores the Job (manageJobsWithoutQueueName, namespace selector)"
	}
	return "Kueue holds it back for another reason: its message says which"
}

// span is a duration as a person reads it: "45s", "12m", "2h 3m", "3d 4h".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// queueHealth is the health of a Job its queue holds back, false for a Job
// whose queue state does not decide it (running, or no queue): waiting
// for admission is no failure, so Queued, until limits.QueueWait passes
// (Stuck); admitted and still suspended is Stuck (Kueue should have
// started it); deactivated is held on purpose, as Suspended.
func queueHealth(q *job.Queue, now time.Time, limits Limits) (Health, bool) {
	if q == nil {
		return "", false
	}
	switch q.State {
	case job.QueueWaiting:
		if limits.QueueWait > 0 && now.Sub(q.Since) > limits.QueueWait {
			return Stuck, true
		}
		return Queued, true
	case job.QueueAdmittedSuspended:
		return Stuck, true
	case job.QueueDeactivated:
		return Suspended, true
	}
	return "", false
}

// Where names the queue: "LocalQueue team-a (ClusterQueue gpu-cq)".
func (q *Queue) Where() string {
	out := "LocalQueue " + q.Name
	if q.ClusterQueue != "" {
		out += " (ClusterQueue " + q.ClusterQueue + ")"
	}
	return out
}

// Reason is the cause and Kueue's message: "InsufficientQuota — couldn't
// assign flavors …".
func (q *Queue) Reason() string {
	if q.Message == "" {
		return q.Cause
	}
	return q.Cause + " — " + q.Message
}

// queueVerdict is the verdict on a Job its queue holds back, false for
// any other.
func queueVerdict(q *Queue) (Verdict, bool) {
	if q == nil {
		return Verdict{}, false
	}
	switch q.State {
	case job.QueueWaiting:
		text := "Waiting"
		if q.For != "" {
			text += " " + q.For
		}
		text += " for admission in " + q.Where() + ": " + q.Reason() + ". " + upperFirst(q.Meaning)
		return Verdict{VerdictQueued, text}, true
	case job.QueueAdmittedSuspended:
		text := "admitted by Kueue"
		if q.ClusterQueue != "" {
			text += " in ClusterQueue " + q.ClusterQueue
		}
		if q.For != "" {
			text += " " + q.For + " ago"
		}
		return Verdict{VerdictNotStarted, text + ", yet the Job is still suspended: Kueue unsuspends an admitted Job within seconds, so its controller is failing to (down, overloaded, or refused by a webhook or the API server); the Workload's events and Kueue's controller logs say why"}, true
	case job.QueueDeactivated:
		return Verdict{VerdictNone, "its Workload is deactivated (spec.active false, by a person or by Kueue after too many evictions): it is held on purpose, as a suspended Job is; set spec.active to true on the Workload to queue it again"}, true
	}
	return Verdict{}, false
}

// Evicted says how often the Workload was evicted, and the newest
// eviction: "evicted 2 times, the last at 2026-…Z: InClusterQueue —
// Preempted to accommodate …"; "" when never.
func (q *Queue) Evicted() string {
	if q == nil || (q.Evictions == 0 && q.LastEviction == nil) {
		return ""
	}
	out := "evicted " + plural(int64(q.Evictions), "time")
	if e := q.LastEviction; e != nil {
		out += ", the last at " + e.At.UTC().Format(time.RFC3339) + ": " + e.Reason
		if e.Message != "" {
			out += " — " + e.Message
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// queueAlert is the alert that pages for a Job its queue holds back; ""
// for any other.
func queueAlert(q *Queue) string {
	if q == nil {
		return ""
	}
	switch q.State {
	case job.QueueWaiting:
		return AlertWaitingForAdmission
	case job.QueueAdmittedSuspended:
		return AlertAdmittedNotStarted
	}
	return ""
}

// evictionAlert is the alert a running Job's evictions call for, when no
// other alert does: its Workload was evicted repeatedly.
func evictionAlert(q *Queue) string {
	if q != nil && q.State == job.QueueRunning && q.Evictions >= repeatedEvictions {
		return AlertEvictedRepeatedly
	}
	return ""
}

// queueCommands are the commands that show why the queue holds the Job
// back: its Workloads, its Workload, its ClusterQueue, its LocalQueue,
// and per cause what to look at next. Only names valid as Kubernetes
// names reach a command (they are the API server's, but a command is
// pasted into a shell).
func queueCommands(s job.Summary, q *Queue) []string {
	if q == nil || (q.State != job.QueueWaiting && q.State != job.QueueAdmittedSuspended && q.Evictions == 0) {
		return nil
	}
	ns := s.Namespace
	list := "kubectl get workloads -n " + ns
	if uid := string(s.UID); uid != "" && validLabelValue(uid) {
		list += " -l " + workloadJobUIDLabel + "=" + uid
	}
	cmds := []string{list + "   # the Job's Workload: admitted, evicted, requeued"}
	if validName(q.Workload) {
		cmds = append(cmds, fmt.Sprintf("kubectl describe workload %s -n %s   # its conditions and events say why", q.Workload, ns))
	}
	cq := validName(q.ClusterQueue)
	if cq {
		cmds = append(cmds, fmt.Sprintf("kubectl describe clusterqueue %s   # its quota, usage, pending workloads and whether it is active", q.ClusterQueue))
	}
	cmds = append(cmds, "kubectl get localqueue -n "+ns)
	if q.State != job.QueueWaiting {
		if q.State == job.QueueAdmittedSuspended {
			cmds = append(cmds, "kubectl logs -n kueue-system deployment/kueue-controller-manager | grep "+s.Name+"   # Kueue's controller (in its default namespace): why it does not unsuspend the Job")
		}
		return cmds
	}
	switch q.Cause {
	case job.QueueCauseLocalQueueMissing:
		cmds = append(cmds, "kubectl get localqueues -A   # the LocalQueues that exist: the Job's label kueue.x-k8s.io/queue-name must name one in its namespace")
	case job.QueueCauseClusterQueueMissing:
		cmds = append(cmds, "kubectl get clusterqueues")
	case job.QueueCauseNoFlavorFits:
		cmds = append(cmds, "kubectl get resourceflavors -o yaml   # their node labels and taints")
	case job.QueueCauseAdmissionChecks:
		cmds = append(cmds, "kubectl get admissionchecks")
	case job.QueueCauseNoWorkload:
		cmds = append(cmds, "kubectl get deployments -A -l app.kubernetes.io/name=kueue   # is Kueue's controller running?")
	}
	return cmds
}

// validName tells whether s is a Kubernetes object name (a DNS subdomain).
func validName(s string) bool { return s != "" && len(validation.IsDNS1123Subdomain(s)) == 0 }

// validLabelValue tells whether s can be a label value (a UID is).
func validLabelValue(s string) bool { return len(validation.IsValidLabelValue(s)) == 0 }
