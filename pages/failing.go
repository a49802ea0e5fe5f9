package pages

import (
	"net/http"
	"net/url"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/cronjob"
	"github.com/kube-job-exporter/kube-job-exporter/diagnose"
	"github.com/kube-job-exporter/kube-job-exporter/failing"
	"github.com/kube-job-exporter/kube-job-exporter/watcher"
)

// failingHandler serves the failing-now page: the board's newest rows.
type failingHandler struct {
	cfg Config
	// runbooks tells which alerts have a runbook page; nil: no runbook
	// pages, so no report links.
	runbooks *runbookHandler
}

// failingPage is what the template renders.
type failingPage struct {
	chrome
	Now       time.Time
	Namespace string // the filter, "" for all
	Rows      []failingRow
	Total     int                     // rows matching, listed or not
	More      int                     // rows matching and not listed (older)
	Counts    map[diagnose.Health]int // by health, of the rows matching
	Jobs      int
	NotReady  string
	Shard     watcher.Shard
	KeepFor   string // how long deleted failed Jobs stay listed
	MaxRows   int
	// HealthList orders the counts.
	HealthList []diagnose.Health
}

type failingRow struct {
	failing.Entry
	Age string
	// Report is the relative link to the live report (the kept one of a
	// deleted Job), "" without one.
	Report string
	// Deleted says when a deleted Job was deleted and by what; "" for a
	// Job that exists.
	Deleted string
}

func (h *failingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns := r.URL.Query().Get("namespace")
	if ns != "" && !validName.MatchString(ns) {
		http.Error(w, "invalid namespace: not a Kubernetes namespace name", http.StatusBadRequest)
		return
	}
	page := h.page(h.cfg.Now(), ns)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	render(w, "failing.html", page)
}

// page selects the rows of namespace ns ("" all): the max newest, with the
// counts of all.
func (h *failingHandler) page(now time.Time, ns string) failingPage {
	board := h.cfg.Board
	p := failingPage{chrome: chrome{Title: "Failing now", Root: "./", Runbooks: h.runbooks != nil, Metrics: h.cfg.MetricsPath},
		Now: now, Namespace: ns, Shard: h.cfg.Shard, KeepFor: age(board.KeepFor()), MaxRows: h.cfg.MaxRows,
		HealthList: []diagnose.Health{diagnose.Failed, diagnose.Failing, diagnose.Stuck}}
	if h.cfg.JobCount != nil {
		p.Jobs = h.cfg.JobCount()
	}
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(); err != nil {
			p.NotReady = err.Error()
		}
	}
	var crons []cronjob.Summary
	if h.cfg.CronJobs != nil {
		crons = h.cfg.CronJobs.Summaries(now)
	}
	sel := board.Select(now, ns, h.cfg.MaxRows, crons, h.cfg.MissedGrace)
	p.Total, p.Counts = sel.Total, sel.Counts
	for _, e := range sel.Rows {
		row := failingRow{Entry: e, Age: age(now.Sub(e.Since))}
		if h.runbooks.has(e.Alert) {
			row.Report = reportLink(e)
		}
		if e.Kept != nil {
			row.Deleted = deletedRow(e.Kept, now)
		}
		p.Rows = append(p.Rows, row)
	}
	p.More = p.Total - len(p.Rows)
	return p
}

// reportLink is the link to a row's runbook page with its live report,
// relative to the page (so it works behind a path prefix, such as the API
// server's service proxy); html/template escapes the query values.
func reportLink(e failing.Entry) string { return "runbooks/" + runbookQuery(e) }

// runbookQuery is the runbook page of an entry with its report, relative
// to /runbooks/: a deleted Job's names its UID, so that the page shows
// the kept report even when a Job of that name exists again.
func runbookQuery(e failing.Entry) string {
	q := url.Values{"namespace": {e.Namespace}}
	switch {
	case e.CronJobRow:
		q.Set("cronjob", e.Name)
	case e.Kept != nil:
		q.Set("job_name", e.Name)
		q.Set("job_uid", string(e.UID))
	default:
		q.Set("job_name", e.Name)
	}
	return e.Alert + "?" + q.Encode()
}
