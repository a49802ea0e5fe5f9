package diagnose

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// Event is an event about the Job or one of its pods, as `kubectl
// describe` lists them, with repeats folded into one.
type Event struct {
	Object  string    `json:"object"` // job/NAME or pod/NAME
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int64     `json:"count"`
	First   time.Time `json:"firstSeen"`
	Last    time.Time `json:"lastSeen"`
	// Cause is the kind of cause (a job.Cause Kind: ImagePull, Evicted,
	// Disrupted, NotStarting, Unschedulable, Error) an event about a pod
	// gives (see podEventCause), "" if none.
	Cause string `json:"cause,omitempty"`
	// PodGone marks an event about a pod that was no longer there to name:
	// found among the namespace's Warning events by the names the Job
	// controller gives the Job's pods (see FetchJobEvents).
	PodGone bool `json:"podGone,omitempty"`
}

// Bounds of what is read and shown: a Job with thousands of pods must not
// turn one report into thousands of requests or lines.
const (
	// MaxEventPods is how many pods' events are read.
	MaxEventPods = 5
	// MaxEvents is how many (folded) events a report shows, newest first.
	MaxEvents = 20
	// maxEventsPerList bounds each list, read eventsPerPage at a time.
	maxEventsPerList = 200
	eventsPerPage    = 25
	// maxMessage bounds an event message as shown.
	maxMessage = 1024
)

// eventBounds bound each page of a list of events in bytes, whatever
// tenants wrote in them (the API server accepts events of about 1.5 MiB,
// 200 of which would be 300 MiB). Every string is cut to 2 KiB as it
// streams in (twice what is shown, so that messages that differ only past
// what is shown still fold apart, and the start every cause is read from
// is kept): what a report holds is at most 7 lists (the Job's, 5 pods' or
// 2 of gone pods') of 200 events of about 3 KiB, and a read buffer. And a
// page stops after 2 MiB (80 times what 25 ordinary events take): a list
// reads at most 8 pages, 16 MiB. A page cut so keeps the events before the
// cut, and the list goes on with the next page (the continue token comes
// before the events). Pages of 25 keep the API server's work per request
// small too (it reads and encodes a whole page before the first byte), so
// that a list of big events answers within a page's time.
var eventBounds = kube.EventBounds{MaxBytes: 2 << 20, MaxString: 2 * maxMessage}

// listEventPages lists the events selector selects in namespace, a page
// of eventsPerPage at a time, at most maxEventsPerList in at most
// maxEventsPerList/eventsPerPage pages; more says that the list has more.
// Pages cut at their byte bound (eventBounds) make an error saying so,
// returned with the events read; so is any error after the first page.
func listEventPages(ctx context.Context, client kube.Client, namespace, selector string) (items []corev1.Event, more bool, err error) {
	opts := metav1.ListOptions{FieldSelector: selector, Limit: eventsPerPage}
	cut := 0
	cutErr := func() error {
		if cut == 0 {
			return nil
		}
		return fmt.Errorf("%d page(s) of %d events larger than %d MiB: only the events before the cut were read", cut, eventsPerPage, eventBounds.MaxBytes>>20)
	}
	for page := 1; ; page++ {
		l, err := kube.ListEventsBounded(ctx, client, namespace, opts, eventBounds)
		if l != nil {
			items = append(items, l.Items...)
		}
		if errors.Is(err, kube.ErrEventsCut) {
			cut++
			err = nil
		}
		switch {
		case err != nil:
			return items, false, errors.Join(err, cutErr())
		case len(items) >= maxEventsPerList:
			// Servers honour Limit; be sure anyway.
			return items[:maxEventsPerList], len(items) > maxEventsPerList || l.Continue != "", cutErr()
		case l.Continue == "" || page == maxEventsPerList/eventsPerPage || ctx.Err() != nil:
			return items, l.Continue != "", cutErr()
		}
		opts.Continue = l.Continue
	}
}

