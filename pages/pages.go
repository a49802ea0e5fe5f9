// Package pages renders the exporter's HTML pages: the failing-now page
// (/failing) and the runbook pages (/runbooks/, each runbook with the live
// report of the Job or CronJob its query names, the kept report of a
// deleted Job, the deleted Jobs of an owner). The pages are views: of the
// failing board (package failing), of a Job's and a CronJob's Summary
// judged by package diagnose, through the narrow interfaces below; they
// never talk to the API server themselves (events come from a function the
// caller gives). One embedded html/template set and one stylesheet
// (templates/), and every link relative, so the pages work behind a path
// prefix.
package pages

import (
	"context"
	"io/fs"
	"net/http"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// JobSource is what the runbook pages read of the Jobs from the
// exporter's caches (watcher.Watcher).
type JobSource interface {
	// Summary of the Job "namespace/name".
	Summary(key string) (job.Summary, bool)
	// Version changes whenever the Job's Summary may (its objects did).
	Version(key string) (string, bool)
	// ShardOf is the shard that reports the Job, of how many, and
	// whether this replica is it.
	ShardOf(key string) (shard, total int, mine bool)
}

// CronJobSource is the CronJobs as the exporter reports them.
type CronJobSource interface {
	// Summary is the CronJob "namespace/name" as of now.
	Summary(key string, now time.Time) (cronjob.Summary, bool)
	// Summaries are every CronJob reported, as of now.
	Summaries(now time.Time) []cronjob.Summary
}

// EventsFunc reads the events of a Job and its pods.
type EventsFunc func(ctx context.Context, s job.Summary) ([]diagnose.Event, error)

// FailingPageMax bounds the rows of the failing-now page. The page is
// capped, not paged: the list is newest first and changes whenever a Job
// does, so a second page fetched a moment later would repeat or skip rows;
// the newest are what someone opening it needs, the counts at the top
// cover every row, ?namespace= narrows a big cluster down, and Prometheus
// has the full set. 100 rows are about 65 KB of HTML; selecting them
// from 100,000 failed Jobs takes about 0.1s.
const FailingPageMax = 100

// Config is what the pages show and read.
type Config struct {
	// Runbooks are the Markdown runbooks, <Alert>.md; nil serves none
	// (and the failing-now page links no reports).
	Runbooks fs.FS
	// Jobs and CronJobs are the exporter's caches; a nil CronJobs lists
	// no CronJob.
	Jobs     JobSource
	CronJobs CronJobSource
	// Board is the failing-now board, with the kept evidence of deleted
	// Jobs.
	Board *failing.Board
	// Events reads the events of a Job and its pods for its report; nil
	// shows none. The pages bound and reuse these reads (eventReader).
	Events EventsFunc
	// MissedGrace: how late a CronJob's run may be before a page calls it
	// missed; 0: as soon as it is due, as in diagnose.
	MissedGrace time.Duration
	Shard       watcher.Shard
	// JobCount is the number of Jobs reported (for "nothing fails among
	// N"); nil: 0.
	JobCount func() int
	// Ready says why the caches are not complete yet; nil once they are.
	Ready func() error
	// MetricsPath is the path of /metrics, without the leading slash.
	MetricsPath string
	// MaxRows bounds the failing-now page's rows; 0 means FailingPageMax.
	MaxRows int
	// Now is the clock the pages judge by; nil: time.Now.
	Now func() time.Time
}

// Pages serves the HTML pages.
type Pages struct {
	cfg      Config
	runbooks *runbookHandler // nil without runbooks
	failing  *failingHandler
}

// New builds the pages; it fails if the runbooks cannot be read.
func New(cfg Config) (*Pages, error) {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = FailingPageMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pages{cfg: cfg}
	if cfg.Runbooks != nil {
		rb, err := newRunbookHandler(cfg)
		if err != nil {
			return nil, err
		}
		p.runbooks = rb
	}
	p.failing = &failingHandler{cfg: cfg, runbooks: p.runbooks}
	return p, nil
}

// Failing serves the failing-now page, with the security headers.
func (p *Pages) Failing() http.Handler { return SecurityHeaders(p.failing) }

// Runbooks serves /runbooks/ and /runbooks/<Alert>, with the security
// headers; nil without runbooks.
func (p *Pages) Runbooks() http.Handler {
	if p.runbooks == nil {
		return nil
	}
	return SecurityHeaders(p.runbooks)
}

// SecurityHeaders marks HTML pages as what they are and forbids them
// scripts, frames and loads from elsewhere: the pages show text tenants
// wrote (escaped), and nothing on them needs more than the inline
// stylesheet.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
