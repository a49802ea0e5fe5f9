package exporter

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// DefaultMaxPageRequests is how many runbook and profile requests are
// served at once by default. Each may compute a Job's summary from every
// pod of the Job, or a profile: a few at a time keep the heap bounded
// whatever number of people or scripts open them.
const DefaultMaxPageRequests = 4

// limitInFlight serves at most n requests at once; the others get 503 at
// once (with Retry-After), rather than queueing memory and goroutines.
func limitInFlight(n int, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many page requests in flight, retry in a moment", http.StatusServiceUnavailable)
		}
	})
}

// securityHeaders marks HTML pages as what they are and forbids them
// scripts, frames and loads from elsewhere: the pages show text tenants
// wrote (escaped), and nothing on them needs more than inline styles.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// A page reuses a Job's summary while the Job, its pods and events are
// unchanged (jobSource.Version), for at most summaryTTL (the summary
// judges pods against the start timeout as of when it was made), and
// requests for the same Job at the same time share one computation.
const (
	summaryTTL      = 30 * time.Second
	summaryCacheMax = 64
)

type summaryCache struct {
	src jobSource

	mu      sync.Mutex
	entries map[string]*summaryEntry
}

type summaryEntry struct {
	version string
	at      time.Time
	done    chan struct{} // closed once s, ok and err are set
	s       job.Summary
	ok      bool
	// err is set when the computation panicked: the waiters get it rather
	// than wait for ever, and the entry is dropped, not reused.
	err error
}

func newSummaryCache(src jobSource) *summaryCache {
	return &summaryCache{src: src, entries: map[string]*summaryEntry{}}
}

// get returns the summary of the Job "namespace/name", computed at most
// once per Version. A computation that panics releases the requests that
// wait for it with an error and is not cached; its own request panics on,
// so that the server logs it and answers 500.
func (c *summaryCache) get(key string) (job.Summary, bool, error) {
	version, ok := c.src.Version(key)
	if !ok {
		return job.Summary{}, false, nil
	}
	now := time.Now()
	c.mu.Lock()
	e := c.entries[key]
	if e == nil || e.version != version || now.Sub(e.at) >= summaryTTL {
		e = &summaryEntry{version: version, at: now, done: make(chan struct{})}
		c.evictLocked(now)
		c.entries[key] = e
		c.mu.Unlock()
		c.load(key, e)
		return e.s, e.ok, nil
	}
	c.mu.Unlock()
	<-e.done
	return e.s, e.ok, e.err
}

// load computes e; deferred, so that a panic in Summary still closes
// done.
func (c *summaryCache) load(key string, e *summaryEntry) {
	completed := false
	defer func() {
		if !completed {
			e.s, e.ok = job.Summary{}, false
			e.err = fmt.Errorf("computing the summary of Job %s failed", key)
			c.mu.Lock()
			if c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
	}()
	e.s, e.ok = c.src.Summary(key)
	completed = true
}

// evictLocked makes room for one more entry: expired ones go, then the
// oldest.
func (c *summaryCache) evictLocked(now time.Time) {
	if len(c.entries) < summaryCacheMax {
		return
	}
	var oldest string
	for k, e := range c.entries {
		if now.Sub(e.at) >= summaryTTL {
			delete(c.entries, k)
			continue
		}
		if oldest == "" || e.at.Before(c.entries[oldest].at) {
			oldest = k
		}
	}
	if len(c.entries) >= summaryCacheMax && oldest != "" {
		delete(c.entries, oldest)
	}
}