// EventPods are the pods whose events explain the Job best: the pods that
// wait (stuck), then the newest failed pods, at most MaxEventPods.
func EventPods(s job.Summary) []string {
	pods := append([]string(nil), s.WaitingPods...)
	for i := len(s.Attempts) - 1; i >= 0 && len(pods) < MaxEventPods; i-- {
		if p := s.Attempts[i].Pod; !slices.Contains(pods, p) {
			pods = append(pods, p)
		}
	}
	if len(pods) > MaxEventPods {
		pods = pods[:MaxEventPods]
	}
	return pods
}

// FetchJobEvents reads the events that explain the Job of s (those of an
// earlier Job of the same name, by UID, left out), and folds them: its own, those
// of the pods EventPods names and, when no pod is left to name
// (PodsGone), the Warning events about its pods that are gone, found by
// their names (listGonePodEvents). An error comes with what could be read.
func FetchJobEvents(ctx context.Context, client kube.Client, s job.Summary) ([]Event, error) {
	jobEvents, err := listEvents(ctx, client, s.Namespace, "Job", s.Name, s.UID)
	named, gone, podErr := podEvents(ctx, client, s)
	return foldEvents(s.Name, append(jobEvents, named...), gone), errors.Join(err, podErr)
}

// podEvents reads the events of the pods that explain the Job of s: those
// EventPods names, else, if its pods are gone, those found by name.
func podEvents(ctx context.Context, client kube.Client, s job.Summary) (named, gone []corev1.Event, err error) {
	if PodsGone(s) {
		gone, err = listGonePodEvents(ctx, client, s)
		return nil, gone, err
	}
	named, err = listPodEvents(ctx, client, s.Namespace, EventPods(s))
	return named, nil, err
}

// PodsGone tells whether the pods that would explain the Job of s are gone:
// none is left to name (EventPods), and the Job failed (the Job controller
// deletes its running pods then), or counts failures or had pods with
// evidence go (Summary.Departed) while none runs. A Job that completed, is
// suspended or runs pods has nothing a gone pod would add.
func PodsGone(s job.Summary) bool {
	if len(EventPods(s)) > 0 || s.Complete || s.Suspended {
		return false
	}
	return s.Failed || s.Pods.Active == 0 && (s.Retries > 0 || s.Pods.Failed > 0 || s.Departed.Pods > 0)
}

// Selectors of the events about gone pods: the namespace's Warning events
// about pods, and the scheduler's Preempted events, which are Normal
// although the scheduler deleted the pod (preemption/executor.go).
const (
	gonePodWarnings  = "involvedObject.kind=Pod,type=Warning"
	gonePodPreempted = "involvedObject.kind=Pod,reason=Preempted"
)

// listGonePodEvents reads the events about the Job's pods that are gone.
// They cannot be read by pod name (the names are gone with the pods) nor
// by owner: an event's involvedObject names the pod (kind, name, UID) and
// nothing of its owner, and the pod that had the owner reference is gone.
// So two lists of the namespace's pod events (gonePodWarnings,
// gonePodPreempted), at most maxEventsPerList each, keep those whose pod
// name is one the Job controller gives this Job's pods (jobPodName) and
// that were created (by the API server's clock, the Job's own) no earlier
// than the Job: an earlier Job of the same name had pods named alike, until
// before this one was created. What remains ambiguous: a pod of
// another Job whose generated names this Job's can take (an Indexed Job
// "a" and a Job "a-1", pods "a-1-xxxxx"; names past 58 bytes cut to the
// same prefix), created after this Job; a pod of an earlier Job of the same
// name that still emitted events after this one was created (its deletion
// runs in the background); a pod someone named so by hand.
func listGonePodEvents(ctx context.Context, client kube.Client, s job.Summary) ([]corev1.Event, error) {
	var out []corev1.Event
	var errs []error
	for _, selector := range []string{gonePodWarnings, gonePodPreempted} {
		if ctx.Err() != nil {
			break
		}
		items, more, err := listEventPages(ctx, client, s.Namespace, selector)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the events about pods in namespace %s: %w", s.Namespace, err))
		} else if more {
			errs = append(errs, fmt.Errorf("namespace %s has more than %d events about pods (%s): only the first %d were searched for the Job's pods", s.Namespace, maxEventsPerList, selector, maxEventsPerList))
		}
		for _, e := range items {
			o := e.InvolvedObject
			if o.Kind != "Pod" || !jobPodName(s.Name, s.Indexed, o.Name) || eventCreated(&e).Before(s.Created.Add(-apiServerSkew)) {
				continue
			}
			// Servers honour the selectors; be sure anyway, and keep a
			// Warning event called Preempted from both lists once.
			if selector == gonePodWarnings && e.Type != corev1.EventTypeWarning ||
				selector == gonePodPreempted && (e.Reason != job.PodReasonPreempted || e.Type == corev1.EventTypeWarning) {
				continue
			}
			out = append(out, e)
		}
	}
	return out, errors.Join(errs...)
}

