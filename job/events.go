package job

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A Job whose pods the API server refuses to create (a ResourceQuota, Pod
// Security admission, an admission policy or webhook, a missing
// ServiceAccount, a LimitRange) never fails: it has no pod to fail. The Job
// controller says so only in Warning events on the Job, reason
// FailedCreate, message "Error creating: <the API server's error>", and
// retries (rate limited, at most a minute apart since v1.28, six minutes
// before) for as long as the Job lives.
// Those events are the evidence; the Job's status (no pod at all) is the
// fallback once they expire.

// FailedCreateReason is the reason of the Job controller's event when a pod
// cannot be created (controller.FailedCreatePodReason).
const FailedCreateReason = "FailedCreate"

// EventFieldSelector selects, on the API server, the only events the
// exporter watches: the Job controller's FailedCreate warnings on Jobs.
// Every other event (pods, other workloads, Normal events) stays out of the
// exporter's memory and network.
const EventFieldSelector = "involvedObject.kind=Job,type=Warning,reason=" + FailedCreateReason

// Causes of a failed pod creation: the bounded values of the cause label.
const (
	CreateCauseQuota           = "Quota"            // a ResourceQuota is exhausted (or its usage unknown)
	CreateCauseLimitRange      = "LimitRange"       // a LimitRange bound is violated
	CreateCausePodSecurity     = "PodSecurity"      // Pod Security admission rejects the template
	CreateCauseAdmissionPolicy = "AdmissionPolicy"  // a ValidatingAdmissionPolicy denies the pod
	CreateCauseWebhook         = "AdmissionWebhook" // an admission webhook denies the pod
	CreateCauseServiceAccount  = "ServiceAccount"   // the pod's ServiceAccount does not exist
	CreateCauseInvalid         = "Invalid"          // the pod fails API validation
)

// CreateCauses lists every cause label value, Other last.
var CreateCauses = []string{
	CreateCauseQuota, CreateCauseLimitRange, CreateCausePodSecurity, CreateCauseAdmissionPolicy,
	CreateCauseWebhook, CreateCauseServiceAccount, CreateCauseInvalid, Other,
}

// CreateFailureCause classifies the message of a FailedCreate event by the
// wording of the API server's admission plugins and validation (stable
// across releases: users grep for it). The API server's own words come
// first in the message and whatever a webhook, a policy or a tenant wrote
// comes after, so only the start of the message is read:
//
//	Error creating: pods "j-x7k2p" is forbidden: exceeded quota: ...
//	Error creating: pods "j-x7k2p" is forbidden: violates PodSecurity "restricted:latest": ...
//	Error creating: pods "j-x7k2p" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ...
//	Error creating: admission webhook "w.example.com" denied the request: ...
//	Error creating: Internal error occurred: failed calling webhook "w.example.com": ...
//	Error creating: pods "j-" is forbidden: error looking up service account ns/sa: ...
//	Error creating: pods "j-x7k2p" is forbidden: [maximum memory usage per Container is 1Gi, but limit is 2Gi, ...]
//	Error creating: Pod "j-x7k2p" is invalid: spec.containers[0].image: Required value
//
// The event recorder puts CombinedEventPrefix before all of it when it
// folds similar events (the 10th within 10 minutes and every one after,
// also as the event is updated in place): the prefix is read off in either
// order.
func CreateFailureCause(message string) string {
	m := EventMessage(message)
	m = EventMessage(strings.TrimPrefix(m, "Error creating: "))
	if rest, ok := strings.CutPrefix(m, `pods "`); ok {
		if _, reason, ok := strings.Cut(rest, `" is forbidden: `); ok {
			m = strings.TrimPrefix(reason, "[")
		}
	}
	starts := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(m, p) {
				return true
			}
		}
		return false
	}
	switch {
	case starts("exceeded quota:", "status unknown for quota:", "failed quota:"):
		return CreateCauseQuota
	case starts("violates PodSecurity "):
		return CreateCausePodSecurity
	case starts("ValidatingAdmissionPolicy '", "MutatingAdmissionPolicy '"):
		return CreateCauseAdmissionPolicy
	case starts(`admission webhook "`, `Internal error occurred: failed calling webhook "`, `failed calling webhook "`):
		return CreateCauseWebhook
	case starts("error looking up service account "):
		return CreateCauseServiceAccount
	case starts("maximum ", "minimum ") && (strings.Contains(m, " usage per Container is ") || strings.Contains(m, " usage per Pod is ")),
		strings.Contains(firstClause(m), " limit to request ratio per "):
		return CreateCauseLimitRange
	case starts(`Pod "`) && strings.Contains(m, `" is invalid: `):
		return CreateCauseInvalid
	}
	return Other
}

// CombinedEventPrefix starts the message of an event the event recorder made of
// ten similar ones (client-go's EventAggregatorByReasonMessageFunc: the
// prefix and the message as its source wrote it, "Error creating: ..." of
// the Job controller included).
const CombinedEventPrefix = "(combined from similar events): "

