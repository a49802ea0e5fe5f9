package diagnose

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-job-exporter/kube-job-exporter/internal/fixture"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// cuttingClient is a client that lists events bounded (as the production
// client does, kube.BoundedEventLister): it records the bounds asked for
// and, for the Job's own events, answers the first event with
// kube.ErrEventsCut, as a list past its byte bound does.
type cuttingClient struct {
	*kubefake.Client
	bounds []kube.EventBounds
}

func (c *cuttingClient) ListEventsBounded(ctx context.Context, ns string, opts metav1.ListOptions, b kube.EventBounds) (*corev1.EventList, error) {
	c.bounds = append(c.bounds, b)
	l, err := kube.ListEventsBounded(ctx, c.Client, ns, opts, b)
	if err != nil || !strings.Contains(opts.FieldSelector, "involvedObject.kind=Job") {
		return l, err
	}
	// The fake does not select by field: keep the Job's events, then the
	// first of them.
	var jobs []corev1.Event
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == "Job" {
			jobs = append(jobs, e)
		}
	}
	l.Items = jobs[:min(len(jobs), 1)]
	return l, kube.ErrEventsCut
}

// TestEventReadsBounded: a report's event reads ask for the byte bounds
// (every list), keep messages within them (a 1 MiB message is cut where
// it is read, to 2 KiB, and shown in 1 KiB), and a list cut at its byte
// bound keeps the events read, saying how many.
func TestEventReadsBounded(t *testing.T) {
	j := fixture.Job("batch", "a").BackoffLimit(1).Started(0).Status(0, 0, 0, 2).Failed("BackoffLimitExceeded", 90)
	huge := "Error creating: " + strings.Repeat("x", 1<<20)
	objs := []runtime.Object{j.J,
		jobEvent("batch", "a", "FailedCreate", huge, 10),
		jobEvent("batch", "a", "FailedCreate", "second", 20),
		podEvent("batch", "a-x7k2p", corev1.EventTypeWarning, "Failed", `Failed to pull image "x": `+strings.Repeat("y", 1<<20), 10),
	}
	client := &cuttingClient{Client: kubefake.New(objs...)}
	s := job.Summarize(j.J, nil, nil, job.Options{Backoff: job.DefaultBackoff})
	events, err := FetchJobEvents(context.Background(), client, s)
	if err == nil || !strings.Contains(err.Error(), "1 page(s) of 25 events larger than 2 MiB: only the events before the cut were read") {
		t.Errorf("err = %v, want the cut list said", err)
	}
	if len(client.bounds) == 0 {
		t.Fatal("no bounded list")
	}
	for _, b := range client.bounds {
		if b != eventBounds {
			t.Errorf("a list with bounds %+v, want %+v", b, eventBounds)
		}
	}
	var jobs, pods int
	for _, e := range events {
		if len(e.Message) > maxMessage+len(job.CutMarker) {
			t.Errorf("event %s %s shown with a message of %d bytes", e.Object, e.Reason, len(e.Message))
		}
		switch {
		case strings.HasPrefix(e.Object, "job/"):
			jobs++
		case e.Cause == "ImagePull": // the cause is read from the start kept
			pods++
		}
	}
	if jobs != 1 || pods != 1 {
		t.Errorf("%d Job events (want the 1 read before the cut), %d pod events with their cause (want 1): %+v", jobs, pods, events)
	}
}

func jobEvent(ns, name string, reason, message string, at int) *corev1.Event {
	e := podEvent(ns, name, corev1.EventTypeWarning, reason, message, at)
	e.InvolvedObject = corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: ns, Name: name}
	return e
}

// pagingClient serves events a page at a time, as the API server does:
// at most Limit, with a continue token while more remain.
type pagingClient struct {
	*kubefake.Client
	events []corev1.Event
	asked  []metav1.ListOptions
}

func (c *pagingClient) ListEventsBounded(_ context.Context, _ string, opts metav1.ListOptions, _ kube.EventBounds) (*corev1.EventList, error) {
	c.asked = append(c.asked, opts)
	from := 0
	if opts.Continue != "" {
		fmt.Sscan(opts.Continue, &from)
	}
	to := min(from+int(opts.Limit), len(c.events))
	l := &corev1.EventList{Items: c.events[from:to]}
	if to < len(c.events) {
		l.Continue = fmt.Sprint(to)
	}
	return l, nil
}

// TestEventPages: a list is read a page of eventsPerPage at a time,
// following the continue token, up to maxEventsPerList.
func TestEventPages(t *testing.T) {
	for _, tt := range []struct{ events, requests, read int }{
		{0, 1, 0}, {25, 1, 25}, {60, 3, 60}, {200, 8, 200}, {230, 8, 200},
	} {
		c := &pagingClient{Client: kubefake.New()}
		for i := range tt.events {
			c.events = append(c.events, *jobEvent("batch", "a", "FailedCreate", fmt.Sprint("attempt ", i), i))
		}
		got, err := listEvents(context.Background(), c, "batch", "Job", "a", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.read || len(c.asked) != tt.requests {
			t.Errorf("%d events: %d read in %d requests, want %d in %d", tt.events, len(got), len(c.asked), tt.read, tt.requests)
		}
		for _, o := range c.asked {
			if o.Limit != eventsPerPage {
				t.Errorf("a page asked with limit %d", o.Limit)
			}
		}
	}
}