// apiServerSkew is how much earlier than the Job an event about one of its
// pods may look created: each API server of a cluster stamps what it
// creates with its own clock, in whole seconds, and the event is created
// after the pod it is about, which is created after the Job.
const apiServerSkew = 2 * time.Second

// eventCreated is when the API server created the event (the clock the
// Job's creationTimestamp comes from), else when it was first seen.
func eventCreated(e *corev1.Event) time.Time {
	if t := e.CreationTimestamp.Time; !t.IsZero() {
		return t
	}
	first := job.EventLastSeen(e)
	for _, t := range []time.Time{e.FirstTimestamp.Time, e.EventTime.Time} {
		if !t.IsZero() && t.Before(first) {
			first = t
		}
	}
	return first
}

// Names the API server generates (names.SimpleNameGenerator): the
// generateName cut to maxGeneratedName bytes, then generatedSuffix random
// lower-case letters and digits.
const (
	maxGeneratedName = 58
	generatedSuffix  = 5
)

// jobPodName tells whether name is a name the Job controller's pods of the
// Job jobName get: generateName "<job>-" (GetPodFromTemplate), or
// "<job>-<index>-" for an Indexed Job (podGenerateNameWithIndex, which cuts
// the Job's name so that the index survives), then the generated suffix.
// A Job "a" has pods "a-xxxxx", not "ab-xxxxx" nor the "a-b-xxxxx" of a
// Job "a-b".
func jobPodName(jobName string, indexed bool, name string) bool {
	if len(name) <= generatedSuffix || !lowerAlnum(name[len(name)-generatedSuffix:]) {
		return false
	}
	base := name[:len(name)-generatedSuffix]
	if !indexed {
		p := jobName + "-"
		return base == p[:min(len(p), maxGeneratedName)]
	}
	rest, ok := strings.CutSuffix(base, "-")
	i := strings.LastIndexByte(rest, '-')
	if !ok || i < 0 {
		return false
	}
	stem, index := rest[:i], rest[i+1:]
	// The index as strconv.Itoa writes it.
	if index == "" || strings.Trim(index, "0123456789") != "" || (len(index) > 1 && index[0] == '0') {
		return false
	}
	appendIndex := "-" + index + "-"
	want := jobName
	if len(jobName)+len(appendIndex) > maxGeneratedName {
		want = jobName[:max(maxGeneratedName-len(appendIndex), 0)]
	}
	return stem == want
}