// EventMessage is an event's message as its source wrote it: without the
// CombinedEventPrefix the event recorder adds to similar events it folds,
// which says nothing about the cause.
func EventMessage(message string) string {
	return strings.TrimPrefix(message, CombinedEventPrefix)
}

// firstClause is the message up to the first ", " (the LimitRange plugin
// lists each violated bound so).
func firstClause(m string) string {
	c, _, _ := strings.Cut(m, ", ")
	return c
}

// EventRecord is what the event cache keeps of one FailedCreate event: the
// Job it is about, the cause, how often and when last. No message: the
// diagnosis reads the events themselves when a person asks.
type EventRecord struct {
	Namespace, Name string // the Event object's, for the informer's keys
	ResourceVersion string
	JobName         string
	JobUID          types.UID
	Cause           string // one of CreateCauses; "" for an event that is not a FailedCreate on a Job
	Count           int32
	Last            int64 // Unix nanoseconds of the newest occurrence
}

// GetObjectMeta lets the informer's key functions read the record.
func (r *EventRecord) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, ResourceVersion: r.ResourceVersion}
}

// JobKey is "namespace/name" of the Job the event is about, "" if none.
func (r *EventRecord) JobKey() string {
	if r.Cause == "" || r.JobName == "" {
		return ""
	}
	return r.Namespace + "/" + r.JobName
}

// RecordEvent is the event informer's transform. The server-side selector
// (EventFieldSelector) already keeps other events out; one that gets
// through anyway (a server or fake that ignores field selectors) is
// recorded without a cause and ignored.
func RecordEvent(obj any) (any, error) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return obj, nil
	}
	return NewEventRecord(e), nil
}

// NewEventRecord reduces an event to its EventRecord.
func NewEventRecord(e *corev1.Event) *EventRecord {
	r := &EventRecord{
		Namespace: internNamespace(e.Namespace), Name: e.Name, ResourceVersion: e.ResourceVersion,
		Count: EventCount(e), Last: unixOrZero(metav1.NewTime(EventLastSeen(e))),
	}
	o := e.InvolvedObject
	if e.Type == corev1.EventTypeWarning && e.Reason == FailedCreateReason && o.Kind == "Job" &&
		(o.Namespace == "" || o.Namespace == e.Namespace) {
		// Whoever may create events writes involvedObject as they like:
		// an event about a name or UID no Job can have is not kept (the
		// Job controller's always name a Job that exists).
		if !ValidName(o.Name) || !ValidUID(o.UID) {
			countCut(CutEventObject, 1)
			return r
		}
		r.JobName, r.JobUID = o.Name, o.UID
		r.Cause = CreateFailureCause(e.Message)
	}
	return r
}

// EventLastSeen is the newest occurrence of an event, whichever API wrote
// it: lastTimestamp (core/v1 recorders, which the Job controller uses),
// series.lastObservedTime or eventTime (events.k8s.io recorders), else when
// it was first seen or created.
func EventLastSeen(e *corev1.Event) time.Time {
	var t time.Time
	for _, c := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time} {
		if c.After(t) {
			t = c
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

// EventCount is how often an event occurred: count, or series.count for
// events.k8s.io recorders; at least 1.
func EventCount(e *corev1.Event) int32 {
	n := e.Count
	if e.Series != nil && e.Series.Count > n {
		n = e.Series.Count
	}
	return max(n, 1)
}

// clockTolerance is the clock skew between the Job controller and the API
// server that createFailures allows for.
const clockTolerance = 5 * time.Second

// CreateFailure is the newest failed pod creation of a Job with one cause.
type CreateFailure struct {
	Cause string
	Last  time.Time
	// Count sums the occurrences the events newer than the Job's newest
	// pod record over their lifetime (an event counts its earlier
	// occurrences too; the event recorder folds and rate-limits repeats).
	Count int64
}

// createFailures folds the FailedCreate events of Job uid into one entry
// per cause, newest first, keeping only failures newer than the newest pod
// the Job has: once the controller has created a pod again, older failures
// are history. An event's time comes from the Job controller's clock, a
// pod's creation time from the API server's, both in whole seconds: a
// failure counts only if it is more than clockTolerance later, so a
// controller clock a little ahead cannot keep a failure from before the
// pod alive for as long as the pod runs. (The controller's next retry
// comes later than that and counts.)
func createFailures(uid types.UID, events []*EventRecord, newestPod time.Time) []CreateFailure {
	var out []CreateFailure
	for _, e := range events {
		if e == nil || e.Cause == "" || e.JobUID != uid || e.Last == 0 {
			continue
		}
		last := time.Unix(0, e.Last).UTC()
		if !newestPod.IsZero() && !last.Truncate(time.Second).After(newestPod.Truncate(time.Second).Add(clockTolerance)) {
			continue
		}
		i := 0
		for i < len(out) && out[i].Cause != e.Cause {
			i++
		}
		if i == len(out) {
			out = append(out, CreateFailure{Cause: e.Cause})
		}
		out[i].Count += int64(e.Count)
		if last.After(out[i].Last) {
			out[i].Last = last
		}
	}
	slices.SortFunc(out, func(a, b CreateFailure) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return strings.Compare(a.Cause, b.Cause)
	})
	return out
}
