package diagnose

import (
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
}

// Bounds of what is read and shown: a Job with thousands of pods must not
// turn one report into thousands of requests or lines.
const (
	// MaxEventPods is how many pods' events are read.
	MaxEventPods = 5
	// MaxEvents is how many (folded) events a report shows, newest first.
	MaxEvents = 20
	// maxEventsPerList bounds each list request.
	maxEventsPerList = 200
	// maxMessage bounds an event message as shown.
	maxMessage = 1024
)

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

// FetchEvents reads the events of the Job (those of an earlier Job of the
// same name, by UID, left out) and of the given pods, and folds them. With
// only list permission on events (the exporter's), it works too. An error
// (events forbidden, API server unreachable) comes with what could be read.
func FetchEvents(ctx context.Context, client kube.Client, namespace, jobName string, jobUID types.UID, pods []string) ([]Event, error) {
	jobEvents, err := listEvents(ctx, client, namespace, "Job", jobName, jobUID)
	podEvents, podErr := listPodEvents(ctx, client, namespace, pods)
	return foldEvents(append(jobEvents, podEvents...), jobName), errors.Join(err, podErr)
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
// at most maxEventsPerList.
func listEvents(ctx context.Context, client kube.Client, namespace, kind, name string, uid types.UID) ([]corev1.Event, error) {
	l, err := client.ListEvents(ctx, namespace, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
		Limit:         maxEventsPerList,
	})
	if err != nil {
		return nil, fmt.Errorf("reading the events of %s %s/%s: %w", strings.ToLower(kind), namespace, name, err)
	}
	var out []corev1.Event
	for _, e := range l.Items {
		o := e.InvolvedObject
		// Servers honour the selector; be sure anyway.
		if o.Kind == kind && o.Name == name && (uid == "" || o.UID == "" || o.UID == uid) {
			out = append(out, e)
		}
	}
	return out, nil
}

// foldEvents turns API events into report events: one per object, type,
// reason and message (pod names the Job controller generated folded into
// <job>-*, so its failed creations of different pods are one line),
// newest first, at most MaxEvents.
func foldEvents(events []corev1.Event, jobName string) []Event {
	// A generated pod name starts with the Job's name (cut to leave room for
	// the index of an Indexed Job and the random suffix) and has only
	// lower-case letters, digits and dashes after it.
	prefix := jobName[:min(len(jobName), 40)]
	generated := regexp.MustCompile(`"` + regexp.QuoteMeta(prefix) + `[-a-z0-9]*"`)
	byKey := map[string]*Event{}
	for i := range events {
		e := &events[i]
		msg := strings.TrimPrefix(e.Message, job.CombinedEventPrefix)
		msg = generated.ReplaceAllString(msg, `"`+jobName+`-*"`)
		ev := Event{
			Object:  strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name,
			Type:    e.Type,
			Reason:  e.Reason,
			Message: msg,
			Count:   int64(job.EventCount(e)),
			Last:    job.EventLastSeen(e).UTC(),
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