// lowerAlnum tells whether s has only lower-case ASCII letters and digits.
func lowerAlnum(s string) bool {
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// listPodEvents lists the events of at most MaxEventPods pods.
func listPodEvents(ctx context.Context, client kube.Client, namespace string, pods []string) ([]corev1.Event, error) {
	var all []corev1.Event
	var errs []error
	for i, p := range pods {
		if i == MaxEventPods || ctx.Err() != nil {
			break
		}
		events, err := listEvents(ctx, client, namespace, "Pod", p, "")
		all = append(all, events...)
		errs = append(errs, err)
	}
	return all, errors.Join(errs...)
}

// listEvents lists the events of one object (of that UID, when given),
// at most maxEventsPerList (listEventPages); an error comes with the
// events read.
func listEvents(ctx context.Context, client kube.Client, namespace, kind, name string, uid types.UID) ([]corev1.Event, error) {
	items, _, err := listEventPages(ctx, client, namespace, "involvedObject.kind="+kind+",involvedObject.name="+name)
	if err != nil {
		err = fmt.Errorf("reading the events of %s %s/%s: %w", strings.ToLower(kind), namespace, name, err)
	}
	var out []corev1.Event
	for _, e := range items {
		o := e.InvolvedObject
		// Servers honour the selector; be sure anyway.
		if o.Kind == kind && o.Name == name && (uid == "" || o.UID == "" || o.UID == uid) {
			out = append(out, e)
		}
	}
	return out, err
}

// foldEvents turns API events into report events: one per object, type,
// reason and message (pod names the Job controller generated folded into
// <job>-* in the Job's events, so its failed creations of different pods
// are one line), newest first, at most MaxEvents. The events of gone are
// about pods that are gone (Event.PodGone).
func foldEvents(jobName string, events, gone []corev1.Event) []Event {
	// A generated pod name starts with the Job's name (cut to leave room for
	// the index of an Indexed Job and the random suffix) and has only
	// lower-case letters, digits and dashes after it.
	prefix := jobName[:min(len(jobName), 40)]
	generated := regexp.MustCompile(`"` + regexp.QuoteMeta(prefix) + `[-a-z0-9]*"`)
	byKey := map[string]*Event{}
	all := append(events[:len(events):len(events)], gone...)
	for i := range all {
		e := &all[i]
		msg := job.EventMessage(e.Message)
		if e.InvolvedObject.Kind == "Job" {
			// Only the Job controller's messages name the pods it
			// generates; a pod's event may quote an image of that name.
			msg = generated.ReplaceAllString(msg, `"`+jobName+`-*"`)
		}
		ev := Event{
			Object:  strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name,
			Type:    e.Type,
			Reason:  e.Reason,
			Message: msg,
			Count:   int64(job.EventCount(e)),
			Last:    job.EventLastSeen(e).UTC(),
			PodGone: i >= len(events),
		}
		if e.InvolvedObject.Kind == "Pod" {
			if c, ok := podEventCause(e.Reason, msg); ok {
				ev.Cause = c.Kind
			}
		}
		ev.First = ev.Last
		for _, t := range []time.Time{e.FirstTimestamp.Time, e.EventTime.Time} {
			if !t.IsZero() && t.Before(ev.First) {
				ev.First = t.UTC()
			}
		}
		key := ev.Object + "\x00" + ev.Type + "\x00" + ev.Reason + "\x00" + ev.Message
		if f, ok := byKey[key]; ok {
			f.Count += ev.Count
			if ev.Last.After(f.Last) {
				f.Last = ev.Last
			}
			if ev.First.Before(f.First) {
				f.First = ev.First
			}
			continue
		}
		byKey[key] = &ev
	}
	out := make([]Event, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, *e)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Last.Equal(out[b].Last) {
			return out[a].Last.After(out[b].Last)
		}
		return out[a].Object+out[a].Reason+out[a].Message < out[b].Object+out[b].Reason+out[b].Message
	})
	if len(out) > MaxEvents {
		out = out[:MaxEvents]
	}
	for i := range out {
		out[i].Object = printable(out[i].Object, 300)
		out[i].Type = printable(out[i].Type, 32)
		out[i].Reason = printable(out[i].Reason, 128)
		out[i].Message = printable(out[i].Message, maxMessage)
	}
	return out
}

