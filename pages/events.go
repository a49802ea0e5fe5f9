package pages

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube"
)

// eventsTimeout bounds the reading of events for a page: a slow API
// server delays the page by this much at most, and the page says so.
const eventsTimeout = 3 * time.Second

// Reading a Job's events takes a few API requests. Pages opened at once
// read at most eventReaders at a time (the others say so), and a Job's
// events are reused for eventsTTL, so a page reloaded or opened by a whole
// on-call channel costs the API server one read.
const (
	eventReaders   = 4
	eventsTTL      = 15 * time.Second
	eventsCacheMax = 256
)

type eventReader struct {
	fetch EventsFunc
	slots chan struct{}

	mu    sync.Mutex
	cache map[string]cachedEvents
}

type cachedEvents struct {
	at     time.Time
	events []diagnose.Event
	err    error
}

func newEventReader(fetch EventsFunc) *eventReader {
	return &eventReader{fetch: fetch, slots: make(chan struct{}, eventReaders), cache: map[string]cachedEvents{}}
}

func (r *eventReader) read(ctx context.Context, s job.Summary) ([]diagnose.Event, error) {
	key := s.Namespace + "/" + s.Name + "/" + string(s.UID)
	now := time.Now()
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < eventsTTL {
		return c.events, c.err
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return nil, errors.New("other pages are reading events right now; reload in a few seconds")
	}
	// A page's reads take from the pages' rate limit, not the watches'
	// (kube.Budget): pages opened by many cannot delay a re-list.
	events, err := r.fetch(kube.WithBudget(ctx, kube.BudgetPages), s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, c := range r.cache {
		if now.Sub(c.at) >= eventsTTL || len(r.cache) >= eventsCacheMax {
			delete(r.cache, k)
		}
	}
	r.cache[key] = cachedEvents{at: now, events: events, err: err}
	return events, err
}
