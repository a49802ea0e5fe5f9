package pages

import (
	"fmt"
	"sync"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/job"
)

// A page reuses a Job's summary while the Job, its pods and events are
// unchanged (JobSource.Version), for at most summaryTTL (the summary
// judges pods against the start timeout as of when it was made), and
// requests for the same Job at the same time share one computation.
const (
	summaryTTL      = 30 * time.Second
	summaryCacheMax = 64
)

type summaryCache struct {
	src JobSource

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

func newSummaryCache(src JobSource) *summaryCache {
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