// podEventCause reads what an event about a pod says of why the pod failed
// or could not start, by the reasons and words of the kubelet
// (pkg/kubelet/events; the image manager's "Failed to pull image", the
// runtime manager's "Error: ImagePullBackOff") and of the scheduler
// (FailedScheduling, Preempted): the causes a pod's status would have
// shown, had the pod stayed. ok is false for every other event. The
// message is read from its start, which its source writes.
func podEventCause(reason, message string) (job.Cause, bool) {
	m := job.EventMessage(message)
	switch reason {
	case "Failed":
		switch {
		case strings.HasPrefix(m, "Failed to pull image "), strings.HasPrefix(m, "Error: ErrImagePull"):
			return job.ExplainWaiting("ErrImagePull"), true
		case strings.HasPrefix(m, "Error: ImagePullBackOff"):
			return job.ExplainWaiting("ImagePullBackOff"), true
		case strings.HasPrefix(m, "Error: InvalidImageName"):
			return job.ExplainWaiting("InvalidImageName"), true
		}
	case "InspectFailed":
		if strings.HasPrefix(m, "Failed to apply default image tag ") {
			return job.ExplainWaiting("InvalidImageName"), true
		}
	case "BackOff":
		switch {
		case strings.HasPrefix(m, "Back-off pulling image "):
			return job.ExplainWaiting("ImagePullBackOff"), true
		case strings.HasPrefix(m, "Back-off restarting failed container"):
			return job.ExplainWaiting("CrashLoopBackOff"), true
		}
	case job.PodReasonEvicted:
		return job.ExplainPodReason(job.PodReasonEvicted), true
	case job.PodReasonPreempted, "Preempting": // the scheduler's; the kubelet's, for a critical pod
		return job.ExplainPodReason(job.PodReasonPreempted), true
	case "FailedMount", "FailedAttachVolume":
		return job.ExplainWaiting(job.WaitingContainerCreating), true
	case "FailedScheduling":
		return job.ExplainWaiting("Unschedulable"), true
	}
	return job.Cause{}, false
}

// AddEvents puts the events read for the Job of s (FetchJobEvents) into
// the report. When nothing else explains the Job (no failed attempt,
// waiting pod, refused creation or gone pod the exporter saw, and a
// verdict that says the evidence is gone or only that the deadline
// passed), the causes the events about its pods give become the verdict's;
// its kind, like the Job's health, stays.
func (r *Report) AddEvents(s job.Summary, events []Event) {
	r.Events = events
	if len(r.Attempts) > 0 || len(r.Waiting) > 0 || len(r.CreateFailures) > 0 || r.Departed != nil ||
		(r.Verdict.Kind != VerdictUnknown && r.Verdict.Kind != VerdictDeadline) {
		return
	}
	causes := eventCauses(events)
	if len(causes) == 0 {
		return
	}
	var counts, meanings []string
	notStarted, imagePull := true, true
	for _, c := range causes {
		counts = append(counts, fmt.Sprintf("%s ×%d", c.Kind, c.count))
		meanings = append(meanings, c.Meaning)
		notStarted = notStarted && slices.Contains([]string{"ImagePull", "NotStarting", "Unschedulable"}, c.Kind)
		imagePull = imagePull && c.Kind == "ImagePull"
	}
	source := "the Warning events about its pods that are gone, found by their names"
	if r.Verdict.Kind == VerdictDeadline && notStarted {
		r.Verdict = deadlineWaiting(s, strings.Join(counts, ", ")+", by "+source, strings.Join(meanings, "; "), imagePull)
		return
	}
	say := source + ", say: " + strings.Join(counts, ", ") + " (" + strings.Join(meanings, "; ") + ")"
	switch {
	case r.Verdict.Kind == VerdictDeadline:
		r.Verdict.Text += "; " + say
	case r.Health == Failed:
		r.Verdict.Text = "the Job failed (" + r.Reason + ") and its pods are gone; " + say
	default:
		r.Verdict.Text = "the Job's failed pods are gone; " + say
	}
}

// eventCause is one cause events about a Job's pods give, with how often.
type eventCause struct {
	job.Cause
	count int64
}

// eventCauses are the causes the events about pods give, one per kind
// (the meaning of its newest event), most frequent first.
func eventCauses(events []Event) []eventCause {
	var out []eventCause
	for _, e := range events {
		if !strings.HasPrefix(e.Object, "pod/") {
			continue
		}
		c, ok := podEventCause(e.Reason, e.Message)
		if !ok {
			continue
		}
		i := slices.IndexFunc(out, func(o eventCause) bool { return o.Kind == c.Kind })
		if i < 0 {
			i = len(out)
			out = append(out, eventCause{Cause: c})
		}
		out[i].count += e.Count
	}
	slices.SortStableFunc(out, func(a, b eventCause) int { return cmp.Compare(b.count, a.count) })
	return out
}
